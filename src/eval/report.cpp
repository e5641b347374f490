#include "eval/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "winnow/error.h"

namespace winnow::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The measure names of a row after recall_k (identical for every row of a sweep).
std::vector<std::string> row_measure_names(const SweepRow& row) {
    std::vector<std::string> names;
    for (std::size_t i = 1; i < row.eval.measures.size(); ++i) names.push_back(row.eval.measures[i].name());
    return names;
}

double row_value(const SweepRow* row, const std::string& name) {
    if (row == nullptr) return kNaN;
    for (std::size_t i = 0; i < row->eval.measures.size(); ++i) {
        if (row->eval.measures[i].name() == name) return row->eval.mean[i];
    }
    return kNaN;
}

const SweepRow* final_row(const SweepResult& s, std::size_t k) {
    const SweepRow* r = s.find(k, s.final_stage);
    return r != nullptr ? r : s.find(k, Stage::First);
}

std::string fmt_num(double v) {
    if (std::isnan(v)) return "-";
    return fmt::format("{:.4f}", v);
}

std::string fmt_ms(double v) { return v >= 100.0 ? fmt::format("{:.0f}", v) : fmt::format("{:.2f}", v); }

std::string fmt_p(double p) {
    if (p < 0.0001) return "<0.0001";
    return fmt::format("{:.4f}", p);
}

const LatencySummary* row_latency(const SweepRow& row) {
    const bool staged = row.stage == Stage::Reranked || row.stage == Stage::Final;
    auto it = row.latency_ms.find(staged ? "total" : "first_stage");
    return it == row.latency_ms.end() ? nullptr : &it->second;
}

std::string tick_label(double v) {
    if (v == 0.0) return "0";
    if (std::fabs(v) >= 100.0 || v == std::round(v)) return fmt::format("{:.0f}", v);
    if (std::fabs(v) >= 1.0) return fmt::format("{:.1f}", v);
    std::string s = fmt::format("{:.3f}", v);
    while (!s.empty() && s.back() == '0') s.pop_back();
    return s;
}

}  // namespace

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out.push_back(c);
        }
    }
    return out;
}

std::vector<double> nice_ticks(double max, int target) {
    if (!(max > 0.0) || !std::isfinite(max)) max = 1.0;
    const double raw = max / std::max(1, target);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
        if (raw <= m * mag + 1e-12) {
            step = m * mag;
            break;
        }
    }
    std::vector<double> ticks;
    for (int i = 0;; ++i) {
        const double t = std::round(step * i * 1e9) / 1e9;
        ticks.push_back(t);
        if (t >= max - 1e-12) break;
    }
    return ticks;
}

