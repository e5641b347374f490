// Feature extraction for the learning-to-rank reranker, over the lexical module's analyzer and
// index statistics (df, N, avgdl come from the index, BM25 from lexical::Bm25Similarity).
#include "ltr/features.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "winnow/error.h"

namespace winnow::ltr {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

struct QueryTermInfo {
    std::string term;
    float boost = 1.0f;     // occurrences in the query
    float chunk_idf = 0.0f; // Lucene idf in the chunk field
    float alt_idf = 0.0f;   // the same with the alternative parameters (idf does not depend on k1, b)
    double p_collection = 0.0;
    float title_idf = 0.0f; // Lucene idf in the title field
};

float idf_in(const lexical::InvertedIndex& index, const lexical::Bm25Similarity& sim, std::string_view term) {
    const std::int64_t id = index.term_id(term);
    return sim.idf(id < 0 ? 0 : index.doc_freq(id));
}

// BM25 of one field as Lucene scores it: sum over query terms of w - w / (1 + tf * normInverse).
float bm25_field(const std::vector<QueryTermInfo>& terms, const std::vector<std::uint32_t>& tf, std::size_t length,
                 const lexical::Bm25Similarity& sim, bool title) {
    const float norm_inverse = sim.norm_inverse(lexical::int_to_byte4(static_cast<std::uint32_t>(length)));
    double sum = 0.0;
    for (std::size_t i = 0; i < terms.size(); ++i) {
        if (tf[i] == 0) continue;
        const float w = terms[i].boost * (title ? terms[i].title_idf : terms[i].chunk_idf);
        sum += lexical::Bm25Similarity::score(w, static_cast<float>(tf[i]), norm_inverse);
    }
    return static_cast<float>(sum);
}

}  // namespace

const std::vector<FeatureInfo>& feature_infos() {
    static const std::vector<FeatureInfo> infos = {
        {"bm25_chunk", "BM25 (Lucene, k1=0.9, b=0.4) of the chunk text with the index's df, N and avgdl"},
        {"bm25_title", "BM25 (Lucene, k1=0.9, b=0.4) of the document title with title-field df, N and avgdl"},
        {"bm25_chunk_k1_1.2_b_0.75", "BM25 of the chunk text with k1=1.2, b=0.75 (the textbook parameters)"},
        {"lm_dirichlet", "query likelihood of the chunk, Dirichlet smoothing (mu=1000) with the collection model of "
                         "titles and texts; terms unseen in the collection skipped"},
        {"tfidf_cosine", "cosine of the query's idf-weighted term vector and the chunk's (1 + ln tf) * idf vector"},
        {"coverage", "share of the distinct analyzed query terms that occur in the chunk"},
        {"title_coverage", "share of the distinct analyzed query terms that occur in the document title"},
        {"idf_overlap", "sum of chunk-field idf over matched query terms / the same sum over all query terms"},
        {"idf_min_matched", "smallest chunk-field idf among the query terms the chunk contains (0 when none)"},
        {"idf_max_matched", "largest chunk-field idf among the query terms the chunk contains (0 when none)"},
        {"idf_mean_matched", "mean chunk-field idf of the query terms the chunk contains (0 when none)"},
        {"matched_tf", "occurrences of query terms in the chunk / chunk length in terms"},
        {"proximity_window", "smallest window of term positions covering every matched query term (NaN when none)"},
        {"proximity_density", "matched distinct query terms / proximity_window (0 when none)"},
        {"bigram_coverage", "share of the query's adjacent analyzed term pairs that occur adjacent, in order, in the chunk"},
        {"chunk_length", "analyzed terms in the chunk"},
        {"document_length", "analyzed terms in the document's title and text (NaN when unknown)"},
        {"query_length", "distinct analyzed query terms"},
        {"first_stage_rank", "1-based rank of the chunk in the first stage"},
        {"first_stage_score", "the first stage's score (BM25, cosine or fused)"},
        {"first_stage_score_ratio", "first-stage score / the query's best first-stage score (NaN when it is <= 0)"},
        {"dense_cosine", "cosine of query and chunk embeddings (NaN unless the stage has embed_model=)"},
        {"cross_encoder", "cross-encoder logit for (query, chunk) (NaN unless the stage has rerank_model=)"},
    };
    WINNOW_ASSERT(infos.size() == kFeatureCount);
    return infos;
}

std::vector<std::string> feature_names() {
    std::vector<std::string> out;
    for (const auto& f : feature_infos()) out.emplace_back(f.name);
    return out;
}

std::size_t smallest_covering_window(const std::vector<int>& positions, std::size_t n_wanted) {
    if (n_wanted == 0) return 0;
    std::vector<std::size_t> count(n_wanted, 0);
    std::size_t covered = 0;
    std::size_t best = 0;
    std::size_t left = 0;
    for (std::size_t right = 0; right < positions.size(); ++right) {
        const int t = positions[right];
        if (t < 0) continue;
        if (count[t]++ == 0) ++covered;
        while (covered == n_wanted) {
            const std::size_t width = right - left + 1;
            if (best == 0 || width < best) best = width;
            const int lt = positions[left];
            if (lt >= 0 && --count[lt] == 0) --covered;
            ++left;
        }
    }
    return best;
}

