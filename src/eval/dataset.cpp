// Test collection loading: format detection and each collection's quirks.
#include "eval/dataset.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/json.h"
#include "eval/text_util.h"
#include "winnow/error.h"

namespace winnow::eval {
namespace fs = std::filesystem;

namespace {

bool exists_file(const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::vector<fs::path> list_files(const fs::path& dir) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

// The first file in `dir` whose name matches one of `names` (case-insensitive).
fs::path find_named(const std::vector<fs::path>& files, std::initializer_list<std::string_view> names) {
    for (auto name : names) {
        for (const auto& f : files) {
            if (lower(f.filename().string()) == lower(name)) return f;
        }
    }
    return {};
}

fs::path find_suffix(const std::vector<fs::path>& files, std::string_view suffix) {
    for (const auto& f : files) {
        const std::string n = lower(f.filename().string());
        if (n.size() >= suffix.size() && n.substr(n.size() - suffix.size()) == lower(suffix)) return f;
    }
    return {};
}

struct SmartRecord {
    std::string id;
    std::map<char, std::string> fields;
};

std::vector<SmartRecord> parse_smart_records(std::string_view text, std::string_view where) {
    std::vector<SmartRecord> records;
    char field = 0;
    std::size_t line_no = 0;
    for_each_line(text, [&](std::string_view line) {
        ++line_no;
        if (line.size() >= 2 && line[0] == '.' && std::isupper(static_cast<unsigned char>(line[1])) &&
            (line.size() == 2 || line[2] == ' ' || line[2] == '\t')) {
            if (line[1] == 'I') {
                const auto id = trim(line.substr(2));
                WINNOW_CHECK(!id.empty(), Errc::Corrupt, "{} line {}: '.I' without an id", where, line_no);
                records.push_back({std::string(id), {}});
                field = 0;
            } else {
                WINNOW_CHECK(!records.empty(), Errc::Corrupt, "{} line {}: field '{}' before the first '.I'", where,
                             line_no, line.substr(0, 2));
                field = line[1];
                const auto rest = trim(line.substr(2));
                if (!rest.empty()) records.back().fields[field] += std::string(rest) + "\n";
            }
            return;
        }
        if (!records.empty() && field != 0) records.back().fields[field] += std::string(line) + "\n";
    });
    return records;
}

std::string smart_text(const SmartRecord& r) {
    std::string text;
    for (char f : {'T', 'W'}) {
        auto it = r.fields.find(f);
        if (it == r.fields.end()) continue;
        if (!text.empty()) text += ' ';
        text += collapse_whitespace(it->second);
    }
    return collapse_whitespace(text);
}

bool looks_like_smart_pairs(std::string_view text) {
    bool any = false;
    bool pairs = true;
    for_each_fields(text, [&](const std::vector<std::string_view>& f, std::size_t) {
        any = true;
        if (f.size() != 4 || f[2] != "0" || std::strtod(std::string(f[3]).c_str(), nullptr) != 0.0) pairs = false;
    });
    return any && pairs;
}

void require(const fs::path& p, std::string_view what, const fs::path& dir) {
    WINNOW_CHECK(!p.empty() && exists_file(p), Errc::NotFound, "{}: no {} file found", dir.string(), what);
}

}  // namespace

std::string_view corpus_format_name(CorpusFormat format) noexcept {
    switch (format) {
        case CorpusFormat::Beir: return "beir";
        case CorpusFormat::Trec: return "trec";
        case CorpusFormat::Smart: return "smart";
        case CorpusFormat::Lisa: return "lisa";
        case CorpusFormat::WikiQa: return "wikiqa";
    }
    return "unknown";
}

std::string normalize_numeric_id(std::string_view id) {
    if (id.empty() || !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::string(id);
    }
    const std::size_t first = id.find_first_not_of('0');
    return first == std::string_view::npos ? std::string("0") : std::string(id.substr(first));
}

std::string Dataset::default_split() const {
    if (splits.count("test") != 0) return "test";
    WINNOW_CHECK(!splits.empty(), Errc::Corrupt, "{}: the dataset has no judgments", dir);
    return splits.begin()->first;
}

const Qrels& Dataset::qrels(const std::string& split) const {
    auto it = splits.find(split);
    if (it != splits.end()) return it->second;
    std::string names;
    for (const auto& [name, q] : splits) names += (names.empty() ? "" : ", ") + name;
    WINNOW_THROW(Errc::NotFound, "{}: no split '{}' (available: {})", dir, split, names);
}

std::vector<Query> Dataset::queries_for(const std::string& split) const {
    const Qrels& q = qrels(split);
    std::vector<Query> out;
    for (const auto& query : queries) {
        if (q.find(query.id) != nullptr) out.push_back(query);
    }
    return out;
}

std::vector<Query> parse_beir_queries(std::string_view text, std::string_view where) {
    std::vector<Query> queries;
    std::size_t line_no = 0;
    for_each_line(text, [&](std::string_view line) {
        ++line_no;
        if (trim(line).empty()) return;
        const std::string at = fmt::format("{} line {}", where, line_no);
        Json j;
        try {
            j = parse_json(line, at);
        } catch (const nlohmann::json::exception& e) {  // e.g. number overflow (1e400), not a parse_error
            WINNOW_THROW(Errc::Corrupt, "{}: invalid JSON: {}", at, e.what());
        }
        Json id = j.is_object() && j.contains("_id") ? j["_id"] : Json();
        WINNOW_CHECK(id.is_string() || id.is_number_integer(), Errc::Corrupt, "{}: missing field '_id'", at);
        queries.push_back({id.is_string() ? id.get<std::string>() : std::to_string(id.get<long long>()),
                           json_get<std::string>(j, "text", at)});
    });
    return queries;
}

Qrels parse_beir_qrels(std::string_view text, std::string_view where) {
    Qrels qrels;
    std::size_t line_no = 0;
    for_each_line(text, [&](std::string_view line) {
        ++line_no;
        if (trim(line).empty()) return;
        auto f = split_char(line, '\t');
        if (f.size() < 3) f = split_whitespace(line);
        WINNOW_CHECK(f.size() == 3, Errc::Corrupt, "{} line {}: expected 'query-id<TAB>corpus-id<TAB>score'", where,
                     line_no);
        if (line_no == 1 && trim(f[0]) == "query-id") return;  // header
        const std::string grade_text(trim(f[2]));
        char* end = nullptr;
        const long grade = std::strtol(grade_text.c_str(), &end, 10);
        WINNOW_CHECK(end != grade_text.c_str() && *end == '\0', Errc::Corrupt, "{} line {}: score '{}' is not an integer",
                     where, line_no, grade_text);
        qrels.set(std::string(trim(f[0])), std::string(trim(f[1])), static_cast<int>(grade));
    });
    return qrels;
}

std::vector<Query> parse_trec_topics(std::string_view text, std::string_view where) {
    std::vector<Query> queries;
    std::size_t pos = 0;
    auto tag_value = [](std::string_view block, std::string_view tag) -> std::string {
        const std::string open = "<" + std::string(tag) + ">";
        std::size_t start = block.find(open);
        if (start == std::string_view::npos) return {};
        start += open.size();
        std::size_t end = block.find('<', start);
        if (end == std::string_view::npos) end = block.size();
        return collapse_whitespace(block.substr(start, end - start));
    };
    while (true) {
        const std::size_t start = text.find("<top>", pos);
        if (start == std::string_view::npos) break;
        std::size_t end = text.find("</top>", start);
        WINNOW_CHECK(end != std::string_view::npos, Errc::Corrupt, "{}: <top> at byte {} is not closed", where, start);
        const auto block = text.substr(start, end - start);
        std::string num = tag_value(block, "num");
        if (starts_with(num, "Number:")) num = std::string(trim(std::string_view(num).substr(7)));
        WINNOW_CHECK(!num.empty(), Errc::Corrupt, "{}: topic at byte {} has no <num>", where, start);
        std::string title = tag_value(block, "title");
        if (starts_with(title, "Topic:")) title = std::string(trim(std::string_view(title).substr(6)));
        WINNOW_CHECK(!title.empty(), Errc::Corrupt, "{}: topic {} has no <title>", where, num);
        queries.push_back({num, title});
        pos = end + 6;
    }
    WINNOW_CHECK(!queries.empty(), Errc::Corrupt, "{}: no <top> topics found", where);
    return queries;
}

std::vector<Query> parse_smart_queries(std::string_view text, std::string_view where) {
    std::vector<Query> queries;
    for (const auto& r : parse_smart_records(text, where)) {
        std::string t = smart_text(r);
        if (t.empty()) continue;  // e.g. CACM's terminating ".I 0" record
        queries.push_back({normalize_numeric_id(r.id), std::move(t)});
    }
    return queries;
}

Qrels parse_smart_pairs(std::string_view text, std::string_view where) {
    Qrels qrels;
    for_each_fields(text, [&](const std::vector<std::string_view>& f, std::size_t line_no) {
        WINNOW_CHECK(f.size() >= 2, Errc::Corrupt, "{} line {}: expected 'qid docid ...'", where, line_no);
        qrels.set(normalize_numeric_id(f[0]), normalize_numeric_id(f[1]), 1);
    });
    return qrels;
}

Qrels parse_cranfield_qrels(std::string_view text, std::string_view where) {
    Qrels qrels;
    for_each_fields(text, [&](const std::vector<std::string_view>& f, std::size_t line_no) {
        WINNOW_CHECK(f.size() == 3, Errc::Corrupt, "{} line {}: expected 'qid docid code'", where, line_no);
        const int code = std::atoi(std::string(f[2]).c_str());
        WINNOW_CHECK(code == -1 || (code >= 1 && code <= 5), Errc::Corrupt, "{} line {}: relevance code '{}'", where,
                     line_no, f[2]);
        const int grade = code == -1 ? 0 : 5 - code;
        qrels.set(normalize_numeric_id(f[0]), normalize_numeric_id(f[1]), grade);
    });
    return qrels;
}

std::vector<Query> parse_lisa_queries(std::string_view text, std::string_view where) {
    std::vector<Query> queries;
    std::string id;
    std::string body;
    std::size_t line_no = 0;
    for_each_line(text, [&](std::string_view raw) {
        ++line_no;
        const auto line = trim(raw);
        if (line.empty()) return;
        if (id.empty()) {
            WINNOW_CHECK(std::all_of(line.begin(), line.end(), [](char c) { return c >= '0' && c <= '9'; }),
                         Errc::Corrupt, "{} line {}: expected a query number, got '{}'", where, line_no, line);
            id = normalize_numeric_id(line);
            return;
        }
        const std::size_t hash = line.find('#');
        body += std::string(line.substr(0, hash)) + " ";
        if (hash != std::string_view::npos) {
            queries.push_back({id, collapse_whitespace(body)});
            id.clear();
            body.clear();
        }
    });
    WINNOW_CHECK(id.empty(), Errc::Corrupt, "{}: query {} is not terminated by '#'", where, id);
    return queries;
}

Qrels parse_lisa_judgments(std::string_view text, std::string_view where) {
    Qrels qrels;
    auto numbers = split_whitespace(text);
    std::size_t i = 0;
    auto next = [&](std::string_view what) -> long {
        WINNOW_CHECK(i < numbers.size(), Errc::Corrupt, "{}: truncated, expected {}", where, what);
        const std::string s(numbers[i++]);
        char* end = nullptr;
        const long v = std::strtol(s.c_str(), &end, 10);
        WINNOW_CHECK(*end == '\0' && v >= 0, Errc::Corrupt, "{}: '{}' is not a number ({})", where, s, what);
        return v;
    };
    while (i < numbers.size()) {
        const long qid = next("a query id");
        const long n = next("a count");
        for (long k = 0; k < n; ++k) qrels.set(std::to_string(qid), std::to_string(next("a document id")), 1);
    }
    return qrels;
}

void parse_wikiqa(std::string_view text, std::string_view where, std::vector<Query>& queries, Qrels& qrels,
                  std::size_t& n_unanswerable) {
    Qrels all;
    std::vector<Query> all_queries;
    std::size_t line_no = 0;
    for_each_line(text, [&](std::string_view line) {
        ++line_no;
        if (line.empty()) return;
        auto f = split_char(line, '\t');
        WINNOW_CHECK(f.size() == 7, Errc::Corrupt, "{} line {}: expected 7 tab-separated fields, got {}", where,
                     line_no, f.size());
        if (line_no == 1) {
            WINNOW_CHECK(f[0] == "QuestionID", Errc::Corrupt, "{}: header 'QuestionID ...' expected", where);
            return;
        }
        const std::string qid(f[0]);
        if (all_queries.empty() || all_queries.back().id != qid) all_queries.push_back({qid, std::string(f[1])});
        const std::string label(trim(f[6]));
        WINNOW_CHECK(label == "0" || label == "1", Errc::Corrupt, "{} line {}: label '{}'", where, line_no, label);
        all.set(qid, std::string(f[4]), label == "1" ? 1 : 0);
    });
    n_unanswerable = 0;
    for (const auto& q : all_queries) {
        if (all.n_relevant(q.id) == 0) {
            ++n_unanswerable;
            continue;
        }
        queries.push_back(q);
        qrels.judgments[q.id] = all.judgments[q.id];
    }
}

std::vector<Query> load_queries(const std::string& path) {
    const std::string text = read_text_file(path);
    const auto first = trim(text.substr(0, std::min<std::size_t>(text.size(), 4096)));
    if (starts_with(first, "{")) return parse_beir_queries(text, path);
    if (first.find("<top>") != std::string_view::npos) return parse_trec_topics(text, path);
    if (starts_with(first, ".I")) return parse_smart_queries(text, path);
    std::vector<Query> queries;
    std::size_t line_no = 0;
    const bool tsv = text.find('\t') != std::string::npos;
    for_each_line(text, [&](std::string_view line) {
        ++line_no;
        if (trim(line).empty()) return;
        if (tsv) {
            const std::size_t tab = line.find('\t');
            WINNOW_CHECK(tab != std::string_view::npos, Errc::Corrupt, "{} line {}: expected 'id<TAB>text'", path,
                         line_no);
            queries.push_back({std::string(trim(line.substr(0, tab))), collapse_whitespace(line.substr(tab + 1))});
        } else {
            queries.push_back({std::to_string(queries.size() + 1), collapse_whitespace(line)});
        }
    });
    WINNOW_CHECK(!queries.empty(), Errc::Corrupt, "{}: no queries", path);
    return queries;
}

Dataset load_dataset(const std::string& dir_text) {
    const fs::path dir(dir_text);
    std::error_code ec;
    WINNOW_CHECK(fs::is_directory(dir, ec), Errc::NotFound, "{}: not a dataset folder", dir_text);
    const auto files = list_files(dir);
    Dataset ds;
    ds.dir = dir_text;
    ds.name = fs::absolute(dir).lexically_normal().filename().string();
    if (ds.name.empty()) ds.name = fs::absolute(dir).lexically_normal().parent_path().filename().string();

    // BEIR: queries.jsonl + qrels/<split>.tsv + corpus.jsonl[.gz]
    if (auto queries = find_named(files, {"queries.jsonl"}); !queries.empty()) {
        ds.kind = "beir";
        ds.corpus_format = CorpusFormat::Beir;
        auto corpus = find_named(files, {"corpus.jsonl", "corpus.jsonl.gz"});
        require(corpus, "corpus.jsonl[.gz]", dir);
        ds.corpus_paths = {corpus.string()};
        ds.queries = parse_beir_queries(read_text_file(queries.string()), queries.string());
        for (const auto& f : list_files(dir / "qrels")) {
            if (f.extension() != ".tsv") continue;
            ds.splits[f.stem().string()] = parse_beir_qrels(read_text_file(f.string()), f.string());
        }
        WINNOW_CHECK(!ds.splits.empty(), Errc::NotFound, "{}: no qrels/<split>.tsv", dir_text);
        return ds;
    }
    // Cranfield: positional query ids, reversed grades.
    if (auto qry = find_named(files, {"cran.qry"}); !qry.empty()) {
        ds.kind = "cranfield";
        ds.corpus_format = CorpusFormat::Smart;
        auto all = find_named(files, {"cran.all.1400"});
        auto rel = find_named(files, {"cranqrel"});
        require(all, "cran.all.1400", dir);
        require(rel, "cranqrel", dir);
        ds.corpus_paths = {all.string()};
        auto queries = parse_smart_queries(read_text_file(qry.string()), qry.string());
        for (std::size_t i = 0; i < queries.size(); ++i) queries[i].id = std::to_string(i + 1);
        ds.queries = std::move(queries);
        ds.splits["test"] = parse_cranfield_qrels(read_text_file(rel.string()), rel.string());
        ds.notes = {"query ids are positions in cran.qry (its .I numbers are not sequential)",
                    "relevance codes 1..4 (1 = best) mapped to grades 4..1; -1 mapped to 0"};
        return ds;
    }
    // LISA: LISA.QUE, LISARJ.NUM (LISA.REL is damaged), documents LISA*.nnn or the repaired concatenation.
    if (auto que = find_named(files, {"LISA.QUE"}); !que.empty()) {
        ds.kind = "lisa";
        ds.corpus_format = CorpusFormat::Lisa;
        auto num = find_named(files, {"LISARJ.NUM"});
        require(num, "LISARJ.NUM", dir);
        ds.queries = parse_lisa_queries(read_text_file(que.string()), que.string());
        ds.splits["test"] = parse_lisa_judgments(read_text_file(num.string()), num.string());
        auto fixed = find_named(files, {"LISA_FIXED.concat.txt"});
        if (!fixed.empty()) {
            ds.corpus_paths = {fixed.string()};
        } else {
            for (const auto& f : files) {
                const std::string n = f.filename().string();
                if (starts_with(n, "LISA") && n.size() == 9 && n[5] == '.' &&
                    std::isdigit(static_cast<unsigned char>(n[4]))) {
                    ds.corpus_paths.push_back(f.string());
                }
            }
        }
        WINNOW_CHECK(!ds.corpus_paths.empty(), Errc::NotFound, "{}: no LISA document files", dir_text);
        ds.notes = {"judgments from LISARJ.NUM (LISA.REL is damaged: query 21 truncated, 22-23 missing)"};
        return ds;
    }
    // WikiQA: one TSV holds questions, candidate sentences and labels.
    if (auto tsv = find_suffix(files, ".tsv"); !tsv.empty()) {
        const std::string text = read_text_file(tsv.string());
        if (starts_with(text, "QuestionID\t")) {
            ds.kind = "wikiqa";
            ds.corpus_format = CorpusFormat::WikiQa;
            ds.corpus_paths = {tsv.string()};
            std::size_t n_unanswerable = 0;
            parse_wikiqa(text, tsv.string(), ds.queries, ds.splits["test"], n_unanswerable);
            ds.notes = {fmt::format("corpus = all candidate sentences pooled; {} questions without a correct "
                                    "sentence dropped (standard answerable set)",
                                    n_unanswerable)};
            return ds;
        }
    }
    // SMART collections: *.QRY or query.text, *.REL or qrels.text, *.ALL or cacm.all.
    auto qry = find_suffix(files, ".qry");
    if (qry.empty()) qry = find_named(files, {"query.text"});
    if (!qry.empty()) {
        ds.kind = "smart";
        ds.corpus_format = CorpusFormat::Smart;
        auto rel = find_suffix(files, ".rel");
        if (rel.empty()) rel = find_named(files, {"qrels.text"});
        auto all = find_suffix(files, ".all");
        require(rel, "relevance (*.REL, qrels.text)", dir);
        require(all, "documents (*.ALL)", dir);
        ds.corpus_paths = {all.string()};
        ds.queries = parse_smart_queries(read_text_file(qry.string()), qry.string());
        const std::string rel_text = read_text_file(rel.string());
        if (looks_like_smart_pairs(rel_text)) {
            ds.splits["test"] = parse_smart_pairs(rel_text, rel.string());
        } else {
            Qrels q = parse_trec_qrels(rel_text, rel.string());
            for (auto& [qid, docs] : q.judgments) {
                for (auto& [docno, grade] : docs) ds.splits["test"].set(normalize_numeric_id(qid),
                                                                      normalize_numeric_id(docno), grade);
            }
        }
        const std::string qry_text = read_text_file(qry.string());
        const std::size_t n_records = parse_smart_records(qry_text, qry.string()).size();
        if (n_records > ds.queries.size()) {
            ds.notes.push_back(fmt::format("{} query record(s) without text dropped (e.g. CACM's terminating '.I 0')",
                                           n_records - ds.queries.size()));
        }
        bool padded = false;
        for_each_fields(rel_text, [&](const std::vector<std::string_view>& f, std::size_t) {
            if (f[0].size() > 1 && f[0][0] == '0') padded = true;
        });
        if (padded) ds.notes.push_back("zero-padded query ids in the judgments normalised (\"01\" is query 1)");
        return ds;
    }
    // TREC: topics + qrels + <DOC> files (e.g. NPL).
    auto topics = find_named(files, {"query-text.trec", "topics.txt", "topics"});
    if (topics.empty()) {
        for (const auto& f : files) {
            if (starts_with(lower(f.filename().string()), "topics")) topics = f;
        }
    }
    auto qrels = find_named(files, {"qrels", "qrels.txt", "qrels.trec"});
    if (qrels.empty()) qrels = find_suffix(files, ".qrels");
    if (!topics.empty() && !qrels.empty()) {
        ds.kind = "trec";
        ds.corpus_format = CorpusFormat::Trec;
        ds.queries = parse_trec_topics(read_text_file(topics.string()), topics.string());
        ds.splits["test"] = read_trec_qrels(qrels.string());
        std::vector<fs::path> docs = list_files(dir / "corpus");
        if (docs.empty()) {
            for (const auto& f : files) {
                if (f != topics && f != qrels && (f.extension() == ".trec" || f.extension() == ".gz")) docs.push_back(f);
            }
        }
        for (const auto& d : docs) ds.corpus_paths.push_back(d.string());
        WINNOW_CHECK(!ds.corpus_paths.empty(), Errc::NotFound, "{}: no TREC <DOC> files (corpus/ or *.trec)", dir_text);
        return ds;
    }
    WINNOW_THROW(Errc::Unsupported,
                 "{}: not a recognised collection (expected BEIR queries.jsonl + qrels/, TREC topics + qrels, "
                 "SMART *.QRY + *.REL + *.ALL, Cranfield, LISA or WikiQA files)",
                 dir_text);
}

}  // namespace winnow::eval
