// The LLM reranker on a test copy of the qwen3 fixture: the published Qwen3-Reranker prompt,
// tokenized exactly as the whole hand-written string is; truncation keeping the template suffix;
// yes/no scoring; and prefix reuse through the KV cache giving the scores of scoring from scratch.
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "infer/llm_reranker.h"
#include "llm_test_folder.h"
#include "winnow/error.h"
#include "winnow/reranker.h"

namespace winnow {
namespace {

const std::string kSystem =
    "Judge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the "
    "answer can only be \"yes\" or \"no\".";

// The published format, written out by hand.
std::string published_prompt(const std::string& instruction, const std::string& query, const std::string& doc) {
    return "<|im_start|>system\n" + kSystem + "<|im_end|>\n<|im_start|>user\n<Instruct>: " + instruction +
           "\n<Query>: " + query + "\n<Document>: " + doc +
           "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";
}

const std::vector<std::string> kDocs = {
    "Expenses over $500 require written approval from a department manager; over $5,000 the CFO must sign.",
    "The cafeteria opens at 8am on weekdays.",
    "Reimbursement claims are filed in the travel portal within 30 days.",
    "",
    "  leading spaces and a trailing dot.",
    "12,345 numbers first",
    "(parenthesised) start",
    "café naïve 中文字符测试 👍🏽",
    "The March minutes were approved by Dana Lee on April 2.",
    "Berlin had a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.",
    "A",
    "The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog.",
};

class LlmRerankerTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        folder_ = new std::string(test::make_qwen3_llm_folder("reranker"));
        reranker_ = new LlmReranker(*folder_, ModelOptions{});
    }
    static void TearDownTestSuite() {
        delete reranker_;
        std::filesystem::remove_all(*folder_);
        delete folder_;
    }
    static std::string* folder_;
    static LlmReranker* reranker_;
};
std::string* LlmRerankerTest::folder_ = nullptr;
LlmReranker* LlmRerankerTest::reranker_ = nullptr;

TEST_F(LlmRerankerTest, TemplateTokensEqualThePublishedFormat) {
    const Tokenizer& tok = reranker_->tokenizer();
    const std::string query = "What are the approval criteria for expense reimbursement?";
    const std::string doc = kDocs[0];
    const auto expected =
        tok.encode(published_prompt("Given a web search query, retrieve relevant passages that answer the query", query,
                                    doc),
                   false)
            .ids;
    const auto prompt = reranker_->tokenize(query, doc);
    EXPECT_FALSE(prompt.truncated);
    EXPECT_EQ(prompt.ids, expected);
    // The chat tokens are single special tokens: three <|im_start|>, two <|im_end|>.
    const auto im_start = *tok.token_to_id("<|im_start|>");
    const auto im_end = *tok.token_to_id("<|im_end|>");
    EXPECT_EQ(std::count(prompt.ids.begin(), prompt.ids.end(), im_start), 3);
    EXPECT_EQ(std::count(prompt.ids.begin(), prompt.ids.end(), im_end), 2);
    EXPECT_EQ(prompt.ids.front(), im_start);
    EXPECT_EQ(reranker_->yes_id(), *tok.token_to_id("yes"));
    EXPECT_EQ(reranker_->no_id(), *tok.token_to_id("no"));
}

TEST_F(LlmRerankerTest, TemplateTokensForEveryDocument) {
    const Tokenizer& tok = reranker_->tokenizer();
    for (const auto& doc : kDocs) {
        const auto expected =
            tok.encode(published_prompt(std::string(kQwen3DefaultInstruction), "short query", doc), false).ids;
        EXPECT_EQ(reranker_->tokenize("short query", doc).ids, expected) << doc;
    }
}

