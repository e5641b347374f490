#include "ingest/corpus_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

#include "core/json.h"
#include "core/log.h"
#include "core/mmap_file.h"
#include "winnow/error.h"

namespace winnow::ingest {
namespace fs = std::filesystem;
namespace {

// The caller reports the messages (`winnow index` lists them once at the end; eval counts them): logged here
// at debug level only, so a skipped file is not reported twice.
void note_error(CorpusStats& stats, std::string message) {
    log::debug("{}", message);
    ++stats.skipped;
    if (stats.errors.size() < 100) stats.errors.push_back(std::move(message));
}

// "<file>: <why>, skipped", the file named once (most errors name it already).
std::string skipped_message(const std::string& file, const std::string& why) {
    if (why.find(file) != std::string::npos) return why + ", skipped";
    return fmt::format("{}: {}, skipped", file, why);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
        s.remove_suffix(1);
    }
    return s;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::map<std::string, FileExtractor>& extractors() {
    static std::map<std::string, FileExtractor> registry;
    return registry;
}
std::mutex& extractors_mutex() {
    static std::mutex m;
    return m;
}

// ---- BEIR ----------------------------------------------------------------------------------

std::string beir_corpus_file(const std::string& path) {
    if (fs::is_directory(path)) {
        for (const char* name : {"corpus.jsonl", "corpus.jsonl.gz"}) {
            const auto p = fs::path(path) / name;
            if (fs::exists(p)) return p.string();
        }
        WINNOW_THROW(Errc::NotFound, "{}: no corpus.jsonl or corpus.jsonl.gz in this folder", path);
    }
    return path;
}

std::string json_scalar_string(const Json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
    if (v.is_null()) return {};
    return v.dump();
}

std::string over_limit(const std::string& path, std::size_t line, std::size_t limit) {
    return fmt::format("{}:{}: record over the limit of {} bytes (max_document_bytes), skipped", path, line, limit);
}

void read_beir(const std::string& input, CorpusStats& stats, const DocumentSink& sink, const CorpusLimits& limits) {
    const std::string path = beir_corpus_file(input);
    LineReader reader(path);
    reader.set_max_line_bytes(limits.max_document_bytes);
    std::string line;
    while (reader.next(line)) {
        if (reader.oversized()) {
            note_error(stats, over_limit(path, reader.line_number(), limits.max_document_bytes));
            continue;
        }
        if (trim(line).empty()) continue;
        Json j;
        try {
            j = Json::parse(line);
        } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number overflow
            note_error(stats, fmt::format("{}:{}: invalid JSON, skipped", path, reader.line_number()));
            continue;
        }
        if (!j.is_object() || !j.contains("_id")) {
            note_error(stats, fmt::format("{}:{}: no \"_id\" field, skipped", path, reader.line_number()));
            continue;
        }
        CorpusDocument d;
        d.id = json_scalar_string(j["_id"]);
        if (d.id.empty()) {
            note_error(stats, fmt::format("{}:{}: empty \"_id\", skipped", path, reader.line_number()));
            continue;
        }
        if (auto it = j.find("title"); it != j.end()) d.title = json_scalar_string(*it);
        if (auto it = j.find("text"); it != j.end()) d.text = json_scalar_string(*it);
        if (auto it = j.find("metadata"); it != j.end() && it->is_object()) {
            d.metadata_json = it->dump(-1, ' ', false, Json::error_handler_t::replace);
        }
        d.source_path = path;
        ++stats.documents;
        sink(std::move(d));
    }
}

// ---- TREC ----------------------------------------------------------------------------------

// Removes markup: tags become spaces; entities are left as written.
std::string strip_tags(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    bool in_tag = false;
    for (char c : s) {
        if (in_tag) {
            if (c == '>') {
                in_tag = false;
                out.push_back(' ');
            }
        } else if (c == '<') {
            in_tag = true;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::optional<std::string> element(std::string_view doc, std::string_view tag, std::size_t* end_pos = nullptr) {
    const std::string open = "<" + std::string(tag) + ">";
    const std::string close = "</" + std::string(tag) + ">";
    std::string upper_doc;
    auto p = doc.find(open);
    if (p == std::string_view::npos) {
        const std::string lower_open = lower(open);
        p = doc.find(lower_open);
        if (p == std::string_view::npos) return std::nullopt;
    }
    auto q = doc.find(close, p);
    if (q == std::string_view::npos) q = doc.find(lower(close), p);
    if (q == std::string_view::npos) return std::nullopt;
    if (end_pos) *end_pos = q + close.size();
    return std::string(doc.substr(p + open.size(), q - p - open.size()));
}

std::string collapse_blank(std::string_view s) {
    // Joins lines with single newlines and trims; keeps paragraph breaks (blank lines) as "\n\n".
    std::string out;
    std::size_t pos = 0;
    int pending_newlines = 0;
    while (pos <= s.size()) {
        auto nl = s.find('\n', pos);
        if (nl == std::string_view::npos) nl = s.size();
        std::string_view line = trim(s.substr(pos, nl - pos));
        if (line.empty()) {
            if (!out.empty()) pending_newlines = 2;
        } else {
            if (!out.empty()) out.append(pending_newlines >= 2 ? "\n\n" : "\n");
            out.append(line);
            pending_newlines = 1;
        }
        pos = nl + 1;
    }
    return out;
}

void emit_trec_doc(std::string_view doc, const std::string& path, CorpusStats& stats, const DocumentSink& sink) {
    std::size_t docno_end = 0;
    auto id = element(doc, "DOCNO", &docno_end);
    if (!id || trim(*id).empty()) {
        note_error(stats, fmt::format("{}: <DOC> without <DOCNO>, skipped", path));
        return;
    }
    CorpusDocument d;
    d.id = std::string(trim(*id));
    for (const char* tag : {"TITLE", "HEADLINE", "HEAD"}) {
        if (auto t = element(doc, tag)) {
            d.title = collapse_blank(strip_tags(*t));
            break;
        }
    }
    std::string body(doc.substr(docno_end));
    if (!d.title.empty()) {
        for (const char* tag : {"TITLE", "HEADLINE", "HEAD"}) {
            std::size_t e = 0;
            const std::string t = "<" + std::string(tag) + ">";
            auto p = body.find(t);
            if (p != std::string::npos && element(std::string_view(body).substr(p), tag, &e)) {
                body.erase(p, e);
                break;
            }
        }
    }
    d.text = collapse_blank(strip_tags(body));
    d.source_path = path;
    ++stats.documents;
    sink(std::move(d));
}

void read_trec(const std::string& path, CorpusStats& stats, const DocumentSink& sink, const CorpusLimits& limits) {
    LineReader reader(path);
    reader.set_max_line_bytes(limits.max_document_bytes);
    std::string line;
    std::string doc;
    bool in_doc = false;
    bool too_large = false;  // the open <DOC> went over max_document_bytes: skipped at </DOC>
    while (reader.next(line)) {
        std::string_view t = trim(line);
        if (!in_doc) {
            if (t.substr(0, 5) == "<DOC>" || t.substr(0, 5) == "<doc>") {
                in_doc = true;
                too_large = false;
                doc.assign(t.substr(5));
                doc.push_back('\n');
            }
            continue;
        }
        if (t == "</DOC>" || t == "</doc>") {
            if (too_large) {
                note_error(stats, over_limit(path, reader.line_number(), limits.max_document_bytes));
            } else {
                emit_trec_doc(doc, path, stats, sink);
            }
            in_doc = false;
            doc.clear();
            continue;
        }
        if (too_large) continue;
        if (reader.oversized() || doc.size() + line.size() + 1 > limits.max_document_bytes) {
            too_large = true;
            doc.clear();
            doc.shrink_to_fit();
            continue;
        }
        doc.append(line);
        doc.push_back('\n');
    }
    if (in_doc) note_error(stats, fmt::format("{}: last <DOC> is not closed, skipped", path));
}

// ---- SMART ---------------------------------------------------------------------------------

void flush_smart(CorpusDocument& d, std::map<std::string, std::string>& fields, const std::string& path,
                 CorpusStats& stats, const DocumentSink& sink) {
    if (d.id.empty()) return;
    Json meta = Json::object();
    for (auto& [key, value] : fields) {
        std::string v = collapse_blank(value);
        if (key == "T") {
            d.title = std::move(v);
        } else if (key == "W") {
            d.text = std::move(v);
        } else if (!v.empty()) {
            meta[key] = std::move(v);
        }
    }
    d.metadata_json = meta.dump(-1, ' ', false, Json::error_handler_t::replace);
    d.source_path = path;
    if (d.title.empty() && d.text.empty()) {
        // CACM has records with neither title nor abstract; keep them (their id is judged) but say so.
        log::debug("{}: document {} has no .T or .W text", path, d.id);
    }
    ++stats.documents;
    sink(std::move(d));
    d = CorpusDocument();
    fields.clear();
}

void read_smart_dot(const std::string& path, CorpusStats& stats, const DocumentSink& sink, const CorpusLimits& limits) {
    LineReader reader(path);
    reader.set_max_line_bytes(limits.max_document_bytes);
    std::string line;
    CorpusDocument d;
    std::map<std::string, std::string> fields;
    std::string field;
    std::size_t bytes = 0;  // of the current record
    auto flush = [&] {
        if (bytes > limits.max_document_bytes && !d.id.empty()) {
            note_error(stats, fmt::format("{}: document {} over the limit of {} bytes (max_document_bytes), skipped",
                                          path, d.id, limits.max_document_bytes));
            d = CorpusDocument();
            fields.clear();
        }
        flush_smart(d, fields, path, stats, sink);
        bytes = 0;
    };
    while (reader.next(line)) {
        const bool field_line = line.size() >= 2 && line[0] == '.' &&
                                std::isupper(static_cast<unsigned char>(line[1])) &&
                                (line.size() == 2 || line[2] == ' ' || line[2] == '\t');
        if (field_line && line[1] == 'I') flush();
        bytes += reader.oversized() ? limits.max_document_bytes + 1 : line.size() + 1;
        if (bytes > limits.max_document_bytes && !(field_line && line[1] == 'I')) {
            fields.clear();  // the record is skipped at its end: keep nothing of it
            continue;
        }
        if (field_line) {
            const std::string key(1, line[1]);
            if (key == "I") {
                d.id = std::string(trim(std::string_view(line).substr(2)));
                field.clear();
                if (d.id.empty()) note_error(stats, fmt::format("{}:{}: .I without an id", path, reader.line_number()));
                continue;
            }
            field = key;
            std::string_view rest = trim(std::string_view(line).substr(2));
            if (!rest.empty()) fields[field].append(rest).push_back('\n');
            continue;
        }
        if (!field.empty() && !d.id.empty()) fields[field].append(line).push_back('\n');
    }
    flush();
}

// LISA: "Document N", a title paragraph, a blank line, the abstract, a line of asterisks.
void read_smart_lisa(const std::string& path, CorpusStats& stats, const DocumentSink& sink,
                     const CorpusLimits& limits) {
    LineReader reader(path);
    reader.set_max_line_bytes(limits.max_document_bytes);
    std::string line;
    CorpusDocument d;
    std::string title;
    std::string text;
    bool in_title = false;
    bool too_large = false;
    auto flush = [&]() {
        if (d.id.empty()) return;
        if (too_large) {
            note_error(stats, fmt::format("{}: document {} over the limit of {} bytes (max_document_bytes), skipped",
                                          path, d.id, limits.max_document_bytes));
            d = CorpusDocument();
            title.clear();
            text.clear();
            too_large = false;
            return;
        }
        d.title = collapse_blank(title);
        d.text = collapse_blank(text);
        d.source_path = path;
        ++stats.documents;
        sink(std::move(d));
        d = CorpusDocument();
        title.clear();
        text.clear();
    };
    while (reader.next(line)) {
        std::string_view t = trim(line);
        if (t.substr(0, 9) == "Document ") {
            flush();
            d.id = std::string(trim(t.substr(9)));
            in_title = true;
            continue;
        }
        if (!t.empty() && t.find_first_not_of('*') == std::string_view::npos) {
            flush();
            continue;
        }
        if (d.id.empty() || too_large) continue;
        if (reader.oversized() || title.size() + text.size() + line.size() + 1 > limits.max_document_bytes) {
            too_large = true;
            title.clear();
            text.clear();
            continue;
        }
        if (in_title) {
            if (t.empty()) {
                if (!title.empty()) in_title = false;
                continue;
            }
            title.append(t).push_back('\n');
        } else {
            text.append(line).push_back('\n');
        }
    }
    flush();
}

bool starts_with_lisa(const std::string& path) {
    LineReader reader(path);
    std::string line;
    while (reader.next(line)) {
        std::string_view t = trim(line);
        if (t.empty()) continue;
        return t.substr(0, 9) == "Document ";
    }
    return false;
}

void read_smart(const std::string& path, CorpusStats& stats, const DocumentSink& sink, const CorpusLimits& limits) {
    if (starts_with_lisa(path)) {
        read_smart_lisa(path, stats, sink, limits);
    } else {
        read_smart_dot(path, stats, sink, limits);
    }
}

// ---- files ---------------------------------------------------------------------------------

bool is_text_extension(const std::string& ext) {
    return ext == ".txt" || ext == ".md" || ext == ".markdown" || ext == ".text";
}

void read_files(const std::string& path, CorpusStats& stats, const DocumentSink& sink, const CorpusLimits& limits) {
    auto one = [&](const std::string& file) {
        try {
            std::error_code ec;
            const auto size = fs::file_size(file, ec);
            WINNOW_CHECK(ec || size <= limits.max_file_bytes, Errc::TooLarge,
                         "{} bytes, over the limit of {} bytes per file (max_file_bytes)", size, limits.max_file_bytes);
            auto d = read_file_document(file);
            if (!d) return;
            ++stats.documents;
            sink(std::move(*d));
        } catch (const Error& e) {
            note_error(stats, skipped_message(file, e.what()));
        }
    };
    if (!fs::is_directory(path)) {
        const std::string ext = lower(fs::path(path).extension().string());
        bool known = is_text_extension(ext) || ext.empty();
        {
            std::scoped_lock lock(extractors_mutex());
            known = known || extractors().count(ext) > 0;
        }
        if (!known) {
            note_error(stats, fmt::format("{}: unsupported file type '{}', skipped", path, ext));
            return;
        }
        one(path);
        return;
    }
    std::vector<std::string> files;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) {
            note_error(stats, fmt::format("{}: {}", path, ec.message()));
            break;
        }
        const auto name = it->path().filename().string();
        if (!name.empty() && name[0] == '.') {
            if (it->is_directory()) it.disable_recursion_pending();
            continue;
        }
        if (it->is_regular_file()) files.push_back(it->path().string());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        const std::string ext = lower(fs::path(f).extension().string());
        bool known = is_text_extension(ext);
        {
            std::scoped_lock lock(extractors_mutex());
            known = known || extractors().count(ext) > 0;
        }
        if (known) one(f);
    }
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        }
        i += n;
    }
    return true;
}

}  // namespace

