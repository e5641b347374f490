#include <gtest/gtest.h>

#include "lexical/analyzer.h"
#include "winnow/error.h"

namespace winnow::lexical {
namespace {

std::vector<std::string> raw_tokens(std::string_view text) {
    std::vector<std::string> out;
    standard_tokenize(text, [&](std::string_view t) { out.emplace_back(t); });
    return out;
}

using V = std::vector<std::string>;

TEST(StandardTokenizer, AsciiWordBoundaries) {
    EXPECT_EQ(raw_tokens("Hello, world!"), (V{"Hello", "world"}));
    // UAX#29: letters joined across . : ' ; digits across , . ; underscores join everything.
    EXPECT_EQ(raw_tokens("U.S.A. costs 3.14 or 1,000; e-mail don't a:b snake_case _x ___"),
              (V{"U.S.A", "costs", "3.14", "or", "1,000", "e", "mail", "don't", "a:b", "snake_case", "_x"}));
    EXPECT_EQ(raw_tokens("x2 2x 3d-printing"), (V{"x2", "2x", "3d", "printing"}));
    EXPECT_EQ(raw_tokens("end. next"), (V{"end", "next"}));
    EXPECT_EQ(raw_tokens("'quoted' trailing'"), (V{"quoted", "trailing"}));
    EXPECT_TRUE(raw_tokens("  ... --- !!! ").empty());
}

TEST(StandardTokenizer, LongTokensAreSplitAt255) {
    const std::string word(600, 'a');
    auto t = raw_tokens(word);
    ASSERT_EQ(t.size(), 3u);
    EXPECT_EQ(t[0].size(), 255u);
    EXPECT_EQ(t[1].size(), 255u);
    EXPECT_EQ(t[2].size(), 90u);
}

TEST(StandardTokenizer, UnicodeGoesThroughIcu) {
    EXPECT_EQ(raw_tokens("Café naïve — résumé"), (V{"Café", "naïve", "résumé"}));
    // Each ideograph is its own token, as in Lucene.
    EXPECT_EQ(raw_tokens("中文 text"), (V{"中", "文", "text"}));
}

TEST(Analyzer, EnglishPipeline) {
    Analyzer a;
    // possessive removed, lower-cased, stop words dropped, Porter-stemmed
    EXPECT_EQ(a.terms("The Dog's running quickly to the Parks"), (V{"dog", "run", "quickli", "park"}));
    EXPECT_EQ(a.terms("John’s connections"), (V{"john", "connect"}));
    EXPECT_EQ(a.terms("a an and are as at be but by for if in into is it no not of on or such that the their then "
                      "there these they this to was will with"),
              V{});
    EXPECT_EQ(a.terms("ÉCOLE"), (V{"école"}));
}

TEST(Analyzer, StopWordSetIsLucenes) {
    EXPECT_TRUE(is_english_stopword("the"));
    EXPECT_TRUE(is_english_stopword("with"));
    EXPECT_FALSE(is_english_stopword("from"));  // not in Lucene's 33-word set
    EXPECT_FALSE(is_english_stopword("he"));
}

TEST(Analyzer, Specs) {
    auto o = parse_analyzer_spec("standard");
    EXPECT_EQ(o.stemmer, "none");
    EXPECT_FALSE(o.stopwords);
    Analyzer standard(o);
    EXPECT_EQ(standard.terms("The Dogs"), (V{"the", "dogs"}));
    auto e = parse_analyzer_spec("english(stemmer=english,stopwords=false)");
    EXPECT_EQ(e.stemmer, "english");
    EXPECT_FALSE(e.stopwords);
    EXPECT_THROW(parse_analyzer_spec("klingon"), Error);
    EXPECT_THROW(parse_analyzer_spec("english(stemmer=porter"), Error);
    EXPECT_THROW(parse_analyzer_spec("english(colour=blue)"), Error);
    EXPECT_THROW(Analyzer(parse_analyzer_spec("english(stemmer=nosuch)")), Error);
}

}  // namespace
}  // namespace winnow::lexical
