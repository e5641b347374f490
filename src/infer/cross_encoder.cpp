#include "infer/finite_check.h"
#include "infer/cross_encoder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/thread_pool.h"
#include "infer/batching.h"
#include "infer/score_activation.h"
#include "infer/segments.h"
#include "models/model_config.h"
#include "models/registry.h"
#include "tensor/kernels.h"
#include "winnow/error.h"

namespace winnow {

namespace {

std::size_t model_limit(std::size_t requested, std::size_t tokenizer_limit, std::size_t model_limit) {
    std::size_t limit = requested > 0 ? requested : tokenizer_limit;
    if (limit == 0 || limit > model_limit) limit = model_limit;
    return limit;
}

}  // namespace

CrossEncoder::CrossEncoder(const std::string& folder, const ModelOptions& options)
    : folder_(folder),
      options_(options),
      model_(load_model(folder, LoadOptions{options.precision, options.device})) {
    if (std::filesystem::exists(std::filesystem::path(folder) / "tokenizer.json")) {
        tokenizer_ = Tokenizer::from_file(folder);
    }
    const ModelConfig config = ModelConfig::load(folder);
    WINNOW_CHECK(model_->info().num_labels == 1, Errc::Unsupported,
                 "{}: a cross-encoder needs a sequence-classification head with one label (found {})", config.where(),
                 model_->info().num_labels);
    activation_ = score_activation_from_config(config.json(), config.where());
    max_length_ = model_limit(options.max_length, tokenizer_ ? tokenizer_->model_max_length() : 0,
                              model_->info().max_tokens);
    if (tokenizer_) {
        // The model sees exactly the pair's tokens: no padding; truncation is given per call.
        tokenizer_->set_padding(std::nullopt);
        tokenizer_->set_truncation(std::nullopt);
    }
}

const Tokenizer& CrossEncoder::tokenizer() const {
    WINNOW_CHECK(tokenizer_.has_value(), Errc::NotFound,
                 "{}: no tokenizer.json in the model folder (only pre-tokenized input can be scored)", folder_);
    return *tokenizer_;
}

TokenizedPair CrossEncoder::tokenize(std::string_view query, std::string_view doc, bool& truncated) const {
    TruncationOptions truncation;
    truncation.max_length = max_length_;
    truncation.strategy = TruncationStrategy::LongestFirst;
    Encoding encoding = tokenizer().encode_pair(query, doc, truncation);
    truncated = encoding.truncated;
    return TokenizedPair{std::move(encoding.ids), std::move(encoding.type_ids)};
}

std::vector<PairScore> CrossEncoder::score_pairs(std::span<const std::pair<std::string, std::string>> pairs) const {
    // Tokenized on every core (the global pool), in segments on a GPU so that the next segment is
    // tokenized while this one is scored.
    struct Segment {
        std::vector<TokenizedPair> tokenized;
        std::vector<char> truncated;
    };
    const auto prepare = [&](std::size_t begin, std::size_t end) {
        Segment segment{std::vector<TokenizedPair>(end - begin), std::vector<char>(end - begin)};
        ThreadPool::global().parallel_for(end - begin, [&](std::size_t from, std::size_t to) {
            for (std::size_t i = from; i < to; ++i) {
                bool cut = false;
                segment.tokenized[i] = tokenize(pairs[begin + i].first, pairs[begin + i].second, cut);
                segment.truncated[i] = cut;
            }
        });
        return segment;
    };
    std::vector<PairScore> scores;
    scores.reserve(pairs.size());
    run_segments(pairs.size(), segment_size(pairs.size(), device()), prepare, [&](std::size_t, Segment&& segment) {
        auto part = score_tokenized(segment.tokenized);
        for (std::size_t i = 0; i < part.size(); ++i) {
            part[i].truncated = segment.truncated[i] != 0;
            scores.push_back(part[i]);
        }
    });
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
        const Tensor logits = model_->logits(batch);
        for (std::size_t b = 0; b < batch_indices.size(); ++b) {
            PairScore& score = scores[batch_indices[b]];
            score.raw_score = logits.row(b)[0];
            score.score = apply_score_activation(activation_, score.raw_score);
            score.n_tokens = static_cast<std::uint32_t>(batch.length(b));
        }
    }
    check_scores_finite(scores, name());
    return scores;
}

}  // namespace winnow
