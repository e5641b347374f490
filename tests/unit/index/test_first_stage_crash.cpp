// Crash consistency: SIGKILL `winnow index` mid-ingest, reopen, and find exactly the committed
// batches: every document whole (text and chunk), none half-written, the BM25 index in step.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "store/document_store.h"
#include "winnow/index.h"

namespace winnow {
namespace {

namespace fs = std::filesystem;

std::string doc_text(int i) { return "body of document number " + std::to_string(i) + " uniqterm" + std::to_string(i); }

TEST(FirstStageCrash, SigkillMidIngestLeavesLastCommittedBatch) {
    const std::string binary = WINNOW_BINARY_DIR "/winnow";
    ASSERT_TRUE(fs::exists(binary)) << binary << " not built (target winnow_cli)";
    const fs::path dir = fs::temp_directory_path() / ("winnow_crash_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string corpus = (dir / "corpus.jsonl").string();
    const std::string index_dir = (dir / "index").string();
    constexpr int kDocs = 200000;
    constexpr int kBatch = 50;
    {
        std::ofstream out(corpus);
        for (int i = 0; i < kDocs; ++i) {
            out << "{\"_id\": \"doc" << i << "\", \"title\": \"Title " << i << "\", \"text\": \"" << doc_text(i)
                << "\"}\n";
        }
    }
    const std::string batch = std::to_string(kBatch);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::execl(binary.c_str(), binary.c_str(), "--log", "error", "index", "--index", index_dir.c_str(), "--input",
                corpus.c_str(), "--format", "beir", "--batch", batch.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    // Wait until a few batches are committed, then kill without warning.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    std::int64_t seen = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (!fs::exists(fs::path(index_dir) / "store.sqlite")) continue;
        try {
            store::DocumentStore s(index_dir, false);
            seen = s.document_count();
        } catch (const std::exception&) {
            continue;
        }
        if (seen >= 3 * kBatch) break;
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "winnow index ended before it was killed (status " << status << ")";
    ASSERT_GE(seen, 3 * kBatch);

    auto index = Index::open(index_dir);
    const std::size_t n = index->document_count();
    EXPECT_GE(n, static_cast<std::size_t>(seen));
    EXPECT_LT(n, static_cast<std::size_t>(kDocs));
    EXPECT_EQ(n % kBatch, 0u) << "a batch was half-committed";
    EXPECT_EQ(index->chunk_count(), n);
    {
        store::DocumentStore s(index_dir, false);
        for (std::size_t i = 0; i < n; ++i) {
            const auto d = s.document("doc" + std::to_string(i));
            ASSERT_TRUE(d.has_value()) << "committed document doc" << i << " missing";
            EXPECT_EQ(d->doc.text, doc_text(static_cast<int>(i)));
            EXPECT_EQ(d->n_chunks, 1);
        }
        EXPECT_FALSE(s.document("doc" + std::to_string(n)).has_value());
    }
    // The lexical index reflects exactly the committed documents.
    const auto last = index->search("uniqterm" + std::to_string(n - 1));
    ASSERT_EQ(last.size(), 1u);
    EXPECT_EQ(last[0].doc_id, "doc" + std::to_string(n - 1));
    EXPECT_TRUE(index->search("uniqterm" + std::to_string(n)).empty());
    EXPECT_EQ(index->search("document", SearchOptions{.k = kDocs, .with_text = false}).size(), n);

    index.reset();
    fs::remove_all(dir);
}

}  // namespace
}  // namespace winnow
