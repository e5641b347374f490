// Pipeline::run over an in-memory candidate source and a deterministic scorer.
#include <algorithm>
#include <optional>

#include <gtest/gtest.h>

#include "retrieval/result_json.h"
#include "winnow/error.h"
#include "winnow/pipeline.h"

using namespace winnow;

namespace {

class FakeSource final : public CandidateSource {
public:
    std::vector<Candidate> docs;
    std::optional<std::size_t> known_size;  // what size() reports
    mutable std::size_t last_k = 0;
    std::vector<Candidate> retrieve(std::string_view, const SearchOptions& config) const override {
        last_k = config.k;
        std::vector<Candidate> out(docs.begin(),
                                   docs.begin() + static_cast<std::ptrdiff_t>(std::min(config.k, docs.size())));
        return out;
    }
    std::string describe(const SearchOptions& c) const override {
        return std::string(first_stage_kind_name(c.first_stage));
    }
    std::optional<std::size_t> size() const override { return known_size; }
};

// Raw score = number of times "bonus" occurs in the text, minus 1.
class CountScorer final : public CandidateScorer {
public:
    std::vector<RerankScore> score(std::string_view, const std::vector<Candidate>& cands,
                                   const RerankConfig&) const override {
        std::vector<RerankScore> out;
        for (const auto& c : cands) {
            float n = 0;
            for (std::size_t p = c.text.find("bonus"); p != std::string::npos; p = c.text.find("bonus", p + 1)) ++n;
            RerankScore s;
            s.raw = n - 1.0f;
            s.truncated = c.text.size() > 60;
            out.push_back(s);
        }
        return out;
    }
    std::string name() const override { return "count-bonus"; }
};

std::shared_ptr<FakeSource> source() {
    auto s = std::make_shared<FakeSource>();
    const char* texts[] = {"nothing here", "bonus once", "bonus bonus twice",
                           "bonus bonus bonus thrice, and a long tail of text", "another bonus"};
    for (int i = 0; i < 5; ++i) {
        Candidate c;
        c.chunk_id = i;
        c.doc_id = "d" + std::to_string(i % 3);
        c.text = texts[i];
        c.score = 10.0f - static_cast<float>(i);
        s->docs.push_back(c);
    }
    return s;
}

}  // namespace

TEST(PipelineRun, FirstStageOnly) {
    auto src = source();
    Pipeline p(PipelineSpec::parse("bm25(k=3)"), src);
    auto r = p.run("q");
    EXPECT_EQ(src->last_k, 3u);
    ASSERT_EQ(r.hits.size(), 3u);
    EXPECT_EQ(r.hits[0].candidate.chunk_id, 0);
    EXPECT_FALSE(r.hits[0].rerank_score.has_value());
    EXPECT_EQ(r.n_reranked, 0u);
    EXPECT_EQ(r.spec, "bm25(k=3)");
}

TEST(PipelineRun, RerankSortsExplainsAndCuts) {
    auto src = source();
    Pipeline p(PipelineSpec::parse("bm25(k=5) > rerank(model=unused, top_n=2)"), src);
    p.set_scorer(std::make_shared<CountScorer>());
    auto r = p.run("bonus?");
    EXPECT_EQ(r.scorer, "count-bonus");
    EXPECT_EQ(r.n_candidates, 5u);
    EXPECT_EQ(r.n_reranked, 5u);
    EXPECT_EQ(r.n_truncated, 0u);
    ASSERT_EQ(r.hits.size(), 2u);
    EXPECT_EQ(r.hits[0].candidate.chunk_id, 3);
    EXPECT_EQ(r.hits[0].first_stage_rank, 4u);
    EXPECT_FLOAT_EQ(*r.hits[0].rerank_raw, 2.0f);
    EXPECT_NEAR(*r.hits[0].rerank_score, 1.0 / (1.0 + std::exp(-2.0)), 1e-6);
    EXPECT_EQ(r.hits[1].candidate.chunk_id, 2);
    ASSERT_EQ(r.cut.size(), 3u);
    // Cut hits in reranked order: the ties (raw 0) keep first-stage order.
    EXPECT_EQ(r.cut[0].candidate.chunk_id, 1);
    EXPECT_EQ(r.cut[1].candidate.chunk_id, 4);
    EXPECT_EQ(r.cut[2].candidate.chunk_id, 0);
    for (const auto& c : r.cut) EXPECT_EQ(c.decision, Decision::CutTopN);
    ASSERT_GE(r.timings.size(), 3u);
    EXPECT_EQ(r.timings[1].stage, "rerank");
}

