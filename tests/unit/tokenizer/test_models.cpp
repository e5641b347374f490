#include <gtest/gtest.h>

#include "core/json.h"
#include "tokenizer/models/model.h"

namespace {

using winnow::Json;

std::vector<std::int32_t> ids(const winnow::tok::Model& m, const std::string& word) {
    std::vector<winnow::tok::Token> out;
    m.tokenize(word, out);
    std::vector<std::int32_t> r;
    for (const auto& t : out) r.push_back(t.id);
    return r;
}

std::vector<std::pair<std::uint32_t, std::uint32_t>> offs(const winnow::tok::Model& m, const std::string& word) {
    std::vector<winnow::tok::Token> out;
    m.tokenize(word, out);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> r;
    for (const auto& t : out) r.emplace_back(t.start, t.end);
    return r;
}

using I = std::vector<std::int32_t>;

TEST(WordPiece, GreedyLongestMatchFirst) {
    auto m = winnow::tok::make_model(Json::parse(R"({"type":"WordPiece","unk_token":"[UNK]",
        "continuing_subword_prefix":"##","max_input_chars_per_word":10,
        "vocab":{"[UNK]":0,"un":1,"##aff":2,"##able":3,"unaff":4,"##a":5,"a":6}})"),
                                     "test");
    EXPECT_EQ(ids(*m, "unaffable"), (I{4, 3}));
    EXPECT_EQ(offs(*m, "unaffable"), (std::vector<std::pair<std::uint32_t, std::uint32_t>>{{0, 5}, {5, 9}}));
    EXPECT_EQ(ids(*m, "unx"), (I{0}));         // no piece for "x": the whole word is unknown
    EXPECT_EQ(ids(*m, "aaaaaaaaaaa"), (I{0}));   // longer than max_input_chars_per_word
    EXPECT_EQ(ids(*m, "aaaa"), (I{6, 5, 5, 5}));
    EXPECT_EQ(m->vocab().size(), 7u);
}

TEST(Bpe, MergesInBothFormsAndRanks) {
    const char* vocab = R"("vocab":{"a":0,"b":1,"c":2,"ab":3,"bc":4,"abc":5})";
    auto s = winnow::tok::make_model(Json::parse(std::string(R"({"type":"BPE",)") + vocab +
                                                 R"(,"merges":["b c","a bc"]})"),
                                     "test");
    auto a = winnow::tok::make_model(Json::parse(std::string(R"({"type":"BPE",)") + vocab +
                                                 R"(,"merges":[["a","b"],["b","c"]]})"),
                                     "test");
    EXPECT_EQ(ids(*s, "abc"), (I{5}));
    EXPECT_EQ(ids(*a, "abc"), (I{3, 2}));  // "a b" ranks first
    EXPECT_EQ(ids(*a, "abcabc"), (I{3, 2, 3, 2}));
}

TEST(Bpe, UnknownFusingAndByteFallback) {
    auto fuse = winnow::tok::make_model(Json::parse(R"({"type":"BPE","unk_token":"<unk>","fuse_unk":true,
        "vocab":{"<unk>":0,"a":1},"merges":[]})"),
                                        "test");
    EXPECT_EQ(ids(*fuse, "axxa"), (I{1, 0, 1}));
    EXPECT_EQ(offs(*fuse, "axxa"), (std::vector<std::pair<std::uint32_t, std::uint32_t>>{{0, 1}, {1, 3}, {3, 4}}));
    auto nofuse = winnow::tok::make_model(Json::parse(R"({"type":"BPE","unk_token":"<unk>","fuse_unk":false,
        "vocab":{"<unk>":0,"a":1},"merges":[]})"),
                                          "test");
    EXPECT_EQ(ids(*nofuse, "axxa"), (I{1, 0, 0, 1}));
    auto bytes = winnow::tok::make_model(Json::parse(R"({"type":"BPE","unk_token":"<unk>","byte_fallback":true,
        "vocab":{"<unk>":0,"a":1,"<0xC3>":2,"<0xA9>":3},"merges":[]})"),
                                         "test");
    EXPECT_EQ(ids(*bytes, "a\xC3\xA9"), (I{1, 2, 3}));
    EXPECT_EQ(ids(*bytes, "\xE2\x82\xAC"), (I{0}));  // bytes missing: falls back to unk
}

TEST(Bpe, PrefixSuffixAndIgnoreMerges) {
    auto m = winnow::tok::make_model(Json::parse(R"({"type":"BPE","continuing_subword_prefix":"##",
        "end_of_word_suffix":"</w>","vocab":{"a":0,"##b":1,"##c</w>":2,"a##b":3,"ab":4,"##bc</w>":5},
        "merges":["a ##b"]})"),
                                     "test");
    EXPECT_EQ(ids(*m, "abc"), (I{4, 2}));
    auto ig = winnow::tok::make_model(Json::parse(R"({"type":"BPE","ignore_merges":true,
        "vocab":{"a":0,"b":1,"ab":2,"abab":3},"merges":["a b"]})"),
                                      "test");
    EXPECT_EQ(ids(*ig, "abab"), (I{3}));
    EXPECT_EQ(ids(*ig, "aba"), (I{2, 0}));
}

TEST(Unigram, ViterbiPicksBestScore) {
    auto m = winnow::tok::make_model(Json::parse(R"({"type":"Unigram","unk_id":0,"vocab":[
        ["<unk>",0.0],["a",-1.0],["b",-1.0],["ab",-1.5],["abc",-5.0],["c",-1.0]]})"),
                                     "test");
    EXPECT_EQ(ids(*m, "ab"), (I{3}));
    EXPECT_EQ(ids(*m, "abc"), (I{3, 5}));  // -2.5 beats -5.0
    EXPECT_EQ(ids(*m, "axxb"), (I{1, 0, 2}));  // unknown chars fuse into one piece
    EXPECT_EQ(offs(*m, "axxb"),
              (std::vector<std::pair<std::uint32_t, std::uint32_t>>{{0, 1}, {1, 3}, {3, 4}}));
}

TEST(Unigram, ByteFallback) {
    auto m = winnow::tok::make_model(Json::parse(R"({"type":"Unigram","unk_id":0,"byte_fallback":true,"vocab":[
        ["<unk>",0.0],["a",-1.0],["<0xC3>",-2.0],["<0xA9>",-2.0]]})"),
                                     "test");
    EXPECT_EQ(ids(*m, "a\xC3\xA9"), (I{1, 2, 3}));
}

TEST(WordLevel, LooksUpWholeWords) {
    auto m = winnow::tok::make_model(Json::parse(R"({"type":"WordLevel","unk_token":"<unk>",
        "vocab":{"<unk>":0,"hello":1}})"),
                                     "test");
    EXPECT_EQ(ids(*m, "hello"), (I{1}));
    EXPECT_EQ(ids(*m, "bye"), (I{0}));
}

TEST(Models, TypeIsInferredForOldFiles) {
    auto m = winnow::tok::make_model(Json::parse(R"({"unk_token":"[UNK]","continuing_subword_prefix":"##",
        "max_input_chars_per_word":100,"vocab":{"[UNK]":0,"x":1}})"),
                                     "test");
    EXPECT_EQ(ids(*m, "x"), (I{1}));
}

}  // namespace
