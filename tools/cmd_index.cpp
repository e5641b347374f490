// `winnow index`: read corpora (BEIR, TREC, SMART, files) into an index directory.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli_io.h"
#include "command.h"
#include "core/log.h"
#include "core/progress.h"
#include "ingest/corpus_reader.h"
#include "winnow/embedder.h"
#include "winnow/error.h"
#include "winnow/index.h"
#include "retrieval/external_engine.h"

namespace winnow::cli {
namespace {

struct IndexArgs {
    std::string index;
    std::vector<std::string> inputs;
    std::vector<std::string> delete_ids;
    std::vector<std::string> delete_paths;
    std::string format = "auto";
    std::string embed_model;
    std::string dense;
    std::string chunker = "document";
    std::string analyzer = "english";
    std::string bm25 = "bm25(k1=0.9,b=0.4)";
    std::string merge_policy;
    std::size_t batch = 500;
    ingest::CorpusLimits limits;
    std::string to;          // --to xapian:DIR | elasticsearch:URL/INDEX
    std::size_t shards = 1;  // --shards (xapian)
    bool keep_missing = false;
    bool json = false;
    bool quiet = false;
};

// --to: the index's chunks into an external engine (after this run's changes).
Json export_index(const Index& index, const IndexArgs& a) {
    const retrieval::ExportTarget target = retrieval::parse_export_target(a.to);
    WINNOW_CHECK(target.engine == "xapian" || a.shards == 1, Errc::InvalidArgument,
                 "--shards {}: only xapian targets are sharded by winnow (Elasticsearch shards its index itself)", a.shards);
    const auto start = std::chrono::steady_clock::now();
    retrieval::ExportSummary s;
    if (target.engine == "xapian") {
        s = retrieval::export_to_xapian(index, target.path, a.shards);
    } else {
        retrieval::ElasticsearchExportOptions o;
        o.url = target.url;
        o.index = target.index;
        o.batch_documents = a.batch;
        o.opensearch = target.opensearch;
        s = retrieval::export_to_elasticsearch(index, o);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return Json{{"to", a.to},           {"engine", target.engine},           {"chunks", s.chunks},
                {"empty_chunks", s.empty_chunks}, {"skipped_terms", s.skipped_terms}, {"shards", s.shards},
                {"embeddings", s.embeddings},     {"deleted", s.deleted},             {"paths", s.paths},
                {"seconds", seconds}};
}

void print_export(const Json& e, bool json) {
    if (json) {
        write_json_line(e);
        return;
    }
    std::printf("%s: %zu chunks written", e["to"].get<std::string>().c_str(), e["chunks"].get<std::size_t>());
    if (e["shards"].get<std::size_t>() > 0) std::printf(" into %zu shard(s)", e["shards"].get<std::size_t>());
    if (e["embeddings"].get<std::size_t>() > 0) std::printf(", %zu vectors", e["embeddings"].get<std::size_t>());
    if (e["deleted"].get<std::size_t>() > 0) {
        std::printf(", %zu chunks no longer in the index deleted", e["deleted"].get<std::size_t>());
    }
    if (e["empty_chunks"].get<std::size_t>() > 0)
        std::printf(", %zu chunks without index terms left out", e["empty_chunks"].get<std::size_t>());
    std::printf(" in %.2f s\n", e["seconds"].get<double>());
}

int run_index(const IndexArgs& a) {
    namespace fs = std::filesystem;
    const auto start = std::chrono::steady_clock::now();
    if (a.inputs.empty() && a.delete_ids.empty() && a.delete_paths.empty() && !a.to.empty()) {
        // Only the export: the index as it is.
        print_export(export_index(*Index::open(a.index), a), a.json);
        return 0;
    }
    WINNOW_CHECK(!a.inputs.empty() || !a.delete_ids.empty() || !a.delete_paths.empty(), Errc::InvalidArgument,
                 "nothing to do: give --input, --delete, --delete-path or --to");
    const ingest::CorpusFormat format = ingest::parse_corpus_format(a.format);
    Chunker chunker = make_chunker(a.chunker);
    // Before the index is created: a failed run must not leave an empty index behind that then answers.
    for (const auto& input : a.inputs) {
        std::error_code ec;
        WINNOW_CHECK(fs::exists(input, ec), Errc::NotFound, "--input {}: no such file or folder", input);
    }

    IndexConfig config;
    config.analyzer = a.analyzer;
    config.bm25 = a.bm25;
    config.merge_policy = a.merge_policy;
    std::shared_ptr<const Embedder> embedder;
    if (!a.embed_model.empty()) {
        embedder = Embedder::load(a.embed_model);
        config.dense = a.dense.empty() ? "Flat" : a.dense;
        config.embed_model = a.embed_model;
    } else {
        WINNOW_CHECK(a.dense.empty(), Errc::InvalidArgument, "--dense {} needs --embed-model", a.dense);
    }
    auto index = Index::create(a.index, config, embedder);
    if (index->has_dense() && !embedder) {
        // An index with a dense side keeps its vectors in step: load the model it was built with.
        WINNOW_CHECK(!index->config().embed_model.empty(), Errc::InvalidArgument,
                     "{}: the index has a dense side; pass --embed-model", a.index);
        embedder = Embedder::load(index->config().embed_model);
    }
    WriteOptions options;
    options.embedder = embedder;
    options.chunker = chunker;
    options.batch_documents = a.batch;
    options.max_document_bytes = a.limits.max_document_bytes;
    // Embedding is the slow part of indexing: its progress (chunks; the total is not known ahead).
    Progress embedding("index: chunks embedded", 0, embedder ? progress_mode(a.quiet) : ProgressMode::Off);
    options.on_embedded = [&embedding](std::size_t n) { embedding.add(n); };
    auto writer = index->writer(options);

    std::size_t read = 0;
    std::size_t skipped = 0;
    std::vector<std::string> errors;
    for (const auto& id : a.delete_ids) {
        if (!writer->remove(id)) log::warn("--delete {}: no such document", id);
    }
    for (const auto& path : a.delete_paths) {
        if (writer->remove_path(path) == 0) log::warn("--delete-path {}: no document from this file", path);
    }
    auto sink = [&](ingest::CorpusDocument&& d) {
        IndexDocument doc{std::move(d.id), std::move(d.title), std::move(d.text), std::move(d.metadata_json),
                          std::move(d.source_path)};
        try {
            writer->upsert(doc);
        } catch (const Error& e) {
            // Bad or oversized documents are skipped and reported; anything else ends the run.
            if (e.code() != Errc::InvalidArgument && e.code() != Errc::Corrupt && e.code() != Errc::TooLarge) throw;
            ++skipped;
            if (errors.size() < 100) errors.push_back(fmt::format("document '{}': {}, skipped", doc.id, e.what()));
        }
        ++read;
        if (read % 10000 == 0) log::info("{} documents read", read);
    };
    for (const auto& input : a.inputs) {
        const ingest::CorpusFormat f = format == ingest::CorpusFormat::Auto ? ingest::detect_corpus_format(input) : format;
        auto stats = ingest::read_corpus(input, f, sink, a.limits);
        skipped += stats.skipped;
        for (auto& e : stats.errors) {
            if (errors.size() < 100) errors.push_back(std::move(e));
        }
        // Files that vanished from an indexed folder leave the index too.
        if (f == ingest::CorpusFormat::Files && fs::is_directory(input) && !a.keep_missing) {
            std::string root = fs::path(input).lexically_normal().string();
            if (!root.empty() && root.back() != '/') root.push_back('/');
            for (const auto& path : index->source_paths()) {
                if (path.compare(0, root.size(), root) == 0 && !fs::exists(path)) writer->remove_path(path);
            }
        }
    }
    const IngestSummary s = writer->finish();
    embedding.finish();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (a.json) {
        Json j = {{"index", a.index},       {"read", read},          {"added", s.added},
                  {"replaced", s.replaced}, {"unchanged", s.unchanged}, {"removed", s.removed},
                  {"skipped", skipped},     {"chunks", s.chunks},    {"documents", index->document_count()},
                  {"segments", index->segment_count()},
                  {"seconds", seconds},     {"errors", errors}};
        write_json_line(j);
    } else {
        std::printf("%s: read %zu documents in %.2f s (%.0f docs/s): %zu added, %zu replaced, %zu unchanged, "
                    "%zu removed, %zu skipped; %zu documents, %zu chunks in the index (%zu segments)\n",
                    a.index.c_str(), read, seconds, seconds > 0 ? static_cast<double>(read) / seconds : 0.0, s.added,
                    s.replaced, s.unchanged, s.removed, skipped, index->document_count(), index->chunk_count(),
                    index->segment_count());
        for (const auto& e : errors) std::fprintf(stderr, "winnow: %s\n", e.c_str());  // each once, naming the file
        if (skipped > errors.size())
            std::fprintf(stderr, "winnow: ... and %zu more skipped\n", skipped - errors.size());
    }
    if (!a.to.empty()) print_export(export_index(*index, a), a.json);
    return 0;
}

CommandRegistrar registrar("index", [](CLI::App& app) {
    auto* sub = app.add_subcommand("index", "Add documents to an index directory (created when missing)");
    auto a = std::make_shared<IndexArgs>();
    sub->add_option("--index", a->index, "Index directory")->required();
    sub->add_option("--input", a->inputs, "Corpus file or folder (repeatable)")->expected(1, -1);
    sub->add_option("--delete", a->delete_ids, "Remove documents by id (repeatable)")->expected(1, -1);
    sub->add_option("--delete-path", a->delete_paths, "Remove the documents read from a file (repeatable)")
        ->expected(1, -1);
    sub->add_option("--format", a->format, "auto|beir|trec|smart|files")
        ->check(CLI::IsMember({"auto", "beir", "trec", "smart", "files"}));
    sub->add_option("--embed-model", a->embed_model, "Embedding model folder or hub name (adds a dense index)");
    sub->add_option("--dense", a->dense, "FAISS factory string for the dense index: Flat (default) or HNSW32");
    sub->add_option("--chunker", a->chunker, "Chunking strategy: document (default), paragraph(max_chars=N), ...");
    sub->add_option("--analyzer", a->analyzer, "Analyzer when creating: english (default) or standard");
    sub->add_option("--bm25", a->bm25, "Default BM25 parameters when creating, e.g. bm25(k1=0.9,b=0.4)");
    sub->add_option("--merge-policy", a->merge_policy,
                    "How segments merge: tiered (default), tiered(segments_per_tier=10,floor=10000,deletes=0.3) or "
                    "none; kept by the index");
    sub->add_option("--batch", a->batch, "Documents per committed transaction")->check(CLI::PositiveNumber);
    sub->add_option("--max-document-bytes", a->limits.max_document_bytes,
                    "Largest document (record, or extracted text) in bytes; larger ones are skipped (default 16 MiB)")
        ->check(CLI::PositiveNumber);
    sub->add_option("--max-file-bytes", a->limits.max_file_bytes,
                    "Largest input file of the files format in bytes; larger ones are skipped (default 256 MiB)")
        ->check(CLI::PositiveNumber);
    sub->add_option("--to", a->to,
                    "Also write the index's chunks (text stored, the index's analyzer and BM25 parameters) into an "
                    "external engine: xapian:DIR or elasticsearch:http://host:9200/INDEX (alone: export only)");
    sub->add_option("--shards", a->shards, "With --to xapian:DIR: databases to spread the chunks over (DIR/shard-<i>)")
        ->check(CLI::Range(1, 1024));
    sub->add_flag("--keep-missing", a->keep_missing, "Keep documents whose files vanished from an input folder");
    sub->add_flag("--json", a->json, "Print the summary as JSON");
    sub->add_flag("--quiet", a->quiet,
                  "No progress on stderr (shown while embedding: a bar on a terminal, else a line at 10, 20, 50, 100, "
                  "... chunks)");
    return [a]() { return run_index(*a); };
});

}  // namespace
}  // namespace winnow::cli
