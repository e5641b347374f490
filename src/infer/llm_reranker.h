// LlmReranker: a decoder LM used as a reranker the way Qwen3-Reranker is published: each
// (query, document) pair becomes the chat prompt
//   <|im_start|>system\n{judge prompt}<|im_end|>\n<|im_start|>user\n
//   <Instruct>: {instruction}\n<Query>: {query}\n<Document>: {doc}
//   <|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n
// (prefix, body and suffix tokenized separately without special tokens, the body cut on the right
// so that the suffix always survives), and the score is softmax over the "yes"/"no" logits at the
// last position: score = P(yes), raw_score = logit(yes) - logit(no).
// The tokens all documents of a query share (system prompt + instruction + query) run once and
// their KV cache is reused by every document.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "models/causal_lm.h"
#include "winnow/reranker.h"

namespace winnow {

// The published Qwen3-Reranker strings.
inline constexpr const char* kQwen3RerankerSystem =
    "Judge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the "
    "answer can only be \"yes\" or \"no\".";
inline constexpr const char* kQwen3DefaultInstruction =
    "Given a web search query, retrieve relevant passages that answer the query";

// Whether `folder` holds a decoder LM that winnow runs as an LLM reranker/embedder (config.json
// model_type "qwen3", not a *ForSequenceClassification head). False when there is no config.json.
bool is_llm_model_folder(const std::string& folder);

class LlmReranker final : public Reranker {
public:
    // `folder` is a local model folder (already resolved). Errc::Unsupported when the tokenizer has
    // no single "yes" and "no" tokens or the model no LM head.
    LlmReranker(const std::string& folder, const ModelOptions& options);

    std::vector<PairScore> score_pairs(std::span<const std::pair<std::string, std::string>> pairs) const override;
    // Pre-tokenized prompts (input_ids already in the template; token_type_ids ignored).
    std::vector<PairScore> score_tokenized(std::span<const TokenizedPair> pairs) const override;
    const Tokenizer& tokenizer() const override { return tokenizer_; }
    std::size_t max_length() const override { return max_length_; }
    std::string name() const override { return folder_; }
    Precision precision() const override { return model_->info().precision; }
    Device device() const override { return model_->info().device; }

    // The template pieces for this reranker's instruction.
    const std::string& prefix() const noexcept { return prefix_; }
    const std::string& suffix() const noexcept { return suffix_; }
    const std::string& instruction() const noexcept { return instruction_; }
    std::string body(std::string_view query, std::string_view doc) const;

    struct Prompt {
        std::vector<std::int32_t> ids;
        bool truncated = false;
    };
    // The token ids the model sees for a pair.
    Prompt tokenize(std::string_view query, std::string_view doc) const;

    // Scores full prompts. Each group (indices into `prompts`) shares its longest common token
    // prefix through the KV cache when `reuse_prefix`; otherwise every prompt runs from scratch.
    std::vector<PairScore> score_prompts(std::span<const std::vector<std::int32_t>> prompts,
                                         std::span<const std::vector<std::size_t>> groups, bool reuse_prefix) const;

    std::int32_t yes_id() const noexcept { return yes_id_; }
    std::int32_t no_id() const noexcept { return no_id_; }
    const CausalLm& model() const noexcept { return *model_; }

private:
    // prefix + body (cut on the right to fit max_length) + suffix.
    Prompt assemble(std::span<const std::int32_t> body_ids) const;
    void score_group(std::span<const std::vector<std::int32_t>> prompts, std::span<const std::size_t> group,
                     std::size_t prefix_length, std::vector<PairScore>& out) const;

    std::string folder_;
    ModelOptions options_;
    std::unique_ptr<CausalLm> model_;
    Tokenizer tokenizer_;
    std::size_t max_length_ = 0;
    std::string instruction_;
    std::string prefix_;
    std::string suffix_;
    std::vector<std::int32_t> prefix_ids_;
    std::vector<std::int32_t> suffix_ids_;
    std::int32_t yes_id_ = -1;
    std::int32_t no_id_ = -1;
};

}  // namespace winnow
