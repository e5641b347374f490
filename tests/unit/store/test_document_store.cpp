#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include <gtest/gtest.h>

#include "store/document_store.h"
#include "support/temp_dir.h"
#include "winnow/error.h"

namespace winnow::store {
namespace {

namespace fs = std::filesystem;

// A store path that does not exist yet (opening without `create` must fail there), inside a fresh temporary
// directory that is removed with it.
struct TempDir {
    winnow::testing::TempDir parent{"winnow_store"};
    fs::path path = parent.path / "store";
};

Document doc(const std::string& id, const std::string& text, const std::string& path = "") {
    return Document{id, "Title " + id, text, "{\"k\":1}", path};
}

std::vector<ChunkSpan> whole(const Document& d) {
    return {ChunkSpan{0, static_cast<std::uint32_t>(d.text.size()), d.title + " " + d.text}};
}

TEST(DocumentStore, OpenRequiresExistingUnlessCreate) {
    TempDir tmp;
    EXPECT_THROW(DocumentStore(tmp.path.string(), false), Error);
    { DocumentStore s(tmp.path.string(), true); }
    EXPECT_NO_THROW(DocumentStore(tmp.path.string(), false));
}

TEST(DocumentStore, UpsertAddUnchangedReplace) {
    TempDir tmp;
    DocumentStore s(tmp.path.string(), true);
    const auto g0 = s.generation();
    auto d = doc("a", "first text");
    EXPECT_EQ(s.upsert(d, whole(d)), UpsertResult::Added);
    const auto g1 = s.generation();
    EXPECT_GT(g1, g0);
    // Same content: a no-op, no new generation.
    EXPECT_EQ(s.upsert(d, whole(d)), UpsertResult::Unchanged);
    EXPECT_EQ(s.generation(), g1);
    auto first_chunk = s.chunks(std::vector<std::int64_t>{1});
    ASSERT_EQ(first_chunk.size(), 1u);
    EXPECT_EQ(first_chunk[0].doc_id, "a");

    // Changed content replaces the chunks (new chunk ids; the old ones are gone).
    d.text = "second text, longer";
    std::vector<ChunkSpan> two = {{0, 6, "second"}, {8, 19, "text, longer"}};
    EXPECT_EQ(s.upsert(d, two), UpsertResult::Replaced);
    EXPECT_GT(s.generation(), g1);
    EXPECT_EQ(s.document_count(), 1);
    EXPECT_EQ(s.chunk_count(), 2);
    EXPECT_FALSE(s.chunk(1).has_value());
    auto stored = s.document("a");
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->doc.text, "second text, longer");
    EXPECT_EQ(stored->doc.metadata_json, "{\"k\":1}");
    EXPECT_EQ(stored->n_chunks, 2);
    std::vector<Chunk> chunks;
    s.for_each_chunk([&](const Chunk& c) { chunks.push_back(c); });
    ASSERT_EQ(chunks.size(), 2u);
    EXPECT_EQ(chunks[0].ordinal, 0u);
    EXPECT_EQ(chunks[1].ordinal, 1u);
    EXPECT_EQ(chunks[1].begin, 8u);
    EXPECT_EQ(chunks[1].end, 19u);
    EXPECT_GT(chunks[0].chunk_id, 1);  // ids are never reused
}

TEST(DocumentStore, RemoveByIdAndPath) {
    TempDir tmp;
    DocumentStore s(tmp.path.string(), true);
    for (int i = 0; i < 5; ++i) {
        auto d = doc("d" + std::to_string(i), "text " + std::to_string(i), i < 3 ? "/x/a.md" : "/x/b.md");
        s.upsert(d, whole(d));
    }
    EXPECT_TRUE(s.remove("d4"));
    EXPECT_FALSE(s.remove("d4"));
    EXPECT_FALSE(s.remove("nope"));
    EXPECT_EQ(s.remove_by_path("/x/a.md"), 3u);
    EXPECT_EQ(s.remove_by_path("/x/a.md"), 0u);
    EXPECT_EQ(s.document_count(), 1);
    EXPECT_EQ(s.chunk_count(), 1);
    EXPECT_EQ(s.source_paths(), std::vector<std::string>{"/x/b.md"});
}

TEST(DocumentStore, TransactionsCommitOrRollBackAsAWhole) {
    TempDir tmp;
    {
        DocumentStore s(tmp.path.string(), true);
        s.begin();
        for (int i = 0; i < 10; ++i) {
            auto d = doc("c" + std::to_string(i), "committed");
            s.upsert(d, whole(d));
        }
        const auto before = s.generation();
        s.commit();
        EXPECT_EQ(s.generation(), before + 1);  // one generation per transaction
        s.begin();
        for (int i = 0; i < 10; ++i) {
            auto d = doc("r" + std::to_string(i), "rolled back");
            s.upsert(d, whole(d));
        }
        s.rollback();
        EXPECT_EQ(s.document_count(), 10);
        s.begin();
        auto d = doc("open", "never committed");
        s.upsert(d, whole(d));
        // Destroyed with an open transaction: rolled back.
    }
    DocumentStore s(tmp.path.string(), false);
    EXPECT_EQ(s.document_count(), 10);
    EXPECT_FALSE(s.document("open").has_value());
}

TEST(DocumentStore, EmbeddingsAndSettings) {
    TempDir tmp;
    DocumentStore s(tmp.path.string(), true);
    auto d = doc("e", "vectors");
    std::vector<std::vector<float>> emb = {{1.0f, 2.0f, 3.0f}};
    s.upsert(d, whole(d), emb);
    auto d2 = doc("f", "vectors too");
    std::vector<std::vector<float>> wrong = {{1.0f}, {2.0f}};
    EXPECT_THROW(s.upsert(d2, whole(d2), wrong), Error);
    std::vector<float> got;
    s.for_each_embedding([&](std::int64_t, std::span<const float> v) { got.assign(v.begin(), v.end()); });
    EXPECT_EQ(got, (std::vector<float>{1.0f, 2.0f, 3.0f}));
    EXPECT_FALSE(s.setting("analyzer").has_value());
    s.set_setting("analyzer", "english");
    s.set_setting("analyzer", "standard");
    EXPECT_EQ(s.setting("analyzer").value(), "standard");
    EXPECT_THROW(s.upsert(Document{}, {}), Error);
}

TEST(DocumentStore, ContentHashCoversChunks) {
    auto d = doc("h", "text");
    const auto a = content_hash(d, whole(d));
    std::vector<ChunkSpan> other = {{0, 4, "text"}};
    EXPECT_NE(a, content_hash(d, other));
    auto d2 = d;
    d2.title = "Other";
    EXPECT_NE(a, content_hash(d2, whole(d)));
    EXPECT_EQ(a, content_hash(d, whole(d)));
}

// Opening an existing store only reads: it must not wait for the write lock an ingest holds
// (a server or a search opening the index during a long `winnow index`).
TEST(DocumentStore, OpenWhileAnotherConnectionWritesDoesNotWait) {
    TempDir tmp;
    DocumentStore writer(tmp.path.string(), true);
    const auto a = doc("a", "committed text");
    writer.upsert(a, whole(a));
    writer.begin();
    const auto b = doc("b", "uncommitted text");
    writer.upsert(b, whole(b));
    const auto start = std::chrono::steady_clock::now();
    {
        DocumentStore reader(tmp.path.string(), false);
        EXPECT_EQ(reader.document_count(), 1);
        EXPECT_TRUE(reader.document("a").has_value());
        EXPECT_FALSE(reader.document("b").has_value());
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
    writer.commit();
    DocumentStore reader(tmp.path.string(), false);
    EXPECT_EQ(reader.document_count(), 2);
}

// A store killed while being created (tables but no meta rows) is completed on the next open.
TEST(DocumentStore, HalfCreatedStoreIsCompletedOnOpen) {
    TempDir tmp;
    { DocumentStore s(tmp.path.string(), true); }
    {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open((tmp.path / "store.sqlite").string().c_str(), &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db, "DELETE FROM meta", nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(db);
    }
    DocumentStore s(tmp.path.string(), false);
    EXPECT_EQ(s.generation(), 0);
    const auto a = doc("a", "text");
    s.upsert(a, whole(a));
    EXPECT_EQ(s.generation(), 1);
}

// Several processes creating and opening the same new store at once (a server starting while
// `winnow index` creates the index): none fails with "database is locked". Found by the crash tests.
TEST(DocumentStore, ConcurrentCreationByProcessesDoesNotFail) {
    for (int round = 0; round < 20; ++round) {
        TempDir tmp;
        std::vector<pid_t> children;
        for (int t = 0; t < 4; ++t) {
            const pid_t pid = ::fork();
            ASSERT_GE(pid, 0);
            if (pid == 0) {
                int code = 0;
                try {
                    DocumentStore s(tmp.path.string(), t == 0);
                    if (t == 0) {
                        const auto a = doc("a", "text");
                        s.upsert(a, whole(a));
                    }
                    s.document_count();
                } catch (const Error& e) {
                    code = e.code() == Errc::NotFound ? 0 : 1;  // opened before it existed: fine
                    if (code) std::fprintf(stderr, "round %d, process %d: %s\n", round, t, e.what());
                } catch (const std::exception& e) {
                    code = 1;
                }
                std::fflush(stderr);
                ::_exit(code);
            }
            children.push_back(pid);
        }
        int failed = 0;
        for (pid_t pid : children) {
            int status = 0;
            ::waitpid(pid, &status, 0);
            failed += WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
        }
        ASSERT_EQ(failed, 0) << "round " << round;
        EXPECT_EQ(DocumentStore(tmp.path.string(), false).document_count(), 1);
    }
}

}  // namespace
}  // namespace winnow::store
