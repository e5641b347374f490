#include <gtest/gtest.h>

#include "core/json.h"
#include "tokenizer/normalizers/normalizer.h"

namespace {

using winnow::Json;
using winnow::tok::NormalizedString;

struct Normalized {
    std::string text;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> aligns;  // per byte
};

Normalized run(const std::string& spec, const std::string& input) {
    auto n = winnow::tok::make_normalizer(Json::parse(spec), "test");
    NormalizedString s;
    s.reset(input, 0);
    n->normalize(s);
    Normalized out{s.text, {}};
    for (const auto& a : s.align) out.aligns.emplace_back(a.start, a.end);
    return out;
}

// A long run of combining marks (as an attacker could send) is put in canonical order as a short one
// is: a stable sort by combining class, each mark keeping its original bytes' alignment.
TEST(Normalizers, LongRunsOfCombiningMarksAreCanonicallyOrdered) {
    const std::string acute = "\xCC\x81", below = "\xCC\x96";  // U+0301 (class 230), U+0316 (class 220)
    for (std::size_t pairs : {3u, 20u, 50000u}) {
        std::string input = "a";
        for (std::size_t i = 0; i < pairs; ++i) input += acute + below;
        std::string expected = "a";
        for (std::size_t i = 0; i < pairs; ++i) expected += below;
        for (std::size_t i = 0; i < pairs; ++i) expected += acute;
        const auto r = run(R"({"type":"NFD"})", input);
        ASSERT_EQ(r.text, expected) << pairs << " pairs";
        // The first U+0316 came from bytes 3..5 of the input, the first U+0301 from bytes 1..3.
        EXPECT_EQ(r.aligns[1], (std::pair<std::uint32_t, std::uint32_t>{3, 5}));
        EXPECT_EQ(r.aligns[1 + 2 * pairs], (std::pair<std::uint32_t, std::uint32_t>{1, 3}));
    }
}

TEST(Normalizers, BertCleansLowercasesAndStripsAccents) {
    const auto r = run(R"({"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,
                          "strip_accents":null,"lowercase":true})",
                       "H\xC3\xA9llo\tW\x01!");
    EXPECT_EQ(r.text, "hello w!");
    // 'e' comes from the two bytes of 'é' (original bytes 1..3).
    EXPECT_EQ(r.aligns[1], (std::pair<std::uint32_t, std::uint32_t>{1, 3}));
    // The control char \x01 is gone; '!' keeps its original position 9.
    EXPECT_EQ(r.aligns.back(), (std::pair<std::uint32_t, std::uint32_t>{9, 10}));
}

TEST(Normalizers, BertAsciiFastPathMatchesGeneralPath) {
    const std::string spec = R"({"type":"BertNormalizer","lowercase":true})";
    EXPECT_EQ(run(spec, "A\x0b" "B\r\nC\x7f").text, "ab  c");
    // Same input with a non-ASCII char takes the general path.
    EXPECT_EQ(run(spec, "A\x0b" "B\r\nC\x7f\xC3\xA9").text, "ab  ce");
}

TEST(Normalizers, BertIsolatesChineseChars) {
    const auto r = run(R"({"type":"BertNormalizer","lowercase":false})", "a\xE4\xB8\xAD" "b");
    EXPECT_EQ(r.text, "a \xE4\xB8\xAD b");
    // The inserted spaces align with the CJK char.
    EXPECT_EQ(r.aligns[1], (std::pair<std::uint32_t, std::uint32_t>{1, 4}));
    EXPECT_EQ(r.aligns[5], (std::pair<std::uint32_t, std::uint32_t>{1, 4}));
}

TEST(Normalizers, LowercaseUsesFullMapping) {
    // U+0130 lowercases to "i" + U+0307, like Rust char::to_lowercase.
    const auto r = run(R"({"type":"Lowercase"})", "\xC4\xB0X");
    EXPECT_EQ(r.text, "i\xCC\x87x");
    EXPECT_EQ(r.aligns[0], (std::pair<std::uint32_t, std::uint32_t>{0, 2}));
    EXPECT_EQ(r.aligns[1], (std::pair<std::uint32_t, std::uint32_t>{0, 2}));
}