CorpusFormat parse_corpus_format(std::string_view name) {
    if (name == "auto") return CorpusFormat::Auto;
    if (name == "beir") return CorpusFormat::Beir;
    if (name == "trec") return CorpusFormat::Trec;
    if (name == "smart") return CorpusFormat::Smart;
    if (name == "files") return CorpusFormat::Files;
    WINNOW_THROW(Errc::InvalidArgument, "unknown corpus format '{}' (expected auto, beir, trec, smart or files)", name);
}

std::string_view corpus_format_name(CorpusFormat format) noexcept {
    switch (format) {
        case CorpusFormat::Auto: return "auto";
        case CorpusFormat::Beir: return "beir";
        case CorpusFormat::Trec: return "trec";
        case CorpusFormat::Smart: return "smart";
        case CorpusFormat::Files: return "files";
    }
    return "auto";
}

CorpusFormat detect_corpus_format(const std::string& path) {
    WINNOW_CHECK(fs::exists(path), Errc::NotFound, "{}: no such file or folder", path);
    if (fs::is_directory(path)) {
        if (fs::exists(fs::path(path) / "corpus.jsonl") || fs::exists(fs::path(path) / "corpus.jsonl.gz")) {
            return CorpusFormat::Beir;
        }
        return CorpusFormat::Files;
    }
    if (ends_with(path, ".jsonl") || ends_with(path, ".jsonl.gz")) return CorpusFormat::Beir;
    const std::string ext = lower(fs::path(path).extension().string());
    if (is_text_extension(ext)) return CorpusFormat::Files;
    LineReader reader(path);
    std::string line;
    for (int i = 0; i < 20 && reader.next(line); ++i) {
        std::string_view t = trim(line);
        if (t.empty()) continue;
        if (t.substr(0, 5) == "<DOC>" || t.substr(0, 5) == "<doc>") return CorpusFormat::Trec;
        if (t.substr(0, 3) == ".I " || t.substr(0, 9) == "Document ") return CorpusFormat::Smart;
        break;
    }
    return CorpusFormat::Files;
}

