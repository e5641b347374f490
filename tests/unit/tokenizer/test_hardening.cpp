// Issue 22 (hardening, round two) for the tokenizer: deep Sequence nesting in tokenizer.json,
// normalizers that grow text without bound (NFKC, chained Replace), per-thread scratch memory that
// never came back, silent narrowing of template type ids, and BertNormalizer on unassigned code
// points (HF keeps them).
#include <malloc.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "core/json.h"
#include "winnow/error.h"
#include "winnow/tokenizer.h"

namespace winnow {
namespace {

const std::string kFixtures = std::string(WINNOW_SHARED_DIR) + "/fixtures/tokenizers";

struct LimitsGuard {
    ~LimitsGuard() { set_tokenizer_limits(TokenizerLimits{}); }
};

void expect_error(Errc code, const std::function<void()>& fn, const std::string& needle) {
    try {
        fn();
        ADD_FAILURE() << "no error; expected one naming " << needle;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

// A WordLevel tokenizer.json with the given normalizer (JSON text).
std::string word_level(const std::string& normalizer, const std::string& post_processor = "null") {
    return R"({"version":"1.0","added_tokens":[],"normalizer":)" + normalizer +
           R"(,"pre_tokenizer":{"type":"Whitespace"},"post_processor":)" + post_processor +
           R"(,"decoder":null,"model":{"type":"WordLevel","vocab":{"[UNK]":0,"a":1,"b":2},"unk_token":"[UNK]"}})";
}

std::string nested_sequences(std::size_t depth) {
    std::string s;
    for (std::size_t i = 0; i < depth; ++i) s += R"({"type":"Sequence","normalizers":[)";
    s += R"({"type":"Lowercase"})";
    for (std::size_t i = 0; i < depth; ++i) s += "]}";
    return s;
}

TEST(TokenizerHardening, DeeplyNestedSequenceIsAClearErrorInLinearTime) {
    // 50 levels (100 JSON levels) load, as in HF.
    const Tokenizer ok = Tokenizer::from_json(word_level(nested_sequences(50)));
    EXPECT_EQ(ok.encode("A b", false).ids, (std::vector<std::int32_t>{1, 2}));
    // 20,000 levels segfaulted (stack overflow) and 10,000 took 1.9 GB and 7.6 s.
    const auto start = std::chrono::steady_clock::now();
    expect_error(Errc::Corrupt, [] { (void)Tokenizer::from_json(word_level(nested_sequences(20000))); },
                 "nested deeper than 128 levels");
    expect_error(Errc::Corrupt, [] { (void)Tokenizer::from_json(word_level(nested_sequences(200000))); },
                 "nested deeper than 128 levels");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST(TokenizerHardening, ChainedReplaceCannotGrowTextWithoutBound) {
    // Seven Replace steps, each a -> aaaaaaaaaa: 4 characters would become 40 million.
    std::string steps;
    for (int i = 0; i < 7; ++i) {
        steps += std::string(i ? "," : "") + R"({"type":"Replace","pattern":{"String":"a"},"content":"aaaaaaaaaa"})";
    }
    const Tokenizer tok = Tokenizer::from_json(word_level(R"({"type":"Sequence","normalizers":[)" + steps + "]}"));
    expect_error(Errc::TooLarge, [&] { (void)tok.encode("aaaa"); }, "max_normalized_growth");
    // One step on a short text stays within the 4 KiB allowance.
    const Tokenizer one = Tokenizer::from_json(
        word_level(R"({"type":"Replace","pattern":{"String":"a"},"content":"aaaaaaaaaa"})"));
    EXPECT_EQ(one.encode("a b", false).ids, (std::vector<std::int32_t>{0, 2}));
}

TEST(TokenizerHardening, NfkcExpansionIsBoundedAndConfigurable) {
    LimitsGuard guard;
    const Tokenizer tok = Tokenizer::from_json(word_level(R"({"type":"NFKC"})"));
    std::string ligatures;
    for (int i = 0; i < 20000; ++i) ligatures += "\xEF\xB7\xBA";  // U+FDFA, 18 characters once NFKC'ed
    expect_error(Errc::TooLarge, [&] { (void)tok.encode(ligatures); }, "max_normalized_growth = 4");
    EXPECT_EQ(tok.encode("\xEF\xB7\xBA", false).ids.size(), 4u);  // short texts: the 4 KiB allowance
    TokenizerLimits limits;
    limits.max_normalized_growth = 16;
    set_tokenizer_limits(limits);
    EXPECT_EQ(tok.encode(ligatures, false).ids.size(), 3u * 20000 + 1);  // neighbours join: 3 words each, and 1
    limits.max_normalized_growth = 0;
    EXPECT_THROW(set_tokenizer_limits(limits), Error);
}

// glibc: bytes allocated and not freed, all arenas and mmapped chunks.
std::size_t heap_in_use() {
    const struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

TEST(TokenizerHardening, PerThreadScratchIsFreedAfterALargeText) {
    const Tokenizer tok = Tokenizer::from_file(kFixtures + "/real-bert-base-uncased/tokenizer.json");
    std::string big;
    while (big.size() < (1u << 20)) big += "Cafe\xCC\x81 au lait, s'il vous pla\xC3\xAEt! ";  // mixed ASCII and not
    std::size_t kept = 0;
    // A fresh thread, as an HTTP thread: its thread-local scratch starts empty.
    std::thread([&] {
        (void)tok.encode("warm up the thread-local buffers", true);
        const std::size_t before = heap_in_use();
        {
            const Encoding e = tok.encode(big, true);
            ASSERT_GT(e.size(), 100000u);
        }
        const std::size_t after = heap_in_use();
        kept = after > before ? after - before : 0;
    }).join();
    // Before: 23-35 MB stayed with the thread after each 1 MB text.
    EXPECT_LT(kept, std::size_t{4} << 20) << "bytes kept by the thread after encoding 1 MiB";
}

TEST(TokenizerHardening, TemplateTypeIdOutOfRangeIsAnError) {
    const std::string post = R"({"type":"TemplateProcessing","single":[{"Sequence":{"id":"A","type_id":8589934592}}],)"
                             R"("pair":[{"Sequence":{"id":"A","type_id":0}},{"Sequence":{"id":"B","type_id":1}}],)"
                             R"("special_tokens":{}})";
    expect_error(Errc::Corrupt, [&] { (void)Tokenizer::from_json(word_level("null", post)); }, "type_id");
}

// HF's BertNormalizer removes control characters with a test that does not cover unassigned code
// points (Cn): they stay, and the word they are in becomes [UNK]. winnow dropped them.
TEST(TokenizerHardening, BertNormalizerKeepsUnassignedCodePoints) {
    const Tokenizer tok = Tokenizer::from_file(kFixtures + "/real-bert-base-uncased/tokenizer.json");
    for (const char* cn : {"\xCE\x8B", "\xD7\xB5", "\xE3\x81\x80", "\xEF\xBF\x89"}) {  // U+038B U+05F5 U+3040 U+FFC9
        const Encoding e = tok.encode(std::string("the ") + cn + " cat", false);
        EXPECT_EQ(e.tokens, (std::vector<std::string>{"the", "[UNK]", "cat"})) << cn;
    }
    // Controls (Cc) and format characters (Cf) are still removed.
    EXPECT_EQ(tok.encode("the\x01 ca\xE2\x80\x8Bt", false).tokens, (std::vector<std::string>{"the", "cat"}));
}

// HF's mark, control and punctuation classes come from tables older than Unicode 9 (found by the
// random-Unicode differential test): U+0D3B, a non-spacing mark since Unicode 10, is not stripped
// as an accent, so its word is [UNK]; U+A9BD became Mn only in Unicode 12.
TEST(TokenizerHardening, StripAccentsUsesHfsMarkTable) {
    const Tokenizer tok = Tokenizer::from_file(kFixtures + "/real-bert-base-uncased/tokenizer.json");
    EXPECT_EQ(tok.encode("the ev\xE0\xB4\xBB" "c cat", false).tokens, (std::vector<std::string>{"the", "[UNK]", "cat"}));
    EXPECT_EQ(tok.encode("s\xEA\xA6\xBD", false).tokens, (std::vector<std::string>{"[UNK]"}));
    EXPECT_EQ(tok.encode("caf\x65\xCC\x81", false).tokens, (std::vector<std::string>{"cafe"}));  // U+0301 still stripped
}

// NFC keeps composition exclusions decomposed: U+2ADD U+0338 is not recomposed to U+2ADC.
TEST(TokenizerHardening, NfcHonoursCompositionExclusions) {
    // The byte-level fixture's ids of U+2ADD U+0338 (as npm tokenizers 0.23.2 gives them) for U+2ADC
    // and for its decomposition; U+2ADC itself would be 163 109 255.
    const Tokenizer bytes = Tokenizer::from_file(std::string(WINNOW_SHARED_DIR) + "/fixtures/models/qwen3-lm/tokenizer.json");
    EXPECT_EQ(bytes.encode("\xE2\xAB\x9C", false).ids, (std::vector<std::int32_t>{163, 109, 256, 141, 121}));
    EXPECT_EQ(bytes.encode("\xE2\xAB\x9D\xCC\xB8", false).ids, (std::vector<std::int32_t>{163, 109, 256, 141, 121}));
}

}  // namespace
}  // namespace winnow
