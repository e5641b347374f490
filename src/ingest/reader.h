// Reading documents from files and folders: format detection, the structure parsers, JSONL
// records, and a walk that skips unreadable or corrupt files with a message and counts them.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "ingest/document.h"

namespace winnow::ingest {

struct SkippedFile {
    std::string path;
    std::string reason;
};

struct IngestSummary {
    std::size_t files_seen = 0;
    std::size_t files_read = 0;
    std::size_t files_skipped = 0;  // unreadable, corrupt, unsupported
    std::size_t records_skipped = 0;  // bad JSONL lines (the rest of the file is read)
    std::size_t documents = 0;
    std::vector<SkippedFile> skipped;  // files and records, with the reason

    std::string to_string() const;  // "12 files: 11 read, 1 skipped; 40 documents"
};

struct ReadOptions {
    Format format = Format::Auto;        // Auto: by extension
    std::size_t max_file_bytes = 256u << 20;  // larger files are skipped (TooLarge)
    std::size_t max_document_bytes = 16u << 20;  // text extracted from one PDF; beyond: skipped (TooLarge)
    // Progress bar on stderr: Auto shows it only when stderr is a terminal and there are many files.
    enum class Progress { Auto, Never, Always } progress = Progress::Auto;
};

// One file -> its documents (one, or one per JSONL record). Throws Error (NotFound, Io, Corrupt,
// Unsupported, TooLarge) naming the file. Bad JSONL lines are skipped into `summary` when given,
// else they throw.
std::vector<Document> read_file(const std::string& path, const ReadOptions& options = {},
                                IngestSummary* summary = nullptr);
// JSONL records {"id"|"_id", "title", "text", ...other fields kept as metadata}.
std::vector<Document> parse_jsonl(std::string_view text, std::string_view source, IngestSummary* summary = nullptr);

// Files under `paths` (files as given; folders walked recursively in sorted order, hidden entries
// skipped, only known document extensions: txt, md, markdown, html, htm, pdf, jsonl, ndjson, text).
std::vector<std::string> list_files(const std::vector<std::string>& paths);

// Reads everything under `paths`, calling `on_document` for each document in order. A file that
// fails is logged (warn), recorded in the summary and skipped; the walk continues.
IngestSummary read_paths(const std::vector<std::string>& paths, const ReadOptions& options,
                         const std::function<void(Document&&)>& on_document);

}  // namespace winnow::ingest