CorpusStats read_corpus(const std::string& path, CorpusFormat format, const DocumentSink& sink,
                        const CorpusLimits& limits) {
    WINNOW_CHECK(fs::exists(path), Errc::NotFound, "{}: no such file or folder", path);
    if (format == CorpusFormat::Auto) format = detect_corpus_format(path);
    CorpusStats stats;
    switch (format) {
        case CorpusFormat::Beir: read_beir(path, stats, sink, limits); break;
        case CorpusFormat::Trec:
        case CorpusFormat::Smart: {
            std::vector<std::string> files;
            if (fs::is_directory(path)) {
                for (const auto& e : fs::recursive_directory_iterator(path)) {
                    if (e.is_regular_file() && e.path().filename().string()[0] != '.') files.push_back(e.path().string());
                }
                std::sort(files.begin(), files.end());
            } else {
                files.push_back(path);
            }
            for (const auto& f : files) {
                try {
                    if (format == CorpusFormat::Trec) {
                        read_trec(f, stats, sink, limits);
                    } else {
                        read_smart(f, stats, sink, limits);
                    }
                } catch (const Error& e) {
                    if (files.size() == 1) throw;
                    note_error(stats, skipped_message(f, e.what()));
                }
            }
            break;
        }
        case CorpusFormat::Files:
        case CorpusFormat::Auto: read_files(path, stats, sink, limits); break;
    }
    return stats;
}