std::string svg_line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<double>& x, const std::vector<ChartSeries>& series, bool log_x,
                           double y_max) {
    constexpr double kW = 560;
    constexpr double kH = 340;
    constexpr double kLeft = 64;
    constexpr double kRight = 170;  // legend column
    constexpr double kTop = 36;
    constexpr double kBottom = 56;
    const double plot_w = kW - kLeft - kRight;
    const double plot_h = kH - kTop - kBottom;
    if (y_max <= 0.0) {
        for (const auto& s : series) {
            for (double v : s.y) {
                if (std::isfinite(v)) y_max = std::max(y_max, v);
            }
        }
        if (y_max <= 0.0) y_max = 1.0;
    }
    const auto ticks = nice_ticks(y_max);
    const double top = ticks.back();
    double x_lo = x.empty() ? 0.0 : *std::min_element(x.begin(), x.end());
    double x_hi = x.empty() ? 1.0 : *std::max_element(x.begin(), x.end());
    auto tx = [&](double v) {
        double a = log_x ? std::log10(v) : v;
        double lo = log_x ? std::log10(x_lo) : x_lo;
        double hi = log_x ? std::log10(x_hi) : x_hi;
        if (hi - lo < 1e-12) return kLeft + plot_w / 2;
        return kLeft + 12 + (a - lo) / (hi - lo) * (plot_w - 24);
    };
    auto ty = [&](double v) { return kTop + plot_h - v / top * plot_h; };

    std::ostringstream o;
    o << fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" role="img">)",
                     kW, kH, kW, kH);
    o << fmt::format(R"(<title>{}</title><rect width="100%" height="100%" fill="#fff"/>)", html_escape(title));
    o << fmt::format(R"(<text x="{}" y="22" font-size="15" font-weight="600" text-anchor="middle">{}</text>)",
                     kLeft + plot_w / 2, html_escape(title));
    // Grid and y ticks.
    for (double t : ticks) {
        o << fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#e5e5e5"/>)", kLeft, ty(t),
                         kLeft + plot_w, ty(t));
        o << fmt::format(R"(<text x="{:.1f}" y="{:.1f}" font-size="11" text-anchor="end">{}</text>)", kLeft - 6,
                         ty(t) + 4, tick_label(t));
    }
    // Axes.
    o << fmt::format(R"(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#333"/>)", kLeft, kTop, kTop + plot_h);
    o << fmt::format(R"(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#333"/>)", kLeft, kTop + plot_h,
                     kLeft + plot_w);
    for (double v : x) {
        o << fmt::format(R"(<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" stroke="#333"/>)", tx(v), kTop + plot_h,
                         kTop + plot_h + 5);
        o << fmt::format(R"(<text x="{:.1f}" y="{}" font-size="11" text-anchor="middle">{}</text>)", tx(v),
                         kTop + plot_h + 18, tick_label(v));
    }
    o << fmt::format(R"(<text x="{}" y="{}" font-size="12" text-anchor="middle">{}</text>)", kLeft + plot_w / 2,
                     kH - 14, html_escape(x_label + (log_x ? " (log scale)" : "")));
    o << fmt::format(R"~(<text transform="translate(16,{}) rotate(-90)" font-size="12" text-anchor="middle">{}</text>)~",
                     kTop + plot_h / 2, html_escape(y_label));
    // Series.
    for (const auto& s : series) {
        std::string points;
        for (std::size_t i = 0; i < x.size() && i < s.y.size(); ++i) {
            if (!std::isfinite(s.y[i])) continue;
            points += fmt::format("{:.1f},{:.1f} ", tx(x[i]), ty(s.y[i]));
        }
        o << fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="2"{} points="{}"/>)", s.color,
                         s.dashed ? R"( stroke-dasharray="6 4")" : "", points);
        for (std::size_t i = 0; i < x.size() && i < s.y.size(); ++i) {
            if (!std::isfinite(s.y[i])) continue;
            o << fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="3.5" fill="{}"><title>{} at {}: {:.4f}</title></circle>)",
                             tx(x[i]), ty(s.y[i]), s.color, html_escape(s.name), tick_label(x[i]), s.y[i]);
        }
    }
    // Legend.
    double ly = kTop + 6;
    for (const auto& s : series) {
        const double lx = kLeft + plot_w + 16;
        o << fmt::format(R"(<line x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" stroke="{}" stroke-width="2"{}/>)", lx, ly,
                         lx + 22, ly, s.color, s.dashed ? R"( stroke-dasharray="6 4")" : "");
        o << fmt::format(R"(<text x="{}" y="{:.1f}" font-size="11">{}</text>)", lx + 28, ly + 4, html_escape(s.name));
        ly += 18;
    }
    o << "</svg>";
    return o.str();
}

