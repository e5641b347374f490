#include "ingest/reader.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/json.h"
#include "core/log.h"
#include "winnow/error.h"

namespace fs = std::filesystem;

namespace winnow::ingest {
namespace {

std::string read_bytes(const std::string& path, std::size_t max_bytes) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    WINNOW_CHECK(!ec && fs::exists(status), Errc::NotFound, "{}: no such file", path);
    WINNOW_CHECK(fs::is_regular_file(status), Errc::InvalidArgument, "{}: not a regular file", path);
    const auto size = fs::file_size(path, ec);
    WINNOW_CHECK(!ec, Errc::Io, "{}: cannot stat: {}", path, ec.message());
    WINNOW_CHECK(size <= max_bytes, Errc::TooLarge, "{}: {} bytes is over the {} byte limit", path, size, max_bytes);
    std::ifstream in(path, std::ios::binary);
    WINNOW_CHECK(in.good(), Errc::Io, "{}: cannot open for reading", path);
    std::string data(size, '\0');
    in.read(data.data(), static_cast<std::streamsize>(size));
    WINNOW_CHECK(static_cast<std::size_t>(in.gcount()) == size, Errc::Io, "{}: read failed", path);
    return data;
}

// Text formats must be UTF-8; invalid sequences are replaced (U+FFFD) rather than rejected, but a
// file full of NUL bytes is binary, not text.
void check_text(const std::string& data, const std::string& path) {
    const std::size_t probe = std::min<std::size_t>(data.size(), 8192);
    const auto nul = std::count(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(probe), '\0');
    WINNOW_CHECK(nul == 0, Errc::Corrupt, "{}: binary content (NUL bytes) in a text file", path);
}

std::string valid_utf8(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = len > 0 && i + len <= s.size();
        for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
        if (ok) {
            out.append(s, i, len);
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

bool known_extension(const fs::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    static const char* kExts[] = {".txt", ".text", ".md", ".markdown", ".mdx", ".html", ".htm", ".xhtml", ".pdf", ".jsonl", ".ndjson"};
    return std::any_of(std::begin(kExts), std::end(kExts), [&](const char* e) { return ext == e; });
}

class ProgressBar {
public:
    ProgressBar(std::size_t total, bool enabled) : total_(total), enabled_(enabled) {}
    void update(std::size_t done, const std::string& file) {
        if (!enabled_) return;
        const int width = 30;
        const int filled = total_ ? static_cast<int>(width * done / total_) : width;
        std::string name = fs::path(file).filename().string();
        if (name.size() > 30) name = name.substr(0, 27) + "...";
        std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu %-30s", filled, "##############################", width - filled, "",
                     done, total_, name.c_str());
        std::fflush(stderr);
    }
    ~ProgressBar() {
        if (enabled_) std::fputc('\n', stderr);
    }

private:
    std::size_t total_;
    bool enabled_;
};

}  // namespace

std::string IngestSummary::to_string() const {
    std::string s = fmt::format("{} files: {} read, {} skipped; {} documents", files_seen, files_read, files_skipped, documents);
    if (records_skipped > 0) s += fmt::format("; {} bad records skipped", records_skipped);
    return s;
}

std::vector<Document> parse_jsonl(std::string_view text, std::string_view source, IngestSummary* summary) {
    std::vector<Document> docs;
    std::size_t line_no = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(start, nl - start);
        start = nl + 1;
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        try {
            Json j;
            try {
                j = Json::parse(line);
            } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number overflow
                WINNOW_THROW(Errc::Corrupt, "{} line {}: invalid JSON", source, line_no);
            }
            const std::string where = fmt::format("{} line {}", source, line_no);
            WINNOW_CHECK(j.is_object(), Errc::Corrupt, "{}: expected a JSON object", where);
            WINNOW_CHECK(j.contains("text") && j["text"].is_string(), Errc::Corrupt, "{}: missing string field 'text'", where);
            Document doc;
            std::string id;
            for (const char* key : {"id", "_id", "doc_id", "docid"}) {
                if (j.contains(key) && (j[key].is_string() || j[key].is_number())) {
                    id = j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
                    break;
                }
            }
            doc.id = id.empty() ? fmt::format("{}#{}", source, line_no) : id;
            doc.title = json_get_or<std::string>(j, "title", "", where);
            doc.source_path = std::string(source);
            Json meta = Json::object();
            for (auto it = j.begin(); it != j.end(); ++it) {
                if (it.key() != "text" && it.key() != "title" && it.key() != "id" && it.key() != "_id") meta[it.key()] = it.value();
            }
            doc.metadata_json = meta.dump();
            const std::string body = j["text"].get<std::string>();
            Document parsed = parse_text(body, source);
            doc.text = std::move(parsed.text);
            doc.blocks = std::move(parsed.blocks);
            doc.format = Format::Jsonl;
            if (doc.title.empty()) doc.title = doc.id;
            docs.push_back(std::move(doc));
        } catch (const Error& e) {
            if (summary == nullptr) throw;
            log::warn("skipping {}", e.what());
            ++summary->records_skipped;
            summary->skipped.push_back({fmt::format("{}:{}", source, line_no), e.what()});
        }
    }
    return docs;
}

