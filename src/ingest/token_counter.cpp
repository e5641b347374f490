// TokenCounter over a model tokenizer (kept apart so that code using only the approximate counter
// does not pull in the tokenizer).
#include "ingest/chunker.h"
#include "winnow/error.h"
#include "winnow/tokenizer.h"

namespace winnow::ingest {

TokenCounter TokenCounter::from_tokenizer(std::shared_ptr<const Tokenizer> tokenizer) {
    WINNOW_CHECK(tokenizer != nullptr, Errc::InvalidArgument, "token counter: no tokenizer");
    return TokenCounter(
        [tokenizer](std::string_view text) {
            if (text.empty()) return std::size_t{0};
            return tokenizer->encode(text, /*add_special_tokens=*/false).size();
        },
        "tokenizer");
}

}  // namespace winnow::ingest