TEST_F(LlmRerankerTest, InstructionIsConfigurable) {
    ModelOptions options;
    options.instruction = "Given a question, retrieve the policy paragraph that answers it";
    const LlmReranker custom(*folder_, options);
    EXPECT_EQ(custom.instruction(), options.instruction);
    const auto expected =
        custom.tokenizer().encode(published_prompt(options.instruction, "who signs?", kDocs[0]), false).ids;
    EXPECT_EQ(custom.tokenize("who signs?", kDocs[0]).ids, expected);
    EXPECT_NE(custom.tokenize("who signs?", kDocs[0]).ids, reranker_->tokenize("who signs?", kDocs[0]).ids);
}

TEST_F(LlmRerankerTest, TruncationKeepsTheSuffix) {
    const Tokenizer& tok = reranker_->tokenizer();
    const auto prefix_ids = tok.encode(reranker_->prefix(), false).ids;
    const auto suffix_ids = tok.encode(reranker_->suffix(), false).ids;
    // Room for the body of ("how long", "short") plus two tokens.
    const std::size_t short_body = tok.encode(reranker_->body("how long", "short"), false).ids.size();
    ModelOptions options;
    options.max_length = prefix_ids.size() + suffix_ids.size() + short_body + 2;
    const LlmReranker short_model(*folder_, options);
    EXPECT_EQ(short_model.max_length(), options.max_length);
    const std::string doc = kDocs[11] + " " + kDocs[11];
    const auto prompt = short_model.tokenize("how long", doc);
    EXPECT_TRUE(prompt.truncated);
    ASSERT_EQ(prompt.ids.size(), options.max_length);
    EXPECT_TRUE(std::equal(prefix_ids.begin(), prefix_ids.end(), prompt.ids.begin()));
    EXPECT_TRUE(std::equal(suffix_ids.rbegin(), suffix_ids.rend(), prompt.ids.rbegin()));
    // The body is cut on the right: its first tokens are kept.
    const auto body = tok.encode(short_model.body("how long", doc), false).ids;
    const std::size_t kept = options.max_length - prefix_ids.size() - suffix_ids.size();
    ASSERT_GT(body.size(), kept);
    EXPECT_TRUE(std::equal(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(kept),
                           prompt.ids.begin() + static_cast<std::ptrdiff_t>(prefix_ids.size())));
    // Scores of truncated pairs are reported as such.
    const std::vector<std::string> docs = {doc, "short"};
    const auto scores = short_model.score("how long", docs);
    EXPECT_TRUE(scores[0].truncated);
    EXPECT_FALSE(scores[1].truncated);
    EXPECT_EQ(scores[0].n_tokens, options.max_length);
    // A limit that leaves no room for the template is refused.
    options.max_length = prefix_ids.size() + suffix_ids.size();
    EXPECT_THROW(LlmReranker(*folder_, options), Error);
}

TEST_F(LlmRerankerTest, ScoreIsTheYesProbabilityAtTheLastPosition) {
    const std::string query = "What are the approval criteria for expense reimbursement?";
    const auto scores = reranker_->score(query, kDocs);
    ASSERT_EQ(scores.size(), kDocs.size());
    for (std::size_t i = 0; i < kDocs.size(); ++i) {
        const auto prompt = reranker_->tokenize(query, kDocs[i]);
        TokenBatch batch;
        batch.add(prompt.ids);
        const Tensor hidden = reranker_->model().forward(batch);
        const auto logits = reranker_->model().logits(hidden.row(hidden.rows() - 1));
        const double yes = logits[reranker_->yes_id()];
        const double no = logits[reranker_->no_id()];
        const double p_yes = std::exp(yes) / (std::exp(yes) + std::exp(no));
        EXPECT_NEAR(scores[i].raw_score, yes - no, 1e-4) << i;
        EXPECT_NEAR(scores[i].score, p_yes, 1e-5) << i;
        EXPECT_EQ(scores[i].n_tokens, prompt.ids.size());
        EXPECT_FALSE(scores[i].truncated);
    }
}