std::string svg_delta_chart(const std::string& title, const std::string& y_label, std::vector<double> values,
                            const std::string& subtitle) {
    constexpr double kW = 560;
    constexpr double kH = 300;
    constexpr double kLeft = 64;
    constexpr double kRight = 20;
    constexpr double kTop = 46;
    constexpr double kBottom = 44;
    const double plot_w = kW - kLeft - kRight;
    const double plot_h = kH - kTop - kBottom;
    std::sort(values.begin(), values.end(), std::greater<>());
    double hi = 0.0;
    double lo = 0.0;
    for (double v : values) {
        hi = std::max(hi, v);
        lo = std::min(lo, v);
    }
    const double extent = std::max({hi, -lo, 1e-9});
    const auto ticks = nice_ticks(extent, 3);
    const double span = ticks.back();
    const double y_top = hi > 0 ? span : 0.0;
    const double y_bottom = lo < 0 ? -span : 0.0;
    const double range = (y_top - y_bottom) > 0 ? (y_top - y_bottom) : 1.0;
    auto ty = [&](double v) { return kTop + (y_top - v) / range * plot_h; };

    std::ostringstream o;
    o << fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" role="img">)",
                     kW, kH, kW, kH);
    o << fmt::format(R"(<title>{}</title><rect width="100%" height="100%" fill="#fff"/>)", html_escape(title));
    o << fmt::format(R"(<text x="{}" y="22" font-size="15" font-weight="600" text-anchor="middle">{}</text>)",
                     kLeft + plot_w / 2, html_escape(title));
    if (!subtitle.empty()) {
        o << fmt::format(R"(<text x="{}" y="38" font-size="11" fill="#555" text-anchor="middle">{}</text>)",
                         kLeft + plot_w / 2, html_escape(subtitle));
    }
    std::vector<double> all_ticks;
    for (double t : ticks) {
        if (t <= y_top + 1e-12) all_ticks.push_back(t);
        if (t > 0 && -t >= y_bottom - 1e-12) all_ticks.push_back(-t);
    }
    for (double t : all_ticks) {
        o << fmt::format(R"(<line x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" stroke="#e5e5e5"/>)", kLeft, ty(t),
                         kLeft + plot_w, ty(t));
        o << fmt::format(R"(<text x="{}" y="{:.1f}" font-size="11" text-anchor="end">{}</text>)", kLeft - 6,
                         ty(t) + 4, (t > 0 ? "+" : "") + tick_label(t));
    }
    o << fmt::format(R"(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#333"/>)", kLeft, kTop, kTop + plot_h);
    const double bar_w = values.empty() ? 0.0 : plot_w / static_cast<double>(values.size());
    std::size_t better = 0;
    std::size_t worse = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const double v = values[i];
        better += v > 1e-12;
        worse += v < -1e-12;
        const double y0 = ty(0.0);
        const double y1 = ty(v);
        o << fmt::format(R"(<rect x="{:.2f}" y="{:.2f}" width="{:.2f}" height="{:.2f}" fill="{}"/>)",
                         kLeft + i * bar_w, std::min(y0, y1), std::max(bar_w - (bar_w > 3 ? 1 : 0), 0.5),
                         std::max(std::fabs(y1 - y0), 0.5), v >= 0 ? "#2e7d32" : "#c62828");
    }
    o << fmt::format(R"(<line x1="{0}" y1="{1:.1f}" x2="{2}" y2="{1:.1f}" stroke="#333"/>)", kLeft, ty(0.0),
                     kLeft + plot_w);
    o << fmt::format(R"(<text x="{}" y="{}" font-size="12" text-anchor="middle">queries, sorted by delta ({} better, {} worse, {} equal)</text>)",
                     kLeft + plot_w / 2, kH - 12, better, worse, values.size() - better - worse);
    o << fmt::format(R"~(<text transform="translate(16,{}) rotate(-90)" font-size="12" text-anchor="middle">{}</text>)~",
                     kTop + plot_h / 2, html_escape(y_label));
    o << "</svg>";
    return o.str();
}

std::vector<RowComparison> compare_stages(const SweepResult& sweep, Stage a, Stage b,
                                          const PermutationOptions& options) {
    return compare_sweeps(sweep, sweep, a, b, options);
}

std::vector<RowComparison> compare_sweeps(const SweepResult& sa, const SweepResult& sb, Stage stage_a, Stage stage_b,
                                          const PermutationOptions& options) {
    std::vector<RowComparison> out;
    const bool same = &sa == &sb;
    for (std::size_t k : sa.ks) {
        const SweepRow* ra = sa.find(k, stage_a);
        const SweepRow* rb = sb.find(k, stage_b);
        if (ra == nullptr || rb == nullptr) continue;
        RowComparison c;
        c.k = k;
        c.label_a = same ? fmt::format("{} k={}", stage_name(stage_a), k) : fmt::format("{} k={}", sa.pipeline, k);
        c.label_b = same ? fmt::format("{} k={}", stage_name(stage_b), k) : fmt::format("{} k={}", sb.pipeline, k);
        c.measures = compare_results(ra->eval, rb->eval, options);
        bool has_ndcg = false;
        for (const auto& m : c.measures) has_ndcg = has_ndcg || m.measure == "ndcg_cut_10";
        if (has_ndcg) c.ndcg_deltas = per_query_deltas(ra->eval, rb->eval, "ndcg_cut_10");
        out.push_back(std::move(c));
    }
    return out;
}