std::vector<Document> read_file(const std::string& path, const ReadOptions& options, IngestSummary* summary) {
    const Format format = options.format == Format::Auto ? detect_format(path) : options.format;
    std::string data = read_bytes(path, options.max_file_bytes);
    std::vector<Document> out;
    switch (format) {
        case Format::Pdf:
            out.push_back(parse_pdf(data, path, options.max_document_bytes));
            break;
        case Format::Jsonl:
            check_text(data, path);
            out = parse_jsonl(valid_utf8(data), path, summary);
            break;
        case Format::Html:
            check_text(data, path);
            out.push_back(parse_html(valid_utf8(data), path));
            break;
        case Format::Markdown:
            check_text(data, path);
            out.push_back(parse_markdown(valid_utf8(data), path));
            break;
        case Format::Text:
        case Format::Auto:
            check_text(data, path);
            out.push_back(parse_text(valid_utf8(data), path));
            break;
    }
    for (auto& d : out) {
        WINNOW_CHECK(d.text.size() < (1ull << 32), Errc::TooLarge, "{}: text over 4 GiB", path);
    }
    return out;
}

std::vector<std::string> list_files(const std::vector<std::string>& paths) {
    std::vector<std::string> files;
    for (const auto& p : paths) {
        std::error_code ec;
        if (fs::is_directory(p, ec)) {
            std::vector<std::string> found;
            fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec), end;
            while (!ec && it != end) {
                const fs::path& entry = it->path();
                const bool hidden = entry.filename().string().rfind('.', 0) == 0;
                if (hidden) {
                    if (it->is_directory(ec)) it.disable_recursion_pending();
                } else if (!it->is_directory(ec) && known_extension(entry)) {
                    found.push_back(entry.string());
                }
                it.increment(ec);
            }
            std::sort(found.begin(), found.end());
            files.insert(files.end(), found.begin(), found.end());
        } else {
            files.push_back(p);  // files as given (a missing one is reported when read)
        }
    }
    return files;
}

IngestSummary read_paths(const std::vector<std::string>& paths, const ReadOptions& options,
                         const std::function<void(Document&&)>& on_document) {
    IngestSummary summary;
    const auto files = list_files(paths);
    bool show = false;
    if (options.progress == ReadOptions::Progress::Always) show = true;
    if (options.progress == ReadOptions::Progress::Auto) show = ::isatty(STDERR_FILENO) && files.size() >= 50;
    ProgressBar bar(files.size(), show);
    for (std::size_t i = 0; i < files.size(); ++i) {
        const std::string& file = files[i];
        ++summary.files_seen;
        bar.update(i, file);
        std::vector<Document> docs;
        try {
            docs = read_file(file, options, &summary);
        } catch (const Error& e) {
            log::warn("skipping: {}", e.what());  // the message names the file
            ++summary.files_skipped;
            summary.skipped.push_back({file, e.what()});
            continue;
        } catch (const std::exception& e) {  // e.g. std::bad_alloc, filesystem errors
            log::warn("skipping {}: {}", file, e.what());
            ++summary.files_skipped;
            summary.skipped.push_back({file, e.what()});
            continue;
        }
        ++summary.files_read;
        for (auto& d : docs) {
            ++summary.documents;
            on_document(std::move(d));
        }
    }
    bar.update(files.size(), "");
    return summary;
}

}  // namespace winnow::ingest
