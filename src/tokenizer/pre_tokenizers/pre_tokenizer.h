// Pre-tokenizers (tokenizer.json "pre_tokenizer"): one class per HF type.
#pragma once

#include <memory>
#include <string>

#include "core/json.h"
#include "tokenizer/normalized_string.h"

namespace winnow::tok {

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    virtual void pre_tokenize(PreTokenized& p) const = 0;
};

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& j, const std::string& where);

// GPT-2 byte-to-unicode table (shared by the ByteLevel pre-tokenizer, normalizer and decoder).
char32_t byte_to_unicode(unsigned char b) noexcept;
// Inverse; returns -1 for a char outside the table.
int unicode_to_byte(char32_t c) noexcept;

SplitBehavior parse_behavior(const Json& j, const std::string& where);

}  // namespace winnow::tok