std::optional<CorpusDocument> read_file_document(const std::string& path) {
    const std::string ext = lower(fs::path(path).extension().string());
    if (!is_text_extension(ext) && !ext.empty()) {
        FileExtractor extractor;
        {
            std::scoped_lock lock(extractors_mutex());
            auto it = extractors().find(ext);
            if (it != extractors().end()) extractor = it->second;
        }
        if (!extractor) return std::nullopt;
        return extractor(path);
    }
    CorpusDocument d;
    d.id = path;
    d.source_path = path;
    d.text = read_file(path);
    WINNOW_CHECK(valid_utf8(d.text), Errc::Corrupt, "{}: not UTF-8 text", path);
    WINNOW_CHECK(d.text.find('\0') == std::string::npos, Errc::Corrupt, "{}: binary file (contains NUL bytes)", path);
    // Title: the first Markdown heading, else the file name without extension.
    std::size_t pos = 0;
    while (pos < d.text.size()) {
        auto nl = d.text.find('\n', pos);
        if (nl == std::string::npos) nl = d.text.size();
        std::string_view line = trim(std::string_view(d.text).substr(pos, nl - pos));
        if (!line.empty()) {
            if (line[0] == '#') {
                line.remove_prefix(line.find_first_not_of('#'));
                d.title = std::string(trim(line));
            }
            break;
        }
        pos = nl + 1;
    }
    if (d.title.empty()) d.title = fs::path(path).stem().string();
    return d;
}

