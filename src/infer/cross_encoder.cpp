#include "infer/cross_encoder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/json.h"
#include "infer/batching.h"
#include "models/model_config.h"
#include "models/registry.h"
#include "tensor/kernels.h"
#include "winnow/error.h"

namespace winnow {

namespace {

ScoreActivation parse_activation_class(const std::string& name, std::string_view where) {
    // "torch.nn.modules.activation.Sigmoid", "torch.nn.Identity", ...: the class name decides.
    const auto dot = name.rfind('.');
    const std::string cls = dot == std::string::npos ? name : name.substr(dot + 1);
    if (cls == "Sigmoid") return ScoreActivation::Sigmoid;
    if (cls == "Identity") return ScoreActivation::Identity;
    if (cls == "Tanh") return ScoreActivation::Tanh;
    WINNOW_THROW(Errc::Unsupported, "{}: unsupported cross-encoder activation '{}'", where, name);
}

std::size_t model_limit(std::size_t requested, std::size_t tokenizer_limit, std::size_t model_limit) {
    std::size_t limit = requested > 0 ? requested : tokenizer_limit;
    if (limit == 0 || limit > model_limit) limit = model_limit;
    return limit;
}

}  // namespace

ScoreActivation score_activation_from_config(const Json& config, std::string_view where) {
    if (auto st = config.find("sentence_transformers"); st != config.end() && st->is_object()) {
        if (auto fn = st->find("activation_fn"); fn != st->end() && fn->is_string()) {
            return parse_activation_class(fn->get<std::string>(), where);
        }
    }
    if (auto legacy = config.find("sbert_ce_default_activation_function");
        legacy != config.end() && legacy->is_string()) {
        return parse_activation_class(legacy->get<std::string>(), where);
    }
    std::size_t num_labels = 1;
    if (auto labels = config.find("num_labels"); labels != config.end() && labels->is_number_unsigned()) {
        num_labels = labels->get<std::size_t>();
    } else if (auto id2label = config.find("id2label"); id2label != config.end() && id2label->is_object()) {
        num_labels = id2label->size();
    }
    return num_labels == 1 ? ScoreActivation::Sigmoid : ScoreActivation::Identity;
}

float apply_score_activation(ScoreActivation activation, float logit) noexcept {
    switch (activation) {
        case ScoreActivation::Sigmoid:
            return 1.0f / (1.0f + std::exp(-logit));
        case ScoreActivation::Identity:
            return logit;
        case ScoreActivation::Tanh:
            return std::tanh(logit);
    }
    return logit;
}

CrossEncoder::CrossEncoder(const std::string& folder, const ModelOptions& options)
    : folder_(folder),
      options_(options),
      model_(load_model(folder, LoadOptions{options.precision == Precision::Auto ? Precision::Fp32 : options.precision})),
      tokenizer_(Tokenizer::from_file(folder)) {
    const ModelConfig config = ModelConfig::load(folder);
    WINNOW_CHECK(model_->info().num_labels == 1, Errc::Unsupported,
                 "{}: a cross-encoder needs a sequence-classification head with one label (found {})", config.where(),
                 model_->info().num_labels);
    activation_ = score_activation_from_config(config.json(), config.where());
    max_length_ = model_limit(options.max_length, tokenizer_.model_max_length(), model_->info().max_tokens);
    // The model sees exactly the pair's tokens: no padding; truncation is given per call.
    tokenizer_.set_padding(std::nullopt);
    tokenizer_.set_truncation(std::nullopt);
}

std::vector<PairScore> CrossEncoder::score_pairs(std::span<const std::pair<std::string, std::string>> pairs) const {
    TruncationOptions truncation;
    truncation.max_length = max_length_;
    truncation.strategy = TruncationStrategy::LongestFirst;
    std::vector<TokenizedPair> tokenized(pairs.size());
    std::vector<bool> truncated(pairs.size());
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        Encoding encoding = tokenizer_.encode_pair(pairs[i].first, pairs[i].second, truncation);
        truncated[i] = encoding.truncated;
        tokenized[i].input_ids = std::move(encoding.ids);
        tokenized[i].token_type_ids = std::move(encoding.type_ids);
    }
    auto scores = score_tokenized(tokenized);
    for (std::size_t i = 0; i < scores.size(); ++i) scores[i].truncated = truncated[i];
    return scores;
}

std::vector<PairScore> CrossEncoder::score_tokenized(std::span<const TokenizedPair> pairs) const {
    std::vector<std::size_t> lengths(pairs.size());
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        const auto& pair = pairs[i];
        WINNOW_CHECK(!pair.input_ids.empty(), Errc::InvalidArgument, "pair {}: no input_ids", i);
        WINNOW_CHECK(pair.token_type_ids.empty() || pair.token_type_ids.size() == pair.input_ids.size(),
                     Errc::InvalidArgument, "pair {}: {} token_type_ids for {} input_ids", i,
                     pair.token_type_ids.size(), pair.input_ids.size());
        WINNOW_CHECK(pair.input_ids.size() <= model_->info().max_tokens, Errc::InvalidArgument,
                     "pair {}: {} tokens, more than the model's limit of {}", i, pair.input_ids.size(),
                     model_->info().max_tokens);
        lengths[i] = pair.input_ids.size();
    }
    std::vector<PairScore> scores(pairs.size());
    const ScopedThreads threads(options_.n_threads);
    const bool use_types = model_->info().type_vocab_size > 1;
    for (const auto& batch_indices : plan_batches(lengths, std::max<std::size_t>(options_.token_budget, 1))) {
        TokenBatch batch;
        for (std::size_t index : batch_indices) {
            const auto& pair = pairs[index];
            batch.add(pair.input_ids, use_types ? std::span<const std::int32_t>(pair.token_type_ids)
                                                : std::span<const std::int32_t>());
        }
        const Tensor hidden = model_->forward(batch);
        const Tensor logits = model_->classify(batch, hidden);
        for (std::size_t b = 0; b < batch_indices.size(); ++b) {
            PairScore& score = scores[batch_indices[b]];
            score.raw_score = logits.row(b)[0];
            score.score = apply_score_activation(activation_, score.raw_score);
            score.n_tokens = static_cast<std::uint32_t>(batch.length(b));
        }
    }
    return scores;
}

}  // namespace winnow
