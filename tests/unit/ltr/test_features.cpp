// Feature extraction on a hand-made corpus, against values computed by hand from Lucene's BM25.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "ltr/features.h"
#include "winnow/error.h"

using namespace winnow;
using namespace winnow::ltr;

namespace {

// Three documents; the english analyzer drops "with" and stems apple->appl, recipe->recip.
std::shared_ptr<const CorpusStats> toy_stats() {
    return CorpusStats::from_documents({
        {"d1", "Apple pie", {"apple pie recipe with fresh apple"}, ""},
        {"d2", "Banana bread", {"banana bread recipe"}, ""},
        {"d3", "Fruit salad", {"apple banana cherry salad"}, ""},
    });
}

Candidate cand(std::string doc, std::string title, std::string text, float score) {
    Candidate c;
    c.doc_id = std::move(doc);
    c.title = std::move(title);
    c.text = std::move(text);
    c.score = score;
    return c;
}

float at(const std::vector<float>& x, std::size_t row, Feature f) { return x[row * kFeatureCount + static_cast<std::size_t>(f)]; }

// Lucene BM25 of one term: idf * tf / (tf + k1 * (1 - b + b * dl / avgdl)).
double bm25_term(double n, double df, double tf, double dl, double avgdl) {
    const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
    return idf * tf / (tf + 0.9 * (0.6 + 0.4 * dl / avgdl));
}

}  // namespace

TEST(LtrFeatures, NamesAndDefinitionsAreComplete) {
    const auto& infos = feature_infos();
    ASSERT_EQ(infos.size(), kFeatureCount);
    std::set<std::string_view> names;
    for (const auto& f : infos) {
        EXPECT_FALSE(f.name.empty());
        EXPECT_FALSE(f.definition.empty());
        EXPECT_TRUE(names.insert(f.name).second) << f.name;
    }
    EXPECT_EQ(infos[static_cast<std::size_t>(Feature::Bm25Chunk)].name, "bm25_chunk");
    EXPECT_EQ(feature_names().back(), "cross_encoder");
}

