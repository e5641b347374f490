#include "eval/sweep.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <unordered_set>

#include "eval/text_util.h"
#include "winnow/error.h"

namespace winnow::eval {

double percentile(std::vector<double> values, double q) {
    if (values.empty()) return 0.0;
    std::sort(values.begin(), values.end());
    const double pos = q * static_cast<double>(values.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const auto hi = std::min(lo + 1, values.size() - 1);
    const double frac = pos - static_cast<double>(lo);
    return values[lo] + (values[hi] - values[lo]) * frac;
}

LatencySummary summarize_latency(const std::vector<double>& values) {
    LatencySummary s;
    if (values.empty()) return s;
    s.p50 = percentile(values, 0.50);
    s.p95 = percentile(values, 0.95);
    double sum = 0.0;
    for (double v : values) sum += v;
    s.mean = sum / static_cast<double>(values.size());
    return s;
}

std::string_view stage_name(Stage stage) noexcept {
    switch (stage) {
        case Stage::First: return "first";
        case Stage::Reranked: return "reranked";
        case Stage::Final: return "final";
        case Stage::Oracle: return "oracle";
    }
    return "unknown";
}

const SweepRow* SweepResult::find(std::size_t k, Stage stage) const {
    for (const auto& row : rows) {
        if (row.k == k && row.stage == stage) return &row;
    }
    return nullptr;
}

std::vector<RankedDoc> oracle_order(const std::vector<RankedDoc>& candidates, const std::map<std::string, int>* judged) {
    std::vector<std::pair<int, std::size_t>> keyed;
    keyed.reserve(candidates.size());
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        int grade = 0;
        if (judged != nullptr) {
            auto it = judged->find(candidates[i].doc_id);
            if (it != judged->end()) grade = std::max(0, it->second);
        }
        keyed.emplace_back(grade, i);
    }
    std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<RankedDoc> out;
    out.reserve(candidates.size());
    for (const auto& [grade, i] : keyed) out.push_back({candidates[i].doc_id, candidates[i].score, {}, {}});
    return out;
}

std::vector<RunEntry> to_run_entries(const std::vector<RankedDoc>& ranked) {
    std::vector<RunEntry> entries;
    entries.reserve(ranked.size());
    std::unordered_set<std::string_view> seen;
    for (const auto& d : ranked) {
        if (seen.insert(d.doc_id).second) entries.push_back({d.doc_id, d.score});
    }
    bool ordered = true;
    for (std::size_t i = 0; i + 1 < entries.size() && ordered; ++i) {
        const auto& a = entries[i];
        const auto& b = entries[i + 1];
        ordered = std::isfinite(a.score) && (a.score > b.score || (a.score == b.score && a.docno > b.docno));
    }
    if (!entries.empty() && !std::isfinite(entries.back().score)) ordered = false;
    if (!ordered) {
        for (std::size_t i = 0; i < entries.size(); ++i) entries[i].score = static_cast<double>(entries.size() - i);
    }
    return entries;
}

std::vector<std::size_t> parse_k_list(std::string_view text) {
    std::vector<std::size_t> ks;
    for (auto item : split_char(text, ',')) {
        item = trim(item);
        std::size_t k = 0;
        auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), k);
        WINNOW_CHECK(ec == std::errc() && ptr == item.data() + item.size() && k > 0 && k <= 100000,
                     Errc::InvalidArgument, "--k: '{}' is not a positive integer (at most 100000)", item);
        ks.push_back(k);
    }
    std::sort(ks.begin(), ks.end());
    ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
    WINNOW_CHECK(!ks.empty(), Errc::InvalidArgument, "--k: no value in '{}'", text);
    return ks;
}

