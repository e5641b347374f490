// Golden: the qwen3 decoder reproduces transformers' Qwen3ForCausalLM on the fixture (last-position
// logits over the full vocabulary and last hidden state, within 1e-4), fed the fixture's token ids;
// continuing a KV-cached prefix gives the same numbers as running the whole sequence.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/json.h"
#include "models/causal_lm.h"
#include "models/registry.h"
#include "winnow/error.h"

namespace winnow {
namespace {

const std::string kFolder = std::string(WINNOW_SHARED_DIR) + "/fixtures/models/qwen3-lm";

struct Case {
    std::vector<std::int32_t> ids;
    std::vector<float> logits;
    std::vector<float> hidden;
};

std::vector<Case> load_cases() {
    const Json json = load_json_file(kFolder + "/expected_logits.json");
    std::vector<Case> cases;
    for (const auto& c : json["cases"]) {
        cases.push_back({c["input_ids"].get<std::vector<std::int32_t>>(), c["last_logits"].get<std::vector<float>>(),
                         c["last_hidden"].get<std::vector<float>>()});
    }
    return cases;
}

float max_abs_diff(const float* a, const std::vector<float>& b) {
    float worst = 0.0f;
    for (std::size_t i = 0; i < b.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
    return worst;
}

class Qwen3Golden : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        model_ = load_causal_lm(kFolder).release();
        cases_ = new std::vector<Case>(load_cases());
    }
    static void TearDownTestSuite() {
        delete model_;
        delete cases_;
    }
    static CausalLm* model_;
    static std::vector<Case>* cases_;
};
CausalLm* Qwen3Golden::model_ = nullptr;
std::vector<Case>* Qwen3Golden::cases_ = nullptr;

TEST_F(Qwen3Golden, ConfigIsRead) {
    EXPECT_EQ(model_->info().model_type, "qwen3");
    EXPECT_EQ(model_->info().hidden_size, 64u);
    EXPECT_EQ(model_->info().vocab_size, 1500u);
    EXPECT_EQ(model_->info().max_tokens, 256u);
    EXPECT_TRUE(model_->has_lm_head());  // tied to the embeddings
    ASSERT_EQ(cases_->size(), 10u);
}

TEST_F(Qwen3Golden, LastLogitsAndHiddenMatchOneAtATime) {
    for (std::size_t i = 0; i < cases_->size(); ++i) {
        const Case& c = (*cases_)[i];
        TokenBatch batch;
        batch.add(c.ids);
        const Tensor hidden = model_->forward(batch);
        const float* last = hidden.row(hidden.rows() - 1);
        ASSERT_EQ(c.hidden.size(), hidden.cols());
        EXPECT_LT(max_abs_diff(last, c.hidden), 1e-4f) << "case " << i;
        const auto logits = model_->logits(last);
        ASSERT_EQ(logits.size(), c.logits.size());
        EXPECT_LT(max_abs_diff(logits.data(), c.logits), 1e-4f) << "case " << i;
        EXPECT_NEAR(model_->logit(last, 295), c.logits[295], 1e-4f);
    }
}

TEST_F(Qwen3Golden, BatchedMatchesTheReference) {
    TokenBatch batch;
    for (const Case& c : *cases_) batch.add(c.ids);
    const Tensor hidden = model_->forward(batch);
    for (std::size_t i = 0; i < cases_->size(); ++i) {
        const float* last = hidden.row(batch.cu_seqlens[i + 1] - 1);
        EXPECT_LT(max_abs_diff(last, (*cases_)[i].hidden), 1e-4f) << "case " << i;
    }
}

TEST_F(Qwen3Golden, CachedPrefixContinuationMatchesFullSequence) {
    // All cases start with "<Query>: "; continue a prefix of the first case's query with the rest
    // of several cases that share it, in one batch.
    const Case& first = (*cases_)[0];
    for (std::size_t split : {1u, 5u, 12u}) {
        const std::span<const std::int32_t> head(first.ids.data(), split);
        const KvCache cache = model_->prefill(head);
        EXPECT_EQ(cache.length(), split);
        TokenBatch batch;
        std::vector<std::size_t> used;
        for (std::size_t i = 0; i < cases_->size(); ++i) {
            const auto& ids = (*cases_)[i].ids;
            if (ids.size() <= split || !std::equal(head.begin(), head.end(), ids.begin())) continue;
            batch.add(std::span<const std::int32_t>(ids.data() + split, ids.size() - split));
            used.push_back(i);
        }
        ASSERT_GE(used.size(), 2u);
        const Tensor hidden = model_->forward_cached(batch, cache);
        for (std::size_t b = 0; b < used.size(); ++b) {
            const Case& c = (*cases_)[used[b]];
            const float* last = hidden.row(batch.cu_seqlens[b + 1] - 1);
            EXPECT_LT(max_abs_diff(last, c.hidden), 1e-4f) << "case " << used[b] << " split " << split;
            const auto logits = model_->logits(last);
            EXPECT_LT(max_abs_diff(logits.data(), c.logits), 1e-4f) << "case " << used[b] << " split " << split;
        }
    }
}

TEST_F(Qwen3Golden, RejectsBadInput) {
    TokenBatch bad_id;
    bad_id.add(std::vector<std::int32_t>{1, 1500});
    EXPECT_THROW(model_->forward(bad_id), Error);
    const KvCache cache = model_->prefill(std::vector<std::int32_t>(200, 7));
    TokenBatch too_long;
    too_long.add(std::vector<std::int32_t>(57, 7));  // 200 + 57 > 256 positions
    EXPECT_THROW(model_->forward_cached(too_long, cache), Error);
    EXPECT_THROW(model_->logit(cache.keys(0).data(), -1), Error);
}

TEST(Qwen3Load, NotACausalLmIsRejected) {
    EXPECT_THROW(load_causal_lm(std::string(WINNOW_SHARED_DIR) + "/fixtures/models/bert-ce"), Error);
}

}  // namespace
}  // namespace winnow
