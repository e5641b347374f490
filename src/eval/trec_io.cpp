// TREC qrels and run files: reading (with the file and line at fault in errors) and writing.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "eval/text_util.h"
#include "winnow/error.h"
#include "winnow/eval.h"

namespace winnow::eval {

const std::map<std::string, int>* Qrels::find(const std::string& qid) const {
    auto it = judgments.find(qid);
    return it == judgments.end() ? nullptr : &it->second;
}

int Qrels::grade(const std::string& qid, const std::string& docno, int missing) const {
    const auto* judged = find(qid);
    if (judged == nullptr) return missing;
    auto it = judged->find(docno);
    return it == judged->end() ? missing : it->second;
}

std::size_t Qrels::n_judgments() const {
    std::size_t n = 0;
    for (const auto& [qid, docs] : judgments) n += docs.size();
    return n;
}

std::size_t Qrels::n_relevant(const std::string& qid, int relevance_level) const {
    const auto* judged = find(qid);
    if (judged == nullptr) return 0;
    std::size_t n = 0;
    for (const auto& [docno, grade] : *judged) n += grade >= relevance_level ? 1 : 0;
    return n;
}

// trec_eval reads the grade with atol: leading integer part, "0.000000" -> 0, "2.9" -> 2.
int parse_grade(std::string_view field, std::string_view where, std::size_t line_no) {
    std::string text(field);
    char* end = nullptr;
    errno = 0;
    const long value = std::strtol(text.c_str(), &end, 10);
    WINNOW_CHECK(end != text.c_str() && errno == 0 && value > -1000000 && value < 1000000, Errc::Corrupt,
                 "{} line {}: relevance '{}' is not an integer", where, line_no, field);
    if (*end != '\0') {
        // Allow a fractional part ("0.000000"), nothing else.
        char* frac_end = nullptr;
        std::strtod(text.c_str(), &frac_end);
        WINNOW_CHECK(*frac_end == '\0', Errc::Corrupt, "{} line {}: relevance '{}' is not a number", where, line_no,
                     field);
    }
    return static_cast<int>(value);
}

Qrels parse_trec_qrels(std::string_view text, std::string_view where) {
    Qrels qrels;
    for_each_fields(text, [&](const std::vector<std::string_view>& fields, std::size_t line_no) {
        WINNOW_CHECK(fields.size() == 4, Errc::Corrupt, "{} line {}: expected 'qid iter docno rel', got {} fields",
                     where, line_no, fields.size());
        qrels.set(std::string(fields[0]), std::string(fields[2]), parse_grade(fields[3], where, line_no));
    });
    return qrels;
}

Qrels read_trec_qrels(const std::string& path) { return parse_trec_qrels(read_text_file(path), path); }

void write_trec_qrels(const Qrels& qrels, std::ostream& out) {
    for (const auto& [qid, docs] : qrels.judgments) {
        for (const auto& [docno, grade] : docs) out << qid << " 0 " << docno << ' ' << grade << '\n';
    }
}

void write_trec_qrels(const Qrels& qrels, const std::string& path) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    WINNOW_CHECK(out.good(), Errc::Io, "{}: cannot open for writing", path);
    write_trec_qrels(qrels, out);
    out.flush();
    WINNOW_CHECK(out.good(), Errc::Io, "{}: write failed", path);
}

Run parse_trec_run(std::string_view text, std::string_view where) {
    Run run;
    bool named = false;
    for_each_fields(text, [&](const std::vector<std::string_view>& fields, std::size_t line_no) {
        WINNOW_CHECK(fields.size() == 6, Errc::Corrupt,
                     "{} line {}: expected 'qid Q0 docno rank score run_id', got {} fields", where, line_no,
                     fields.size());
        const std::string score_text(fields[4]);
        char* end = nullptr;
        const double score = std::strtod(score_text.c_str(), &end);
        WINNOW_CHECK(end != score_text.c_str() && *end == '\0', Errc::Corrupt, "{} line {}: score '{}' is not a number",
                     where, line_no, fields[4]);
        if (!named) {
            run.name = std::string(fields[5]);
            named = true;
        }
        run.results[std::string(fields[0])].push_back({std::string(fields[2]), score});
    });
    // trec_eval refuses a query that retrieves the same document twice; so do we.
    for (const auto& [qid, entries] : run.results) {
        std::vector<std::string_view> ids;
        ids.reserve(entries.size());
        for (const auto& e : entries) ids.push_back(e.docno);
        std::sort(ids.begin(), ids.end());
        auto dup = std::adjacent_find(ids.begin(), ids.end());
        WINNOW_CHECK(dup == ids.end(), Errc::Corrupt, "{}: query '{}' retrieves document '{}' twice", where, qid,
                     *dup);
    }
    return run;
}

Run read_trec_run(const std::string& path) { return parse_trec_run(read_text_file(path), path); }

void sort_trec_order(std::vector<RunEntry>& entries) {
    std::sort(entries.begin(), entries.end(), [](const RunEntry& a, const RunEntry& b) {
        if (a.score != b.score) return a.score > b.score;
        return a.docno > b.docno;
    });
}

void write_trec_run(const Run& run, std::ostream& out) {
    const std::string run_id = run.name.empty() ? std::string("winnow") : run.name;
    for (const auto& [qid, entries] : run.results) {
        std::vector<RunEntry> sorted = entries;
        sort_trec_order(sorted);
        std::size_t rank = 0;
        for (const auto& e : sorted) {
            out << fmt::format("{} Q0 {} {} {:.17g} {}\n", qid, e.docno, ++rank, e.score, run_id);
        }
    }
}

void write_trec_run(const Run& run, const std::string& path) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    WINNOW_CHECK(out.good(), Errc::Io, "{}: cannot open for writing", path);
    write_trec_run(run, out);
    out.flush();
    WINNOW_CHECK(out.good(), Errc::Io, "{}: write failed", path);
}

}  // namespace winnow::eval
