#include <gtest/gtest.h>

#include "ingest/chunker.h"
#include "retrieval/cutoff.h"
#include "winnow/error.h"
#include "winnow/pipeline.h"

using namespace winnow;

namespace {

PipelineHit hit(std::string doc, float score, std::string text = "", std::size_t tokens = 10) {
    static std::size_t rank = 0;
    PipelineHit h;
    h.candidate.doc_id = std::move(doc);
    h.candidate.text = text.empty() ? h.candidate.doc_id + " text" : std::move(text);
    h.candidate.title = "Title " + h.candidate.doc_id;
    h.rerank_score = score;
    h.rerank_raw = score;
    h.first_stage_rank = ++rank;
    h.n_tokens = tokens;
    return h;
}

std::vector<std::string> ids(const std::vector<PipelineHit>& hits) {
    std::vector<std::string> out;
    for (const auto& h : hits) out.push_back(h.candidate.doc_id);
    return out;
}

using V = std::vector<std::string>;

}  // namespace

TEST(Cutoff, TopN) {
    std::vector<PipelineHit> hits = {hit("a", .9f), hit("b", .8f), hit("c", .7f)};
    std::vector<PipelineHit> cut;
    CutoffConfig c;
    c.top_n = 2;
    retrieval::decide(hits, {}, c, cut);
    EXPECT_EQ(ids(hits), (V{"a", "b"}));
    ASSERT_EQ(cut.size(), 1u);
    EXPECT_EQ(cut[0].decision, Decision::CutTopN);
    EXPECT_NE(cut[0].reason.find("top_n=2"), std::string::npos);
    EXPECT_EQ(hits[1].final_rank, 2u);
    EXPECT_NE(hits[0].reason.find("kept: rank 1"), std::string::npos);
}

TEST(Cutoff, MinScoreKeepsAtLeastMinKeep) {
    std::vector<PipelineHit> hits = {hit("a", .9f), hit("b", .5f), hit("c", .2f)};
    std::vector<PipelineHit> cut;
    CutoffConfig c;
    c.min_score = 0.4;
    retrieval::decide(hits, {}, c, cut);
    EXPECT_EQ(ids(hits), (V{"a", "b"}));
    EXPECT_EQ(cut[0].decision, Decision::CutMinScore);
    EXPECT_NE(cut[0].reason.find("0.2000 < min_score 0.4"), std::string::npos) << cut[0].reason;
    std::vector<PipelineHit> low = {hit("x", .1f), hit("y", .05f)};
    cut.clear();
    c.min_score = 0.9;
    c.min_keep = 1;
    retrieval::decide(low, {}, c, cut);
    EXPECT_EQ(ids(low), (V{"x"}));
}

TEST(Cutoff, ScoreGapCutsAtTheLargestDrop) {
    // Scores: a cluster of three, then a big drop.
    std::vector<PipelineHit> hits = {hit("a", .95f), hit("b", .92f), hit("c", .90f), hit("d", .30f), hit("e", .25f)};
    std::vector<PipelineHit> cut;
    CutoffConfig c;
    c.score_gap = 0.5;
    retrieval::decide(hits, {}, c, cut);
    EXPECT_EQ(ids(hits), (V{"a", "b", "c"}));
    ASSERT_EQ(cut.size(), 2u);
    EXPECT_EQ(cut[0].decision, Decision::CutScoreGap);
    EXPECT_NE(cut[0].reason.find("after rank 3"), std::string::npos) << cut[0].reason;
    // Evenly spaced scores: no gap is large enough, nothing is cut.
    std::vector<PipelineHit> even = {hit("a", .9f), hit("b", .8f), hit("c", .7f), hit("d", .6f)};
    cut.clear();
    retrieval::decide(even, {}, c, cut);
    EXPECT_EQ(even.size(), 4u);
}

TEST(Cutoff, TokenBudget) {
    std::vector<PipelineHit> hits = {hit("a", .9f, "", 100), hit("b", .8f, "", 100), hit("c", .7f, "", 100)};
    std::vector<PipelineHit> cut;
    CutoffConfig c;
    c.tokens = 250;
    retrieval::decide(hits, {}, c, cut);
    EXPECT_EQ(ids(hits), (V{"a", "b"}));
    EXPECT_EQ(cut[0].decision, Decision::CutTokens);
}

