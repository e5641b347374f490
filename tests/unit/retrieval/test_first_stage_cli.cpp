// `winnow index` / `winnow search` end to end through the binary.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/json.h"
#include "support/run_command.h"

namespace winnow {
namespace {

namespace fs = std::filesystem;

testing::CommandResult run(const std::string& args) {
    return testing::run_command(std::string(WINNOW_BINARY_DIR "/winnow ") + args + " 2>/dev/null");
}

TEST(FirstStageCli, IndexSearchJsonDelete) {
    ASSERT_TRUE(fs::exists(WINNOW_BINARY_DIR "/winnow"));
    const fs::path dir = fs::temp_directory_path() / ("winnow_cli_fs_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    {
        std::ofstream out(dir / "corpus.jsonl");
        out << R"({"_id": "a", "title": "Solar panels", "text": "Photovoltaic cells convert sunlight."})" << "\n"
            << R"({"_id": "b", "title": "Wind", "text": "Turbines convert wind into electricity."})" << "\n";
    }
    const std::string idx = (dir / "idx").string();
    auto r = run("index --index " + idx + " --input " + (dir / "corpus.jsonl").string() + " --json");
    ASSERT_EQ(r.status, 0);
    const Json summary = Json::parse(r.out);
    EXPECT_EQ(summary.at("added").get<int>(), 2);

    r = run("search --index " + idx + " --query 'sunlight cells' --json");
    ASSERT_EQ(r.status, 0);
    const Json hit = Json::parse(r.out.substr(0, r.out.find('\n')));
    EXPECT_EQ(hit.at("rank").get<int>(), 1);
    EXPECT_EQ(hit.at("doc_id").get<std::string>(), "a");
    EXPECT_TRUE(hit.contains("chunk_id"));
    EXPECT_GT(hit.at("score").get<double>(), 0.0);
    EXPECT_EQ(hit.at("text").get<std::string>(), "Solar panels Photovoltaic cells convert sunlight.");

    r = run("search --index " + idx + " --query convert --k 5");
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("  1. "), std::string::npos);

    r = run("index --index " + idx + " --delete a --json");
    ASSERT_EQ(r.status, 0);
    EXPECT_EQ(Json::parse(r.out).at("removed").get<int>(), 1);
    r = run("search --index " + idx + " --query sunlight --json");
    EXPECT_EQ(r.status, 0);
    EXPECT_TRUE(r.out.empty());
    // Without --json an empty result says why, as a pipeline's does.
    r = run("search --index " + idx + " --query sunlight");
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("no results: None of the query's terms occurs in the index (1 chunks)"), std::string::npos)
        << r.out;

    // Bad arguments exit 2; a missing index is an error, not a crash.
    EXPECT_EQ(run("search --index " + idx + " --query x --first-stage nope").status, 2);
    EXPECT_EQ(run("search --index " + idx).status, 2);
    const int missing = run("search --index " + (dir / "none").string() + " --query x").status;
    EXPECT_NE(missing, 0);
    EXPECT_LT(missing, 128);
    // Dense search on a BM25-only index explains itself.
    EXPECT_NE(run("search --index " + idx + " --query x --first-stage dense").status, 0);

    // A huge k is a usage error (exit 2) with the limit named, not an allocation failure (70).
    for (const char* k : {"1000000000000", "1e12", "100001", "0"}) {
        const auto big = testing::run_command(std::string(WINNOW_BINARY_DIR "/winnow search --index ") + idx +
                                              " --query convert --k " + k + " 2>&1");
        EXPECT_EQ(big.status, 2) << k << ": " << big.out;
    }
    EXPECT_EQ(run("search --index " + idx + " --query convert --pipeline 'bm25(k=1000000000000)'").status, 2);
    EXPECT_EQ(run("search --index " + idx + " --query convert --k 100000").status, 0);
    fs::remove_all(dir);
}

// `winnow search`'s first-stage flags are overrides of the spec's first stage (one set of keys):
// with --pipeline they change it instead of being ignored.
TEST(FirstStageCli, FlagsAreSpecOverrides) {
    const fs::path dir = fs::temp_directory_path() / ("winnow_cli_flags_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    {
        std::ofstream out(dir / "corpus.jsonl");
        for (int i = 0; i < 6; ++i) {
            out << R"({"_id": "d)" << i << R"(", "title": "Doc )" << i << R"(", "text": "energy convert )" << i << R"("})"
                << "\n";
        }
    }
    const std::string idx = (dir / "idx").string();
    ASSERT_EQ(run("index --index " + idx + " --input " + (dir / "corpus.jsonl").string()).status, 0);
    const std::string base = "search --index " + idx + " --query 'energy convert' ";
    auto r = run(base + "--pipeline 'bm25(k=5)' --k 2 --bm25 'bm25(k1=1.2,b=0.75)' --explain");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("pipeline: bm25(k=2, k1=1.2, b=0.75)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("first stage: bm25(k1=1.2,b=0.75)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("2 candidates"), std::string::npos) << r.out;
    // Without --pipeline the same flags make the first-stage spec.
    r = run(base + "--k 3 --json");
    ASSERT_EQ(r.status, 0);
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3);
    // Bad values are the spec's errors: exit 2.
    EXPECT_EQ(run(base + "--weight 2 --first-stage hybrid").status, 2);
    EXPECT_EQ(run(base + "--fusion borda").status, 2);
    EXPECT_EQ(run(base + "--fusion rrf").status, 2);  // bm25 has no fusion: refused, not ignored
    EXPECT_EQ(run(base + "--rrf-k x").status, 2);
    fs::remove_all(dir);
}

TEST(FirstStageCli, MissingInputLeavesNoIndexAndSkippedFilesAreReportedOnce) {
    ASSERT_TRUE(fs::exists(WINNOW_BINARY_DIR "/winnow"));
    const fs::path dir = fs::temp_directory_path() / ("winnow_cli_fs2_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "docs");
    // A missing input fails (not found) before any index exists, so nothing answers "no results" later.
    const std::string idx = (dir / "idx").string();
    auto r = run("index --index " + idx + " --input " + (dir / "nothere").string() + "/");
    EXPECT_EQ(r.status, 3);
    EXPECT_FALSE(fs::exists(idx));
    EXPECT_EQ(run("search --index " + idx + " --query x").status, 3);
    // One readable file and one binary file: the binary one is reported once, on stderr, by name.
    std::ofstream(dir / "docs" / "ok.md") << "# Solar\n\nPhotovoltaic cells convert sunlight.\n";
    std::ofstream(dir / "docs" / "blob.txt", std::ios::binary) << std::string("\x00\x01\x02binary\x00", 10);
    r = testing::run_command(std::string(WINNOW_BINARY_DIR "/winnow index --quiet --index ") + idx + " --input " +
                             (dir / "docs").string() + " 2>&1 >/dev/null");
    EXPECT_EQ(r.status, 0) << r.out;
    std::size_t mentions = 0;
    for (std::size_t at = r.out.find("blob.txt"); at != std::string::npos; at = r.out.find("blob.txt", at + 1)) {
        ++mentions;
    }
    EXPECT_EQ(mentions, 1u) << r.out;
    EXPECT_EQ(r.out.find("skipped: "), std::string::npos) << r.out;  // not "skipped: X: skipped: ..."
    fs::remove_all(dir);
}

}  // namespace
}  // namespace winnow
