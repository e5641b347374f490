// Regression tests for inputs found by fuzz_tokenizer (tests/fuzz/fuzz_tokenizer.cpp).
#include <cstddef>
#include <string>

#include <gtest/gtest.h>

#include "winnow/tokenizer.h"

namespace winnow {
namespace {

std::size_t overflow_tokens(const Encoding& e) {
    std::size_t n = 0;
    for (const Encoding& o : e.overflowing) n += o.ids.size() + overflow_tokens(o);
    return n;
}

std::string words(std::size_t n, const char* word) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) (s += word) += ' ';
    return s;
}

Tokenizer wordpiece() { return Tokenizer::from_file(WINNOW_SHARED_DIR "/fixtures/tokenizers/wordpiece/tokenizer.json"); }

// fuzz_tokenizer timeout (10 s under ASan): two ~5 KB texts encoded as a pair at max_length 20.
// Tokenization stops early only at pre-token boundaries, so one long pre-token gives thousands of
// tokens; each side was cut into hundreds of windows and the pair merged them as a cross product
// (HF's merge_with): memory and time grew with the product of both lengths.
TEST(TokenizerFuzzRegressions, LongPairAtSmallMaxLengthDoesNotMakeTheWindowCrossProduct) {
    const Tokenizer t = Tokenizer::from_file(WINNOW_SHARED_DIR "/fixtures/tokenizers/bpe/tokenizer.json");
    TruncationOptions opt;
    opt.max_length = 20;
    // One pre-token each, ~1500 tokens each: ~190 x ~170 pair windows without the budget.
    const Encoding e = t.encode_pair(std::string(2400, 'a'), std::string(2400, 'b'), opt);
    EXPECT_EQ(e.ids.size(), 20u);
    EXPECT_TRUE(e.truncated);
    EXPECT_LE(overflow_tokens(e), std::size_t{1} << 18);
}

// Small pairs keep HF's overflowing windows (cross product of both sides).
TEST(TokenizerFuzzRegressions, SmallPairKeepsAllOverflowingWindows) {
    const Tokenizer t = wordpiece();
    TruncationOptions opt;
    opt.max_length = 9;  // 3 specials + 3 + 3; each side has 6 tokens, so two windows
    const Encoding e = t.encode_pair(words(3, "cat"), words(3, "dog"), opt);
    EXPECT_EQ(e.ids.size(), 9u);
    // (1 + 1) x (1 + 1) pair windows, the encoding itself being one of them (HF's layout).
    EXPECT_EQ(e.overflowing.size(), 3u);
}

// A stride of max_length - 1 starts a window at every token: windows stop at the budget.
TEST(TokenizerFuzzRegressions, MaximalStrideWindowsStopAtTheBudget) {
    Tokenizer t = Tokenizer::from_file(WINNOW_SHARED_DIR "/fixtures/tokenizers/bpe/tokenizer.json");
    TruncationOptions opt;
    opt.max_length = 256;
    opt.stride = 255 - t.encode("", true).ids.size();  // the largest stride allowed
    t.set_truncation(opt);
    const Encoding e = t.encode(std::string(8000, 'a'));  // one pre-token, ~5000 tokens
    EXPECT_EQ(e.ids.size(), 256u);
    EXPECT_GT(e.overflowing.size(), 100u);
    // Without the budget: a window of ~255 tokens at every token, over a million tokens.
    EXPECT_LE(overflow_tokens(e), std::size_t{1} << 19);
}

}  // namespace
}  // namespace winnow
