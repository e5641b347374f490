#include "lexical/inverted_index.h"

#include <algorithm>
#include <array>
#include <limits>

#include "core/log.h"
#include "lexical/file_format.h"
#include "lexical/live_docs.h"
#include "lexical/segment_searcher.h"
#include "store/document_store.h"
#include "winnow/error.h"

namespace winnow::lexical {
namespace {

// 02: documents in any chunk order, per-term impacts (computed on load).
constexpr std::string_view kMagic{"WNWLEX02", 8};

Analyzer& thread_analyzer(const std::string& spec) {
    thread_local std::unordered_map<std::string, std::unique_ptr<Analyzer>> analyzers;
    auto it = analyzers.find(spec);
    if (it == analyzers.end()) {
        it = analyzers.emplace(spec, std::make_unique<Analyzer>(parse_analyzer_spec(spec))).first;
    }
    return *it->second;
}

}  // namespace

Bm25Query make_query(std::string_view text, Analyzer& analyzer) {
    Bm25Query q;
    analyzer.analyze(text, [&](std::string_view term) {
        for (auto& t : q.terms) {
            if (t.term == term) {
                t.boost += 1.0f;
                return;
            }
        }
        q.terms.push_back({std::string(term), 1.0f});
    });
    return q;
}

std::string Explanation::to_string() const {
    std::string out = fmt::format("{:.6g} = sum of:\n", score);
    for (const auto& t : terms) {
        if (t.tf == 0) {
            out += fmt::format("  0 = {} (absent; df={}, idf={:.6g})\n", t.term, t.doc_freq, t.idf);
            continue;
        }
        out += fmt::format("  {:.6g} = weight({}), computed as boost * idf * tf from:\n", t.score, t.term);
        out += fmt::format("    {:.6g} = boost\n", t.boost);
        out += fmt::format("    {:.6g} = idf, computed as log(1 + (N - n + 0.5) / (n + 0.5)) from:\n", t.idf);
        out += fmt::format("      {} = n, number of documents containing term\n", t.doc_freq);
        out += fmt::format("      {} = N, total number of documents with field\n", t.doc_count);
        const float norm = params.k1 * ((1 - params.b) + params.b * static_cast<float>(t.encoded_length) / t.avgdl);
        out += fmt::format("    {:.6g} = tf, computed as freq / (freq + k1 * (1 - b + b * dl / avgdl)) from:\n",
                           static_cast<float>(t.tf) / (static_cast<float>(t.tf) + norm));
        out += fmt::format("      {} = freq, occurrences of term within document\n", t.tf);
        out += fmt::format("      {:.6g} = k1, term saturation parameter\n", params.k1);
        out += fmt::format("      {:.6g} = b, length normalization parameter\n", params.b);
        out += fmt::format("      {} = dl, length of field (approximate; exact {})\n", t.encoded_length, t.doc_length);
        out += fmt::format("      {:.6g} = avgdl, average length of field\n", t.avgdl);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Builder

InvertedIndex::Builder::Builder(AnalyzerOptions analyzer) : analyzer_(std::move(analyzer)) {}

void InvertedIndex::Builder::add(std::int64_t chunk_id, std::string_view text) {
    const auto doc = static_cast<std::uint32_t>(chunk_ids_.size());
    WINNOW_CHECK(chunk_ids_.size() < std::numeric_limits<std::uint32_t>::max() - 1, Errc::InvalidArgument,
                 "lexical segment: more than 2^32 - 2 documents");
    chunk_ids_.push_back(chunk_id);
    doc_terms_.clear();
    analyzer_.analyze(text, [&](std::string_view term) {
        auto it = dict_.find(std::string(term));
        std::uint32_t id;
        if (it == dict_.end()) {
            id = static_cast<std::uint32_t>(term_names_.size());
            dict_.emplace(std::string(term), id);
            term_names_.emplace_back(term);
            postings_.emplace_back();
        } else {
            id = it->second;
        }
        doc_terms_.push_back(id);
    });
    lengths_.push_back(static_cast<std::uint32_t>(doc_terms_.size()));
    std::sort(doc_terms_.begin(), doc_terms_.end());
    for (std::size_t i = 0; i < doc_terms_.size();) {
        std::size_t j = i;
        while (j < doc_terms_.size() && doc_terms_[j] == doc_terms_[i]) ++j;
        auto& p = postings_[doc_terms_[i]];
        p.push_back(doc);
        p.push_back(static_cast<std::uint32_t>(j - i));
        i = j;
    }
}

InvertedIndex InvertedIndex::Builder::finish(std::int64_t generation, std::string analyzer_spec) {
    InvertedIndex index;
    index.generation_ = generation;
    index.analyzer_spec_ = std::move(analyzer_spec);
    index.chunk_ids_ = std::move(chunk_ids_);
    index.lengths_ = std::move(lengths_);
    std::size_t total = 0;
    for (const auto& p : postings_) total += p.size() / 2;
    index.term_offsets_.reserve(postings_.size() + 1);
    index.post_docs_.reserve(total);
    index.post_tfs_.reserve(total);
    index.term_offsets_.push_back(0);
    for (auto& p : postings_) {
        for (std::size_t i = 0; i < p.size(); i += 2) {
            index.post_docs_.push_back(p[i]);
            index.post_tfs_.push_back(p[i + 1]);
        }
        index.term_offsets_.push_back(index.post_docs_.size());
        std::vector<std::uint32_t>().swap(p);
    }
    index.term_names_ = std::move(term_names_);
    postings_.clear();
    dict_.clear();
    chunk_ids_.clear();
    lengths_.clear();
    index.finalize();
    return index;
}

// ---------------------------------------------------------------------------------------------
// InvertedIndex

InvertedIndex::InvertedIndex(InvertedIndex&& o) noexcept { *this = std::move(o); }

InvertedIndex& InvertedIndex::operator=(InvertedIndex&& o) noexcept {
    if (this == &o) return *this;
    generation_ = o.generation_;
    analyzer_spec_ = std::move(o.analyzer_spec_);
    chunk_ids_ = std::move(o.chunk_ids_);
    chunk_order_ = std::move(o.chunk_order_);
    lengths_ = std::move(o.lengths_);
    norms_ = std::move(o.norms_);
    term_names_ = std::move(o.term_names_);  // moves the buffer: the views in dict_ stay valid
    dict_ = std::move(o.dict_);
    term_offsets_ = std::move(o.term_offsets_);
    post_docs_ = std::move(o.post_docs_);
    post_tfs_ = std::move(o.post_tfs_);
    impact_offsets_ = std::move(o.impact_offsets_);
    impact_tfs_ = std::move(o.impact_tfs_);
    impact_norms_ = std::move(o.impact_norms_);
    docs_with_terms_ = o.docs_with_terms_;
    sum_ttf_ = o.sum_ttf_;
    std::scoped_lock lock(sim_mutex_, o.sim_mutex_);
    sims_ = std::move(o.sims_);
    return *this;
}

InvertedIndex::~InvertedIndex() = default;

void InvertedIndex::finalize() {
    norms_.resize(lengths_.size());
    docs_with_terms_ = 0;
    sum_ttf_ = 0;
    for (std::size_t i = 0; i < lengths_.size(); ++i) {
        norms_[i] = int_to_byte4(lengths_[i]);
        if (lengths_[i] > 0) ++docs_with_terms_;
        sum_ttf_ += lengths_[i];
    }
    chunk_order_.clear();
    if (!std::is_sorted(chunk_ids_.begin(), chunk_ids_.end())) {
        chunk_order_.resize(chunk_ids_.size());
        for (std::uint32_t d = 0; d < chunk_order_.size(); ++d) chunk_order_[d] = d;
        std::sort(chunk_order_.begin(), chunk_order_.end(),
                  [&](std::uint32_t a, std::uint32_t b) { return chunk_ids_[a] < chunk_ids_[b]; });
    }
    for (std::size_t i = 1; i < chunk_ids_.size(); ++i) {
        const std::int64_t a = chunk_order_.empty() ? chunk_ids_[i - 1] : chunk_ids_[chunk_order_[i - 1]];
        const std::int64_t b = chunk_order_.empty() ? chunk_ids_[i] : chunk_ids_[chunk_order_[i]];
        WINNOW_ASSERT(a != b);  // one document per chunk id in a segment
    }
    dict_.clear();
    dict_.reserve(term_names_.size());
    for (std::size_t i = 0; i < term_names_.size(); ++i) {
        dict_.emplace(std::string_view(term_names_[i]), static_cast<std::uint32_t>(i));
    }
    // Impacts: per term, the maximum tf for each norm, then only those not dominated by a pair
    // of lower-or-equal norm (a norm byte never decreases with the length it encodes).
    impact_offsets_.assign(1, 0);
    impact_tfs_.clear();
    impact_norms_.clear();
    std::array<std::uint32_t, 256> best{};
    std::vector<std::uint8_t> touched;
    for (std::size_t t = 0; t < term_names_.size(); ++t) {
        touched.clear();
        for (std::uint64_t i = term_offsets_[t]; i < term_offsets_[t + 1]; ++i) {
            const std::uint8_t n = norms_[post_docs_[i]];
            if (best[n] == 0) touched.push_back(n);
            best[n] = std::max(best[n], post_tfs_[i]);
        }
        std::sort(touched.begin(), touched.end());
        std::uint32_t max_tf = 0;
        for (const std::uint8_t n : touched) {
            if (best[n] > max_tf) {
                max_tf = best[n];
                impact_tfs_.push_back(best[n]);
                impact_norms_.push_back(n);
            }
            best[n] = 0;
        }
        impact_offsets_.push_back(impact_tfs_.size());
    }
    std::scoped_lock lock(sim_mutex_);
    sims_.clear();
}

std::size_t InvertedIndex::memory_bytes() const noexcept {
    std::size_t bytes = chunk_ids_.size() * 8 + chunk_order_.size() * 4 + lengths_.size() * 4 + norms_.size() +
                        term_offsets_.size() * 8 + post_docs_.size() * 4 + post_tfs_.size() * 4 +
                        impact_offsets_.size() * 8 + impact_tfs_.size() * 4 + impact_norms_.size();
    for (const auto& t : term_names_) bytes += sizeof(std::string) + (t.size() > 15 ? t.size() + 1 : 0);
    bytes += dict_.size() * (sizeof(std::string_view) + sizeof(std::uint32_t) + 2 * sizeof(void*));
    return bytes;
}

InvertedIndex InvertedIndex::build(const store::DocumentStore& store, std::string_view analyzer_spec) {
    Builder builder(parse_analyzer_spec(analyzer_spec));
    std::int64_t generation = 0;
    store.with_snapshot([&] {
        generation = store.generation();
        store.for_each_chunk([&](const store::Chunk& c) { builder.add(c.chunk_id, c.text); });
    });
    return builder.finish(generation, std::string(analyzer_spec));
}

void InvertedIndex::save(const std::string& path) const {
    detail::BufferWriter w;
    w.raw(kMagic.data(), kMagic.size());
    w.pod<std::int64_t>(generation_);
    w.str(analyzer_spec_);
    w.array(chunk_ids_);
    w.array(lengths_);
    w.array(term_offsets_);
    w.array(post_docs_);
    w.array(post_tfs_);
    w.pod<std::uint64_t>(term_names_.size());
    for (const auto& t : term_names_) w.str(t);
    w.seal();
    detail::write_atomic(path, w.buffer());
}

std::optional<InvertedIndex> InvertedIndex::load(const std::string& path, std::optional<std::int64_t> generation,
                                                 std::string_view analyzer_spec) {
    const auto data = detail::read_file(path);
    if (!data) return std::nullopt;
    const auto body = detail::checked_body(*data, kMagic);
    if (!body) {
        log::warn("{}: not a winnow lexical index of this version, or corrupt; rebuilding", path);
        return std::nullopt;
    }
    detail::BufferReader r(*body);
    InvertedIndex index;
    std::uint64_t n_terms = 0;
    bool ok = r.pod(index.generation_) && r.str(index.analyzer_spec_);
    if (!ok || (generation && index.generation_ != *generation) || index.analyzer_spec_ != analyzer_spec) {
        log::info("{}: built for generation {} (want {}); rebuilding", path, index.generation_,
                  generation ? std::to_string(*generation) : "any");
        return std::nullopt;
    }
    ok = r.array(index.chunk_ids_) && r.array(index.lengths_) && r.array(index.term_offsets_) &&
         r.array(index.post_docs_) && r.array(index.post_tfs_) && r.pod(n_terms);
    ok = ok && index.lengths_.size() == index.chunk_ids_.size() && index.term_offsets_.size() == n_terms + 1 &&
         index.term_offsets_.front() == 0 && index.post_docs_.size() == index.post_tfs_.size() &&
         index.term_offsets_.back() == index.post_docs_.size();
    if (ok) {
        index.term_names_.resize(n_terms);
        for (auto& t : index.term_names_) ok = ok && r.str(t);
        ok = ok && r.at_end();
    }
    if (ok) {
        for (std::size_t t = 0; t < n_terms && ok; ++t) ok = index.term_offsets_[t] <= index.term_offsets_[t + 1];
        for (std::size_t t = 0; t < n_terms && ok; ++t) {
            for (std::uint64_t i = index.term_offsets_[t]; i < index.term_offsets_[t + 1] && ok; ++i) {
                ok = index.post_docs_[i] < index.chunk_ids_.size() && index.post_tfs_[i] > 0 &&
                     (i == index.term_offsets_[t] || index.post_docs_[i] > index.post_docs_[i - 1]);
            }
        }
        std::vector<std::int64_t> ids = index.chunk_ids_;
        std::sort(ids.begin(), ids.end());
        ok = ok && std::adjacent_find(ids.begin(), ids.end()) == ids.end();
    }
    if (!ok) {
        log::warn("{}: malformed lexical index; rebuilding", path);
        return std::nullopt;
    }
    index.finalize();
    return index;
}

std::optional<std::uint32_t> InvertedIndex::doc_of_chunk(std::int64_t chunk_id) const {
    if (chunk_order_.empty()) {
        auto it = std::lower_bound(chunk_ids_.begin(), chunk_ids_.end(), chunk_id);
        if (it == chunk_ids_.end() || *it != chunk_id) return std::nullopt;
        return static_cast<std::uint32_t>(it - chunk_ids_.begin());
    }
    auto it = std::lower_bound(chunk_order_.begin(), chunk_order_.end(), chunk_id,
                               [&](std::uint32_t d, std::int64_t id) { return chunk_ids_[d] < id; });
    if (it == chunk_order_.end() || chunk_ids_[*it] != chunk_id) return std::nullopt;
    return *it;
}

std::int64_t InvertedIndex::term_id(std::string_view term) const {
    auto it = dict_.find(term);
    return it == dict_.end() ? -1 : static_cast<std::int64_t>(it->second);
}

std::uint32_t InvertedIndex::term_freq(std::int64_t term_id, std::uint32_t doc) const {
    if (term_id < 0) return 0;
    const auto* begin = post_docs_.data() + term_offsets_[term_id];
    const auto* end = post_docs_.data() + term_offsets_[term_id + 1];
    const auto* it = std::lower_bound(begin, end, doc);
    if (it == end || *it != doc) return 0;
    return post_tfs_[static_cast<std::size_t>(it - post_docs_.data())];
}

Bm25Query InvertedIndex::parse(std::string_view query_text) const {
    return make_query(query_text, thread_analyzer(analyzer_spec_));
}

const Bm25Similarity& InvertedIndex::similarity(const Bm25Params& params) const {
    std::scoped_lock lock(sim_mutex_);
    for (const auto& [p, sim] : sims_) {
        if (p == params) return *sim;
    }
    sims_.emplace_back(params, std::make_unique<Bm25Similarity>(params, docs_with_terms_, sum_ttf_));
    return *sims_.back().second;
}

namespace {
// A one-segment snapshot that does not own the index (the caller's object outlives the call).
SegmentSearcher alone(const InvertedIndex& index) {
    return SegmentSearcher({Segment{std::shared_ptr<const InvertedIndex>(&index, [](const InvertedIndex*) {}), nullptr}});
}
}  // namespace

std::vector<LexicalHit> InvertedIndex::search(std::string_view query_text, std::size_t k,
                                              const Bm25Params& params) const {
    return alone(*this).search(query_text, k, params);
}

std::optional<Explanation> InvertedIndex::explain(std::string_view query_text, std::int64_t chunk_id,
                                                  const Bm25Params& params) const {
    return alone(*this).explain(query_text, chunk_id, params);
}

// ---------------------------------------------------------------------------------------------
// merge

InvertedIndex merge(std::span<const Segment> parts, std::int64_t generation) {
    InvertedIndex out;
    out.generation_ = generation;
    if (!parts.empty()) out.analyzer_spec_ = parts.front().index->analyzer_spec();
    std::vector<std::vector<std::uint32_t>> doc_map(parts.size());  // old doc -> new doc (UINT32_MAX: deleted)
    constexpr std::uint32_t kGone = std::numeric_limits<std::uint32_t>::max();
    for (std::size_t p = 0; p < parts.size(); ++p) {
        const InvertedIndex& ix = *parts[p].index;
        WINNOW_CHECK(ix.analyzer_spec() == out.analyzer_spec_, Errc::InvalidArgument,
                     "merge: segments of different analyzers ('{}' and '{}')", out.analyzer_spec_, ix.analyzer_spec());
        const LiveDocs* live = parts[p].live_docs.get();
        WINNOW_CHECK(live == nullptr || live->doc_count() == ix.doc_count(), Errc::InvalidArgument,
                     "merge: live docs of {} documents for a segment of {}", live ? live->doc_count() : 0,
                     ix.doc_count());
        doc_map[p].assign(ix.doc_count(), kGone);
        for (std::uint32_t d = 0; d < ix.doc_count(); ++d) {
            if (live != nullptr && !live->is_live(d)) continue;
            doc_map[p][d] = static_cast<std::uint32_t>(out.chunk_ids_.size());
            out.chunk_ids_.push_back(ix.chunk_ids_[d]);
            out.lengths_.push_back(ix.lengths_[d]);
        }
    }
    // Terms in first-seen order; each term's postings part by part (ascending new doc numbers).
    std::unordered_map<std::string_view, std::uint32_t> dict;
    std::vector<std::vector<std::uint32_t>> postings;  // interleaved (doc, tf)
    for (std::size_t p = 0; p < parts.size(); ++p) {
        const InvertedIndex& ix = *parts[p].index;
        for (std::size_t t = 0; t < ix.term_count(); ++t) {
            std::vector<std::uint32_t>* dst = nullptr;
            for (std::uint64_t i = ix.term_offsets_[t]; i < ix.term_offsets_[t + 1]; ++i) {
                const std::uint32_t nd = doc_map[p][ix.post_docs_[i]];
                if (nd == kGone) continue;
                if (dst == nullptr) {
                    auto [it, fresh] = dict.emplace(std::string_view(ix.term_names_[t]),
                                                    static_cast<std::uint32_t>(postings.size()));
                    if (fresh) {
                        postings.emplace_back();
                        out.term_names_.push_back(ix.term_names_[t]);
                    }
                    dst = &postings[it->second];
                }
                dst->push_back(nd);
                dst->push_back(ix.post_tfs_[i]);
            }
        }
    }
    out.term_offsets_.push_back(0);
    for (auto& p : postings) {
        for (std::size_t i = 0; i < p.size(); i += 2) {
            out.post_docs_.push_back(p[i]);
            out.post_tfs_.push_back(p[i + 1]);
        }
        out.term_offsets_.push_back(out.post_docs_.size());
        std::vector<std::uint32_t>().swap(p);
    }
    out.finalize();
    return out;
}

}  // namespace winnow::lexical
