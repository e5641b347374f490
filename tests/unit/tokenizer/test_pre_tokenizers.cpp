#include <gtest/gtest.h>

#include "core/json.h"
#include "tokenizer/pre_tokenizers/pre_tokenizer.h"

namespace {

using winnow::Json;

struct Piece {
    std::string text;
    std::uint32_t start;
    std::uint32_t end;
    bool operator==(const Piece& o) const { return text == o.text && start == o.start && end == o.end; }
};

std::ostream& operator<<(std::ostream& os, const Piece& p) {
    return os << "(" << p.text << " " << p.start << "-" << p.end << ")";
}

std::vector<Piece> run(const std::string& spec, const std::string& input) {
    auto p = winnow::tok::make_pre_tokenizer(Json::parse(spec), "test");
    winnow::tok::NormalizedString ns;
    ns.reset(input, 0);
    winnow::tok::PreTokenized pt;
    pt.add(ns);
    p->pre_tokenize(pt);
    std::vector<Piece> out;
    for (const auto& s : pt.splits) out.push_back({std::string(pt.split_text(s)), s.orig_start, s.orig_end});
    return out;
}

std::vector<std::string> texts(const std::vector<Piece>& pieces) {
    std::vector<std::string> out;
    for (const auto& p : pieces) out.push_back(p.text);
    return out;
}

using V = std::vector<std::string>;

TEST(PreTokenizers, BertSplitsOnSpaceAndPunctuation) {
    const auto r = run(R"({"type":"BertPreTokenizer"})", "Hey,  you!\xE3\x80\x82ok");
    EXPECT_EQ(texts(r), (V{"Hey", ",", "you", "!", "\xE3\x80\x82", "ok"}));
    EXPECT_EQ(r[2], (Piece{"you", 6, 9}));
}

TEST(PreTokenizers, WhitespaceAndWhitespaceSplit) {
    EXPECT_EQ(texts(run(R"({"type":"Whitespace"})", "Hi, there!! x_y")), (V{"Hi", ",", "there", "!!", "x_y"}));
    EXPECT_EQ(texts(run(R"({"type":"WhitespaceSplit"})", " Hi, there!!\t")), (V{"Hi,", "there!!"}));
}

TEST(PreTokenizers, PunctuationBehaviors) {
    EXPECT_EQ(texts(run(R"({"type":"Punctuation"})", "a..b")), (V{"a", ".", ".", "b"}));
    EXPECT_EQ(texts(run(R"({"type":"Punctuation","behavior":"Contiguous"})", "a..b")), (V{"a", "..", "b"}));
    EXPECT_EQ(texts(run(R"({"type":"Punctuation","behavior":"Removed"})", "a..b")), (V{"a", "b"}));
    EXPECT_EQ(texts(run(R"({"type":"Punctuation","behavior":"MergedWithPrevious"})", "a..b")), (V{"a.", ".", "b"}));
    EXPECT_EQ(texts(run(R"({"type":"Punctuation","behavior":"MergedWithNext"})", "a..b")), (V{"a", ".", ".b"}));
}

TEST(PreTokenizers, Digits) {
    EXPECT_EQ(texts(run(R"({"type":"Digits","individual_digits":true})", "a123b")), (V{"a", "1", "2", "3", "b"}));
    EXPECT_EQ(texts(run(R"({"type":"Digits","individual_digits":false})", "a123b")), (V{"a", "123", "b"}));
}

TEST(PreTokenizers, SplitRegexWithLookaheadAndInvert) {
    EXPECT_EQ(texts(run(R"({"type":"Split","pattern":{"Regex":"\\s+(?!\\S)|\\s+"},"behavior":"Isolated","invert":false})",
                        "a  b")),
              (V{"a", " ", " ", "b"}));
    EXPECT_EQ(texts(run(R"({"type":"Split","pattern":{"String":"-"},"behavior":"Removed","invert":false})", "a-b-c")),
              (V{"a", "b", "c"}));
    EXPECT_EQ(texts(run(R"({"type":"Split","pattern":{"Regex":"[a-z]+"},"behavior":"Removed","invert":true})",
                        "ab12cd")),
              (V{"ab", "cd"}));
}

TEST(PreTokenizers, MetaspaceSchemes) {
    EXPECT_EQ(texts(run(R"({"type":"Metaspace","replacement":"\u2581","prepend_scheme":"always","split":true})",
                        "Hey friend")),
              (V{"\xE2\x96\x81Hey", "\xE2\x96\x81" "friend"}));
    EXPECT_EQ(texts(run(R"({"type":"Metaspace","replacement":"\u2581","prepend_scheme":"never","split":false})",
                        "Hey friend")),
              (V{"Hey\xE2\x96\x81" "friend"}));
    const auto first = run(R"({"type":"Metaspace","replacement":"\u2581","prepend_scheme":"first"})", "a b");
    EXPECT_EQ(texts(first), (V{"\xE2\x96\x81" "a", "\xE2\x96\x81" "b"}));
    EXPECT_EQ(first[1], (Piece{"\xE2\x96\x81" "b", 1, 3}));
}

TEST(PreTokenizers, ByteLevelMapsBytesAndSplitsLikeGpt2) {
    EXPECT_EQ(texts(run(R"({"type":"ByteLevel","add_prefix_space":false,"use_regex":true})",
                        "Hello world's  end!\n")),
              (V{"Hello", "\xC4\xA0world", "'s", "\xC4\xA0", "\xC4\xA0" "end", "!", "\xC4\x8A"}));
    const auto r = run(R"({"type":"ByteLevel","add_prefix_space":true,"use_regex":false})", "\xC3\xA9");
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].text, "\xC4\xA0\xC3\x83\xC2\xA9");  // " é" -> Ġ Ã ©
    EXPECT_EQ(r[0].start, 0u);
    EXPECT_EQ(r[0].end, 2u);
}

TEST(PreTokenizers, SequenceChains) {
    EXPECT_EQ(texts(run(R"({"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},
                             {"type":"Digits","individual_digits":true}]})",
                        "ab12 c")),
              (V{"ab", "1", "2", "c"}));
}

}  // namespace
