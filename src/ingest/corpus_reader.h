// Corpus readers: turn test collections and plain files into documents.
//   beir   corpus.jsonl or corpus.jsonl.gz ({"_id", "title", "text", "metadata"}), or a folder holding one
//   trec   <DOC><DOCNO>id</DOCNO> ... </DOC> files (optionally gzip-compressed); tags are stripped,
//          <TITLE>/<HEADLINE>/<HEAD> becomes the title
//   smart  the classic SMART collections: .I id, .T title, .W text (.A .B .N .X ... kept as metadata);
//          also LISA's "Document N" / "****" layout
//   files  a text/Markdown file, or a folder walked recursively (.txt .md .markdown .text, plus
//          any extension registered with register_file_extractor, e.g. HTML/PDF by the ingest module)
// Bad records are skipped with a warning and counted; a missing path throws Error(NotFound).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace winnow::ingest {

struct CorpusDocument {
    std::string id;
    std::string title;
    std::string text;
    std::string metadata_json = "{}";
    std::string source_path;
};

enum class CorpusFormat { Auto, Beir, Trec, Smart, Files };

CorpusFormat parse_corpus_format(std::string_view name);  // "auto|beir|trec|smart|files", throws Error
std::string_view corpus_format_name(CorpusFormat format) noexcept;
// Guesses the format of a path: a folder with corpus.jsonl[.gz] or a *.jsonl[.gz] file is beir,
// a file starting with <DOC> is trec, one starting with ".I " or "Document " is smart, else files.
CorpusFormat detect_corpus_format(const std::string& path);

struct CorpusStats {
    std::size_t documents = 0;
    std::size_t skipped = 0;  // malformed records or unreadable files
    std::vector<std::string> errors;  // one message per skipped item (first 100)
};

using DocumentSink = std::function<void(CorpusDocument&&)>;

// What one input item may cost (hardening). An item over a limit is skipped with an error naming
// the limit and its size (counted in CorpusStats); reading goes on with the next one.
struct CorpusLimits {
    std::size_t max_file_bytes = 256u << 20;     // one file of the files format (text, Markdown, HTML, PDF)
    std::size_t max_document_bytes = 16u << 20;  // one record: a JSONL line, a TREC <DOC>, a SMART document
};

// Reads one input path in the given format (Auto: detect_corpus_format), calling sink per document.
CorpusStats read_corpus(const std::string& path, CorpusFormat format, const DocumentSink& sink,
                        const CorpusLimits& limits = {});

// Reads a single file as one document (files format). Returns nullopt when the extension is not
// handled. Throws Error for an unreadable file.
std::optional<CorpusDocument> read_file_document(const std::string& path);

// Extracts a document from a file of a given extension (lower case, with the dot: ".html").
// Lets other readers (HTML, PDF) plug into the `files` format.
using FileExtractor = std::function<std::optional<CorpusDocument>(const std::string& path)>;
void register_file_extractor(std::string extension, FileExtractor extractor);

// Line-oriented reading of plain or gzip-compressed files (zlib detects which).
class LineReader {
public:
    explicit LineReader(const std::string& path);
    ~LineReader();
    LineReader(const LineReader&) = delete;
    LineReader& operator=(const LineReader&) = delete;
    // Next line without its "\n" / "\r\n"; false at end of file. Throws Error(Io/Corrupt).
    // A line longer than max_line_bytes is read past and returned empty, with oversized() true.
    bool next(std::string& line);
    std::size_t line_number() const noexcept { return line_no_; }
    void set_max_line_bytes(std::size_t n) noexcept { max_line_ = n; }
    bool oversized() const noexcept { return oversized_; }

private:
    std::string path_;
    void* gz_ = nullptr;
    std::size_t line_no_ = 0;
    std::size_t max_line_ = static_cast<std::size_t>(-1);
    bool oversized_ = false;
    std::string buf_;
};

}  // namespace winnow::ingest
