// Documents from files into an index with the structure-aware token chunker: the path used by
// `winnow demo`, `winnow ask --input` and the end-to-end tests, and the plug-ins that let
// `winnow index` read HTML/PDF files and chunk by tokens ("structured" chunker).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ingest/chunker.h"
#include "ingest/reader.h"
#include "winnow/index.h"

namespace winnow::ingest {

struct FileIngestOptions {
    ingest::ReadOptions read;
    ingest::ChunkOptions chunk;
    // Tokenizer for chunk sizes: a model folder or hub id (the reranker's or embedder's);
    // "" counts approximately.
    std::string tokenizer_model;
};

struct FileIngestResult {
    ingest::IngestSummary read;
    winnow::IngestSummary index;
    std::size_t chunks = 0;
};

// Reads, chunks and upserts every document under `paths` (bad files skipped and counted), then
// finishes the writer (commit + index rebuild).
FileIngestResult ingest_files(Index& index, const std::vector<std::string>& paths, const FileIngestOptions& options,
                              std::shared_ptr<const Embedder> embedder = nullptr);

// The token counter for a tokenizer model ("" -> approximate).
ingest::TokenCounter make_token_counter(const std::string& tokenizer_model);

// Registers, once: the "structured" chunker for winnow::make_chunker
// ("structured", "structured(size=256,overlap=32)"), which parses Markdown structure from
// IndexDocument text (by the source path's extension), and file extractors for .html, .htm and
// .pdf in the corpus reader's `files` format.
void register_ingest_plugins();

}  // namespace winnow::ingest
