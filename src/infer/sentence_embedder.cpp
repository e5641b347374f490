#include "infer/finite_check.h"
#include "infer/sentence_embedder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/thread_pool.h"
#include "infer/batching.h"
#include "infer/segments.h"
#include "models/registry.h"
#include "tensor/kernels.h"
#include "winnow/error.h"

namespace winnow {

namespace {
std::string tokenizer_folder(const std::string& root, const std::string& transformer) {
    if (std::filesystem::exists(std::filesystem::path(transformer) / "tokenizer.json")) return transformer;
    return root;
}
}  // namespace

SentenceEmbedder::SentenceEmbedder(const std::string& folder, const ModelOptions& options)
    : folder_(folder),
      options_(options),
      config_(load_sentence_transformers_config(folder)),
      model_(load_model(config_.transformer_folder,
                        LoadOptions{options.precision, options.device})),
      tokenizer_(Tokenizer::from_file(tokenizer_folder(folder, config_.transformer_folder))) {
    std::size_t limit = options.max_length;
    if (limit == 0) limit = config_.max_seq_length;
    if (limit == 0) limit = tokenizer_.model_max_length();
    if (limit == 0 || limit > model_->info().max_tokens) limit = model_->info().max_tokens;
    max_length_ = limit;
    dimension_ = model_->info().hidden_size * config_.pooling.modes().size();
    tokenizer_.set_padding(std::nullopt);
    TruncationOptions truncation;
    truncation.max_length = max_length_;
    tokenizer_.set_truncation(truncation);
}

std::string SentenceEmbedder::prompt(EmbedKind kind) const {
    const std::string name = kind == EmbedKind::Query ? "query" : "document";
    if (auto it = config_.prompts.find(name); it != config_.prompts.end()) return it->second;
    if (kind == EmbedKind::Document) {
        for (const char* alias : {"passage", "corpus"}) {
            if (auto it = config_.prompts.find(alias); it != config_.prompts.end()) return it->second;
        }
    }
    return config_.default_prompt_name.empty() ? std::string() : config_.prompt(config_.default_prompt_name);
}

std::vector<std::vector<float>> SentenceEmbedder::embed(std::span<const std::string> texts, EmbedKind kind,
                                                        std::size_t dimensions) const {
    EmbedStats stats;
    return embed_with_stats(texts, kind, dimensions, stats);
}

std::vector<std::vector<float>> SentenceEmbedder::embed_with_stats(std::span<const std::string> texts, EmbedKind kind,
                                                                   std::size_t dimensions, EmbedStats& stats) const {
    WINNOW_CHECK(dimensions <= dimension_, Errc::InvalidArgument, "{} dimensions requested, the model has {}",
                 dimensions, dimension_);
    const std::string prefix = prompt(kind);
    std::uint32_t prompt_length = 0;
    if (!prefix.empty() && !config_.pooling.include_prompt()) {
        // As sentence-transformers: the prompt's tokens with special tokens, minus the final one.
        const auto n = tokenizer_.encode(prefix).size();
        prompt_length = static_cast<std::uint32_t>(n > 0 ? n - 1 : 0);
    }
    // Tokenized on every core (the global pool), in segments on a GPU so that the next segment is
    // tokenized while this one is embedded.
    struct Segment {
        std::vector<std::vector<std::int32_t>> sequences;
        std::size_t n_truncated = 0, n_tokens = 0;
    };
    const auto prepare = [&](std::size_t begin, std::size_t end) {
        Segment segment;
        segment.sequences.resize(end - begin);
        std::vector<char> truncated(end - begin);
        ThreadPool::global().parallel_for(end - begin, [&](std::size_t from, std::size_t to) {
            for (std::size_t i = from; i < to; ++i) {
                Encoding encoding = tokenizer_.encode(prefix.empty() ? texts[begin + i] : prefix + texts[begin + i]);
                truncated[i] = encoding.truncated ? 1 : 0;
                segment.sequences[i] = std::move(encoding.ids);
            }
        });
        for (std::size_t i = 0; i < truncated.size(); ++i) {
            segment.n_truncated += truncated[i];
            segment.n_tokens += segment.sequences[i].size();
        }
        return segment;
    };
    std::vector<std::vector<float>> vectors;
    vectors.reserve(texts.size());
    run_segments(texts.size(), segment_size(texts.size(), model_->info().device), prepare, [&](std::size_t, Segment&& segment) {
        stats.n_truncated += segment.n_truncated;
        stats.n_tokens += segment.n_tokens;
        const std::vector<std::uint32_t> prompt_lengths(prompt_length > 0 ? segment.sequences.size() : 0,
                                                        prompt_length);
        auto part = embed_tokenized(segment.sequences, prompt_lengths);
        for (auto& v : part) vectors.push_back(std::move(v));
    });
    stats.n_texts += texts.size();
    if (dimensions > 0 && dimensions < dimension_) {
        for (auto& v : vectors) {
            v.resize(dimensions);
            if (config_.normalize) {
                double sq = 0.0;
                for (float x : v) sq += static_cast<double>(x) * x;
                const float norm = std::max(static_cast<float>(std::sqrt(sq)), 1e-12f);
                for (float& x : v) x /= norm;
            }
        }
    }
    return vectors;
}

std::vector<std::vector<float>> SentenceEmbedder::embed_tokenized(std::span<const std::vector<std::int32_t>> sequences,
                                                                  std::span<const std::uint32_t> prompt_lengths) const {
    std::vector<std::size_t> lengths(sequences.size());
    for (std::size_t i = 0; i < sequences.size(); ++i) {
        WINNOW_CHECK(!sequences[i].empty(), Errc::InvalidArgument, "text {}: no tokens", i);
        lengths[i] = sequences[i].size();
    }
    std::vector<std::vector<float>> out(sequences.size());
    const ScopedThreads threads(options_.n_threads);
    const bool cls_only = config_.pooling.modes() == std::vector<PoolingMode>{PoolingMode::Cls};
    for (const auto& indices : plan_batches(lengths, std::max<std::size_t>(options_.token_budget, 1))) {
        TokenBatch batch;
        std::vector<std::uint32_t> skip;
        for (std::size_t index : indices) {
            batch.add(sequences[index]);
            if (!prompt_lengths.empty()) skip.push_back(prompt_lengths[index]);
        }
        // CLS pooling alone reads one row per sequence: the model computes its last layer for those rows only.
        Tensor pooled = cls_only ? model_->first_token_states(batch)
                                 : config_.pooling.pool(model_->forward(batch), batch.cu_seqlens, skip);
        if (config_.normalize) l2_normalize_rows(pooled);
        for (std::size_t b = 0; b < indices.size(); ++b) {
            out[indices[b]].assign(pooled.row(b), pooled.row(b) + pooled.cols());
        }
    }
    check_embeddings_finite(out, name());
    return out;
}

}  // namespace winnow
