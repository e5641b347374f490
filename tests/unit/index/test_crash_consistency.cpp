// Crash consistency (hardening): the real `winnow` binary is killed with SIGKILL at a random moment
// of an ingest (`winnow index`, BM25 + dense side) or of an index rebuild (`winnow search` on an
// index whose derived files are missing or stale), then the directory is reopened and checked:
//   - no committed document lost (every count a concurrent reader saw before the kill survives),
//   - none half-written (whole batches only; every document has its full text and its chunk),
//   - the derived files on disk are either absent or complete (never torn), no temporaries left,
//   - BM25 and dense search return exactly the committed documents,
//   - the index can be written again (the interrupted ingest, rerun, completes it).
// Kill times are uniform over [0, 1.2 x the measured duration of the uninterrupted operation];
// for the ingest, three runs in four are killed instead 0-50 ms after a reader sees a random
// number of committed documents (the start, loading the model, takes most of the time), from a
// seed printed with every run (WINNOW_CRASH_SEED=<seed> repeats a sequence). Runs per
// test: WINNOW_CRASH_RUNS (5 in retrieval_tests; 50 in retrieval_crash_tests, label slow).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "index/manifest.h"
#include "index/segment_directory.h"
#include "store/document_store.h"
#include "winnow/embedder.h"
#include "winnow/error.h"
#include "winnow/index.h"

#ifndef WINNOW_CRASH_RUNS
#define WINNOW_CRASH_RUNS 5
#endif

namespace winnow {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kDocs = 400;
constexpr int kBatch = 20;
const std::string kBinary = WINNOW_BINARY_DIR "/winnow";
const std::string kEmbedModel = WINNOW_SHARED_DIR "/fixtures/models/bert-embed-mean";

std::string doc_title(int i) {
    return "Title " + std::to_string(i);
}
std::string doc_text(int i) {
    return "body of document number " + std::to_string(i) + " uniqterm" + std::to_string(i) + " shared words";
}

int runs() {
    if (const char* v = std::getenv("WINNOW_CRASH_RUNS")) return std::max(1, std::atoi(v));
    return WINNOW_CRASH_RUNS;
}

std::uint64_t seed() {
    if (const char* v = std::getenv("WINNOW_CRASH_SEED")) return std::strtoull(v, nullptr, 10);
    return static_cast<std::uint64_t>(Clock::now().time_since_epoch().count());
}

struct Workspace {
    fs::path root;
    std::string corpus;
    Workspace() {
        static int counter = 0;
        root = fs::temp_directory_path() /
               ("winnow_crashc_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::remove_all(root);
        fs::create_directories(root);
        corpus = (root / "corpus.jsonl").string();
        std::ofstream out(corpus);
        for (int i = 0; i < kDocs; ++i) {
            out << "{\"_id\": \"doc" << i << "\", \"title\": \"" << doc_title(i) << "\", \"text\": \"" << doc_text(i)
                << "\"}\n";
        }
    }
    ~Workspace() { fs::remove_all(root); }
};

pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kBinary.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        ::execv(kBinary.c_str(), argv.data());
        ::_exit(127);
    }
    return pid;
}

int run_to_end(const std::vector<std::string>& args, const std::string& log) {
    const pid_t pid = spawn(args, log);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<std::string> ingest_args(const std::string& index_dir, const std::string& corpus) {
    return {"--log",
            "error",
            "index",
            "--index",
            index_dir,
            "--input",
            corpus,
            "--format",
            "beir",
            "--batch",
            std::to_string(kBatch),
            "--embed-model",
            kEmbedModel};
}

std::vector<std::string> search_args(const std::string& index_dir) {
    return {"--log", "error", "search", "--index", index_dir, "--query", "uniqterm7", "--k", "3"};
}

std::shared_ptr<const Embedder> embedder() {
    static std::shared_ptr<const Embedder> e = Embedder::load(kEmbedModel);
    return e;
}

std::vector<fs::path> temporaries(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.path().filename().string().find(".tmp.") != std::string::npos) out.push_back(entry.path());
    }
    return out;
}

// The segment files a manifest names, and whether they all load.
bool manifest_whole(const fs::path& dir, const index::Manifest& m) {
    const index::SegmentDirectory segments(dir.string(), "english", "Flat");
    return segments.open(m, nullptr).has_value();
}