TEST(PipelineRun, OverridesArePerQuery) {
    auto src = source();
    Pipeline p(PipelineSpec::parse("bm25(k=5) > rerank(model=unused, top_n=2)"), src);
    p.set_scorer(std::make_shared<CountScorer>());
    auto r = p.run("q", {{"top_n", "4"}, {"per_doc", "1"}, {"normalize", "minmax"}});
    EXPECT_EQ(r.spec, "bm25(k=5) > rerank(model=unused, top_n=4, normalize=minmax, per_doc=1)");
    // per_doc=1 over docs d0,d1,d2: three documents at most.
    EXPECT_EQ(r.hits.size(), 3u);
    EXPECT_FLOAT_EQ(*r.hits[0].rerank_score, 1.0f);
    auto again = p.run("q");
    EXPECT_EQ(again.hits.size(), 2u);  // the pipeline's own spec is unchanged
    EXPECT_THROW(p.run("q", {{"top_n", "x"}}), winnow::Error);
}

TEST(PipelineRun, MissingModelAndUnknownScorerAreClearErrors) {
    auto src = source();
    ::unsetenv("WINNOW_RERANK_MODEL");
    Pipeline p(PipelineSpec::parse("bm25(k=5) > rerank(top_n=2)"), src);
    try {
        p.run("q");
        FAIL();
    } catch (const winnow::Error& e) {
        EXPECT_NE(std::string(e.what()).find("WINNOW_RERANK_MODEL"), std::string::npos);
    }
    Pipeline ltr(PipelineSpec::parse("bm25(k=5) > ltr(model=x)"), src);
    try {
        ltr.run("q");
        FAIL();
    } catch (const winnow::Error& e) {
        EXPECT_EQ(e.code(), winnow::Errc::Unsupported);
    }
    register_scorer("ltr", [](const RerankConfig&) { return std::make_shared<CountScorer>(); });
    EXPECT_EQ(ltr.run("q").scorer, "count-bonus");
}

// A scorer that names itself, to see which one a stage kind got.
class NamedScorer final : public CandidateScorer {
public:
    explicit NamedScorer(std::string name) : name_(std::move(name)) {}
    std::vector<RerankScore> score(std::string_view, const std::vector<Candidate>& cands,
                                   const RerankConfig&) const override {
        std::vector<RerankScore> out(cands.size());
        for (std::size_t i = 0; i < cands.size(); ++i) out[i].raw = static_cast<float>(i);  // reverses the order
        return out;
    }
    std::string name() const override { return name_; }

private:
    std::string name_;
};

// The scorer is chosen per stage kind: a cross-encoder set on the pipeline (or handed to run, as
// the server does per request) serves `rerank` stages only; another kind keeps its own scorer.
TEST(PipelineRun, ScorerIsChosenPerStageKind) {
    auto src = source();
    register_scorer("kindtest", [](const RerankConfig&) { return std::make_shared<NamedScorer>("kind-scorer"); });
    Pipeline p(PipelineSpec::parse("bm25(k=5) > kindtest(top_n=5)"), src);
    p.set_scorer(std::make_shared<CountScorer>());
    EXPECT_EQ(p.run("q").scorer, "kind-scorer");
    EXPECT_EQ(p.run("q", {}, std::make_shared<CountScorer>()).scorer, "kind-scorer");
    EXPECT_EQ(p.run("q").hits.front().candidate.chunk_id, 4);  // NamedScorer's order, not CountScorer's
    // A rerank stage takes the per-query scorer first, then the pipeline's.
    Pipeline ce(PipelineSpec::parse("bm25(k=5) > rerank(model=unused)"), src);
    ce.set_scorer(std::make_shared<CountScorer>());
    EXPECT_EQ(ce.run("q").scorer, "count-bonus");
    EXPECT_EQ(ce.run("q", {}, std::make_shared<NamedScorer>("per-query")).scorer, "per-query");
}

