// `winnow eval` scores each (query, chunk) once per reranker configuration: the k sweep derives the
// smaller k from the largest, --compare reuses identical rerank stages, and the results equal those of
// scoring every k from scratch.
#include <atomic>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "eval/harness.h"
#include "eval/score_cache.h"
#include "support/temp_dir.h"
#include "winnow/eval.h"
#include "winnow/index.h"
#include "winnow/pipeline.h"

namespace winnow::eval {
namespace {

std::atomic<std::size_t> g_pairs{0};  // pairs the counting scorer was asked for

// A scorer that counts its pairs; the score depends only on the (query, text) pair.
class CountingScorer final : public CandidateScorer {
public:
    std::vector<RerankScore> score(std::string_view query, const std::vector<Candidate>& candidates,
                                   const RerankConfig&) const override {
        g_pairs += candidates.size();
        std::vector<RerankScore> out;
        for (const auto& c : candidates) {
            RerankScore s;
            s.raw = static_cast<float>((c.text.size() * 31 + query.size()) % 17);
            out.push_back(s);
        }
        return out;
    }
    std::string name() const override { return "count_pairs"; }
};

const bool kRegistered =
    (register_scorer("count_pairs", [](const RerankConfig&) { return std::make_shared<CountingScorer>(); }), true);

class ScoreCacheTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(kRegistered);
        g_pairs = 0;
        // A BEIR collection: twelve documents on two topics, two judged queries.
        std::string corpus;
        const char* words[] = {
            "volcano eruption lava", "volcano ash cloud",     "lava flow volcano", "eruption warning",
            "magma volcano chamber", "ash fall eruption",     "river flood plain", "flood barrier",
            "river delta",           "flood insurance river", "river bank",        "flood forecast"};
        for (int i = 0; i < 12; ++i) {
            corpus += "{\"_id\": \"d" + std::to_string(i) + "\", \"title\": \"\", \"text\": \"" + words[i] +
                      " document " + std::string(static_cast<std::size_t>(i), 'x') + "\"}\n";
        }
        dir_.write("data/corpus.jsonl", corpus);
        dir_.write(
            "data/queries.jsonl",
            "{\"_id\": \"1\", \"text\": \"volcano eruption ash\"}\n{\"_id\": \"2\", \"text\": \"river flood\"}\n");
        dir_.write("data/qrels/test.tsv", "query-id\tcorpus-id\tscore\n1\td0\t1\n1\td5\t1\n2\td6\t1\n2\td9\t2\n");
    }
    EvalRequest request(const std::string& pipeline) const {
        EvalRequest r;
        r.dataset = (dir_.path / "data").string();
        r.cache_dir = (dir_.path / "cache").string();
        r.pipeline = pipeline;
        r.ks = {2, 4, 8};
        return r;
    }
    testing::TempDir dir_{"winnow_score_cache"};
};

std::size_t pairs_at(const SweepResult& sweep, std::size_t k) {
    const SweepRow* row = sweep.find(k, Stage::Reranked);
    return row == nullptr ? 0 : row->pairs_scored;
}

TEST_F(ScoreCacheTest, EachPairIsScoredOnceAcrossTheKSweep) {
    const EvalOutcome outcome = run_eval(request("bm25(k=8) > count_pairs() > cutoff(top_n=3)"));
    const SweepResult& sweep = outcome.report.sweep;
    const std::size_t needed = pairs_at(sweep, 2) + pairs_at(sweep, 4) + pairs_at(sweep, 8);
    ASSERT_GT(pairs_at(sweep, 2), 0u);
    ASSERT_GT(pairs_at(sweep, 8), pairs_at(sweep, 4));
    // Scoring every k from scratch would cost `needed`; the largest k alone is what gets computed.
    EXPECT_EQ(g_pairs.load(), pairs_at(sweep, 8));
    EXPECT_LT(g_pairs.load(), needed);
    EXPECT_EQ(sweep.find(8, Stage::Reranked)->pairs_computed, pairs_at(sweep, 8));
    EXPECT_EQ(sweep.find(4, Stage::Reranked)->pairs_computed, 0u);
    EXPECT_EQ(sweep.find(2, Stage::Reranked)->pairs_computed, 0u);
    bool noted = false;
    for (const auto& note : outcome.report.notes) {
        noted = noted || note.find(std::to_string(needed) + " pair scores over all k, " +
                                   std::to_string(g_pairs.load()) + " computed") != std::string::npos;
    }
    EXPECT_TRUE(noted);
}

TEST_F(ScoreCacheTest, CompareReusesAnIdenticalRerankStageButNotADifferentOne) {
    EvalRequest same = request("bm25(k=8) > count_pairs() > cutoff(top_n=3)");
    same.compare = "bm25(k=8) > count_pairs() > cutoff(top_n=1)";
    const EvalOutcome a = run_eval(same);
    EXPECT_EQ(g_pairs.load(), pairs_at(a.report.sweep, 8));
    ASSERT_NE(a.baseline, nullptr);
    EXPECT_EQ(a.baseline->find(8, Stage::Reranked)->pairs_computed, 0u);

    g_pairs = 0;
    EvalRequest other = request("bm25(k=8) > count_pairs() > cutoff(top_n=3)");
    other.compare = "bm25(k=8) > count_pairs(max_length=16) > cutoff(top_n=3)";  // another configuration
    const EvalOutcome b = run_eval(other);
    EXPECT_EQ(g_pairs.load(), 2 * pairs_at(b.report.sweep, 8));
}

TEST_F(ScoreCacheTest, DerivedRankingsEqualScoringEachKFromScratch) {
    const Dataset ds = load_dataset((dir_.path / "data").string());
    std::shared_ptr<Index> index = open_dataset_index(ds, (dir_.path / "cache").string(), false);
    const std::string spec = "bm25(k=8) > count_pairs() > cutoff(top_n=3)";
    SweepOptions options;
    options.ks = {2, 4, 8};
    auto fresh = make_ranker(spec, index);
    const SweepResult scratch = run_sweep(*fresh, ds.queries, ds.qrels("test"), options);
    const std::size_t scratch_pairs = g_pairs.exchange(0);
    auto cached = make_ranker(spec, index, false, std::make_shared<RerankScoreCache>());
    const SweepResult derived = run_sweep(*cached, ds.queries, ds.qrels("test"), options);
    EXPECT_EQ(scratch_pairs, pairs_at(scratch, 2) + pairs_at(scratch, 4) + pairs_at(scratch, 8));
    EXPECT_EQ(g_pairs.load(), pairs_at(derived, 8));
    ASSERT_EQ(scratch.rows.size(), derived.rows.size());
    for (std::size_t i = 0; i < scratch.rows.size(); ++i) {
        EXPECT_EQ(scratch.rows[i].k, derived.rows[i].k);
        EXPECT_EQ(scratch.rows[i].stage, derived.rows[i].stage);
        EXPECT_EQ(scratch.rows[i].eval.mean, derived.rows[i].eval.mean) << "row " << i;
        for (const auto& [qid, entries] : scratch.rows[i].run.results) {
            const auto& other = derived.rows[i].run.results.at(qid);
            ASSERT_EQ(entries.size(), other.size());
            for (std::size_t j = 0; j < entries.size(); ++j) EXPECT_EQ(entries[j].docno, other[j].docno);
        }
    }
}

}  // namespace
}  // namespace winnow::eval