TEST_F(LlmRerankerTest, PrefixReuseMatchesScoringFromScratch) {
    const std::string query = "how many people live in berlin";
    std::vector<std::vector<std::int32_t>> prompts;
    for (const auto& doc : kDocs) prompts.push_back(reranker_->tokenize(query, doc).ids);
    std::vector<std::size_t> all(prompts.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    const std::vector<std::vector<std::size_t>> one_group{all};
    const auto reused = reranker_->score_prompts(prompts, one_group, true);
    const auto scratch = reranker_->score_prompts(prompts, one_group, false);
    ASSERT_EQ(reused.size(), scratch.size());
    for (std::size_t i = 0; i < reused.size(); ++i) {
        EXPECT_NEAR(reused[i].raw_score, scratch[i].raw_score, 1e-4) << i;
        EXPECT_NEAR(reused[i].score, scratch[i].score, 1e-4) << i;
    }
    // And each pair scored alone (no batch, no shared prefix).
    for (std::size_t i = 0; i < kDocs.size(); ++i) {
        const std::vector<std::string> one = {kDocs[i]};
        EXPECT_NEAR(reranker_->score(query, one)[0].raw_score, reused[i].raw_score, 1e-4) << i;
    }
    // The facade (score -> score_pairs) reuses the prefix and agrees too.
    const auto facade = reranker_->score(query, kDocs);
    for (std::size_t i = 0; i < kDocs.size(); ++i) EXPECT_NEAR(facade[i].raw_score, scratch[i].raw_score, 1e-4);
}

TEST_F(LlmRerankerTest, MixedQueriesAndTinyTokenBudget) {
    ModelOptions options;
    options.token_budget = 1;  // every document in a batch of its own
    const LlmReranker tiny(*folder_, options);
    std::vector<std::pair<std::string, std::string>> pairs;
    for (std::size_t i = 0; i < kDocs.size(); ++i) pairs.emplace_back(i % 2 == 0 ? "query one" : "query two", kDocs[i]);
    const auto mixed = tiny.score_pairs(pairs);
    const auto batched = reranker_->score_pairs(pairs);
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        const std::vector<std::pair<std::string, std::string>> one = {pairs[i]};
        const float alone = reranker_->score_pairs(one)[0].raw_score;
        EXPECT_NEAR(mixed[i].raw_score, alone, 1e-4) << i;
        EXPECT_NEAR(batched[i].raw_score, alone, 1e-4) << i;
    }
    // Pre-tokenized prompts go through the same scoring.
    std::vector<TokenizedPair> tokenized(pairs.size());
    for (std::size_t i = 0; i < pairs.size(); ++i)
        tokenized[i].input_ids = tiny.tokenize(pairs[i].first, pairs[i].second).ids;
    const auto pre = reranker_->score_tokenized(tokenized);
    for (std::size_t i = 0; i < pairs.size(); ++i) EXPECT_NEAR(pre[i].raw_score, batched[i].raw_score, 1e-4) << i;
}

TEST_F(LlmRerankerTest, LoadPicksTheLlmRerankerAndRanks) {
    const auto loaded = Reranker::load(*folder_);
    ASSERT_NE(dynamic_cast<const LlmReranker*>(loaded.get()), nullptr);
    const auto ranked = loaded->rank("approval criteria", kDocs, 3);
    ASSERT_EQ(ranked.size(), 3u);
    EXPECT_GE(ranked[0].score, ranked[1].score);
    EXPECT_GE(ranked[1].score, ranked[2].score);
    // Forcing the encoder path on a decoder LM fails with an error, not a crash.
    ModelOptions encoder;
    encoder.kind = ModelKind::Encoder;
    EXPECT_THROW(Reranker::load(*folder_, encoder), Error);
}

TEST(LlmRerankerLoad, ACausalLmWithoutYesTokenIsRejected) {
    // The raw fixture tokenizer has no "yes" token.
    try {
        LlmReranker reranker(test::kQwen3Fixture, ModelOptions{});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Unsupported);
        EXPECT_NE(std::string(e.what()).find("'yes'"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(is_llm_model_folder(test::kQwen3Fixture));
    EXPECT_FALSE(is_llm_model_folder(std::string(WINNOW_SHARED_DIR) + "/fixtures/models/bert-ce"));
}

}  // namespace
}  // namespace winnow
