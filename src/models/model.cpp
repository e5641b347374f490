#include "models/model.h"

#include <cstring>

#include "winnow/error.h"

namespace winnow {

void TokenBatch::add(std::span<const std::int32_t> ids, std::span<const std::int32_t> type_ids) {
    WINNOW_CHECK(type_ids.empty() || type_ids.size() == ids.size(), Errc::InvalidArgument,
                 "token batch: {} token_type_ids for {} input_ids", type_ids.size(), ids.size());
    if (!type_ids.empty() && token_type_ids.size() < input_ids.size()) token_type_ids.resize(input_ids.size(), 0);
    input_ids.insert(input_ids.end(), ids.begin(), ids.end());
    if (!type_ids.empty()) {
        token_type_ids.insert(token_type_ids.end(), type_ids.begin(), type_ids.end());
    } else if (!token_type_ids.empty()) {
        token_type_ids.resize(input_ids.size(), 0);
    }
    cu_seqlens.push_back(static_cast<std::uint32_t>(input_ids.size()));
}

Tensor Model::forward(const TokenBatch& batch) const {
    validate(batch);
    return encode(batch);
}

Tensor Model::logits(const TokenBatch& batch) const {
    WINNOW_CHECK(info_.num_labels > 0, Errc::Unsupported, "{}: the model has no sequence-classification head",
                 info_.folder);
    validate(batch);
    return encode_logits(batch);
}

Tensor Model::encode_logits(const TokenBatch& batch) const {
    return classify_hidden(batch, encode(batch));
}

Tensor Model::first_token_states(const TokenBatch& batch) const {
    validate(batch);
    return encode_first_tokens(batch);
}

Tensor Model::encode_first_tokens(const TokenBatch& batch) const {
    const Tensor hidden = encode(batch);
    Tensor first(batch.n_sequences(), hidden.cols());
    for (std::size_t s = 0; s < batch.n_sequences(); ++s) {
        std::memcpy(first.row(s), hidden.row(batch.cu_seqlens[s]), hidden.cols() * sizeof(float));
    }
    return first;
}

void Model::validate(const TokenBatch& batch) const {
    WINNOW_CHECK(!batch.cu_seqlens.empty() && batch.cu_seqlens.front() == 0 &&
                     batch.cu_seqlens.back() == batch.input_ids.size(),
                 Errc::InvalidArgument, "token batch: cu_seqlens do not cover the {} tokens", batch.input_ids.size());
    WINNOW_CHECK(batch.token_type_ids.empty() || batch.token_type_ids.size() == batch.input_ids.size(),
                 Errc::InvalidArgument, "token batch: {} token_type_ids for {} input_ids", batch.token_type_ids.size(),
                 batch.input_ids.size());
    for (std::size_t s = 0; s < batch.n_sequences(); ++s) {
        WINNOW_CHECK(batch.cu_seqlens[s] <= batch.cu_seqlens[s + 1], Errc::InvalidArgument,
                     "token batch: cu_seqlens not increasing at {}", s);
        WINNOW_CHECK(batch.length(s) > 0, Errc::InvalidArgument, "token batch: sequence {} is empty", s);
        WINNOW_CHECK(batch.length(s) <= info_.max_tokens, Errc::InvalidArgument,
                     "sequence {} has {} tokens, more than the model's limit of {}", s, batch.length(s),
                     info_.max_tokens);
    }
    for (std::size_t t = 0; t < batch.input_ids.size(); ++t) {
        const auto id = batch.input_ids[t];
        WINNOW_CHECK(id >= 0 && static_cast<std::size_t>(id) < info_.vocab_size, Errc::InvalidArgument,
                     "token id {} outside the vocabulary of {} tokens", id, info_.vocab_size);
    }
    if (!batch.token_type_ids.empty()) {
        for (const auto type : batch.token_type_ids) {
            WINNOW_CHECK(type >= 0 && static_cast<std::size_t>(type) < std::max<std::size_t>(info_.type_vocab_size, 1),
                         Errc::InvalidArgument, "token type id {} outside [0, {})", type,
                         std::max<std::size_t>(info_.type_vocab_size, 1));
        }
    }
}

Tensor Model::classify(const TokenBatch& batch, const Tensor& hidden) const {
    WINNOW_CHECK(info_.num_labels > 0, Errc::Unsupported, "{}: the model has no sequence-classification head",
                 info_.folder);
    WINNOW_ASSERT(hidden.rows() == batch.n_tokens() && hidden.cols() == info_.hidden_size);
    return classify_hidden(batch, hidden);
}

Tensor Model::classify_hidden(const TokenBatch&, const Tensor&) const {
    WINNOW_THROW(Errc::Unsupported, "{}: the model has no sequence-classification head", info_.folder);
}

}  // namespace winnow