// The derived files are absent or complete for one of the given generations (never torn): the
// manifest, when there is one, parses, is of one of them, and every file it names loads.
void expect_derived_files_whole(const fs::path& dir, const std::vector<std::int64_t>& generations,
                                const std::string& where) {
    if (!fs::exists(dir / "segments.json")) return;
    const auto m = index::Manifest::load(dir.string());
    ASSERT_TRUE(m.has_value()) << where << ": segments.json is torn";
    EXPECT_NE(std::find(generations.begin(), generations.end(), m->generation), generations.end())
        << where << ": segments.json of unexpected generation " << m->generation;
    EXPECT_TRUE(manifest_whole(dir, *m)) << where << ": a file the manifest names is missing or torn";
}

// Segment files that no manifest names (left by a killed writer; the next writer deletes them).
std::vector<std::string> unreferenced_segment_files(const fs::path& dir) {
    std::vector<std::string> out;
    const auto m = index::Manifest::load(dir.string());
    std::set<std::string> named;
    if (m) {
        for (const auto& s : m->segments) {
            named.insert(s.lexical_file());
            if (s.dense) named.insert(s.dense_file());
            if (!s.live_docs.empty()) named.insert(s.live_docs);
        }
    }
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("seg_", 0) == 0 && name.find(".tmp.") == std::string::npos && !named.count(name)) {
            out.push_back(name);
        }
    }
    return out;
}

// Reopens `dir` and checks it holds exactly documents [0, n) for some n >= min_docs made of whole
// batches (or `exact` when given), with both indexes in step. Returns n.
std::size_t check_index(const fs::path& dir, std::size_t min_docs, std::optional<std::size_t> exact,
                        const std::string& where) {
    if (!fs::exists(dir / "store.sqlite")) {
        EXPECT_EQ(min_docs, 0u) << where << ": committed documents were seen but the store is gone";
        return 0;
    }
    std::unique_ptr<Index> index;
    try {
        index = Index::open(dir.string(), embedder());
    } catch (const Error& e) {
        ADD_FAILURE() << where << ": reopening failed: " << e.what();
        return 0;
    }
    const std::size_t n = index->document_count();
    EXPECT_GE(n, min_docs) << where << ": committed documents lost";
    if (exact) {
        EXPECT_EQ(n, *exact) << where;
    } else {
        EXPECT_TRUE(n % kBatch == 0 || n == static_cast<std::size_t>(kDocs))
            << where << ": " << n << " documents: a batch was half-committed";
    }
    EXPECT_EQ(index->chunk_count(), n) << where;
    {
        store::DocumentStore s(dir.string(), false);
        for (std::size_t i = 0; i < n; ++i) {
            const auto d = s.document("doc" + std::to_string(i));
            if (!d) {
                ADD_FAILURE() << where << ": committed document doc" << i << " missing";
                break;
            }
            EXPECT_EQ(d->doc.title, doc_title(static_cast<int>(i))) << where;
            EXPECT_EQ(d->doc.text, doc_text(static_cast<int>(i))) << where;
            EXPECT_EQ(d->n_chunks, 1) << where << ": doc" << i;
        }
        EXPECT_FALSE(s.document("doc" + std::to_string(n)).has_value()) << where;
    }
    // BM25: exactly the committed documents, text resolvable.
    SearchOptions all{.k = static_cast<std::size_t>(kDocs) + 10, .bm25 = {}, .with_text = false};
    EXPECT_EQ(index->search("document", all).size(), n) << where;
    if (n > 0) {
        const auto last = index->search("uniqterm" + std::to_string(n - 1));
        EXPECT_EQ(last.size(), 1u) << where;
        if (!last.empty()) {
            EXPECT_EQ(last[0].doc_id, "doc" + std::to_string(n - 1)) << where;
            EXPECT_EQ(last[0].text, doc_title(static_cast<int>(n - 1)) + " " + doc_text(static_cast<int>(n - 1)));
        }
    }
    EXPECT_TRUE(index->search("uniqterm" + std::to_string(n)).empty()) << where;
    // Dense: the FAISS index holds exactly the committed chunks.
    if (index->has_dense() && n > 0) {
        SearchOptions dense_all = all;
        dense_all.first_stage = FirstStageKind::Dense;
        try {
            const auto hits = index->search("document number", dense_all);
            std::set<std::string> ids;
            for (const auto& h : hits) ids.insert(h.doc_id);
            EXPECT_EQ(ids.size(), n) << where << ": dense index out of step with the store";
            EXPECT_EQ(hits.size(), n) << where;
        } catch (const Error& e) {
            ADD_FAILURE() << where << ": dense search failed: " << e.what();
        }
    }
    // After the reopen the manifest matches the store, names whole files only, no file is left that
    // it does not name, and no temporary is left.
    const std::int64_t g = index->generation();
    const auto m = index::Manifest::load(dir.string());
    EXPECT_TRUE(m.has_value()) << where;
    if (m) {
        EXPECT_EQ(m->generation, g) << where;
        EXPECT_EQ(m->live_count(), n) << where;
        EXPECT_TRUE(manifest_whole(dir, *m)) << where;
        if (index->has_dense() && n > 0) {
            for (const auto& seg : m->segments) EXPECT_TRUE(seg.dense) << where << ": " << seg.name << " has no vectors";
        }
    }
    EXPECT_TRUE(unreferenced_segment_files(dir).empty()) << where << ": " << unreferenced_segment_files(dir).front();
    EXPECT_FALSE(fs::exists(dir / "lexical.idx")) << where;
    EXPECT_TRUE(temporaries(dir).empty()) << where << ": " << temporaries(dir).front();
    return n;
}

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// When to kill: `delay` seconds after the start, or (when at_docs >= 0) `delay` seconds after a
// reader first sees at_docs committed documents.
struct KillPoint {
    double delay = 0.0;
    std::int64_t at_docs = -1;
};

