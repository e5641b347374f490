// Reports of a k sweep: terminal table, JSON (the shape `winnow eval --json` documents), TREC runs
// per k, and a self-contained HTML page with inline SVG charts drawn here (axes, ticks, labels,
// legend): recall and precision against k, per-stage latency against k, per-query deltas.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "core/json.h"
#include "eval/significance.h"
#include "eval/sweep.h"

namespace winnow::eval {

// A significance comparison between two rows (two stages of one sweep, or two configurations).
struct RowComparison {
    std::string label_a;  // e.g. "first k=100", "bm25 k=100"
    std::string label_b;
    std::size_t k = 0;
    std::vector<MeasureComparison> measures;
    std::vector<std::pair<std::string, double>> ndcg_deltas;  // per query, b - a, of ndcg_cut_10
};

struct Report {
    SweepResult sweep;
    std::vector<std::string> notes;              // dataset quirks, mode ("first stage only"), holdout warning
    std::vector<RowComparison> comparisons;      // first vs reranked per k, and --compare
    const SweepResult* baseline = nullptr;       // the --compare configuration, when given
};

// Significance of b against a for each k where both rows exist.
std::vector<RowComparison> compare_stages(const SweepResult& sweep, Stage a, Stage b,
                                          const PermutationOptions& options = {});
std::vector<RowComparison> compare_sweeps(const SweepResult& a, const SweepResult& b, Stage stage_a, Stage stage_b,
                                          const PermutationOptions& options = {});

void print_table(const Report& report, std::ostream& out);
Json report_json(const Report& report);
std::string report_html(const Report& report);

// The final ranking of each k (reranked rows when the pipeline reranks, else the first stage) as
// TREC runs: "run.trec" -> "run.k10.trec", "run.k50.trec", ... Returns the paths written.
std::vector<std::string> write_runs(const SweepResult& sweep, const std::string& path);
std::string run_path_for_k(const std::string& path, std::size_t k);

// Escapes &, <, >, " and ' for HTML text and attributes.
std::string html_escape(std::string_view text);

struct ChartSeries {
    std::string name;
    std::string color;
    std::vector<double> y;  // one per x; NaN = no point
    bool dashed = false;
};

// A line chart over x values (log-scaled x when log_x), y from 0 to y_max (0 = auto, rounded up).
std::string svg_line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<double>& x, const std::vector<ChartSeries>& series, bool log_x,
                           double y_max);
// `text` cut to at most `max_chars` characters (UTF-8), the last one an ellipsis when cut.
std::string fit_text(const std::string& text, std::size_t max_chars);

// A bar chart of values sorted descending (per-query deltas), zero line, labelled axes.
std::string svg_delta_chart(const std::string& title, const std::string& y_label, std::vector<double> values,
                            const std::string& subtitle = {});

// "Nice" axis ticks from 0 to at least max (1, 2, 2.5 or 5 times a power of ten).
std::vector<double> nice_ticks(double max, int target = 5);

}  // namespace winnow::eval
