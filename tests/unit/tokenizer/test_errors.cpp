#include <gtest/gtest.h>

#include "winnow/error.h"
#include "winnow/tokenizer.h"

namespace {

void expect_error(const std::string& json, winnow::Errc code, const std::string& needle) {
    try {
        winnow::Tokenizer::from_json(json, "bad.json");
        ADD_FAILURE() << "no error for " << json;
    } catch (const winnow::Error& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
    }
}

const std::string kModel = R"("model":{"type":"WordLevel","vocab":{"a":0},"unk_token":"a"})";

TEST(TokenizerErrors, NameTheUnsupportedTypeOrBadField) {
    expect_error("{oops", winnow::Errc::Corrupt, "bad.json");
    expect_error("{}", winnow::Errc::Corrupt, "'model'");
    expect_error(R"({"normalizer":{"type":"Fancy"},)" + kModel + "}", winnow::Errc::Unsupported, "'Fancy'");
    expect_error(R"({"pre_tokenizer":{"type":"UnicodeScripts"},)" + kModel + "}", winnow::Errc::Unsupported,
                 "'UnicodeScripts'");
    expect_error(R"({"post_processor":{"type":"Nope"},)" + kModel + "}", winnow::Errc::Unsupported, "'Nope'");
    expect_error(R"({"decoder":{"type":"CTC"},)" + kModel + "}", winnow::Errc::Unsupported, "'CTC'");
    expect_error(R"({"model":{"type":"Mystery","vocab":{}}})", winnow::Errc::Unsupported, "'Mystery'");
    expect_error(R"({"model":{"type":"BPE","vocab":{"a":0},"merges":["a b"]}})", winnow::Errc::Corrupt, "merges[0]");
    expect_error(R"({"model":{"type":"BPE","vocab":{"a":0},"merges":["a"]}})", winnow::Errc::Corrupt, "merges[0]");
    expect_error(R"({"model":{"type":"BPE","vocab":{"a":"x"},"merges":[]}})", winnow::Errc::Corrupt, "'a'");
    expect_error(R"({"model":{"type":"Unigram","vocab":[["a",0.0]],"unk_id":5}})", winnow::Errc::Corrupt, "unk_id");
    expect_error(R"({"model":{"type":"Unigram","vocab":[["a"]]}})", winnow::Errc::Corrupt, "vocab[0]");
    expect_error(R"({"pre_tokenizer":{"type":"Split","pattern":{"Regex":"(unclosed"},"behavior":"Isolated"},)" +
                     kModel + "}",
                 winnow::Errc::Unsupported, "(unclosed");
    expect_error(R"({"pre_tokenizer":{"type":"Split","pattern":{"Regex":"a"},"behavior":"Sideways"},)" + kModel + "}",
                 winnow::Errc::Unsupported, "Sideways");
    expect_error(R"({"truncation":{"max_length":8,"strategy":"Middle"},)" + kModel + "}", winnow::Errc::Unsupported,
                 "Middle");
    expect_error(R"({"padding":{"strategy":{"Weird":1}},)" + kModel + "}", winnow::Errc::Corrupt, "padding");
    expect_error(R"({"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[X]"}}],
                    "pair":[],"special_tokens":{}},)" + kModel + "}",
                 winnow::Errc::Corrupt, "[X]");
    expect_error(R"({"added_tokens":[{"content":"x"}],)" + kModel + "}", winnow::Errc::Corrupt, "'id'");
}

TEST(TokenizerErrors, MissingFileIsNotFound) {
    try {
        winnow::Tokenizer::from_file("/nonexistent/tokenizer.json");
        FAIL();
    } catch (const winnow::Error& e) {
        EXPECT_EQ(e.code(), winnow::Errc::NotFound);
    }
}

TEST(TokenizerErrors, MissingUnkIsReportedAtEncode) {
    const auto t = winnow::Tokenizer::from_json(
        R"({"model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{"a":0}}})", "w.json");
    EXPECT_EQ(t.encode("a").ids, (std::vector<std::int32_t>{0}));
    EXPECT_THROW(t.encode("b"), winnow::Error);
}

}  // namespace