// Kills `pid` at `when`; meanwhile (when poll_store) records the largest committed document count
// a separate reader sees, and the time of the first commit. Returns true when the process was
// killed (false: it had finished), with its exit status checked.
// The end of the children's log, for failure messages.
std::string log_tail(const std::string& log) {
    std::ifstream in(log, std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return all.size() > 800 ? all.substr(all.size() - 800) : all;
}

bool kill_at(pid_t pid, const KillPoint& when, const fs::path& index_dir, bool poll_store, std::int64_t& seen,
             const std::string& log, double* first_commit = nullptr, double* reached = nullptr) {
    const auto start = Clock::now();
    auto deadline = when.at_docs >= 0 ? Clock::time_point::max() : start + std::chrono::duration<double>(when.delay);
    int status = 0;
    while (Clock::now() < deadline) {
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
                << index_dir << ": exit status " << status << "; log:\n"
                << log_tail(log);
            return false;
        }
        if (poll_store && fs::exists(index_dir / "store.sqlite")) {
            try {
                store::DocumentStore s(index_dir.string(), false);
                seen = std::max(seen, s.document_count());
                if (first_commit && seen > 0 && *first_commit < 0) *first_commit = seconds_since(start);
            } catch (const Error&) {
                // Not yet created completely: nothing committed to see.
            }
            if (when.at_docs >= 0 && seen >= when.at_docs && deadline == Clock::time_point::max()) {
                deadline = Clock::now() + std::chrono::duration<double>(when.delay);
                if (reached) *reached = seconds_since(start);
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(poll_store ? 2 : 1));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) return true;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << index_dir << ": exit status " << status << "; log:\n"
                                                               << log_tail(log);
    return false;
}

class CrashConsistency : public ::testing::Test {
protected:
    void SetUp() override {
        if (!fs::exists(kBinary)) GTEST_SKIP() << kBinary << " not built (target winnow_cli)";
        if (!fs::exists(kEmbedModel)) GTEST_SKIP() << kEmbedModel << " missing";
    }
};

TEST_F(CrashConsistency, SigkillDuringIngestAtRandomPoints) {
    Workspace ws;
    const std::string log = (ws.root / "child.log").string();
    // Calibrate: the uninterrupted ingest, which must also pass the checks. Most of its time can
    // be the start (loading the embedding model): three runs in four are killed while documents
    // are being written, from the first commit seen on, the others anywhere.
    const fs::path full = ws.root / "full";
    const auto t0 = Clock::now();
    std::int64_t full_seen = 0;
    double first_commit = -1.0;
    const pid_t full_pid = spawn(ingest_args(full.string(), ws.corpus), log);
    ASSERT_FALSE(kill_at(full_pid, KillPoint{.delay = 600.0}, full, true, full_seen, log, &first_commit))
        << "see " << log;
    const double duration = seconds_since(t0);
    if (first_commit < 0) first_commit = 0.0;
    check_index(full, kDocs, kDocs, "uninterrupted ingest");
    fs::remove_all(full);

    const std::uint64_t s = seed();
    std::mt19937_64 rng(s);
    std::uniform_real_distribution<double> anywhere(0.0, 1.2 * duration);
    std::uniform_int_distribution<std::int64_t> docs(0, kDocs - 1);
    std::uniform_real_distribution<double> after(0.0, 0.05);
    int killed = 0;
    int empty = 0;
    int partial = 0;
    int complete = 0;
    int temporaries_left = 0;  // by the killed process; the reopen removes them
    for (int r = 0; r < runs(); ++r) {
        const fs::path dir = ws.root / ("run" + std::to_string(r));
        const KillPoint when =
            r % 4 == 3 ? KillPoint{.delay = anywhere(rng)} : KillPoint{.delay = after(rng), .at_docs = docs(rng)};
        const std::string where =
            "ingest run " + std::to_string(r) + " (seed " + std::to_string(s) + ", kill " +
            (when.at_docs >= 0 ? std::to_string(when.delay) + " s after " + std::to_string(when.at_docs) + " documents"
                               : "at " + std::to_string(when.delay) + " s of " + std::to_string(duration) + " s") +
            ")";
        std::int64_t seen = 0;
        const pid_t pid = spawn(ingest_args(dir.string(), ws.corpus), log);
        ASSERT_GT(pid, 0);
        killed += kill_at(pid, when, dir, true, seen, log) ? 1 : 0;
        temporaries_left += temporaries(dir).empty() ? 0 : 1;
        const std::size_t n = check_index(dir, static_cast<std::size_t>(seen), std::nullopt, where);
        (n == 0 ? empty : n == static_cast<std::size_t>(kDocs) ? complete : partial) += 1;
        // The interrupted ingest, rerun, completes the index.
        ASSERT_EQ(run_to_end(ingest_args(dir.string(), ws.corpus), log), 0)
            << where << ": resuming failed, see " << log;
        check_index(dir, kDocs, kDocs, where + ", resumed");
        fs::remove_all(dir);
        if (HasFailure()) break;
    }
    std::printf(
        "[crash] ingest: seed %llu, %d runs, %.3f s uninterrupted (first commit at %.3f s): %d killed (%d empty, "
        "%d partial), "
        "%d complete; %d left a temporary file\n",
        static_cast<unsigned long long>(s), runs(), duration, first_commit, killed, empty, partial, complete,
        temporaries_left);
}

TEST_F(CrashConsistency, SigkillDuringIndexRebuildAtRandomPoints) {
    Workspace ws;
    const std::string log = (ws.root / "child.log").string();
    const fs::path base = ws.root / "base";
    ASSERT_EQ(run_to_end(ingest_args(base.string(), ws.corpus), log), 0) << "see " << log;
    check_index(base, kDocs, kDocs, "base index");
    ASSERT_FALSE(HasFailure());
    const std::int64_t g0 = store::DocumentStore(base.string(), false).generation();

    // Two ways to need a rebuild: the derived files are gone, or the store moved on (one document
    // removed behind the index's back, as another process would).
    auto prepare = [&](const fs::path& dir, int mode) {
        fs::copy(base, dir, fs::copy_options::recursive);
        if (mode == 0) {
            for (const auto& entry : fs::directory_iterator(dir)) {
                const std::string name = entry.path().filename().string();
                if (name.rfind("seg_", 0) == 0 || name == "segments.json") fs::remove(entry.path());
            }
        } else {
            store::DocumentStore s(dir.string(), false);
            s.remove("doc" + std::to_string(kDocs - 1));
        }
    };
    double duration[2] = {0.0, 0.0};
    for (int mode = 0; mode < 2; ++mode) {
        const fs::path dir = ws.root / ("calibrate" + std::to_string(mode));
        prepare(dir, mode);
        const auto t0 = Clock::now();
        ASSERT_EQ(run_to_end(search_args(dir.string()), log), 0) << "see " << log;
        duration[mode] = seconds_since(t0);
        fs::remove_all(dir);
    }

    const std::uint64_t s = seed();
    std::mt19937_64 rng(s);
    int killed = 0;
    int rebuilt_on_disk = 0;
    int temporaries_left = 0;
    for (int r = 0; r < runs(); ++r) {
        const int mode = r % 2;
        const fs::path dir = ws.root / ("run" + std::to_string(r));
        prepare(dir, mode);
        const double delay = std::uniform_real_distribution<double>(0.0, 1.2 * duration[mode])(rng);
        const std::string where = "rebuild run " + std::to_string(r) + (mode == 0 ? " (files deleted" : " (stale") +
                                  ", seed " + std::to_string(s) + ", kill at " + std::to_string(delay) + " s of " +
                                  std::to_string(duration[mode]) + " s)";
        std::int64_t seen = 0;
        const pid_t pid = spawn(search_args(dir.string()), log);
        ASSERT_GT(pid, 0);
        killed += kill_at(pid, KillPoint{.delay = delay}, dir, false, seen, log) ? 1 : 0;
        temporaries_left += temporaries(dir).empty() ? 0 : 1;
        const std::int64_t g = store::DocumentStore(dir.string(), false).generation();
        // Before any reopen: what the killed process left is absent, the old files, or complete new ones.
        expect_derived_files_whole(dir, mode == 0 ? std::vector<std::int64_t>{g} : std::vector<std::int64_t>{g0, g},
                                   where);
        if (const auto m = index::Manifest::load(dir.string()); m && m->generation == g) ++rebuilt_on_disk;
        const std::size_t expected = mode == 0 ? kDocs : kDocs - 1;
        check_index(dir, expected, expected, where);
        fs::remove_all(dir);
        if (HasFailure()) break;
    }
    std::printf(
        "[crash] rebuild: seed %llu, %d runs, %.3f / %.3f s uninterrupted: %d killed, %d left an up-to-date "
        "manifest, %d a temporary file\n",
        static_cast<unsigned long long>(s), runs(), duration[0], duration[1], killed, rebuilt_on_disk,
        temporaries_left);
}

// Segment writes and merges: an index built by four `winnow index` runs (four segments, merging
// off), then a fifth run over the last fifth of the corpus with a merge policy that folds equal
// segments (segments_per_tier=2, floor=1) is killed at a random moment between its first commit
// and 1.2 x its uninterrupted duration: while it writes the new segment, its vectors, the manifest,
// or one of the merges (lexical and dense) and their garbage collection. The reopened index must
// hold the committed documents with a whole manifest (checked before any reopen too), and the run,
// repeated, completes it with every merge the policy selects done.
TEST_F(CrashConsistency, SigkillDuringSegmentWritesAndMergesAtRandomPoints) {
    Workspace ws;
    const std::string log = (ws.root / "child.log").string();
    constexpr int kSlices = 5;
    std::vector<std::string> slices;
    for (int p = 0; p < kSlices; ++p) {
        slices.push_back((ws.root / ("slice" + std::to_string(p) + ".jsonl")).string());
        std::ofstream out(slices.back());
        for (int i = p * kDocs / kSlices; i < (p + 1) * kDocs / kSlices; ++i) {
            out << "{\"_id\": \"doc" << i << "\", \"title\": \"" << doc_title(i) << "\", \"text\": \"" << doc_text(i)
                << "\"}\n";
        }
    }
    auto with_policy = [](std::vector<std::string> args, const std::string& policy) {
        args.push_back("--merge-policy");
        args.push_back(policy);
        return args;
    };
    const fs::path base = ws.root / "base";
    for (int p = 0; p + 1 < kSlices; ++p) {
        ASSERT_EQ(run_to_end(with_policy(ingest_args(base.string(), slices[p]), "none"), log), 0) << "see " << log;
    }
    const std::size_t base_docs = kDocs * (kSlices - 1) / kSlices;
    check_index(base, base_docs, base_docs, "base index");
    ASSERT_EQ(index::Manifest::load(base.string())->segments.size(), static_cast<std::size_t>(kSlices - 1));
    ASSERT_FALSE(HasFailure());
    const std::int64_t g0 = store::DocumentStore(base.string(), false).generation();
    const std::string policy_spec = "tiered(segments_per_tier=2,floor=1)";
    const index::MergePolicy policy = index::MergePolicy::parse(policy_spec);
    const auto last_run = with_policy(ingest_args("", slices.back()), policy_spec);
    auto args_for = [&](const fs::path& dir) {
        auto a = last_run;
        a[4] = dir.string();  // --index <dir>
        return a;
    };

    // Calibrate: the uninterrupted run, and when a reader sees its last commit (the segment write
    // and the merges come after it).
    const fs::path calibrate = ws.root / "calibrate";
    fs::copy(base, calibrate, fs::copy_options::recursive);
    const auto t0 = Clock::now();
    std::int64_t seen = 0;
    double first_commit = -1.0;
    double all_seen = -1.0;
    const pid_t cal = spawn(args_for(calibrate), log);
    ASSERT_FALSE(kill_at(cal, KillPoint{.delay = 600.0, .at_docs = kDocs}, calibrate, true, seen, log, &first_commit,
                         &all_seen))
        << "see " << log;
    const double duration = seconds_since(t0);
    const double tail = all_seen >= 0 ? std::max(0.0, duration - all_seen) : duration;
    check_index(calibrate, kDocs, kDocs, "uninterrupted merge run");
    const auto merged = index::Manifest::load(calibrate.string());
    ASSERT_TRUE(merged.has_value());
    EXPECT_EQ(merged->segments.size(), 1u) << "the policy folds every segment";
    fs::remove_all(calibrate);

    const std::uint64_t s = seed();
    std::mt19937_64 rng(s);
    // Three runs in four are killed within the tail after the last commit (segment, vectors,
    // manifest, merges); the others anywhere from the start.
    std::uniform_real_distribution<double> in_tail(0.0, 1.2 * tail);
    std::uniform_real_distribution<double> anywhere(0.0, 1.2 * duration);
    int killed = 0;
    int merged_on_disk = 0;
    int split_runs = 0;
    for (int r = 0; r < runs(); ++r) {
        const fs::path dir = ws.root / ("run" + std::to_string(r));
        fs::copy(base, dir, fs::copy_options::recursive);
        const KillPoint when = r % 4 == 3 ? KillPoint{.delay = anywhere(rng)}
                                          : KillPoint{.delay = in_tail(rng), .at_docs = kDocs};
        const std::string where = "segment run " + std::to_string(r) + " (seed " + std::to_string(s) + ", kill " +
                                  std::to_string(when.delay) + " s after " +
                                  (when.at_docs >= 0 ? "the last commit, of a " + std::to_string(tail) + " s tail)"
                                                     : "the start, of " + std::to_string(duration) + " s)");
        std::int64_t run_seen = 0;
        const pid_t pid = spawn(args_for(dir), log);
        ASSERT_GT(pid, 0);
        killed += kill_at(pid, when, dir, true, run_seen, log) ? 1 : 0;
        const std::int64_t g = store::DocumentStore(dir.string(), false).generation();
        // Any generation from the base's to the store's: the run also publishes intermediate ones
        // (the merge policy it sets is a store write, caught up on open).
        std::vector<std::int64_t> generations;
        for (std::int64_t x = g0; x <= g; ++x) generations.push_back(x);
        expect_derived_files_whole(dir, generations, where);
        if (const auto m = index::Manifest::load(dir.string()); m && m->segments.size() < kSlices - 1) ++merged_on_disk;
        check_index(dir, std::max<std::size_t>(base_docs, static_cast<std::size_t>(run_seen)), std::nullopt, where);
        ASSERT_EQ(run_to_end(args_for(dir), log), 0) << where << ": resuming failed, see " << log;
        check_index(dir, kDocs, kDocs, where + ", resumed");
        const auto m = index::Manifest::load(dir.string());
        ASSERT_TRUE(m.has_value()) << where;
        // The merges ran to the end: the policy selects nothing more. That is one segment when the
        // killed run committed the slice whole, but a run killed between two of its commits (of 20
        // documents) can leave a segment of part of the slice, and the resumed run adds the rest:
        // 4 x 80, 20 and 60 documents fold into 320, 20 and 60, three tiers of one segment each,
        // which a tiered policy leaves as they are (seen under CPU load, where kills land earlier).
        std::string sizes;
        for (const auto& e : m->segments) sizes += " " + std::to_string(e.live());
        EXPECT_TRUE(policy.select(*m).empty()) << where << ": resumed run left merges undone:" << sizes;
        EXPECT_LE(m->segments.size(), 3u) << where << ": resumed run left the segments unmerged:" << sizes;
        if (m->segments.size() > 1) ++split_runs;
        fs::remove_all(dir);
        if (HasFailure()) break;
    }
    std::printf("[crash] segments: seed %llu, %d runs, %.3f s uninterrupted (last commit seen at %.3f s): %d killed, "
                "%d left merged segments, %d resumed into more than one segment\n",
                static_cast<unsigned long long>(s), runs(), duration, all_seen, killed, merged_on_disk, split_runs);
}

}  // namespace
}  // namespace winnow