void print_table(const Report& report, std::ostream& out) {
    const auto& s = report.sweep;
    out << fmt::format("winnow eval: {} (split {}, {} queries)\npipeline: {}\n", s.dataset, s.split, s.n_queries,
                       s.pipeline);
    for (const auto& note : report.notes) out << "note: " << note << '\n';
    if (s.rows.empty()) return;
    const auto names = row_measure_names(s.rows.front());
    out << fmt::format("\n{:>6}  {:<9} {:>10}", "k", "stage", "recall_k");
    for (const auto& n : names) out << fmt::format(" {:>11}", n);
    out << fmt::format(" {:>8} {:>10} {:>10} {:>10}\n", "docs", "p50 ms", "p95 ms", "pairs");
    for (std::size_t k : s.ks) {
        for (Stage st : {Stage::First, Stage::Reranked, Stage::Final, Stage::Oracle}) {
            const SweepRow* row = s.find(k, st);
            if (row == nullptr) continue;
            out << fmt::format("{:>6}  {:<9} {:>10}", k, stage_name(st), fmt_num(row->eval.mean[0]));
            for (const auto& n : names) out << fmt::format(" {:>11}", fmt_num(row_value(row, n)));
            const auto* lat = row_latency(*row);
            out << fmt::format(" {:>8.1f} {:>10} {:>10} {:>10}\n", row->mean_list_length,
                               lat ? fmt_ms(lat->p50) : "-", lat ? fmt_ms(lat->p95) : "-",
                               st == Stage::Reranked ? std::to_string(row->pairs_scored) : "-");
        }
    }
    out << "\nrecall_k: the first stage's recall at that k (the ceiling for any reranker); oracle: the k candidates\n"
           "perfectly reordered by the judgments; latency per query (first stage, or all stages for reranked rows).\n";
    for (const auto& c : report.comparisons) {
        out << fmt::format("\n{} vs {} ({} queries): delta, paired t-test p, permutation p, win/tie/loss\n", c.label_b,
                           c.label_a, c.measures.empty() ? 0 : c.measures.front().test.n);
        for (const auto& m : c.measures) {
            out << fmt::format("  {:<14} {:+.4f}  t p={:<8} perm p={:<8} {}/{}/{}\n", m.measure, m.test.delta,
                               fmt_p(m.test.t_p), fmt_p(m.test.permutation_p), m.test.wins, m.test.ties,
                               m.test.losses);
        }
    }
}

Json report_json(const Report& report) {
    const auto& s = report.sweep;
    Json j;
    j["dataset"] = s.dataset;
    j["split"] = s.split;
    j["pipeline"] = s.pipeline;
    j["queries"] = s.n_queries;
    j["ks"] = s.ks;
    j["reranked"] = s.reranked;
    j["notes"] = report.notes;
    Json rows = Json::array();
    for (const auto& row : s.rows) {
        Json r;
        r["k"] = row.k;
        r["stage"] = std::string(stage_name(row.stage));
        Json metrics = Json::object();
        for (std::size_t i = 0; i < row.eval.measures.size(); ++i) metrics[row.eval.measures[i].name()] = row.eval.mean[i];
        r["metrics"] = metrics;
        Json lat = Json::object();
        for (const auto& [stage, l] : row.latency_ms) lat[stage] = {{"p50", l.p50}, {"p95", l.p95}, {"mean", l.mean}};
        r["latency_ms"] = lat;
        r["pairs_scored"] = row.pairs_scored;
        r["mean_list_length"] = row.mean_list_length;
        rows.push_back(std::move(r));
    }
    j["rows"] = rows;
    Json comps = Json::array();
    for (const auto& c : report.comparisons) {
        Json cj;
        cj["a"] = c.label_a;
        cj["b"] = c.label_b;
        cj["k"] = c.k;
        Json ms = Json::object();
        for (const auto& m : c.measures) {
            ms[m.measure] = {{"n", m.test.n},           {"mean_a", m.test.mean_a},
                             {"mean_b", m.test.mean_b}, {"delta", m.test.delta},
                             {"t", std::isfinite(m.test.t) ? Json(m.test.t) : Json(nullptr)},
                             {"t_test_p", m.test.t_p},  {"permutation_p", m.test.permutation_p},
                             {"wins", m.test.wins},     {"ties", m.test.ties},
                             {"losses", m.test.losses}};
        }
        cj["measures"] = ms;
        comps.push_back(std::move(cj));
    }
    j["comparisons"] = comps;
    return j;
}

