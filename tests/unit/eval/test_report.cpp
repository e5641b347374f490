#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "eval/report.h"

namespace winnow::eval {
namespace {

Report toy_report(bool rerank) {
    Qrels qrels;
    qrels.set("q1", "d3", 1);
    qrels.set("q2", "d0", 2);
    FunctionRanker ranker("toy", rerank, [rerank](const Query&, std::size_t k) {
        RankerOutput out;
        for (std::size_t i = 0; i < k && i < 20; ++i) {
            out.first_stage.push_back(RankedDoc{"d" + std::to_string(i), 100.0 - static_cast<double>(i), {}, {}});
        }
        out.first_stage_ms = 0.1 * static_cast<double>(k);
        if (rerank) {
            out.final.assign(out.first_stage.rbegin(), out.first_stage.rend());
            out.pairs_scored = out.first_stage.size();
            out.rerank_ms = 1.0;
        }
        return out;
    });
    SweepOptions options;
    options.ks = {5, 20};
    Report report;
    report.sweep = run_sweep(ranker, {{"q1", "a"}, {"q2", "b"}}, qrels, options);
    report.sweep.dataset = "toy<set>";
    report.sweep.split = "test";
    report.notes = {"a note"};
    if (rerank) report.comparisons = compare_stages(report.sweep, Stage::First, Stage::Reranked, {200, 1});
    return report;
}

TEST(Report, JsonHasTheDocumentedShape) {
    Json j = report_json(toy_report(true));
    EXPECT_EQ(j["dataset"], "toy<set>");
    EXPECT_EQ(j["split"], "test");
    EXPECT_EQ(j["pipeline"], "toy");
    EXPECT_EQ(j["queries"], 2);
    ASSERT_EQ(j["rows"].size(), 6u);
    const Json& row = j["rows"][1];
    EXPECT_EQ(row["k"], 5);
    EXPECT_EQ(row["stage"], "reranked");
    for (const char* m : {"recall_5", "P_5", "P_10", "ndcg_cut_10", "recip_rank", "map"}) {
        EXPECT_TRUE(row["metrics"].contains(m)) << m;
    }
    EXPECT_TRUE(row["latency_ms"]["rerank"].contains("p95"));
    EXPECT_EQ(row["pairs_scored"], 10);
    EXPECT_EQ(j["rows"][2]["stage"], "oracle");
    // First stage: q1's d3 at rank 4, q2's d0 at rank 1; the oracle moves both to rank 1.
    EXPECT_DOUBLE_EQ(j["rows"][0]["metrics"]["recip_rank"].get<double>(), (0.25 + 1.0) / 2);
    EXPECT_DOUBLE_EQ(j["rows"][2]["metrics"]["recip_rank"].get<double>(), 1.0);
    ASSERT_EQ(j["comparisons"].size(), 2u);
    EXPECT_EQ(j["comparisons"][0]["measures"]["recip_rank"]["n"], 2);
}

TEST(Report, TableAndHtml) {
    auto report = toy_report(true);
    std::ostringstream table;
    print_table(report, table);
    EXPECT_NE(table.str().find("reranked"), std::string::npos);
    EXPECT_NE(table.str().find("note: a note"), std::string::npos);
    const std::string html = report_html(report);
    EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_NE(html.find("toy&lt;set&gt;"), std::string::npos);
    EXPECT_EQ(html.find("toy<set>"), std::string::npos);
    EXPECT_NE(html.find("<polyline"), std::string::npos);
    EXPECT_NE(html.find("recall@k (first stage)"), std::string::npos);
    EXPECT_NE(html.find("rerank p95"), std::string::npos);
    EXPECT_NE(html.find("Per-query nDCG@10 difference (k=20)"), std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos);  // self-contained, no scripts
    EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));
    auto first_only = toy_report(false);
    EXPECT_EQ(report_html(first_only).find("rerank p50"), std::string::npos);
}

TEST(Report, SignificantDeltasAreColouredByDirectionAndSubtitlesFitTheirPanel) {
    auto report = toy_report(true);
    ASSERT_EQ(report.comparisons.size(), 2u);
    ASSERT_GE(report.comparisons[0].measures.size(), 2u);
    for (auto& c : report.comparisons) {
        for (auto& m : c.measures) m.test.t_p = m.test.permutation_p = 0.5;  // nothing significant...
    }
    auto& loss = report.comparisons[0].measures[0].test;  // ...but a significant loss
    loss.delta = -0.25;
    loss.t_p = loss.permutation_p = 0.001;
    const std::string only_loss = report_html(report);
    EXPECT_NE(only_loss.find("<td class=\"sig-loss\">-0.2500</td>"), std::string::npos);
    EXPECT_EQ(only_loss.find("<td class=\"sig-gain\">"), std::string::npos);  // never green
    auto& gain = report.comparisons[1].measures[1].test;  // and a significant gain
    gain.delta = 0.125;
    gain.t_p = gain.permutation_p = 0.01;
    const std::string both = report_html(report);
    EXPECT_NE(both.find("<td class=\"sig-gain\">+0.1250</td>"), std::string::npos);
    EXPECT_NE(both.find(".sig-loss{color:#c62828"), std::string::npos);

    const std::string long_label(200, 'x');
    const std::string svg = svg_delta_chart("t", "y", {0.1, -0.2}, long_label + " minus bm25");
    const auto title_at = svg.find("<title>" + long_label + " minus bm25</title>");
    ASSERT_NE(title_at, std::string::npos);  // the whole subtitle as its tooltip
    const auto shown_at = title_at + long_label.size() + 26;
    const std::string shown = svg.substr(shown_at, svg.find("</text>", shown_at) - shown_at);
    EXPECT_EQ(shown, std::string(85, 'x') + "\u2026");
    EXPECT_EQ(fit_text("short", 86), "short");
    EXPECT_EQ(fit_text("abcdef", 6), "abcdef");
    EXPECT_EQ(fit_text("abcdefg", 6), "abcde\u2026");
    EXPECT_EQ(fit_text("\u00e9\u00e9\u00e9\u00e9", 3), "\u00e9\u00e9\u2026");
}

TEST(Report, RunsPerK) {
    auto report = toy_report(false);
    const auto dir = std::filesystem::temp_directory_path() / ("winnow_report_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto written = write_runs(report.sweep, (dir / "run.trec").string());
    ASSERT_EQ(written.size(), 2u);
    EXPECT_EQ(written[0], (dir / "run.k5.trec").string());
    auto run = read_trec_run(written[1]);
    EXPECT_EQ(run.name, "winnow_k20");
    EXPECT_EQ(run.results.at("q1").size(), 20u);
    std::filesystem::remove_all(dir);
    EXPECT_EQ(run_path_for_k("out/run", 10), "out/run.k10");
    EXPECT_EQ(run_path_for_k("a.b/run", 10), "a.b/run.k10");
}

TEST(Report, Helpers) {
    EXPECT_EQ(nice_ticks(1.0), (std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1.0}));
    EXPECT_EQ(nice_ticks(7.3).back(), 8.0);
    EXPECT_EQ(html_escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    const std::string svg = svg_delta_chart("d", "delta", {0.5, -0.25, 0.0});
    EXPECT_NE(svg.find("1 better, 1 worse, 1 equal"), std::string::npos);
}

}  // namespace
}  // namespace winnow::eval