TEST(Normalizers, UnicodeForms) {
    EXPECT_EQ(run(R"({"type":"NFC"})", "e\xCC\x81").text, "\xC3\xA9");
    EXPECT_EQ(run(R"({"type":"NFD"})", "\xC3\xA9").text, "e\xCC\x81");
    EXPECT_EQ(run(R"({"type":"NFKC"})", "\xEF\xAC\x81").text, "fi");  // U+FB01 ligature
    EXPECT_EQ(run(R"({"type":"NFKD"})", "\xEF\xBC\xA6").text, "F");   // fullwidth F
    // Canonical reordering: dot below (ccc 220) sorts before acute (ccc 230).
    EXPECT_EQ(run(R"({"type":"NFD"})", "a\xCC\x81\xCC\xA3").text, "a\xCC\xA3\xCC\x81");
    // Hangul syllable composition.
    EXPECT_EQ(run(R"({"type":"NFC"})", "\xE1\x84\x80\xE1\x85\xA1").text, "\xEA\xB0\x80");
}

TEST(Normalizers, StripAccentsStripReplacePrepend) {
    EXPECT_EQ(run(R"({"type":"StripAccents"})", "e\xCC\x81").text, "e");
    EXPECT_EQ(run(R"({"type":"Strip","strip_left":true,"strip_right":false})", "  a  ").text, "a  ");
    EXPECT_EQ(run(R"({"type":"Strip"})", "\xE3\x80\x80 a \n").text, "a");
    const auto rep = run(R"({"type":"Replace","pattern":{"String":" "},"content":"\u2581"})", "a b");
    EXPECT_EQ(rep.text, "a\xE2\x96\x81" "b");
    EXPECT_EQ(rep.aligns[1], (std::pair<std::uint32_t, std::uint32_t>{1, 2}));
    EXPECT_EQ(run(R"({"type":"Replace","pattern":{"Regex":" {2,}"},"content":" "})", "a   b  c").text, "a b c");
    const auto pre = run(R"({"type":"Prepend","prepend":"\u2581"})", "ab");
    EXPECT_EQ(pre.text, "\xE2\x96\x81" "ab");
    EXPECT_EQ(pre.aligns[0], (std::pair<std::uint32_t, std::uint32_t>{0, 1}));
    EXPECT_EQ(run(R"({"type":"Prepend","prepend":"\u2581"})", "").text, "");
}

TEST(Normalizers, SequenceAppliesInOrder) {
    EXPECT_EQ(run(R"({"type":"Sequence","normalizers":[{"type":"NFKC"},{"type":"Lowercase"}]})", "\xEF\xBC\xA6").text,
              "f");
}

// A hand-built SentencePiece charsmap: a darts-clone double array mapping "A" -> "a".
std::string tiny_charsmap_base64() {
    std::vector<std::uint32_t> units(324, 0);
    units[0] = 0x100u << 10;                            // root, offset 256
    units[0x141] = (2u << 10) | (1u << 8) | 0x41u;      // 'A', has a leaf, offset 2
    units[0x141 ^ 2] = 1u << 31;                        // leaf value 0 -> normalized[0]
    std::string blob;
    const std::uint32_t size = static_cast<std::uint32_t>(units.size() * 4);
    blob.append(reinterpret_cast<const char*>(&size), 4);
    blob.append(reinterpret_cast<const char*>(units.data()), size);
    blob.append("a\0", 2);
    static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < blob.size(); i += 3) {
        const std::uint32_t v = (static_cast<unsigned char>(blob[i]) << 16) |
                                (static_cast<unsigned char>(blob[i + 1]) << 8) | static_cast<unsigned char>(blob[i + 2]);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    if (i < blob.size()) {
        std::uint32_t v = static_cast<unsigned char>(blob[i]) << 16;
        if (i + 1 < blob.size()) v |= static_cast<unsigned char>(blob[i + 1]) << 8;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += i + 1 < blob.size() ? kAlphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

TEST(Normalizers, PrecompiledCharsmap) {
    const std::string spec = R"({"type":"Precompiled","precompiled_charsmap":")" + tiny_charsmap_base64() + R"("})";
    const auto r = run(spec, "xAyA");
    EXPECT_EQ(r.text, "xaya");
    EXPECT_EQ(r.aligns[1], (std::pair<std::uint32_t, std::uint32_t>{1, 2}));
    EXPECT_EQ(run(spec, "no match").text, "no match");
    EXPECT_THROW(run(R"({"type":"Precompiled","precompiled_charsmap":"!!!"})", "x"), winnow::Error);
    EXPECT_THROW(run(R"({"type":"Precompiled","precompiled_charsmap":"AAAA"})", "x"), winnow::Error);
}

}  // namespace