TEST(LtrFeatures, HandComputedValues) {
    const FeatureExtractor fx(toy_stats());
    const std::vector<Candidate> cands = {
        cand("d1", "Apple pie", "apple pie recipe with fresh apple", 3.0f),
        cand("d2", "Banana bread", "banana bread recipe", 2.0f),
        cand("d3", "Fruit salad", "apple banana cherry salad", 1.0f),
    };
    const auto x = fx.extract("apple recipe", cands);
    ASSERT_EQ(x.size(), 3 * kFeatureCount);
    // Chunk field: N = 3, avgdl = (5 + 3 + 4) / 3 = 4, df(appl) = df(recip) = 2.
    EXPECT_NEAR(at(x, 0, Feature::Bm25Chunk), bm25_term(3, 2, 2, 5, 4) + bm25_term(3, 2, 1, 5, 4), 1e-5);
    EXPECT_NEAR(at(x, 1, Feature::Bm25Chunk), bm25_term(3, 2, 1, 3, 4), 1e-5);
    EXPECT_NEAR(at(x, 2, Feature::Bm25Chunk), bm25_term(3, 2, 1, 4, 4), 1e-5);
    // Title field: N = 3, avgdl = 2, df(appl) = 1; only d1's title matches.
    EXPECT_NEAR(at(x, 0, Feature::Bm25Title), bm25_term(3, 1, 1, 2, 2), 1e-5);
    EXPECT_EQ(at(x, 1, Feature::Bm25Title), 0.0f);
    // Alternative BM25 (k1 = 1.2, b = 0.75), d2: dl 3, avgdl 4.
    const double idf1 = std::log(1.0 + 2.5 / 1.5), idf2 = std::log(1.0 + 1.5 / 2.5);
    EXPECT_NEAR(at(x, 1, Feature::Bm25ChunkAlt), idf2 / (1.0 + 1.2 * (0.25 + 0.75 * 3.0 / 4.0)), 1e-5);
    // Dirichlet (mu 1000) over titles + texts: 18 terms, cf(appl) = 4, cf(recip) = 2; d2 has recip once, 3 terms.
    EXPECT_NEAR(at(x, 1, Feature::LmDirichlet),
                std::log((1000.0 * 4 / 18) / 1003.0) + std::log((1.0 + 1000.0 * 2 / 18) / 1003.0), 1e-4);
    // d2 = {banan (df 2), bread (df 1), recip (df 2)}, query = {appl, recip}: cosine of idf vectors.
    EXPECT_NEAR(at(x, 1, Feature::TfidfCosine),
                idf2 * idf2 / (idf2 * std::sqrt(2.0) * std::sqrt(2 * idf2 * idf2 + idf1 * idf1)), 1e-5);
    EXPECT_FLOAT_EQ(at(x, 0, Feature::Coverage), 1.0f);
    EXPECT_FLOAT_EQ(at(x, 1, Feature::Coverage), 0.5f);
    EXPECT_FLOAT_EQ(at(x, 0, Feature::TitleCoverage), 0.5f);
    EXPECT_FLOAT_EQ(at(x, 2, Feature::TitleCoverage), 0.0f);
    EXPECT_FLOAT_EQ(at(x, 0, Feature::IdfOverlap), 1.0f);
    EXPECT_FLOAT_EQ(at(x, 1, Feature::IdfOverlap), 0.5f);
    EXPECT_NEAR(at(x, 0, Feature::IdfMinMatched), idf2, 1e-6);
    EXPECT_NEAR(at(x, 0, Feature::IdfMaxMatched), idf2, 1e-6);
    EXPECT_NEAR(at(x, 0, Feature::IdfMeanMatched), idf2, 1e-6);
    // d1: appl pie recip fresh appl -> 3 matches of 5 terms, window "appl pie recip" = 3.
    EXPECT_FLOAT_EQ(at(x, 0, Feature::MatchedTermFrequency), 3.0f / 5.0f);
    EXPECT_FLOAT_EQ(at(x, 0, Feature::ProximityWindow), 3.0f);
    EXPECT_FLOAT_EQ(at(x, 0, Feature::ProximityDensity), 2.0f / 3.0f);
    EXPECT_FLOAT_EQ(at(x, 1, Feature::ProximityWindow), 1.0f);
    EXPECT_FLOAT_EQ(at(x, 0, Feature::BigramCoverage), 0.0f);
    EXPECT_FLOAT_EQ(at(x, 0, Feature::ChunkLength), 5.0f);
    EXPECT_FLOAT_EQ(at(x, 1, Feature::ChunkLength), 3.0f);
    EXPECT_FLOAT_EQ(at(x, 0, Feature::DocumentLength), 7.0f);  // title 2 + text 5
    EXPECT_FLOAT_EQ(at(x, 2, Feature::QueryLength), 2.0f);
    EXPECT_FLOAT_EQ(at(x, 2, Feature::FirstStageRank), 3.0f);
    EXPECT_FLOAT_EQ(at(x, 1, Feature::FirstStageScore), 2.0f);
    EXPECT_FLOAT_EQ(at(x, 2, Feature::FirstStageScoreRatio), 1.0f / 3.0f);
    EXPECT_TRUE(std::isnan(at(x, 0, Feature::DenseCosine)));
    EXPECT_TRUE(std::isnan(at(x, 0, Feature::CrossEncoderScore)));
}