TEST(Cutoff, PoliciesCombine) {
    std::vector<PipelineHit> hits = {hit("a", .95f, "", 50), hit("b", .93f, "", 50), hit("c", .91f, "", 50),
                                     hit("d", .89f, "", 50), hit("e", .2f, "", 50)};
    std::vector<PipelineHit> cut;
    CutoffConfig c;
    c.min_score = 0.5;  // cuts e
    c.top_n = 3;        // cuts d
    c.tokens = 120;     // cuts c
    retrieval::decide(hits, {}, c, cut);
    EXPECT_EQ(ids(hits), (V{"a", "b"}));
    ASSERT_EQ(cut.size(), 3u);
}

TEST(Diversity, PerDocCap) {
    std::vector<PipelineHit> hits = {hit("x", .9f), hit("x", .8f), hit("x", .7f), hit("y", .6f)};
    std::vector<PipelineHit> cut;
    DiversityConfig d;
    d.per_doc = 1;
    retrieval::decide(hits, d, {}, cut);
    EXPECT_EQ(ids(hits), (V{"x", "y"}));
    EXPECT_EQ(cut.size(), 2u);
    EXPECT_EQ(cut[0].decision, Decision::CutPerDoc);
}

TEST(Diversity, MmrPromotesDifferentContent) {
    std::vector<PipelineHit> hits = {
        hit("sales1", .90f, "sales bonus structure quarterly commission sales team"),
        hit("sales2", .89f, "sales bonus structure quarterly commission sales team plan"),
        hit("eng", .80f, "engineering bonus based on project milestones and reviews"),
    };
    std::vector<PipelineHit> cut;
    DiversityConfig d;
    d.mmr = 0.5;
    CutoffConfig c;
    c.top_n = 2;
    retrieval::decide(hits, d, c, cut);
    EXPECT_EQ(ids(hits), (V{"sales1", "eng"}));
    ASSERT_EQ(cut.size(), 1u);
    EXPECT_EQ(cut[0].decision, Decision::CutMmr);
    EXPECT_NE(cut[0].reason.find("mmr"), std::string::npos);
    EXPECT_GT(retrieval::text_similarity("a b c", "a b c"), 0.999);
    EXPECT_EQ(retrieval::text_similarity("a b", "c d"), 0.0);
}

TEST(ContextPacking, CitationsAndTokenWindow) {
    auto approx = ingest::TokenCounter::approximate();
    TokenCountFn count = [&](std::string_view s) { return approx.count(s); };
    std::vector<PipelineHit> hits = {hit("policy.md", .9f, "Expenses over 500 dollars need director approval."),
                                     hit("minutes.md", .8f, "The March minutes were approved by Dana Reyes.")};
    hits[0].candidate.source = "data/policy.md";
    hits[0].candidate.begin = 10;
    hits[0].candidate.end = 60;
    PackConfig config;
    config.context_tokens = 400;
    auto packed = pack_context("Who approves big expenses?", hits, config, count);
    ASSERT_EQ(packed.sources.size(), 2u);
    EXPECT_EQ(packed.sources[0].n, 1u);
    EXPECT_EQ(packed.sources[1].doc_id, "minutes.md");
    EXPECT_NE(packed.user.find("[1] Title policy.md (data/policy.md, bytes 10-60)\nExpenses over 500"), std::string::npos)
        << packed.user;
    EXPECT_NE(packed.user.find("[2] Title minutes.md"), std::string::npos);
    EXPECT_NE(packed.user.find("Question: Who approves big expenses?"), std::string::npos);
    EXPECT_NE(packed.system.find("[1]"), std::string::npos);
    EXPECT_LE(packed.n_tokens, config.context_tokens);
    EXPECT_EQ(packed.n_dropped, 0u);

    // A small window: the second hit is shortened or dropped, never overflowing.
    std::string long_text;
    for (int i = 0; i < 200; ++i) long_text += "word" + std::to_string(i) + " ";
    hits[1].candidate.text = long_text;
    config.context_tokens = 160;
    packed = pack_context("Who approves big expenses?", hits, config, count);
    EXPECT_LE(packed.n_tokens, config.context_tokens);
    EXPECT_EQ(packed.n_shortened + packed.n_dropped, 1u);
    config.context_tokens = 10;
    EXPECT_THROW(pack_context("Who approves big expenses?", hits, config, count), winnow::Error);
    config.context_tokens = 400;
    config.template_name = "nope";
    EXPECT_THROW(pack_context("q", hits, config, count), winnow::Error);
}
