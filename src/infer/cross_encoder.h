// CrossEncoder: a *ForSequenceClassification encoder (BERT, XLM-R, ModernBERT) scoring
// (query, document) pairs, the way sentence-transformers' CrossEncoder does: pairs encoded with
// longest_first truncation at max_length, one label, score = activation(logit).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "infer/score_activation.h"
#include "models/model.h"
#include "winnow/reranker.h"

namespace winnow {

class CrossEncoder final : public Reranker {
public:
    // `folder` is a local model folder (already resolved).
    CrossEncoder(const std::string& folder, const ModelOptions& options);

    std::vector<PairScore> score_pairs(std::span<const std::pair<std::string, std::string>> pairs) const override;
    std::vector<PairScore> score_tokenized(std::span<const TokenizedPair> pairs) const override;
    // Errc::NotFound when the folder has no tokenizer (pre-tokenized input still works).
    const Tokenizer& tokenizer() const override;
    std::size_t max_length() const override { return max_length_; }
    std::string name() const override { return folder_; }
    Precision precision() const override { return model_->info().precision; }
    Device device() const override { return model_->info().device; }

    // The ids the model is fed for a pair: the tokenizer's pair template with longest_first
    // truncation at max_length(); `truncated` tells whether tokens were cut.
    TokenizedPair tokenize(std::string_view query, std::string_view doc, bool& truncated) const;
    ScoreActivation activation() const noexcept { return activation_; }
    const Model& model() const noexcept { return *model_; }

private:
    std::string folder_;
    ModelOptions options_;
    std::unique_ptr<Model> model_;
    std::optional<Tokenizer> tokenizer_;  // absent: the folder ships no tokenizer.json
    std::size_t max_length_ = 0;
    ScoreActivation activation_ = ScoreActivation::Sigmoid;
};

}  // namespace winnow
