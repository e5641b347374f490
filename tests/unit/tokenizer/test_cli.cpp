// Runs the built `winnow tokenize` binary through a shell pipe.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "core/json.h"
#include "support/run_command.h"

namespace {

using Result = winnow::testing::CommandResult;

Result run(const std::string& input, const std::string& args) {
    return winnow::testing::run_command("printf '" + input + "' | " WINNOW_BINARY_DIR "/winnow tokenize " + args +
                                        " 2>&1");
}

const std::string kMiniLm = std::string("--tokenizer ") + WINNOW_SHARED_DIR + "/data/tokenizers/all-MiniLM-L6-v2";

TEST(TokenizeCli, DefaultsFollowTheFileAndFlagsOverride) {
    // all-MiniLM-L6-v2 pads to a multiple of 8 and truncates at 256.
    Result r = run(R"({"text": "Hello World!"})", kMiniLm);
    ASSERT_EQ(r.status, 0) << r.out;
    winnow::Json j = winnow::Json::parse(r.out);
    EXPECT_EQ(j["ids"], winnow::Json::parse("[101, 7592, 2088, 999, 102, 0, 0, 0]"));
    EXPECT_EQ(j["tokens"][1], "hello");
    EXPECT_EQ(j["offsets"][2], winnow::Json::parse("[6, 11]"));
    EXPECT_EQ(j["type_ids"].size(), 8u);

    r = run(R"({"text": "Hello World!"})", kMiniLm + " --no-padding --no-special-tokens");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(winnow::Json::parse(r.out)["ids"], winnow::Json::parse("[7592, 2088, 999]"));

    r = run(R"({"text": "a b c d", "text_pair": "e f g h"}\n{"text": "x"})", kMiniLm + " --max-length 6 --no-padding");
    ASSERT_EQ(r.status, 0) << r.out;
    const auto nl = r.out.find('\n');
    j = winnow::Json::parse(r.out.substr(0, nl));
    EXPECT_EQ(j["ids"], winnow::Json::parse("[101, 1037, 102, 1041, 1042, 102]"));
    EXPECT_EQ(j["type_ids"], winnow::Json::parse("[0, 0, 0, 1, 1, 1]"));
    EXPECT_EQ(winnow::Json::parse(r.out.substr(nl + 1))["ids"], winnow::Json::parse("[101, 1060, 102]"));
}

TEST(TokenizeCli, BadInputAndArgs) {
    EXPECT_EQ(run(R"({"txt": "x"})", kMiniLm).status, 2);
    EXPECT_EQ(run("not json", kMiniLm).status, 2);
    EXPECT_EQ(run(R"({"text": "x"})", "--tokenizer /nonexistent").status, 3);
    EXPECT_EQ(run(R"({"text": "x"})", "").status, 2);
    EXPECT_EQ(run(R"({"text": "x"})", kMiniLm + " --max-length -3").status, 2);
}

// Issue 22 item 9: NUL bytes in lines, invalid UTF-8 in error messages, output before a bad line.
TEST(TokenizeCli, NulByteInALineIsAnErrorNotATruncation) {
    // printf turns \000 into a NUL byte: nlohmann's parser stopped there and took the line as
    // {"text": "x"}.
    const Result r = run(R"({"text": "x"}\000{"text": "y"})", kMiniLm + " --no-padding 2>&1");
    EXPECT_EQ(r.status, 2) << r.out;
    EXPECT_NE(r.out.find("NUL byte"), std::string::npos) << r.out;
}

TEST(TokenizeCli, ErrorsDoNotEchoInvalidUtf8) {
    const Result r = run(R"({"text": "\377\376 x)", kMiniLm);
    EXPECT_EQ(r.status, 2) << r.out;
    EXPECT_EQ(r.out.find('\xFF'), std::string::npos) << "raw byte on stderr: " << r.out;
    EXPECT_EQ(r.out.find('\xFE'), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\\xFF"), std::string::npos) << r.out;
}

TEST(TokenizeCli, LinesBeforeABadLineArePrinted) {
    const Result r = run(R"({"text": "a"}\n{"text": "b"}\nnot json\n{"text": "c"})", kMiniLm + " --no-padding");
    EXPECT_EQ(r.status, 2) << r.out;
    ASSERT_NE(r.out.find('\n'), std::string::npos) << r.out;
    EXPECT_EQ(winnow::Json::parse(r.out.substr(0, r.out.find('\n')))["tokens"][1], "a") << r.out;
    EXPECT_NE(r.out.find("\"b\""), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("\"c\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("stdin line 3"), std::string::npos) << r.out;
}

}  // namespace