SweepResult run_sweep(Ranker& ranker, const std::vector<Query>& queries, const Qrels& qrels,
                      const SweepOptions& options) {
    WINNOW_CHECK(!options.ks.empty(), Errc::InvalidArgument, "k sweep: no k given");
    WINNOW_CHECK(!queries.empty(), Errc::InvalidArgument, "k sweep: no judged queries to run");
    SweepResult result;
    result.pipeline = ranker.spec();
    result.n_queries = queries.size();
    result.ks = options.ks;
    result.reranked = ranker.reranks();
    result.final_stage = !ranker.changes_list() ? Stage::First : ranker.reranks() ? Stage::Reranked : Stage::Final;

    for (std::size_t k : options.ks) {
        std::vector<Measure> measures{Measure{Measure::Kind::Recall, k}};
        for (const auto& name : options.measures) {
            const Measure m = Measure::parse(name);
            if (!(m.kind == Measure::Kind::Recall && m.cutoff == k)) measures.push_back(m);
        }
        Run first_run;
        Run final_run;
        Run oracle_run;
        first_run.name = fmt::format("first_k{}", k);
        final_run.name = fmt::format("{}_k{}", result.final_stage == Stage::Final ? "final" : "reranked", k);
        oracle_run.name = fmt::format("oracle_k{}", k);
        std::vector<double> first_ms;
        std::vector<double> rerank_ms;
        std::vector<double> cutoff_ms;
        std::vector<double> total_ms;
        std::size_t pairs = 0;
        double first_len = 0.0;
        double final_len = 0.0;
        std::size_t done = 0;
        for (const auto& query : queries) {
            RankerOutput out = ranker.rank(query, k);
            if (out.first_stage.size() > k) out.first_stage.resize(k);
            if (!ranker.changes_list()) out.final = out.first_stage;
            first_ms.push_back(out.first_stage_ms);
            rerank_ms.push_back(out.rerank_ms);
            cutoff_ms.push_back(out.cutoff_ms);
            total_ms.push_back(out.first_stage_ms + out.rerank_ms + out.cutoff_ms);
            pairs += out.pairs_scored;
            first_len += static_cast<double>(out.first_stage.size());
            final_len += static_cast<double>(out.final.size());
            first_run.results[query.id] = to_run_entries(out.first_stage);
            final_run.results[query.id] = to_run_entries(out.final);
            if (options.oracle) {
                oracle_run.results[query.id] = to_run_entries(oracle_order(out.first_stage, qrels.find(query.id)));
            }
            ++done;
            if (options.progress) options.progress(k, done, queries.size());
        }
        const double n = static_cast<double>(queries.size());

        SweepRow first;
        first.k = k;
        first.stage = Stage::First;
        first.eval = evaluate(first_run, qrels, measures, options.eval);
        first.latency_ms["first_stage"] = summarize_latency(first_ms);
        first.mean_list_length = first_len / n;
        first.run = std::move(first_run);
        result.rows.push_back(std::move(first));

        if (ranker.changes_list()) {
            SweepRow row;
            row.k = k;
            row.stage = result.final_stage;
            row.eval = evaluate(final_run, qrels, measures, options.eval);
            // recall_k is the first stage's in every row: the ceiling the reranker works under.
            const SweepRow& first_row = result.rows.back();
            row.eval.mean[0] = first_row.eval.mean[0];
            for (auto& [qid, values] : row.eval.per_query) values[0] = first_row.eval.per_query.at(qid)[0];
            row.latency_ms["first_stage"] = summarize_latency(first_ms);
            row.latency_ms["rerank"] = summarize_latency(rerank_ms);
            row.latency_ms["cutoff"] = summarize_latency(cutoff_ms);
            row.latency_ms["total"] = summarize_latency(total_ms);
            row.pairs_scored = pairs;
            row.mean_list_length = final_len / n;
            row.run = std::move(final_run);
            result.rows.push_back(std::move(row));
        }
        if (options.oracle) {
            SweepRow row;
            row.k = k;
            row.stage = Stage::Oracle;
            row.eval = evaluate(oracle_run, qrels, measures, options.eval);
            row.mean_list_length = first_len / n;
            row.run = std::move(oracle_run);
            result.rows.push_back(std::move(row));
        }
    }
    return result;
}

}  // namespace winnow::eval
