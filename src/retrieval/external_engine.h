// First stages on existing engines: Xapian (local databases, or xapian-tcpsrv shards searched as
// one database) and Elasticsearch/OpenSearch (`_search` over HTTP). Each returns candidates with
// their text from the engine's stored fields, so a pipeline over them needs no index directory;
// `winnow index --to xapian:DIR | elasticsearch:URL/INDEX` writes an index's chunks into them.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "winnow/candidate.h"

namespace winnow {
class Index;
}

namespace winnow::retrieval {

class ExternalEngine {
public:
    virtual ~ExternalEngine() = default;
    // The options.k best chunks, best first (ties: lower chunk id first), with their text. Thread-safe.
    virtual std::vector<Candidate> search(std::string_view query, const SearchOptions& options) const = 0;
    // What runs, e.g. "xapian(bm25(k1=0.9,b=0.4), 3 shards)".
    virtual std::string describe(const SearchOptions& options) const = 0;
};

// Throws Error naming the database, shard or URL at fault when it cannot be opened.
std::shared_ptr<const ExternalEngine> make_xapian_engine(const ExternalStageOptions& options);
std::shared_ptr<const ExternalEngine> make_elasticsearch_engine(const ExternalStageOptions& options);

struct ExportSummary {
    std::size_t chunks = 0;          // chunks written
    std::size_t empty_chunks = 0;    // chunks with no index term (no query can match them): not written
    std::size_t skipped_terms = 0;   // term occurrences over the engine's term length limit (xapian)
    std::size_t shards = 0;          // databases written (xapian)
    std::size_t embeddings = 0;      // vectors written (elasticsearch, when the index has a dense side)
    std::size_t deleted = 0;         // chunks deleted from an existing engine index (elasticsearch)
    std::vector<std::string> paths;  // what was written (xapian shard folders; the elasticsearch index URL)
};

// Every chunk of the index, in batches (chunk id order), with document id, title, source, text and span.
void for_each_index_chunk(const Index& index, const std::function<void(std::vector<Candidate>&)>& batch_fn,
                          std::size_t batch_size = 1000);

// Writes the index's chunks into `shards` Xapian databases under `dir` (dir/shard-<i>, a chunk goes to
// shard hash(chunk_id) % shards), replacing what was there, plus a stub (dir/XAPIANDB) that opens them
// all as one database. Terms are the index's own analyzer's; the chunk id is in value slot 0 (8 bytes,
// big-endian) and the document data is JSON {chunk_id, doc_id, title, source, text, begin, end}.
ExportSummary export_to_xapian(const Index& index, const std::string& dir, std::size_t shards);

struct ElasticsearchExportOptions {
    std::string url;    // base URL, e.g. http://localhost:9200
    std::string index;  // index name
    std::size_t batch_documents = 500;       // chunks per _bulk request at most
    std::size_t batch_bytes = 5u << 20;      // bytes per _bulk request at most (one chunk may exceed it)
    std::size_t timeout_ms = 60000;          // per request
    std::size_t retries = 3;                 // rounds for items rejected with 429 (queue full)
    std::int64_t export_id = 0;              // stamped on every chunk written; 0: the clock's microseconds
    bool opensearch = false;                 // the cluster is OpenSearch: vectors as knn_vector, index.knn
};
// The index's settings and mapping: `text` analyzed with `analyzer` ("english" or "standard"), BM25 with
// k1 and b, the chunk fields, and with dense_dimension > 0 an "embedding" field: Elasticsearch's
// dense_vector (cosine, indexed), or OpenSearch's knn_vector (HNSW, cosinesimil, Lucene engine, in an
// index with index.knn on).
Json elasticsearch_mapping(const std::string& analyzer, float k1, float b, std::size_t dense_dimension,
                           bool opensearch);
// Creates the index (mapping: text analyzed like the winnow index, BM25 with its k1/b; an existing index
// is reused) and writes every chunk with `_bulk`, _id = chunk id, each stamped with this export's id
// (field "winnow_export"); then the vectors when the index has a dense side (dense_vector field
// "embedding"); then _refresh. Into an existing index, it then deletes what this export did not write
// (`_delete_by_query` on another stamp, or none): the chunks deleted from the winnow index since the
// last export. The Elasticsearch index is the winnow index's copy: one winnow index exports into it.
// Throws Error listing the chunks the engine rejected (per-item errors of _bulk), after retrying those
// rejected for a full queue, or naming the deletions that failed.
ExportSummary export_to_elasticsearch(const Index& index, const ElasticsearchExportOptions& options);

// "xapian:DIR" or "elasticsearch:http://host:9200/INDEX" (also "opensearch:..."): the engine and where.
struct ExportTarget {
    std::string engine;  // xapian | elasticsearch (both "elasticsearch:" and "opensearch:")
    bool opensearch = false;  // written "opensearch:..."
    std::string path;    // xapian: folder
    std::string url;     // elasticsearch: base URL
    std::string index;   // elasticsearch: index name
};
ExportTarget parse_export_target(std::string_view text);  // throws Error(InvalidArgument)

}  // namespace winnow::retrieval
