#include "infer/finite_check.h"
#include "infer/llm_embedder.h"

#include <algorithm>
#include <cmath>

#include "infer/batching.h"
#include "infer/llm_reranker.h"
#include "models/model_config.h"
#include "models/pooling.h"
#include "models/sentence_transformers.h"
#include "tensor/kernels.h"
#include "winnow/error.h"

namespace winnow {

namespace {

constexpr std::size_t kDefaultMaxLength = 8192;  // the published Qwen3-Embedding setting

std::int32_t find_eos(const Tokenizer& tokenizer, const ModelConfig& config) {
    if (const auto id = tokenizer.token_to_id("<|endoftext|>")) return *id;
    const Json& json = config.json();
    if (auto it = json.find("eos_token_id"); it != json.end()) {
        if (it->is_number_integer()) return json_value_as<std::int32_t>(*it, "eos_token_id", config.where());
        if (it->is_array() && !it->empty() && (*it)[0].is_number_integer()) {
            return json_value_as<std::int32_t>((*it)[0], "eos_token_id", config.where());
        }
    }
    WINNOW_THROW(Errc::Unsupported,
                 "{}: no end-of-text token for last-token pooling (no '<|endoftext|>' token and no eos_token_id)",
                 config.where());
}

}  // namespace

LlmEmbedder::LlmEmbedder(const std::string& folder, const ModelOptions& options)
    : folder_(folder),
      options_(options),
      model_(load_causal_lm(folder,
                            LoadOptions{options.precision, options.device})),
      tokenizer_(Tokenizer::from_file(folder)) {
    tokenizer_.set_padding(std::nullopt);
    tokenizer_.set_truncation(std::nullopt);
    const ModelConfig config = ModelConfig::load(folder);
    eos_id_ = find_eos(tokenizer_, config);
    WINNOW_CHECK(eos_id_ >= 0 && static_cast<std::size_t>(eos_id_) < model_->info().vocab_size, Errc::Corrupt,
                 "{}: end-of-text token id {} outside the vocabulary of {}", config.where(), eos_id_,
                 model_->info().vocab_size);

    const SentenceTransformersConfig st = load_sentence_transformers_config(folder);
    if (!options.instruction.empty()) {
        query_prompt_ = "Instruct: " + options.instruction + "\nQuery:";
    } else if (auto it = st.prompts.find("query"); it != st.prompts.end()) {
        query_prompt_ = it->second;
    } else {
        query_prompt_ = std::string("Instruct: ") + kQwen3DefaultInstruction + "\nQuery:";
    }
    for (const char* name : {"document", "passage", "corpus"}) {
        if (auto it = st.prompts.find(name); it != st.prompts.end()) {
            document_prompt_ = it->second;
            break;
        }
    }
    const std::size_t limit = model_->info().max_tokens;
    std::size_t length = options.max_length > 0 ? options.max_length : st.max_seq_length;
    if (length == 0) length = kDefaultMaxLength;
    max_length_ = std::min(length, limit);
    WINNOW_CHECK(max_length_ >= 2, Errc::InvalidArgument, "max_length {} is too short for an embedding input",
                 max_length_);
}

std::vector<std::int32_t> LlmEmbedder::tokenize(std::string_view text, EmbedKind kind, bool* truncated) const {
    const std::string& prefix = prompt(kind);
    Encoding encoding = tokenizer_.encode(prefix.empty() ? std::string(text) : prefix + std::string(text), false);
    std::vector<std::int32_t> ids = std::move(encoding.ids);
    const bool cut = ids.size() > max_length_ - 1;
    if (cut) ids.resize(max_length_ - 1);
    ids.push_back(eos_id_);
    if (truncated != nullptr) *truncated = cut;
    return ids;
}

std::vector<std::vector<float>> LlmEmbedder::embed(std::span<const std::string> texts, EmbedKind kind,
                                                   std::size_t dimensions) const {
    EmbedStats stats;
    return embed_with_stats(texts, kind, dimensions, stats);
}

std::vector<std::vector<float>> LlmEmbedder::embed_with_stats(std::span<const std::string> texts, EmbedKind kind,
                                                              std::size_t dimensions, EmbedStats& stats) const {
    WINNOW_CHECK(dimensions <= dimension(), Errc::InvalidArgument, "{} dimensions requested, the model has {}",
                 dimensions, dimension());
    std::vector<std::vector<std::int32_t>> sequences(texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        bool truncated = false;
        sequences[i] = tokenize(texts[i], kind, &truncated);
        stats.n_truncated += truncated ? 1 : 0;
        stats.n_tokens += sequences[i].size();
    }
    stats.n_texts += texts.size();
    auto vectors = embed_tokenized(sequences);
    if (dimensions > 0 && dimensions < dimension()) {
        // Matryoshka: keep the leading dimensions and re-normalize.
        for (auto& v : vectors) {
            v.resize(dimensions);
            double sq = 0.0;
            for (float x : v) sq += static_cast<double>(x) * x;
            const float norm = std::max(static_cast<float>(std::sqrt(sq)), 1e-12f);
            for (float& x : v) x /= norm;
        }
    }
    return vectors;
}

std::vector<std::vector<float>> LlmEmbedder::embed_tokenized(
    std::span<const std::vector<std::int32_t>> sequences) const {
    std::vector<std::size_t> lengths(sequences.size());
    for (std::size_t i = 0; i < sequences.size(); ++i) {
        WINNOW_CHECK(!sequences[i].empty(), Errc::InvalidArgument, "text {}: no tokens", i);
        lengths[i] = sequences[i].size();
    }
    std::vector<std::vector<float>> out(sequences.size());
    const ScopedThreads threads(options_.n_threads);
    const std::size_t dim = dimension();
    for (const auto& indices : plan_batches(lengths, std::max<std::size_t>(options_.token_budget, 1))) {
        TokenBatch batch;
        for (std::size_t index : indices) batch.add(sequences[index]);
        const Tensor hidden = model_->forward(batch);
        Tensor pooled(indices.size(), dim);
        for (std::size_t b = 0; b < indices.size(); ++b) {
            const float* last = hidden.row(batch.cu_seqlens[b + 1] - 1);
            std::copy(last, last + dim, pooled.row(b));
        }
        l2_normalize_rows(pooled);
        for (std::size_t b = 0; b < indices.size(); ++b) out[indices[b]].assign(pooled.row(b), pooled.row(b) + dim);
    }
    check_embeddings_finite(out, name());
    return out;
}

}  // namespace winnow
