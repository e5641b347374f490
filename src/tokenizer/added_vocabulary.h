// Added tokens (tokenizer.json "added_tokens"): found in the raw text (normalized = false) or in
// the normalized text (normalized = true) before pre-tokenization, leftmost-longest, with the
// single_word / lstrip / rstrip rules of HF's AddedVocabulary.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace winnow::tok {

struct AddedToken {
    std::int32_t id = 0;
    std::string content;
    bool single_word = false;
    bool lstrip = false;
    bool rstrip = false;
    bool normalized = true;
    bool special = false;
};

// One piece of a text: [start, end) bytes; token >= 0 when it is an added token (index into the
// matcher's token list).
struct AddedSplit {
    std::uint32_t start;
    std::uint32_t end;
    std::int32_t token;
};

class AddedMatcher {
public:
    // patterns[i] is what to look for for tokens[i] (its content, or its normalized content).
    void build(const std::vector<const AddedToken*>& tokens, const std::vector<std::string>& patterns);
    bool empty() const noexcept { return patterns_.empty(); }
    // HF find_matches: splits covering the whole sentence.
    void split(std::string_view sentence, std::vector<AddedSplit>& out) const;
    const AddedToken& token(std::int32_t i) const { return *tokens_[static_cast<std::size_t>(i)]; }

private:
    std::vector<const AddedToken*> tokens_;
    std::vector<std::string> patterns_;
    std::array<std::vector<std::uint32_t>, 256> by_first_byte_;  // pattern indices, longest first
};

}  // namespace winnow::tok
