// The trec_eval measures (see include/winnow/eval.h for the semantics we reproduce).
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ostream>

#include "eval/text_util.h"
#include "winnow/error.h"
#include "winnow/eval.h"

namespace winnow::eval {
namespace {

struct KindName {
    Measure::Kind kind;
    std::string_view name;
    bool has_cutoff;
};

constexpr KindName kKindNames[] = {
    {Measure::Kind::P, "P", true},
    {Measure::Kind::Recall, "recall", true},
    {Measure::Kind::NdcgCut, "ndcg_cut", true},
    {Measure::Kind::Ndcg, "ndcg", false},
    {Measure::Kind::Map, "map", false},
    {Measure::Kind::MapCut, "map_cut", true},
    {Measure::Kind::RecipRank, "recip_rank", false},
    {Measure::Kind::RecipRankCut, "recip_rank_cut", true},
    {Measure::Kind::Success, "success", true},
    {Measure::Kind::Rprec, "Rprec", false},
    {Measure::Kind::NumRet, "num_ret", false},
    {Measure::Kind::NumRel, "num_rel", false},
    {Measure::Kind::NumRelRet, "num_rel_ret", false},
};

const KindName* find_kind(std::string_view base) {
    for (const auto& k : kKindNames) {
        if (k.name == base) return &k;
    }
    return nullptr;
}

std::size_t parse_cutoff(std::string_view text, std::string_view measure) {
    std::size_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    WINNOW_CHECK(ec == std::errc() && ptr == text.data() + text.size() && value > 0, Errc::InvalidArgument,
                 "measure '{}': cutoff '{}' is not a positive integer", measure, text);
    return value;
}

// Per-query relevance facts, as trec_eval's form_res_rels builds them.
struct Judged {
    std::vector<int> rel;              // grade of each retrieved doc in rank order; -1 = unjudged
    std::size_t n_rel = 0;             // judged docs with grade >= level
    std::vector<std::size_t> levels;   // count of judged docs per grade >= 0
};

double dcg_ideal(const std::vector<std::size_t>& levels, std::size_t cutoff) {
    double ideal = 0.0;
    std::size_t rank = 0;
    for (std::size_t grade = levels.size(); grade-- > 1;) {
        for (std::size_t n = 0; n < levels[grade]; ++n) {
            if (cutoff != 0 && rank >= cutoff) return ideal;
            ideal += static_cast<double>(grade) / std::log2(static_cast<double>(rank + 2));
            ++rank;
        }
    }
    return ideal;
}

double compute(const Measure& m, const Judged& j, int level) {
    const auto& rel = j.rel;
    const std::size_t n_ret = rel.size();
    auto is_rel = [&](std::size_t i) { return rel[i] >= level; };
    switch (m.kind) {
        case Measure::Kind::P: {
            std::size_t hits = 0;
            for (std::size_t i = 0; i < std::min(n_ret, m.cutoff); ++i) hits += is_rel(i);
            return static_cast<double>(hits) / static_cast<double>(m.cutoff);
        }
        case Measure::Kind::Recall: {
            if (j.n_rel == 0) return 0.0;
            std::size_t hits = 0;
            for (std::size_t i = 0; i < std::min(n_ret, m.cutoff); ++i) hits += is_rel(i);
            return static_cast<double>(hits) / static_cast<double>(j.n_rel);
        }
        case Measure::Kind::Ndcg:
        case Measure::Kind::NdcgCut: {
            const std::size_t cutoff = m.kind == Measure::Kind::Ndcg ? 0 : m.cutoff;
            const std::size_t n = cutoff == 0 ? n_ret : std::min(n_ret, cutoff);
            double dcg = 0.0;
            for (std::size_t i = 0; i < n; ++i) {
                if (rel[i] > 0) dcg += static_cast<double>(rel[i]) / std::log2(static_cast<double>(i + 2));
            }
            const double ideal = dcg_ideal(j.levels, cutoff);
            return ideal > 0.0 ? dcg / ideal : dcg;
        }
        case Measure::Kind::Map:
        case Measure::Kind::MapCut: {
            if (j.n_rel == 0) return 0.0;
            const std::size_t n = m.kind == Measure::Kind::Map ? n_ret : std::min(n_ret, m.cutoff);
            double sum = 0.0;
            std::size_t hits = 0;
            for (std::size_t i = 0; i < n; ++i) {
                if (is_rel(i)) {
                    ++hits;
                    sum += static_cast<double>(hits) / static_cast<double>(i + 1);
                }
            }
            return sum / static_cast<double>(j.n_rel);
        }
        case Measure::Kind::RecipRank:
        case Measure::Kind::RecipRankCut: {
            const std::size_t n = m.kind == Measure::Kind::RecipRank ? n_ret : std::min(n_ret, m.cutoff);
            for (std::size_t i = 0; i < n; ++i) {
                if (is_rel(i)) return 1.0 / static_cast<double>(i + 1);
            }
            return 0.0;
        }
        case Measure::Kind::Success: {
            for (std::size_t i = 0; i < std::min(n_ret, m.cutoff); ++i) {
                if (is_rel(i)) return 1.0;
            }
            return 0.0;
        }
        case Measure::Kind::Rprec: {
            const std::size_t n = std::min(n_ret, j.n_rel);
            if (n == 0) return 0.0;
            std::size_t hits = 0;
            for (std::size_t i = 0; i < n; ++i) hits += is_rel(i);
            return static_cast<double>(hits) / static_cast<double>(j.n_rel);
        }
        case Measure::Kind::NumRet:
            return static_cast<double>(n_ret);
        case Measure::Kind::NumRel:
            return static_cast<double>(j.n_rel);
        case Measure::Kind::NumRelRet: {
            std::size_t hits = 0;
            for (std::size_t i = 0; i < n_ret; ++i) hits += is_rel(i);
            return static_cast<double>(hits);
        }
    }
    WINNOW_ASSERT(false);
    return 0.0;
}

template <typename GetId>
std::vector<double> evaluate_list(std::size_t n, GetId&& id_at, const std::map<std::string, int>* judged,
                                  const std::vector<Measure>& measures, int level) {
    Judged j;
    j.rel.resize(n, -1);
    if (judged != nullptr) {
        for (std::size_t i = 0; i < n; ++i) {
            auto it = judged->find(id_at(i));
            // Negative grades are "in the pool, unjudged": neither relevant nor gain.
            if (it != judged->end()) j.rel[i] = it->second < 0 ? -1 : it->second;
        }
        int max_grade = 0;
        for (const auto& [docno, grade] : *judged) max_grade = std::max(max_grade, grade);
        j.levels.assign(static_cast<std::size_t>(max_grade) + 1, 0);
        for (const auto& [docno, grade] : *judged) {
            if (grade >= 0) ++j.levels[static_cast<std::size_t>(grade)];
            if (grade >= level) ++j.n_rel;
        }
    }
    std::vector<double> values;
    values.reserve(measures.size());
    for (const auto& m : measures) values.push_back(compute(m, j, level));
    return values;
}

}  // namespace

std::string Measure::name() const {
    for (const auto& k : kKindNames) {
        if (k.kind == kind) return k.has_cutoff ? fmt::format("{}_{}", k.name, cutoff) : std::string(k.name);
    }
    WINNOW_ASSERT(false);
    return {};
}

Measure Measure::parse(std::string_view name) {
    if (const auto* k = find_kind(name); k != nullptr && !k->has_cutoff) return Measure{k->kind, 0};
    const std::size_t underscore = name.rfind('_');
    if (underscore != std::string_view::npos) {
        const auto* k = find_kind(name.substr(0, underscore));
        if (k != nullptr && k->has_cutoff) return Measure{k->kind, parse_cutoff(name.substr(underscore + 1), name)};
    }
    WINNOW_THROW(Errc::InvalidArgument,
                 "unknown measure '{}' (known: P_k, recall_k, ndcg_cut_k, ndcg, map, map_cut_k, recip_rank, "
                 "recip_rank_cut_k, success_k, Rprec, num_ret, num_rel, num_rel_ret)",
                 name);
}

std::vector<Measure> parse_measures(std::string_view list) {
    std::vector<Measure> out;
    auto add = [&](Measure m) {
        for (const auto& have : out) {
            if (have.kind == m.kind && have.cutoff == m.cutoff) return;
        }
        out.push_back(m);
    };
    for (auto group : split_char(list, ';')) {
        group = trim(group);
        if (group.empty()) continue;
        if (group == "official") {
            for (const char* n : {"num_ret", "num_rel", "num_rel_ret", "map", "Rprec", "recip_rank", "P_5", "P_10",
                                  "P_15", "P_20", "P_30", "P_100", "P_200", "P_500", "P_1000"}) {
                add(Measure::parse(n));
            }
            continue;
        }
        const std::size_t dot = group.find('.');
        if (dot != std::string_view::npos) {
            // trec_eval -m form: name.c1,c2,...
            const auto base = group.substr(0, dot);
            const auto* k = find_kind(base);
            WINNOW_CHECK(k != nullptr && k->has_cutoff, Errc::InvalidArgument, "measure '{}' takes no cutoffs", group);
            for (auto c : split_char(group.substr(dot + 1), ',')) add(Measure{k->kind, parse_cutoff(trim(c), group)});
            continue;
        }
        for (auto item : split_char(group, ',')) {
            item = trim(item);
            if (!item.empty()) add(Measure::parse(item));
        }
    }
    WINNOW_CHECK(!out.empty(), Errc::InvalidArgument, "no measure given in '{}'", list);
    return out;
}

std::vector<double> evaluate_ranking(const std::vector<RunEntry>& ranked, const std::map<std::string, int>* judged,
                                     const std::vector<Measure>& measures, int relevance_level) {
    return evaluate_list(
        ranked.size(), [&](std::size_t i) -> const std::string& { return ranked[i].docno; }, judged, measures,
        relevance_level);
}

std::vector<double> evaluate_ranking_ids(const std::vector<std::string>& ranked_ids,
                                         const std::map<std::string, int>* judged,
                                         const std::vector<Measure>& measures, int relevance_level) {
    return evaluate_list(
        ranked_ids.size(), [&](std::size_t i) -> const std::string& { return ranked_ids[i]; }, judged, measures,
        relevance_level);
}

double EvalResult::value(std::string_view name) const {
    for (std::size_t i = 0; i < measures.size(); ++i) {
        if (measures[i].name() == name) return mean[i];
    }
    WINNOW_THROW(Errc::NotFound, "measure '{}' was not computed", name);
}

EvalResult evaluate(const Run& run, const Qrels& qrels, const std::vector<Measure>& measures,
                    const EvalOptions& options) {
    EvalResult result;
    result.measures = measures;
    result.mean.assign(measures.size(), 0.0);
    for (const auto& [qid, entries] : run.results) {
        const auto* judged = qrels.find(qid);
        if (judged == nullptr) continue;  // trec_eval ignores run queries without judgments
        std::vector<RunEntry> sorted = entries;
        sort_trec_order(sorted);
        result.per_query[qid] = evaluate_ranking(sorted, judged, measures, options.relevance_level);
    }
    const std::size_t n_evaluated = result.per_query.size();
    if (options.complete) {
        const std::vector<RunEntry> empty;
        for (const auto& [qid, judged] : qrels.judgments) {
            if (result.per_query.count(qid) != 0) continue;
            // trec_eval 9.0.8 -c: a missing query adds 0 to every measure (num_rel included).
            result.per_query[qid] = std::vector<double>(measures.size(), 0.0);
        }
    }
    result.n_queries = options.complete ? qrels.n_queries() : n_evaluated;
    for (const auto& [qid, values] : result.per_query) {
        for (std::size_t i = 0; i < values.size(); ++i) result.mean[i] += values[i];
    }
    if (result.n_queries > 0) {
        for (std::size_t i = 0; i < measures.size(); ++i) {
            if (!measures[i].is_sum()) result.mean[i] /= static_cast<double>(result.n_queries);
        }
    }
    return result;
}

void print_trec_eval(const EvalResult& result, std::ostream& out, bool per_query) {
    auto line = [&](const Measure& m, const std::string& qid, double v) {
        if (m.is_sum()) {
            out << fmt::format("{:<22}\t{}\t{}\n", m.name(), qid, static_cast<long>(v));
        } else {
            out << fmt::format("{:<22}\t{}\t{:6.4f}\n", m.name(), qid, v);
        }
    };
    if (per_query) {
        for (const auto& [qid, values] : result.per_query) {
            for (std::size_t i = 0; i < values.size(); ++i) line(result.measures[i], qid, values[i]);
        }
    }
    out << fmt::format("{:<22}\t{}\t{}\n", "num_q", "all", result.n_queries);
    for (std::size_t i = 0; i < result.measures.size(); ++i) line(result.measures[i], "all", result.mean[i]);
}

}  // namespace winnow::eval
