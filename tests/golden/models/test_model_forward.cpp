// Golden: the encoders and heads reproduce the reference (transformers) numbers on the fixture
// models, fed the fixture's own token ids.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/json.h"
#include "models/registry.h"
#include "winnow/error.h"

namespace winnow {
namespace {

const std::string kModels = std::string(WINNOW_SHARED_DIR) + "/fixtures/models/";

struct Reference {
    Json json;
    TokenBatch batch;  // the fixture's padded rows, unpadded by attention_mask
};

Reference load_reference(const std::string& name) {
    Reference ref;
    ref.json = load_json_file(kModels + name + "/expected_scores.json");
    const auto& ids = ref.json["input_ids"];
    const auto& mask = ref.json["attention_mask"];
    const auto& types = ref.json["token_type_ids"];
    for (std::size_t i = 0; i < ids.size(); ++i) {
        std::vector<std::int32_t> seq_ids, seq_types;
        for (std::size_t t = 0; t < ids[i].size(); ++t) {
            if (mask[i][t].get<int>() == 0) continue;
            seq_ids.push_back(ids[i][t].get<std::int32_t>());
            if (!types.is_null()) seq_types.push_back(types[i][t].get<std::int32_t>());
        }
        ref.batch.add(seq_ids, seq_types);
    }
    return ref;
}

class CrossEncoderGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(CrossEncoderGolden, LogitsAndLastHiddenStateMatchReference) {
    const auto ref = load_reference(GetParam());
    const auto model = load_model(kModels + GetParam());
    ASSERT_EQ(model->info().num_labels, 1u);
    const Tensor hidden = model->forward(ref.batch);
    const Tensor logits = model->classify(ref.batch, hidden);
    const auto& expected = ref.json["logits"];
    ASSERT_EQ(logits.rows(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_NEAR(logits.row(i)[0], expected[i].get<float>(), 1e-4) << "pair " << i;
    }
    const auto& expected_hidden = ref.json["last_hidden_state_pair0"];
    for (std::size_t t = 0; t < ref.batch.length(0); ++t) {
        for (std::size_t c = 0; c < hidden.cols(); ++c) {
            ASSERT_NEAR(hidden.row(t)[c], expected_hidden[t][c].get<float>(), 1e-4) << "token " << t << " dim " << c;
        }
    }
}

// Model::logits (BERT and XLM-R run their last layer for the first token only) gives the reference logits too,
// and the same as classify(forward()) at every precision up to that precision's own rounding.
TEST_P(CrossEncoderGolden, LogitsFromTheBatchMatchReference) {
    const auto ref = load_reference(GetParam());
    const auto model = load_model(kModels + GetParam());
    const Tensor logits = model->logits(ref.batch);
    const auto& expected = ref.json["logits"];
    ASSERT_EQ(logits.rows(), expected.size());
    ASSERT_EQ(logits.cols(), 1u);
    const Tensor full = model->classify(ref.batch, model->forward(ref.batch));
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_NEAR(logits.row(i)[0], expected[i].get<float>(), 1e-4) << "pair " << i;
        EXPECT_NEAR(logits.row(i)[0], full.row(i)[0], 1e-5) << "pair " << i;
    }
    // A batch of one token per sequence (only the first token exists) and invalid input behave as forward() does.
    TokenBatch tiny;
    tiny.add(std::vector<std::int32_t>{ref.batch.input_ids[0]});
    tiny.add(std::vector<std::int32_t>{ref.batch.input_ids[0], ref.batch.input_ids[1]});
    const Tensor tiny_logits = model->logits(tiny);
    const Tensor tiny_full = model->classify(tiny, model->forward(tiny));
    for (std::size_t i = 0; i < 2; ++i) EXPECT_NEAR(tiny_logits.row(i)[0], tiny_full.row(i)[0], 1e-5);
    TokenBatch bad;
    bad.add(std::vector<std::int32_t>{static_cast<std::int32_t>(model->info().vocab_size)});
    EXPECT_THROW(model->logits(bad), Error);
}

// first_token_states (CLS pooling; BERT/XLM-R run the last layer for first rows only, with split projections when
// the model has a head and the fused one when not) equals the first rows of forward().
TEST(FirstTokenStates, EqualTheFirstRowsOfForward) {
    for (const std::string name : {"bert-ce", "xlmr-ce", "modernbert-ce", "bert-embed-cls", "bert-embed-mean"}) {
        const auto model = load_model(kModels + name);
        TokenBatch batch;
        const std::vector<std::int32_t> a{2, 7, 9, 11, 5, 3}, b{2, 4}, c{2};
        batch.add(a);
        batch.add(b);
        batch.add(c);
        const Tensor hidden = model->forward(batch);
        const Tensor first = model->first_token_states(batch);
        ASSERT_EQ(first.rows(), 3u) << name;
        ASSERT_EQ(first.cols(), hidden.cols()) << name;
        for (std::size_t s = 0; s < 3; ++s) {
            for (std::size_t i = 0; i < first.cols(); ++i) {
                ASSERT_NEAR(first.row(s)[i], hidden.row(batch.cu_seqlens[s])[i], 1e-5) << name << " sequence " << s;
            }
        }
    }
}

TEST_P(CrossEncoderGolden, ScoresDoNotDependOnBatching) {
    const auto ref = load_reference(GetParam());
    const auto model = load_model(kModels + GetParam());
    const Tensor all = model->classify(ref.batch, model->forward(ref.batch));
    // Each alone, and the whole batch reversed.
    TokenBatch reversed;
    for (std::size_t s = ref.batch.n_sequences(); s-- > 0;) {
        const auto begin = ref.batch.cu_seqlens[s];
        const auto end = ref.batch.cu_seqlens[s + 1];
        std::span<const std::int32_t> ids(ref.batch.input_ids.data() + begin, end - begin);
        std::span<const std::int32_t> types;
        if (!ref.batch.token_type_ids.empty()) types = {ref.batch.token_type_ids.data() + begin, end - begin};
        reversed.add(ids, types);
        TokenBatch alone;
        alone.add(ids, types);
        const Tensor one = model->classify(alone, model->forward(alone));
        EXPECT_NEAR(one.row(0)[0], all.row(s)[0], 1e-5) << "pair " << s << " alone";
    }
    const Tensor rev = model->classify(reversed, model->forward(reversed));
    const std::size_t n = ref.batch.n_sequences();
    for (std::size_t s = 0; s < n; ++s) EXPECT_NEAR(rev.row(n - 1 - s)[0], all.row(s)[0], 1e-5) << "pair " << s;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CrossEncoderGolden, ::testing::Values("bert-ce", "xlmr-ce", "modernbert-ce"),
                         [](const auto& info) {
                             std::string name = info.param;
                             for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                             return name;
                         });

}  // namespace
}  // namespace winnow
