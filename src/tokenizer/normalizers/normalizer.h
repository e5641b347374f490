// Normalizers (tokenizer.json "normalizer"): one class per HF type, built from its JSON object.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "tokenizer/normalized_string.h"

namespace winnow::tok {

class Normalizer {
public:
    virtual ~Normalizer() = default;
    virtual void normalize(NormalizedString& s) const = 0;
};

// Builds the normalizer for a tokenizer.json "normalizer" object (nullptr for JSON null).
// Throws winnow::Error naming `where` and the unsupported type or bad field.
std::unique_ptr<Normalizer> make_normalizer(const Json& j, const std::string& where);

// Precompiled (SentencePiece charsmap), exposed for tests.
std::unique_ptr<Normalizer> make_precompiled(std::string_view base64_charsmap, const std::string& where);

}  // namespace winnow::tok
