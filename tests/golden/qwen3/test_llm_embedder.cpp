// The LLM embedder on a test copy of the qwen3 fixture: Qwen3-Embedding's input format (query
// instruction, appended <|endoftext|>), last-token pooling, L2 normalisation, Matryoshka
// truncation with re-normalisation, and Embedder::load dispatch.
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "infer/llm_embedder.h"
#include "llm_test_folder.h"
#include "winnow/embedder.h"
#include "winnow/error.h"

namespace winnow {
namespace {

double norm(const std::vector<float>& v) {
    double sq = 0.0;
    for (float x : v) sq += static_cast<double>(x) * x;
    return std::sqrt(sq);
}

class LlmEmbedderTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        folder_ = new std::string(test::make_qwen3_llm_folder("embedder"));
        embedder_ = new LlmEmbedder(*folder_, ModelOptions{});
    }
    static void TearDownTestSuite() {
        delete embedder_;
        std::filesystem::remove_all(*folder_);
        delete folder_;
    }
    static std::string* folder_;
    static LlmEmbedder* embedder_;
};
std::string* LlmEmbedderTest::folder_ = nullptr;
LlmEmbedder* LlmEmbedderTest::embedder_ = nullptr;

TEST_F(LlmEmbedderTest, InputFormat) {
    const Tokenizer& tok = embedder_->tokenizer();
    const auto eos = *tok.token_to_id("<|endoftext|>");
    EXPECT_EQ(embedder_->eos_id(), eos);
    auto expected = tok.encode(
                           "Instruct: Given a web search query, retrieve relevant passages that answer the query\n"
                           "Query:What is the capital of China?",
                           false)
                        .ids;
    expected.push_back(eos);
    EXPECT_EQ(embedder_->tokenize("What is the capital of China?", EmbedKind::Query), expected);
    auto doc = tok.encode("The capital of China is Beijing.", false).ids;
    doc.push_back(eos);
    EXPECT_EQ(embedder_->tokenize("The capital of China is Beijing.", EmbedKind::Document), doc);
    EXPECT_EQ(embedder_->prompt(EmbedKind::Document), "");

    ModelOptions options;
    options.instruction = "Retrieve semantically similar text";
    const LlmEmbedder custom(*folder_, options);
    EXPECT_EQ(custom.prompt(EmbedKind::Query), "Instruct: Retrieve semantically similar text\nQuery:");
}

TEST_F(LlmEmbedderTest, LastTokenPooledAndNormalized) {
    const std::vector<std::string> texts = {"The capital of China is Beijing.", "Gravity is a force.", "", "x"};
    const auto vectors = embedder_->embed(texts);
    ASSERT_EQ(vectors.size(), texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        ASSERT_EQ(vectors[i].size(), embedder_->dimension());
        EXPECT_NEAR(norm(vectors[i]), 1.0, 1e-5);
        // The final hidden state of the appended end-of-text token, normalized.
        TokenBatch batch;
        batch.add(embedder_->tokenize(texts[i], EmbedKind::Document));
        const Tensor hidden = embedder_->model().forward(batch);
        const float* last = hidden.row(hidden.rows() - 1);
        double sq = 0.0;
        for (std::size_t c = 0; c < hidden.cols(); ++c) sq += static_cast<double>(last[c]) * last[c];
        for (std::size_t c = 0; c < hidden.cols(); ++c) {
            EXPECT_NEAR(vectors[i][c], last[c] / std::sqrt(sq), 1e-5) << i << " " << c;
        }
    }
    // Queries get the instruction: a different vector.
    const auto query = embedder_->embed(std::vector<std::string>{texts[0]}, EmbedKind::Query);
    EXPECT_GT(std::abs(query[0][0] - vectors[0][0]) + std::abs(query[0][1] - vectors[0][1]), 1e-6);
}

TEST_F(LlmEmbedderTest, MatryoshkaTruncationRenormalizes) {
    const std::vector<std::string> texts = {"Berlin is well known for its museums.", "short"};
    const auto full = embedder_->embed(texts);
    const auto cut = embedder_->embed(texts, EmbedKind::Document, 16);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        ASSERT_EQ(cut[i].size(), 16u);
        EXPECT_NEAR(norm(cut[i]), 1.0, 1e-5);
        const std::vector<float> head(full[i].begin(), full[i].begin() + 16);
        const double scale = norm(head);
        for (std::size_t c = 0; c < 16; ++c) EXPECT_NEAR(cut[i][c], head[c] / scale, 1e-5);
    }
    EXPECT_THROW(embedder_->embed(texts, EmbedKind::Document, embedder_->dimension() + 1), Error);
}

TEST_F(LlmEmbedderTest, TruncationAndStats) {
    ModelOptions options;
    options.max_length = 8;
    const LlmEmbedder short_model(*folder_, options);
    const std::vector<std::string> texts = {"The quick brown fox jumps over the lazy dog again and again.", "a"};
    EmbedStats stats;
    const auto vectors = short_model.embed_with_stats(texts, EmbedKind::Document, 0, stats);
    EXPECT_EQ(stats.n_texts, 2u);
    EXPECT_EQ(stats.n_truncated, 1u);
    const auto ids = short_model.tokenize(texts[0], EmbedKind::Document);
    ASSERT_EQ(ids.size(), 8u);
    EXPECT_EQ(ids.back(), short_model.eos_id());
    EXPECT_EQ(stats.n_tokens, 8u + short_model.tokenize(texts[1], EmbedKind::Document).size());
    // Independent of batching: the same vector alone.
    const auto alone = short_model.embed(std::vector<std::string>{texts[1]});
    for (std::size_t c = 0; c < alone[0].size(); ++c) EXPECT_NEAR(alone[0][c], vectors[1][c], 1e-5);
}

TEST_F(LlmEmbedderTest, LoadDispatch) {
    const auto loaded = Embedder::load(*folder_);
    ASSERT_NE(dynamic_cast<const LlmEmbedder*>(loaded.get()), nullptr);
    EXPECT_TRUE(loaded->normalized());
    EXPECT_EQ(loaded->dimension(), 64u);
}

}  // namespace
}  // namespace winnow
