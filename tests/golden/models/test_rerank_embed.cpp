// Golden, from text: Reranker and Embedder over the fixture folders reproduce the reference
// (sentence-transformers CrossEncoder / SentenceTransformer on top of transformers).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>
#include <string>
#include <thread>

#include "core/json.h"
#include "infer/cross_encoder.h"
#include "winnow/embedder.h"
#include "winnow/reranker.h"

namespace winnow {
namespace {

const std::string kModels = std::string(WINNOW_SHARED_DIR) + "/fixtures/models/";

struct CeFixture {
    Json json;
    std::shared_ptr<Reranker> reranker;
    std::vector<std::pair<std::string, std::string>> pairs;
};

CeFixture load_ce(const std::string& name) {
    CeFixture f;
    f.json = load_json_file(kModels + name + "/expected_scores.json");
    ModelOptions options;
    options.precision = Precision::Fp32;  // the reference scores are fp32 (auto may pick bf16)
    options.max_length = f.json["max_length"].get<std::size_t>();  // as the reference CrossEncoder was made
    f.reranker = Reranker::load(kModels + name, options);
    for (const auto& p : f.json["pairs"]) f.pairs.emplace_back(p[0].get<std::string>(), p[1].get<std::string>());
    return f;
}

class RerankGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(RerankGolden, TokenIdsFedEqualTheReference) {
    const auto f = load_ce(GetParam());
    const auto* ce = dynamic_cast<const CrossEncoder*>(f.reranker.get());
    ASSERT_NE(ce, nullptr);
    for (std::size_t i = 0; i < f.pairs.size(); ++i) {
        bool truncated = false;
        const auto tokenized = ce->tokenize(f.pairs[i].first, f.pairs[i].second, truncated);
        std::vector<std::int32_t> expected;
        for (std::size_t t = 0; t < f.json["input_ids"][i].size(); ++t) {
            if (f.json["attention_mask"][i][t].get<int>() == 1) expected.push_back(f.json["input_ids"][i][t].get<int>());
        }
        EXPECT_EQ(tokenized.input_ids, expected) << "pair " << i;
        EXPECT_EQ(truncated, expected.size() == f.json["max_length"].get<std::size_t>() &&
                                 expected.size() < 200)  // the reference batch is cut exactly at max_length
            << "pair " << i;
        if (!f.json["token_type_ids"].is_null()) {
            std::vector<std::int32_t> types;
            for (std::size_t t = 0; t < expected.size(); ++t) types.push_back(f.json["token_type_ids"][i][t].get<int>());
            EXPECT_EQ(tokenized.token_type_ids, types) << "pair " << i;
        }
    }
}

TEST_P(RerankGolden, ScoresAndRankMatchSentenceTransformers) {
    const auto f = load_ce(GetParam());
    const auto scores = f.reranker->score_pairs(f.pairs);
    ASSERT_EQ(scores.size(), f.pairs.size());
    for (std::size_t i = 0; i < scores.size(); ++i) {
        EXPECT_NEAR(scores[i].raw_score, f.json["logits"][i].get<float>(), 1e-4) << "pair " << i;
        EXPECT_NEAR(scores[i].score, f.json["st_predict_default"][i].get<float>(), 1e-5) << "pair " << i;
    }
    std::vector<std::string> docs;
    for (const auto& p : f.pairs) docs.push_back(p.second);
    const auto ranked = f.reranker->rank(f.pairs[0].first, docs, 5);
    const auto& expected = f.json["st_rank_top5"];
    ASSERT_EQ(ranked.size(), expected.size());
    for (std::size_t r = 0; r < ranked.size(); ++r) {
        EXPECT_EQ(ranked[r].index, expected[r]["corpus_id"].get<std::size_t>()) << "rank " << r;
        EXPECT_NEAR(ranked[r].score, expected[r]["score"].get<float>(), 1e-5) << "rank " << r;
    }
}

TEST_P(RerankGolden, ScoreOfADocumentDoesNotDependOnItsBatch) {
    const auto f = load_ce(GetParam());
    std::vector<std::string> docs;
    for (const auto& p : f.pairs) docs.push_back(p.second);
    const std::string query = f.pairs[0].first;
    const auto together = f.reranker->score(query, docs);
    std::vector<std::size_t> order(docs.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937(11));
    std::vector<std::string> shuffled;
    for (auto i : order) shuffled.push_back(docs[i]);
    const auto permuted = f.reranker->score(query, shuffled);
    for (std::size_t k = 0; k < order.size(); ++k) {
        EXPECT_NEAR(permuted[k].raw_score, together[order[k]].raw_score, 1e-5);
    }
    for (std::size_t i = 0; i < docs.size(); ++i) {
        const auto alone = f.reranker->score(query, std::span<const std::string>(&docs[i], 1));
        EXPECT_NEAR(alone[0].raw_score, together[i].raw_score, 1e-5) << "doc " << i;
    }
}

// One model shared by threads (the Python package releases the GIL, the header promises thread safety):
// each thread gets the scores a single thread gets. The cached oneDNN matmuls once shared one scratchpad
// between threads and returned wrong scores for some pairs under concurrent calls.
TEST_P(RerankGolden, ThreadsSharingOneModelGetTheSerialScores) {
    const auto f = load_ce(GetParam());
    auto score_in_pairs = [&] {
        std::vector<float> out;
        for (std::size_t i = 0; i < f.pairs.size(); i += 2) {
            const std::size_t n = std::min<std::size_t>(2, f.pairs.size() - i);
            for (const auto& s : f.reranker->score_pairs({f.pairs.data() + i, n})) out.push_back(s.raw_score);
        }
        return out;
    };
    const std::vector<float> serial = score_in_pairs();
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int round = 0; round < 25; ++round) {
                const std::vector<float> got = score_in_pairs();
                for (std::size_t i = 0; i < got.size(); ++i) {
                    if (std::abs(got[i] - serial[i]) > 1e-6f) ++mismatches;
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(mismatches.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RerankGolden, ::testing::Values("bert-ce", "xlmr-ce", "modernbert-ce"),
                         [](const auto& info) {
                             std::string name = info.param;
                             for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                             return name;
                         });

class EmbedGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(EmbedGolden, EmbeddingsMatchSentenceTransformers) {
    const Json json = load_json_file(kModels + GetParam() + "/expected_embeddings.json");
    ModelOptions fp32;
    fp32.precision = Precision::Fp32;  // the reference embeddings are fp32 (auto may pick bf16)
    const auto embedder = Embedder::load(kModels + GetParam(), fp32);
    EXPECT_EQ(embedder->max_length(), json["max_seq_length"].get<std::size_t>());
    EXPECT_EQ(embedder->normalized(), json["normalize"].get<bool>());
    const auto texts = json["texts"].get<std::vector<std::string>>();
    const auto vectors = embedder->embed(texts);
    ASSERT_EQ(vectors.size(), texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto expected = json["embeddings"][i].get<std::vector<float>>();
        ASSERT_EQ(vectors[i].size(), expected.size());
        EXPECT_EQ(vectors[i].size(), embedder->dimension());
        double dot = 0, na = 0, nb = 0;
        for (std::size_t c = 0; c < expected.size(); ++c) {
            dot += double(vectors[i][c]) * expected[c];
            na += double(vectors[i][c]) * vectors[i][c];
            nb += double(expected[c]) * expected[c];
        }
        EXPECT_GE(dot / std::sqrt(na * nb), 0.99999) << "text " << i;
        EXPECT_NEAR(std::sqrt(na), std::sqrt(nb), 1e-4 * std::max(1.0, std::sqrt(nb))) << "text " << i;
        if (embedder->normalized()) {
            EXPECT_NEAR(std::sqrt(na), 1.0, 1e-5) << "text " << i;
        }
    }
    // Alone equals in the batch.
    const auto alone = embedder->embed(std::span<const std::string>(&texts[5], 1));
    for (std::size_t c = 0; c < alone[0].size(); ++c) EXPECT_NEAR(alone[0][c], vectors[5][c], 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, EmbedGolden, ::testing::Values("bert-embed-mean", "bert-embed-cls"),
                         [](const auto& info) {
                             std::string name = info.param;
                             for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                             return name;
                         });

TEST(EmbedApi, MatryoshkaTruncationRenormalizes) {
    const auto embedder = Embedder::load(kModels + "bert-embed-mean");
    const std::vector<std::string> texts{"hello world", "Employees must submit receipts within 30 days."};
    const auto full = embedder->embed(texts);
    const auto cut = embedder->embed(texts, EmbedKind::Query, 16);
    ASSERT_EQ(cut[0].size(), 16u);
    double norm = 0, prefix = 0;
    for (std::size_t c = 0; c < 16; ++c) {
        norm += double(cut[0][c]) * cut[0][c];
        prefix += double(full[0][c]) * full[0][c];
    }
    EXPECT_NEAR(norm, 1.0, 1e-5);
    EXPECT_NEAR(cut[0][3], full[0][3] / std::sqrt(prefix), 1e-5);
    EXPECT_THROW(embedder->embed(texts, EmbedKind::Document, 4096), Error);
    EmbedStats stats;
    const std::vector<std::string> long_text{std::string(2000, 'a') + " " + std::string(500, 'b')};
    embedder->embed_with_stats(long_text, EmbedKind::Document, 0, stats);
    EXPECT_EQ(stats.n_texts, 1u);
}

TEST(RerankApi, LoadErrorsAndUnsupportedPrecision) {
    try {
        Reranker::load(kModels + "does-not-exist");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("does-not-exist"), std::string::npos);
    }
    ModelOptions bf16;
    bf16.precision = Precision::Bf16;
    try {
        Reranker::load(kModels + "bert-ce", bf16);  // fine once bf16 lands
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Unsupported);
    }
    // An embedding model has no classification head.
    try {
        Reranker::load(kModels + "bert-embed-cls");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Unsupported);
    }
}

TEST(RerankApi, PretokenizedScoringWithoutATokenizer) {
    // Like the benchmark model: config + weights only.
    const auto dir = std::filesystem::temp_directory_path() / ("winnow_no_tokenizer_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    for (const char* file : {"config.json", "model.safetensors"}) {
        std::filesystem::copy_file(kModels + "bert-ce/" + file, dir / file,
                                   std::filesystem::copy_options::overwrite_existing);
    }
    const Json ref = load_json_file(kModels + "bert-ce/expected_scores.json");
    ModelOptions fp32;
    fp32.precision = Precision::Fp32;  // compared with the fp32 reference logits
    const auto reranker = Reranker::load(dir.string(), fp32);
    std::vector<TokenizedPair> pairs(1);
    for (std::size_t t = 0; t < ref["input_ids"][0].size(); ++t) {
        if (ref["attention_mask"][0][t].get<int>() == 0) continue;
        pairs[0].input_ids.push_back(ref["input_ids"][0][t].get<int>());
        pairs[0].token_type_ids.push_back(ref["token_type_ids"][0][t].get<int>());
    }
    const auto scores = reranker->score_tokenized(pairs);
    EXPECT_NEAR(scores[0].raw_score, ref["logits"][0].get<float>(), 1e-4);
    EXPECT_EQ(scores[0].n_tokens, pairs[0].input_ids.size());
    try {
        reranker->score("q", std::vector<std::string>{"d"});
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::NotFound);
        EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos);
    }
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace winnow