// Pack and answer are stages: Pipeline::ask packs the kept hits (timed like the others); without
// an LLM there is no answer stage and the result carries the packed context only.
TEST(PipelineRun, AskPacksTheContextAsAStage) {
    ::unsetenv("WINNOW_LLM_URL");
    auto src = source();
    for (auto& d : src->docs) d.title = "T" + std::to_string(d.chunk_id);
    Pipeline p(PipelineSpec::parse("bm25(k=5) > cutoff(top_n=2)"), src);
    EXPECT_FALSE(p.run("q").context.has_value());  // no pack stage in the spec
    AskOptions options;
    EXPECT_FALSE(Pipeline::has_llm(options));
    const PipelineResult r = p.ask("what is it?", options);
    ASSERT_TRUE(r.context.has_value());
    EXPECT_FALSE(r.answer.has_value());
    ASSERT_EQ(r.context->sources.size(), 2u);
    EXPECT_EQ(r.context->sources[0].title, "T0");
    EXPECT_NE(r.context->user.find("what is it?"), std::string::npos);
    EXPECT_EQ(r.timings.back().stage, "pack");
    // A pack stage in the spec packs in run() too, with its own settings.
    Pipeline packed(PipelineSpec::parse("bm25(k=5) > cutoff(top_n=3) > pack(tokens=4096)"), src);
    const PipelineResult rp = packed.run("q");
    ASSERT_TRUE(rp.context.has_value());
    EXPECT_EQ(rp.context->sources.size(), 3u);
    // answer() needs a packed context.
    PipelineResult bare = p.run("q");
    EXPECT_THROW(Pipeline::answer(bare, options), winnow::Error);
}

// The first stage that ran is described in the result (e.g. which BM25 parameters or ef_search).
TEST(PipelineRun, ResultNamesTheFirstStage) {
    auto src = source();
    Pipeline p(PipelineSpec::parse("hybrid(k=3, ef_search=32)"), src);
    EXPECT_EQ(p.run("q").first_stage, "hybrid");
    EXPECT_EQ(p.config().first_stage.ef_search, 32u);
}

// A result without hits says why, for the web UI and `search --explain`: an empty index, a query
// whose terms are not indexed, a first stage that found nothing, or a cutoff that cut everything.
TEST(PipelineRun, AnEmptyResultSaysWhy) {
    auto empty = std::make_shared<FakeSource>();
    empty->known_size = 0;
    PipelineResult r = Pipeline(PipelineSpec::parse("bm25(k=5)"), empty).run("anything");
    EXPECT_EQ(r.empty, EmptyReason::EmptyIndex);
    EXPECT_NE(r.empty_hint.find("index is empty"), std::string::npos) << r.empty_hint;
    Json j = retrieval::result_json(r, {});
    EXPECT_EQ(j["empty"]["reason"], "empty_index");
    EXPECT_EQ(j["empty"]["hint"], r.empty_hint);

    empty->known_size = 42;  // not empty, yet BM25 found nothing: no query term is indexed
    r = Pipeline(PipelineSpec::parse("bm25(k=5)"), empty).run("zzzz");
    EXPECT_EQ(r.empty, EmptyReason::NoIndexedTerms);
    EXPECT_NE(r.empty_hint.find("(42 chunks)"), std::string::npos) << r.empty_hint;
    r = Pipeline(PipelineSpec::parse("dense(k=5)"), empty).run("zzzz");
    EXPECT_EQ(r.empty, EmptyReason::NoCandidates);
    empty->known_size.reset();  // a source that does not know its size
    r = Pipeline(PipelineSpec::parse("bm25(k=5)"), empty).run("zzzz");
    EXPECT_EQ(r.empty, EmptyReason::NoIndexedTerms);
    // An external engine's stage (its SearchOptions::first_stage unused) cannot tell which terms the
    // engine indexed: no candidates, not "no indexed terms".
    r = Pipeline(PipelineSpec::parse("xapian(db=/nowhere, k=5)"), empty).run("zzzz");
    EXPECT_EQ(r.empty, EmptyReason::NoCandidates) << r.empty_hint;

    auto src = source();
    Pipeline p(PipelineSpec::parse("bm25(k=5) > rerank(model=unused) > cutoff(tokens=1, min_keep=0)"), src);
    p.set_scorer(std::make_shared<CountScorer>());
    r = p.run("bonus?");
    EXPECT_TRUE(r.hits.empty());
    EXPECT_EQ(r.cut.size(), 5u);
    EXPECT_EQ(r.empty, EmptyReason::AllCut);
    EXPECT_NE(r.empty_hint.find("token budget 1"), std::string::npos) << r.empty_hint;  // the best one's reason
    EXPECT_EQ(retrieval::result_json(r, {})["empty"]["reason"], "all_cut");

    r = p.run("bonus?", {{"cutoff.tokens", "0"}});  // results: no "empty"
    EXPECT_FALSE(r.hits.empty());
    EXPECT_EQ(r.empty, EmptyReason::None);
    EXPECT_TRUE(r.empty_hint.empty());
    EXPECT_FALSE(retrieval::result_json(r, {}).contains("empty"));
}
