// Models (tokenizer.json "model"): WordPiece, BPE, Unigram, WordLevel.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "tokenizer/models/vocab.h"
#include "tokenizer/normalized_string.h"

namespace winnow::tok {

class Model {
public:
    virtual ~Model() = default;
    // Appends the tokens of one pre-tokenized word; offsets are byte offsets in `word`.
    virtual void tokenize(std::string_view word, std::vector<Token>& out) const = 0;
    const Vocab& vocab() const noexcept { return vocab_; }

protected:
    Vocab vocab_;
};

// Builds the model from the "model" object (whose "type" may be absent in old files: then it
// is inferred from the fields, as HF does).
std::unique_ptr<Model> make_model(const Json& j, const std::string& where);

}  // namespace winnow::tok