FeatureExtractor::FeatureExtractor(std::shared_ptr<const CorpusStats> stats, lexical::Bm25Params bm25)
    : stats_(std::move(stats)), bm25_(bm25) {
    WINNOW_CHECK(stats_ != nullptr, Errc::InvalidArgument, "ltr: feature extraction needs corpus statistics");
}

std::vector<float> FeatureExtractor::extract(std::string_view query, const std::vector<Candidate>& candidates,
                                             const ExternalSignals& signals) const {
    const std::size_t n = candidates.size();
    std::vector<float> out(n * kFeatureCount, 0.0f);
    if (n == 0) return out;
    WINNOW_CHECK(signals.dense_cosine.empty() || signals.dense_cosine.size() == n, Errc::InvalidArgument,
                 "ltr: {} dense scores for {} candidates", signals.dense_cosine.size(), n);
    WINNOW_CHECK(signals.cross_encoder.empty() || signals.cross_encoder.size() == n, Errc::InvalidArgument,
                 "ltr: {} cross-encoder scores for {} candidates", signals.cross_encoder.size(), n);

    const lexical::InvertedIndex& chunk_index = stats_->chunks();
    const lexical::InvertedIndex& title_index = stats_->titles();
    const lexical::Bm25Similarity& chunk_sim = chunk_index.similarity(bm25_);
    const lexical::Bm25Similarity& title_sim = title_index.similarity(bm25_);
    const lexical::Bm25Similarity& alt_sim = chunk_index.similarity(lexical::Bm25Params{1.2f, 0.75f});
    lexical::Analyzer analyzer(lexical::parse_analyzer_spec(stats_->analyzer_spec()));

    // The query as a bag of words (a repeated term gets boost = count, as the first stage does).
    const lexical::Bm25Query bag = lexical::make_query(query, analyzer);
    std::vector<QueryTermInfo> terms;
    std::unordered_map<std::string, int> term_index;
    double idf_total = 0.0;
    for (const auto& qt : bag.terms) {
        QueryTermInfo info;
        info.term = qt.term;
        info.boost = qt.boost;
        info.chunk_idf = idf_in(chunk_index, chunk_sim, qt.term);
        info.title_idf = idf_in(title_index, title_sim, qt.term);
        info.alt_idf = info.chunk_idf;
        info.p_collection = stats_->collection_probability(qt.term);
        idf_total += info.chunk_idf;
        term_index.emplace(qt.term, static_cast<int>(terms.size()));
        terms.push_back(std::move(info));
    }
    const std::size_t nq = terms.size();
    // Adjacent pairs of the analyzed query, as term indices (distinct pairs of distinct terms).
    std::vector<std::pair<int, int>> pairs;
    {
        int prev = -1;
        analyzer.analyze(query, [&](std::string_view t) {
            const int cur = term_index.at(std::string(t));
            if (prev >= 0 && prev != cur && std::find(pairs.begin(), pairs.end(), std::make_pair(prev, cur)) == pairs.end()) {
                pairs.emplace_back(prev, cur);
            }
            prev = cur;
        });
    }
    std::vector<bool> pair_seen(pairs.size());
    float best_score = -std::numeric_limits<float>::infinity();
    for (const auto& c : candidates) best_score = std::max(best_score, c.score);

    std::vector<std::uint32_t> tf(nq), title_tf(nq);
    std::vector<int> positions;
    std::unordered_map<std::string, std::uint32_t> all_tf;
    double query_norm = 0.0;
    for (const auto& t : terms) query_norm += static_cast<double>(t.boost * t.chunk_idf) * (t.boost * t.chunk_idf);
    query_norm = std::sqrt(query_norm);
    constexpr double kMu = 1000.0;
    for (std::size_t r = 0; r < n; ++r) {
        const Candidate& c = candidates[r];
        float* row = out.data() + r * kFeatureCount;
        auto set = [&](Feature f, float v) { row[static_cast<std::size_t>(f)] = v; };

        std::fill(tf.begin(), tf.end(), 0u);
        std::fill(title_tf.begin(), title_tf.end(), 0u);
        positions.clear();
        std::size_t length = 0;
        std::size_t matched_occurrences = 0;
        all_tf.clear();
        analyzer.analyze(c.text, [&](std::string_view t) {
            ++length;
            ++all_tf[std::string(t)];
            auto it = term_index.find(std::string(t));
            if (it == term_index.end()) {
                positions.push_back(-1);
                return;
            }
            ++tf[it->second];
            ++matched_occurrences;
            positions.push_back(it->second);
        });
        std::size_t title_length = 0;
        analyzer.analyze(c.title, [&](std::string_view t) {
            ++title_length;
            auto it = term_index.find(std::string(t));
            if (it != term_index.end()) ++title_tf[it->second];
        });

        std::fill(pair_seen.begin(), pair_seen.end(), false);
        for (std::size_t p = 1; p < positions.size(); ++p) {
            if (positions[p - 1] < 0 || positions[p] < 0) continue;
            for (std::size_t k = 0; k < pairs.size(); ++k) {
                if (pairs[k].first == positions[p - 1] && pairs[k].second == positions[p]) pair_seen[k] = true;
            }
        }
        const auto n_pairs_seen = static_cast<float>(std::count(pair_seen.begin(), pair_seen.end(), true));
        set(Feature::BigramCoverage, pairs.empty() ? 0.0f : n_pairs_seen / static_cast<float>(pairs.size()));

        std::size_t matched = 0, title_matched = 0;
        double idf_sum = 0.0;
        float idf_min = 0.0f, idf_max = 0.0f;
        for (std::size_t i = 0; i < nq; ++i) {
            if (title_tf[i] > 0) ++title_matched;
            if (tf[i] == 0) continue;
            const float idf = terms[i].chunk_idf;
            idf_min = matched == 0 ? idf : std::min(idf_min, idf);
            idf_max = matched == 0 ? idf : std::max(idf_max, idf);
            idf_sum += idf;
            ++matched;
        }
        set(Feature::Bm25Chunk, bm25_field(terms, tf, length, chunk_sim, false));
        set(Feature::Bm25Title, title_length == 0 ? 0.0f : bm25_field(terms, title_tf, title_length, title_sim, true));
        {
            // BM25 with the alternative parameters.
            const float ni = alt_sim.norm_inverse(lexical::int_to_byte4(static_cast<std::uint32_t>(length)));
            double alt = 0.0, lm = 0.0, dot = 0.0;
            for (std::size_t i = 0; i < nq; ++i) {
                if (tf[i] > 0) alt += lexical::Bm25Similarity::score(terms[i].boost * terms[i].alt_idf, static_cast<float>(tf[i]), ni);
                if (terms[i].p_collection > 0.0) {
                    lm += terms[i].boost * std::log((tf[i] + kMu * terms[i].p_collection) / (static_cast<double>(length) + kMu));
                }
                if (tf[i] > 0) {
                    dot += static_cast<double>(terms[i].boost * terms[i].chunk_idf) *
                           ((1.0 + std::log(static_cast<double>(tf[i]))) * terms[i].chunk_idf);
                }
            }
            double chunk_norm = 0.0;
            for (const auto& [t, n] : all_tf) {
                const double w = (1.0 + std::log(static_cast<double>(n))) * idf_in(chunk_index, chunk_sim, t);
                chunk_norm += w * w;
            }
            set(Feature::Bm25ChunkAlt, static_cast<float>(alt));
            set(Feature::LmDirichlet, static_cast<float>(lm));
            set(Feature::TfidfCosine, query_norm > 0.0 && chunk_norm > 0.0
                                          ? static_cast<float>(dot / (query_norm * std::sqrt(chunk_norm))) : 0.0f);
        }
        set(Feature::Coverage, nq == 0 ? 0.0f : static_cast<float>(matched) / static_cast<float>(nq));
        set(Feature::TitleCoverage, nq == 0 ? 0.0f : static_cast<float>(title_matched) / static_cast<float>(nq));
        set(Feature::IdfOverlap, idf_total > 0.0 ? static_cast<float>(idf_sum / idf_total) : 0.0f);
        set(Feature::IdfMinMatched, idf_min);
        set(Feature::IdfMaxMatched, idf_max);
        set(Feature::IdfMeanMatched, matched == 0 ? 0.0f : static_cast<float>(idf_sum / static_cast<double>(matched)));
        set(Feature::MatchedTermFrequency,
            length == 0 ? 0.0f : static_cast<float>(matched_occurrences) / static_cast<float>(length));
        if (matched == 0) {
            set(Feature::ProximityWindow, kNaN);
            set(Feature::ProximityDensity, 0.0f);
        } else {
            // Window over the matched terms only: renumber them 0..matched-1.
            std::vector<int> remap(nq, -1);
            int next = 0;
            for (std::size_t i = 0; i < nq; ++i) {
                if (tf[i] > 0) remap[i] = next++;
            }
            for (int& p : positions) p = p < 0 ? -1 : remap[p];
            const std::size_t window = smallest_covering_window(positions, matched);
            set(Feature::ProximityWindow, static_cast<float>(window));
            set(Feature::ProximityDensity, static_cast<float>(matched) / static_cast<float>(window));
        }
        set(Feature::ChunkLength, static_cast<float>(length));
        const std::int64_t doc_length = stats_->document_length(c.doc_id);
        set(Feature::DocumentLength, doc_length < 0 ? kNaN : static_cast<float>(doc_length));
        set(Feature::QueryLength, static_cast<float>(nq));
        set(Feature::FirstStageRank, static_cast<float>(r + 1));
        set(Feature::FirstStageScore, c.score);
        set(Feature::FirstStageScoreRatio, best_score > 0.0f ? c.score / best_score : kNaN);
        set(Feature::DenseCosine, signals.dense_cosine.empty() ? kNaN : signals.dense_cosine[r]);
        set(Feature::CrossEncoderScore, signals.cross_encoder.empty() ? kNaN : signals.cross_encoder[r]);
    }
    return out;
}

}  // namespace winnow::ltr
