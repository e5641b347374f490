// winnow::Reranker: scores (query, document) pairs with a cross-encoder or an LLM reranker.
// Thread-safe: one loaded model is shared by all threads; no per-request state is kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "winnow/device.h"
#include "winnow/tokenizer.h"

namespace winnow {

// Which implementation Reranker::load / Embedder::load build. Auto: from config.json (a decoder LM
// such as Qwen3ForCausalLM becomes an LLM reranker scored by its "yes"/"no" logits, or an LLM
// embedder with last-token pooling); Encoder / Llm force one.
enum class ModelKind { Auto, Encoder, Llm };

struct ModelOptions {
    Precision precision = Precision::Auto;
    Device device = Device::Auto;     // where the model runs (winnow/device.h)
    std::size_t n_threads = 0;        // intra-op threads; 0 = all cores
    std::size_t max_length = 0;       // 0 = the model's limit (tokenizer/config)
    std::size_t token_budget = 4096;  // tokens per forward batch (bounds memory; bench/README.md)
    ModelKind kind = ModelKind::Auto;
    // LLM rerankers/embedders: the task instruction ("" = the model's default, e.g. "Given a web
    // search query, retrieve relevant passages that answer the query").
    std::string instruction;
};

struct PairScore {
    float score = 0.0f;      // after the model's activation (sigmoid for one label by default)
    float raw_score = 0.0f;  // the logit
    bool truncated = false;  // the pair was cut to max_length
    std::uint32_t n_tokens = 0;
};

struct RankedDocument {
    std::size_t index = 0;  // position in the input
    float score = 0.0f;
    float raw_score = 0.0f;
};

// A pre-tokenized pair (input_ids with special tokens already added).
struct TokenizedPair {
    std::vector<std::int32_t> input_ids;
    std::vector<std::int32_t> token_type_ids;
};

class Reranker {
public:
    // Loads a model folder (or a hub name resolved through the local HF cache). Picks the
    // implementation from config.json (cross-encoder by model_type, or an LLM reranker).
    static std::shared_ptr<Reranker> load(const std::string& model, const ModelOptions& options = {});
    virtual ~Reranker() = default;

    // Scores each (query, doc) pair; result i belongs to docs[i].
    std::vector<PairScore> score(std::string_view query, std::span<const std::string> docs) const;
    // Sorted by score descending (ties by index ascending); top_n = 0 means all.
    std::vector<RankedDocument> rank(std::string_view query, std::span<const std::string> docs,
                                     std::size_t top_n = 0) const;

    // The primitive every implementation provides: independent pairs, results in input order.
    virtual std::vector<PairScore> score_pairs(std::span<const std::pair<std::string, std::string>> pairs) const = 0;
    // Pre-tokenized pairs (benchmarks, the --pretokenized CLI).
    virtual std::vector<PairScore> score_tokenized(std::span<const TokenizedPair> pairs) const = 0;

    virtual const Tokenizer& tokenizer() const = 0;
    virtual std::size_t max_length() const = 0;
    virtual std::string name() const = 0;  // model folder or hub name
    virtual Precision precision() const = 0;
    // Where the model computes (ModelOptions::device resolved; a remote or fake scorer: the CPU).
    virtual Device device() const { return Device::Cpu; }
};

}  // namespace winnow
