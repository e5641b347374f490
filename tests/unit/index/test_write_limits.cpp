// The document size limit of Index::Writer and of `winnow index` (hardening): an oversized
// document is refused with Error(TooLarge) naming the limit; the CLI skips it and goes on.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/json.h"
#include "support/run_command.h"
#include "support/temp_dir.h"
#include "winnow/error.h"
#include "winnow/index.h"

namespace winnow {
namespace {

namespace fs = std::filesystem;

using winnow::testing::TempDir;

TEST(WriteLimits, WriterRefusesADocumentOverMaxDocumentBytes) {
    TempDir tmp("winnow_wlimits");
    auto index = Index::create((tmp.path / "idx").string(), IndexConfig{});
    WriteOptions options;
    options.max_document_bytes = 100;
    auto w = index->writer(options);
    w->upsert(
        IndexDocument{.id = "ok", .title = "t", .text = std::string(97, 'a'), .source_path = {}});  // 1 + 97 + 2 ("{}")
    try {
        w->upsert(IndexDocument{.id = "big", .title = "t", .text = std::string(98, 'a'), .source_path = {}});
        ADD_FAILURE() << "no error for 101 bytes";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::TooLarge);
        const std::string m = e.what();
        EXPECT_NE(m.find("max_document_bytes"), std::string::npos) << m;
        EXPECT_NE(m.find("101 bytes"), std::string::npos) << m;
        EXPECT_NE(m.find("'big'"), std::string::npos) << m;
    }
    w->finish();
    EXPECT_EQ(index->document_count(), 1u);
    // The default is 16 MiB.
    EXPECT_EQ(WriteOptions{}.max_document_bytes, std::size_t{16} << 20);
}

testing::CommandResult run(const std::string& args) {
    return testing::run_command(std::string(WINNOW_BINARY_DIR "/winnow ") + args + " 2>/dev/null");
}

TEST(WriteLimits, CliSkipsOversizedDocumentsAndNamesTheLimit) {
    ASSERT_TRUE(fs::exists(WINNOW_BINARY_DIR "/winnow"));
    TempDir tmp("winnow_wlimits");
    const std::string corpus = (tmp.path / "corpus.jsonl").string();
    {
        std::ofstream out(corpus);
        out << R"({"_id": "a", "text": "small one"})"
            << "\n"
            << R"({"_id": "b", "text": ")" << std::string(3000, 'b') << "\"}\n"
            << R"({"_id": "c", "text": "small two"})"
            << "\n";
    }
    const std::string idx = (tmp.path / "idx").string();
    auto [status, out] = run("index --index " + idx + " --input " + corpus + " --max-document-bytes 1000 --json");
    ASSERT_EQ(status, 0);
    const Json j = Json::parse(out);
    EXPECT_EQ(j.at("documents").get<int>(), 2);
    EXPECT_EQ(j.at("skipped").get<int>(), 1);
    ASSERT_EQ(j.at("errors").size(), 1u);
    EXPECT_NE(j.at("errors")[0].get<std::string>().find("max_document_bytes"), std::string::npos) << out;
    // Bad values are usage errors.
    EXPECT_EQ(run("index --index " + idx + " --input " + corpus + " --max-document-bytes 0").status, 2);
    EXPECT_EQ(run("index --index " + idx + " --input " + corpus + " --max-file-bytes -5").status, 2);
}

// A directory where the segment manifest belongs is an IO error (exit 6) naming it, not an internal
// error (70).
TEST(WriteLimits, DirectoryInPlaceOfADerivedIndexIsAnIoError) {
    ASSERT_TRUE(fs::exists(WINNOW_BINARY_DIR "/winnow"));
    TempDir tmp("winnow_wlimits_dir");
    const std::string corpus = (tmp.path / "corpus.jsonl").string();
    std::ofstream(corpus) << R"({"_id": "a", "text": "water under the bridge"})" << "\n";
    const std::string idx = (tmp.path / "idx").string();
    ASSERT_EQ(run("index --index " + idx + " --input " + corpus).status, 0);
    fs::remove(fs::path(idx) / "segments.json");
    fs::create_directory(fs::path(idx) / "segments.json");
    const auto r = testing::run_command(std::string(WINNOW_BINARY_DIR "/winnow search --index ") + idx +
                                        " --query water 2>&1");
    EXPECT_EQ(r.status, 6) << r.out;
    EXPECT_NE(r.out.find("segments.json"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace winnow
