// Readers searching while a writer ingests (hardening): one Index shared by reader threads that
// search and refresh, another Index in a writer thread that adds whole batches and replaces
// documents. Every search must see one committed snapshot: whole batches only, counts that never
// go back, every hit resolvable to its full text, never a title of one version over the text of
// another. Runs in the normal suite and under ThreadSanitizer (tests/README.md).
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "winnow/error.h"
#include "winnow/index.h"

namespace winnow {
namespace {

namespace fs = std::filesystem;

constexpr int kBatch = 10;
constexpr int kBatches = 24;
constexpr int kReaders = 3;

// Document i at version v: the version is in both the title and the text.
IndexDocument make_doc(int i, int version) {
    IndexDocument d;
    d.id = "doc" + std::to_string(i);
    d.title = "Title " + std::to_string(i) + " v" + std::to_string(version);
    d.text = "body of document " + std::to_string(i) + " uniqterm" + std::to_string(i) + " version" +
             std::to_string(version);
    return d;
}

// "Title 3 v2 body of document 3 uniqterm3 version2" -> the versions in the title and the text.
std::pair<std::string, std::string> versions(const Candidate& h) {
    const auto tv = h.title.rfind(" v");
    const auto xv = h.text.rfind(" version");
    return {tv == std::string::npos ? "?" : h.title.substr(tv + 2),
            xv == std::string::npos ? "?" : h.text.substr(xv + 8)};
}

TEST(ConcurrentSearch, ReadersSeeConsistentSnapshotsWhileAWriterIngests) {
    const fs::path dir = fs::temp_directory_path() / ("winnow_concurrent_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    {
        auto index = Index::create(dir.string(), IndexConfig{});
        auto w = index->writer();
        for (int i = 0; i < kBatch; ++i) w->upsert(make_doc(i, 0));
        w->finish();
    }
    auto shared = Index::open(dir.string());
    std::atomic<bool> done{false};
    std::atomic<int> searches{0};

    std::thread writer([&] {
        auto index = Index::open(dir.string());
        WriteOptions options;
        options.batch_documents = 1u << 30;  // commit explicitly: whole batches only
        auto w = index->writer(options);
        for (int b = 1; b < kBatches; ++b) {
            for (int i = b * kBatch; i < (b + 1) * kBatch; ++i) w->upsert(make_doc(i, 0));
            // Replace an older document: a new version of title and text together.
            w->upsert(make_doc((b * 7) % (b * kBatch), b));
            w->commit();
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        w->finish();
        done = true;
    });

    std::vector<std::thread> readers;
    std::vector<std::string> failures(kReaders);
    for (int t = 0; t < kReaders; ++t) {
        readers.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t));
            std::size_t last = 0;
            auto fail = [&](const std::string& what) {
                if (failures[t].empty()) failures[t] = what;
            };
            try {
                for (int iter = 0; failures[t].empty(); ++iter) {
                    const bool finished = done.load();
                    if (iter % 2 == t % 2) shared->refresh();
                    // Ids only (the in-memory chunk map) and with text (the store): both whole
                    // batches, never fewer than before.
                    const bool with_text = iter % 3 != 0;
                    const auto hits =
                        shared->search("document", SearchOptions{.k = 100000, .bm25 = {}, .with_text = with_text});
                    const std::size_t n = hits.size();
                    if (n % kBatch != 0) {
                        fail("saw " + std::to_string(n) + " documents: not whole batches" +
                             (with_text ? " (with text)" : " (ids only)"));
                    }
                    if (n < last) fail("count went back from " + std::to_string(last) + " to " + std::to_string(n));
                    last = n;
                    std::set<std::string> ids;
                    for (const auto& h : hits) ids.insert(h.doc_id);
                    if (ids.size() != n) fail("duplicate document in one result");
                    // Every hit has its full text; title and text of one version.
                    for (const auto& h : hits) {
                        if (!with_text) break;
                        if (h.text.empty() || h.title.empty()) fail("hit " + h.doc_id + " without its text");
                        const auto [title_v, text_v] = versions(h);
                        if (title_v != text_v)
                            fail("torn hit " + h.doc_id + ": '" + h.title + "' over '" + h.text + "'");
                    }
                    if (n > 0) {
                        const int j = static_cast<int>(rng() % n);
                        const auto one = shared->search("uniqterm" + std::to_string(j));
                        if (one.empty() || one[0].doc_id != "doc" + std::to_string(j)) {
                            fail("uniqterm" + std::to_string(j) + " not found with " + std::to_string(n) +
                                 " documents");
                        }
                    }
                    ++searches;
                    if (finished) break;
                }
            } catch (const std::exception& e) {
                fail(std::string("exception: ") + e.what());
            }
        });
    }
    writer.join();
    for (auto& r : readers) r.join();
    std::printf("[concurrent] %d searches by %d readers during %d commits\n", searches.load(), kReaders, kBatches - 1);
    for (int t = 0; t < kReaders; ++t) EXPECT_EQ(failures[t], "") << "reader " << t;
    shared->refresh();
    EXPECT_EQ(shared->search("document", SearchOptions{.k = 100000, .bm25 = {}, .with_text = false}).size(),
              static_cast<std::size_t>(kBatches * kBatch));
    EXPECT_GT(searches.load(), kReaders);
    shared.reset();
    fs::remove_all(dir);
}

}  // namespace
}  // namespace winnow
