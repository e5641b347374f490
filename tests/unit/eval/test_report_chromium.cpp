// The HTML report as a browser draws it (headless Chromium, tests/support/headless_chromium.h):
// significant deltas coloured by direction (a loss red, a gain green), every chart text inside its
// panel even with long pipeline specs as subtitles, and nothing the page cannot render. Skips
// only when chromium is not installed (scripts/setup installs it).
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "eval/report.h"
#include "support/headless_chromium.h"

namespace winnow::eval {
namespace {

using winnow::testing::HeadlessChromium;

Report compared_report() {
    Qrels qrels;
    qrels.set("q1", "d3", 1);
    qrels.set("q2", "d0", 2);
    FunctionRanker ranker("bm25(k=100)", true, [](const Query&, std::size_t k) {
        RankerOutput out;
        for (std::size_t i = 0; i < k && i < 20; ++i) {
            out.first_stage.push_back(RankedDoc{"d" + std::to_string(i), 100.0 - i, {}, {}});
        }
        out.final.assign(out.first_stage.rbegin(), out.first_stage.rend());
        out.pairs_scored = out.first_stage.size();
        out.first_stage_ms = 0.1 * static_cast<double>(k);
        out.rerank_ms = 1.0;
        return out;
    });
    SweepOptions options;
    options.ks = {5, 20};
    Report report;
    report.sweep = run_sweep(ranker, {{"q1", "a"}, {"q2", "b"}}, qrels, options);
    report.sweep.dataset = "toy";
    report.sweep.split = "test";
    report.comparisons = compare_stages(report.sweep, Stage::First, Stage::Reranked, {200, 1});
    for (auto& c : report.comparisons) {
        // What `--compare` writes: two whole pipeline specs, wide letters included.
        c.label_a =
            "bm25(k=100) > ltr(model=/home/WWW/MMM/models/ltr/default.ltr) > cutoff(top_n=10) k=" + std::to_string(c.k);
        c.label_b =
            "hybrid(k=100, fusion=rrf, weight=0.7) > rerank(model=BAAI/bge-reranker-v2-m3, long_doc=maxp, "
            "max_length=512, precision=int8) > diversify(per_doc=2, mmr=0.7) > cutoff(top_n=10, score_gap=0.5) "
            "k=" +
            std::to_string(c.k);
        for (auto& m : c.measures) m.test.t_p = m.test.permutation_p = 0.5;
    }
    auto& loss = report.comparisons[0].measures[0].test;
    loss.delta = -0.25;
    loss.t_p = loss.permutation_p = 0.001;
    auto& gain = report.comparisons[1].measures[1].test;
    gain.delta = 0.125;
    gain.t_p = gain.permutation_p = 0.01;
    return report;
}

TEST(ReportInChromium, ColoursByDirectionAndChartTextsFitTheirPanels) {
    const std::string chromium = HeadlessChromium::find();
    if (chromium.empty()) GTEST_SKIP() << "chromium not installed (scripts/setup installs it)";
    const auto dir = std::filesystem::temp_directory_path() / ("winnow_report_chromium_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto page = dir / "report.html";
    std::ofstream(page) << report_html(compared_report());

    HeadlessChromium b(chromium);
    try {
        b.navigate("file://" + page.string());
        EXPECT_EQ(b.eval("document.querySelectorAll('td.sig-loss').length"), 1);
        EXPECT_EQ(b.eval("document.querySelectorAll('td.sig-gain').length"), 1);
        // A significant loss reads red and bold, a gain green: never the same colour.
        EXPECT_EQ(b.eval("getComputedStyle(document.querySelector('td.sig-loss')).color"), "rgb(198, 40, 40)");
        EXPECT_EQ(b.eval("getComputedStyle(document.querySelector('td.sig-gain')).color"), "rgb(46, 125, 50)");
        EXPECT_EQ(b.eval("getComputedStyle(document.querySelector('td.sig-loss')).fontWeight"), "600");
        // Charts drawn, each text (titles, subtitles, axis labels, legends) inside its panel.
        EXPECT_GE(b.eval("document.querySelectorAll('svg').length").get<int>(), 3);
        const Json outside = b.eval(
            "[...document.querySelectorAll('svg')].flatMap(svg => { const p = svg.getBoundingClientRect();"
            "  return [...svg.querySelectorAll('text')].filter(t => { const r = t.getBoundingClientRect();"
            "    return r.width > 0 && (r.left < p.left - 1 || r.right > p.right + 1 || r.top < p.top - 1 ||"
            "                           r.bottom > p.bottom + 1); }).map(t => t.textContent); })");
        EXPECT_EQ(outside, Json::array()) << outside.dump();
        EXPECT_GE(b.eval("[...document.querySelectorAll('svg text')].filter(t => t.textContent.startsWith("
                         "'hybrid(k=100')).length")
                      .get<int>(),
                  1);  // the long subtitle is there, fitted
    } catch (const std::exception& e) {
        FAIL() << e.what();
    }
    EXPECT_TRUE(b.page_errors().empty());
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace winnow::eval