TEST(LtrFeatures, ChunkBm25EqualsTheLexicalIndexScore) {
    const auto stats = toy_stats();
    const FeatureExtractor fx(stats);
    const auto hits = stats->chunks().search("apple recipe fresh", 3);
    ASSERT_EQ(hits.size(), 3u);
    const std::vector<std::string> texts = {"apple pie recipe with fresh apple", "banana bread recipe", "apple banana cherry salad"};
    std::vector<Candidate> cands;
    for (const auto& h : hits) cands.push_back(cand("d" + std::to_string(h.chunk_id), "", texts[h.chunk_id - 1], h.score));
    const auto x = fx.extract("apple recipe fresh", cands);
    for (std::size_t i = 0; i < hits.size(); ++i) EXPECT_FLOAT_EQ(at(x, i, Feature::Bm25Chunk), hits[i].score) << i;
}

TEST(LtrFeatures, MissingValuesAndSignals) {
    const FeatureExtractor fx(toy_stats());
    ExternalSignals s;
    s.dense_cosine = {0.25f};
    s.cross_encoder = {-1.5f};
    const auto x = fx.extract("zebra", {cand("unknown", "", "nothing matches here", 0.0f)}, s);
    EXPECT_FLOAT_EQ(at(x, 0, Feature::Bm25Chunk), 0.0f);
    EXPECT_FLOAT_EQ(at(x, 0, Feature::Coverage), 0.0f);
    EXPECT_TRUE(std::isnan(at(x, 0, Feature::ProximityWindow)));
    EXPECT_FLOAT_EQ(at(x, 0, Feature::ProximityDensity), 0.0f);
    EXPECT_TRUE(std::isnan(at(x, 0, Feature::DocumentLength)));
    EXPECT_TRUE(std::isnan(at(x, 0, Feature::FirstStageScoreRatio)));  // best score 0
    EXPECT_FLOAT_EQ(at(x, 0, Feature::DenseCosine), 0.25f);
    EXPECT_FLOAT_EQ(at(x, 0, Feature::CrossEncoderScore), -1.5f);
    EXPECT_TRUE(fx.extract("apple", {}).empty());
    s.dense_cosine = {0.1f, 0.2f};
    EXPECT_THROW(fx.extract("apple", {cand("d1", "", "apple", 1.0f)}, s), Error);
}

TEST(LtrFeatures, BigramCoverage) {
    const FeatureExtractor fx(toy_stats());
    // Query pairs (appl, pie) and (pie, recip); the chunk has "appl pie" adjacent, "pie recip" too.
    auto x = fx.extract("apple pie recipe", {cand("d1", "", "apple pie recipe with fresh apple", 1.0f),
                                              cand("d2", "", "recipe pie apple", 1.0f)});
    EXPECT_FLOAT_EQ(at(x, 0, Feature::BigramCoverage), 1.0f);
    EXPECT_FLOAT_EQ(at(x, 1, Feature::BigramCoverage), 0.0f);  // reversed order does not count
    x = fx.extract("apple with pie", {cand("d1", "", "apple pie", 1.0f), cand("d3", "", "pie salad apple", 1.0f)});
    EXPECT_FLOAT_EQ(at(x, 0, Feature::BigramCoverage), 1.0f);  // stop words are not terms
    EXPECT_FLOAT_EQ(at(x, 1, Feature::BigramCoverage), 0.0f);
    x = fx.extract("apple", {cand("d1", "", "apple pie", 1.0f)});
    EXPECT_FLOAT_EQ(at(x, 0, Feature::BigramCoverage), 0.0f);
}

TEST(LtrFeatures, SmallestCoveringWindow) {
    EXPECT_EQ(smallest_covering_window({}, 1), 0u);
    EXPECT_EQ(smallest_covering_window({0, -1, 1}, 2), 3u);
    EXPECT_EQ(smallest_covering_window({0, -1, -1, 1, 0}, 2), 2u);
    EXPECT_EQ(smallest_covering_window({0, 1, -1, 0, 2, -1, 1}, 3), 4u);  // 1,0,2 at positions 1,3,4
    EXPECT_EQ(smallest_covering_window({0, 0, 0}, 2), 0u);
    EXPECT_EQ(smallest_covering_window({2, 1, 0}, 3), 3u);
}