void register_file_extractor(std::string extension, FileExtractor extractor) {
    std::scoped_lock lock(extractors_mutex());
    extractors()[lower(extension)] = std::move(extractor);
}

// ---- LineReader ----------------------------------------------------------------------------

LineReader::LineReader(const std::string& path) : path_(path) {
    WINNOW_CHECK(fs::exists(path), Errc::NotFound, "{}: no such file", path);
    WINNOW_CHECK(!fs::is_directory(path), Errc::InvalidArgument, "{}: is a folder, expected a file", path);
    gz_ = gzopen(path.c_str(), "rb");
    WINNOW_CHECK(gz_ != nullptr, Errc::Io, "{}: cannot open: {}", path, std::strerror(errno));
    gzbuffer(static_cast<gzFile>(gz_), 1 << 17);
}

LineReader::~LineReader() {
    if (gz_) gzclose(static_cast<gzFile>(gz_));
}

bool LineReader::next(std::string& line) {
    line.clear();
    oversized_ = false;
    char chunk[8192];
    bool got_any = false;
    while (true) {
        if (gzgets(static_cast<gzFile>(gz_), chunk, sizeof(chunk)) == nullptr) {
            int err = 0;
            const char* msg = gzerror(static_cast<gzFile>(gz_), &err);
            WINNOW_CHECK(err == Z_OK || err == Z_STREAM_END, Errc::Corrupt, "{}: read failed after line {}: {}", path_,
                         line_no_, msg ? msg : "unknown error");
            if (!got_any) return false;
            break;
        }
        got_any = true;
        const std::size_t n = std::strlen(chunk);
        if (!oversized_) line.append(chunk, n);
        if (n > 0 && chunk[n - 1] == '\n') break;
        if (!oversized_ && line.size() > max_line_) {
            // Read past the rest of the line without keeping it.
            oversized_ = true;
            line.clear();
            line.shrink_to_fit();
        }
    }
    ++line_no_;
    if (!line.empty() && line.back() == '\n') line.pop_back();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() > max_line_) {
        oversized_ = true;
        line.clear();
    }
    return true;
}

}  // namespace winnow::ingest