std::string run_path_for_k(const std::string& path, std::size_t k) {
    const std::size_t slash = path.find_last_of('/');
    const std::size_t dot = path.find_last_of('.');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash) || dot == slash + 1) {
        return fmt::format("{}.k{}", path, k);
    }
    return fmt::format("{}.k{}{}", path.substr(0, dot), k, path.substr(dot));
}

std::vector<std::string> write_runs(const SweepResult& sweep, const std::string& path) {
    std::vector<std::string> written;
    for (std::size_t k : sweep.ks) {
        const SweepRow* row = final_row(sweep, k);
        if (row == nullptr) continue;
        Run run = row->run;
        run.name = fmt::format("winnow_k{}", k);
        const std::string p = run_path_for_k(path, k);
        write_trec_run(run, p);
        written.push_back(p);
    }
    return written;
}

std::string report_html(const Report& report) {
    const auto& s = report.sweep;
    std::ostringstream o;
    o << R"(<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>)"
      << html_escape(fmt::format("winnow eval: {} ({})", s.dataset, s.pipeline)) << "</title>";
    o << R"(<style>
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1140px;color:#222;padding:0 12px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555;font-size:13px}table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}th{background:#f4f4f4}td.l,th.l{text-align:left}
tr.oracle td{color:#666;font-style:italic}tr.reranked td,tr.final td{font-weight:600}.charts{display:flex;flex-wrap:wrap;gap:16px}
.charts svg{border:1px solid #eee}.note{font-size:13px;color:#444}.sig{color:#2e7d32;font-weight:600}
</style></head><body>)";
    o << "<h1>How k trades recall for precision</h1>";
    o << fmt::format(R"(<p class="meta">dataset <b>{}</b>, split <b>{}</b>, {} queries &middot; pipeline <code>{}</code></p>)",
                     html_escape(s.dataset), html_escape(s.split), s.n_queries, html_escape(s.pipeline));
    if (!report.notes.empty()) {
        o << "<ul>";
        for (const auto& n : report.notes) o << "<li class=\"note\">" << html_escape(n) << "</li>";
        o << "</ul>";
    }

    // Table.
    o << "<h2>The sweep</h2><table><tr><th>k</th><th class=\"l\">stage</th><th>recall_k</th>";
    const auto names = s.rows.empty() ? std::vector<std::string>{} : row_measure_names(s.rows.front());
    for (const auto& n : names) o << "<th>" << html_escape(n) << "</th>";
    o << "<th>docs/query</th><th>p50 ms</th><th>p95 ms</th><th>rerank pairs</th></tr>";
    for (std::size_t k : s.ks) {
        for (Stage st : {Stage::First, Stage::Reranked, Stage::Final, Stage::Oracle}) {
            const SweepRow* row = s.find(k, st);
            if (row == nullptr) continue;
            o << fmt::format(R"(<tr class="{}"><td>{}</td><td class="l">{}</td><td>{}</td>)", stage_name(st), k,
                             stage_name(st), fmt_num(row->eval.mean[0]));
            for (const auto& n : names) o << "<td>" << fmt_num(row_value(row, n)) << "</td>";
            const auto* lat = row_latency(*row);
            o << fmt::format("<td>{:.1f}</td><td>{}</td><td>{}</td><td>{}</td></tr>", row->mean_list_length,
                             lat ? fmt_ms(lat->p50) : "-", lat ? fmt_ms(lat->p95) : "-",
                             st == Stage::Reranked ? std::to_string(row->pairs_scored) : "-");
        }
    }
    o << "</table><p class=\"note\">recall_k is the first stage's recall at k: no reranker can find what the first "
         "stage did not return. The oracle row reorders the same k candidates perfectly by the judgments, so the gap "
         "between the final row and the oracle is ranking, and the gap between the oracle and 1.0 is recall.</p>";

    // Charts.
    std::vector<double> xs(s.ks.begin(), s.ks.end());
    auto series_of = [&](Stage st, const std::string& measure, bool recall_k) {
        std::vector<double> ys;
        for (std::size_t k : s.ks) {
            const SweepRow* row = st == Stage::Reranked ? final_row(s, k) : s.find(k, st);
            ys.push_back(recall_k ? (row ? row->eval.mean[0] : kNaN) : row_value(row, measure));
        }
        return ys;
    };
    const std::string final_label = s.final_stage != Stage::First ? "final" : "first stage";
    std::vector<ChartSeries> quality{
        {"recall@k (first stage)", "#1565c0", series_of(Stage::First, "", true), false},
        {final_label + " P_5", "#2e7d32", series_of(Stage::Reranked, "P_5", false), false},
        {final_label + " nDCG@10", "#ef6c00", series_of(Stage::Reranked, "ndcg_cut_10", false), false},
        {"oracle P_5", "#2e7d32", series_of(Stage::Oracle, "P_5", false), true},
        {"oracle nDCG@10", "#ef6c00", series_of(Stage::Oracle, "ndcg_cut_10", false), true},
    };
    if (report.baseline != nullptr) {
        std::vector<double> ys;
        for (std::size_t k : s.ks) ys.push_back(row_value(final_row(*report.baseline, k), "ndcg_cut_10"));
        quality.push_back({"compare: nDCG@10", "#6a1b9a", ys, false});
    }
    std::vector<ChartSeries> latency;
    const std::vector<std::pair<std::string, std::string>> lat_stages{
        {"first_stage", "#1565c0"}, {"rerank", "#c62828"}, {"total", "#424242"}};
    for (const auto& [stage, color] : lat_stages) {
        std::vector<double> p50;
        std::vector<double> p95;
        bool any = false;
        for (std::size_t k : s.ks) {
            const SweepRow* row = final_row(s, k);
            auto it = row ? row->latency_ms.find(stage) : decltype(row->latency_ms.end()){};
            if (row != nullptr && it != row->latency_ms.end()) {
                p50.push_back(it->second.p50);
                p95.push_back(it->second.p95);
                any = true;
            } else {
                p50.push_back(kNaN);
                p95.push_back(kNaN);
            }
        }
        if (!any) continue;
        latency.push_back({stage + " p50", color, p50, false});
        latency.push_back({stage + " p95", color, p95, true});
    }
    o << "<h2>Charts</h2><div class=\"charts\">";
    o << svg_line_chart("Recall ceiling and final precision against k", "first-stage k", "score", xs, quality, true,
                        1.0);
    o << svg_line_chart("Latency per query against k", "first-stage k", "milliseconds", xs, latency, true, 0.0);
    for (const auto& c : report.comparisons) {
        if (c.ndcg_deltas.empty() || c.k != s.ks.back()) continue;
        std::vector<double> d;
        for (const auto& [qid, v] : c.ndcg_deltas) d.push_back(v);
        o << svg_delta_chart(fmt::format("Per-query nDCG@10 difference (k={})", c.k), "delta nDCG@10", d,
                             fmt::format("{} minus {}", c.label_b, c.label_a));
    }
    o << "</div>";

    // Significance.
    if (!report.comparisons.empty()) {
        o << "<h2>Significance</h2><p class=\"note\">Paired two-sided t-test and randomized permutation (sign-flip, "
             "seeded) test over the queries; win/tie/loss counts queries where the second system scores higher, "
             "equal, lower. Bold: both p &lt; 0.05.</p>";
        for (const auto& c : report.comparisons) {
            o << fmt::format("<h3 style=\"font-size:14px\">{} vs {}</h3>", html_escape(c.label_b),
                             html_escape(c.label_a));
            o << "<table><tr><th class=\"l\">measure</th><th>a</th><th>b</th><th>delta</th><th>t-test p</th>"
                 "<th>permutation p</th><th>win</th><th>tie</th><th>loss</th></tr>";
            for (const auto& m : c.measures) {
                const bool sig = m.test.t_p < 0.05 && m.test.permutation_p < 0.05;
                o << fmt::format(
                    "<tr><td class=\"l\">{}</td><td>{:.4f}</td><td>{:.4f}</td><td{}>{:+.4f}</td><td>{}</td><td>{}</td>"
                    "<td>{}</td><td>{}</td><td>{}</td></tr>",
                    html_escape(m.measure), m.test.mean_a, m.test.mean_b, sig ? " class=\"sig\"" : "", m.test.delta,
                    fmt_p(m.test.t_p), fmt_p(m.test.permutation_p), m.test.wins, m.test.ties, m.test.losses);
            }
            o << "</table>";
        }
    }
    o << "<p class=\"meta\">Measures follow trec_eval 9.0.8 (ties by docno descending, unjudged = non-relevant, "
         "relevant = grade &ge; 1, nDCG gain = grade, ideal from all judged documents).</p></body></html>\n";
    return o.str();
}

}  // namespace winnow::eval
