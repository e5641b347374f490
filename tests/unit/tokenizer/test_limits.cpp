// Input limits of the tokenizer (hardening): text size, regex backtracking and regex time. Each
// limit, exceeded, throws Error(TooLarge) naming it; before these limits a pathological regex
// silently stopped matching part-way (the rest of the text was dropped).
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/json.h"
#include "core/mmap_file.h"
#include "tokenizer/regex.h"
#include "winnow/error.h"
#include "winnow/tokenizer.h"

namespace winnow {
namespace {

// Restores the default limits when a test ends.
struct LimitsGuard {
    ~LimitsGuard() { set_tokenizer_limits(TokenizerLimits{}); }
};

// A classic catastrophic-backtracking pattern: every start position tries 2^n ways.
constexpr const char* kEvil = "(\\w+\\s?)+$";

void expect_too_large(const std::function<void()>& fn, const std::string& needle) {
    try {
        fn();
        ADD_FAILURE() << "no error; expected one naming " << needle;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::TooLarge) << e.what();
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

TEST(TokenizerLimits, CatastrophicRegexThrowsInsteadOfDroppingText) {
    const tok::Regex re(kEvil, "test");
    std::vector<std::pair<std::uint32_t, std::uint32_t>> found;
    expect_too_large([&] { re.find_all(std::string(32, 'a') + "!", found); }, "regex_retry_limit_in_match");
    // A short text still matches normally.
    re.find_all("ab cd", found);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0], (std::pair<std::uint32_t, std::uint32_t>{0, 5}));
}

TEST(TokenizerLimits, RetryLimitInSearchBoundsAllStartPositions) {
    LimitsGuard guard;
    TokenizerLimits limits;
    limits.regex_retry_limit_in_search = 100000;
    set_tokenizer_limits(limits);
    const tok::Regex re(kEvil, "test");
    std::vector<std::pair<std::uint32_t, std::uint32_t>> found;
    // Each start position stays under the per-match limit; all of them together do not.
    std::string text;
    for (int i = 0; i < 200; ++i) text += "aaaaaaaaaaaa! ";
    expect_too_large([&] { re.find_all(text, found); }, "regex_retry_limit_in_search");
}

TEST(TokenizerLimits, RegexTimeLimitBoundsManyCheapSearches) {
    LimitsGuard guard;
    TokenizerLimits limits;
    limits.regex_time_limit_seconds = 0.01;
    set_tokenizer_limits(limits);
    const tok::Regex re("a", "test");
    std::vector<std::pair<std::uint32_t, std::uint32_t>> found;
    expect_too_large([&] { re.find_all(std::string(8u << 20, 'a'), found); }, "regex_time_limit_seconds");
    set_tokenizer_limits(TokenizerLimits{});
    re.find_all(std::string(1000, 'a'), found);
    EXPECT_EQ(found.size(), 1000u);
}

Tokenizer bpe_with_pre_tokenizer(const Json& pre_tokenizer) {
    Json j = Json::parse(read_file(WINNOW_SHARED_DIR "/fixtures/tokenizers/bpe/tokenizer.json"));
    j["pre_tokenizer"] = pre_tokenizer;
    return Tokenizer::from_json(j.dump());
}

TEST(TokenizerLimits, EncodeWithAnUntrustedSplitPatternThrows) {
    const Tokenizer t = bpe_with_pre_tokenizer(
        {{"type", "Split"}, {"pattern", {{"Regex", kEvil}}}, {"behavior", "Isolated"}, {"invert", false}});
    EXPECT_FALSE(t.encode("hello world").ids.empty());
    expect_too_large([&] { t.encode(std::string(40, 'a') + "!"); }, "regex_retry_limit_in_match");
}

TEST(TokenizerLimits, MaxInputBytes) {
    LimitsGuard guard;
    const Tokenizer t = Tokenizer::from_file(WINNOW_SHARED_DIR "/fixtures/tokenizers/bpe/tokenizer.json");
    TokenizerLimits limits;
    limits.max_input_bytes = 100;
    set_tokenizer_limits(limits);
    EXPECT_NO_THROW(t.encode(std::string(100, 'x')));
    expect_too_large([&] { t.encode(std::string(101, 'x')); }, "max_input_bytes");
    expect_too_large([&] { t.encode_pair("short", std::string(200, 'y')); }, "200 bytes");
    EXPECT_THROW(set_tokenizer_limits(TokenizerLimits{.max_input_bytes = 0}), Error);
}

}  // namespace
}  // namespace winnow
