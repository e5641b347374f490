// Append-only TREC qrels for the web UI's labels ("qid 0 docid grade" lines, each fsync'ed), plus
// a "<path>.queries.tsv" file mapping each query id to its text so `winnow eval --qrels` users
// can see what was asked. A later label of the same (query, doc) pair is appended too; readers
// keep the last one.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

namespace winnow::server {

class QrelsWriter {
public:
    explicit QrelsWriter(std::string path);

    // A stable id for a query text: "ui-" and 16 hex digits of its 64-bit FNV-1a hash.
    static std::string query_id_for(std::string_view query);

    // Appends one judgment; returns the query id used. Throws Error(Io) when the file cannot be
    // written.
    std::string append(std::string query_id, std::string_view query, std::string_view doc_id, int relevance);

    // The labels of one query id, last one per document (those of earlier sessions included):
    // what the web UI shows again when the query is searched after a reload.
    std::map<std::string, int> labels(const std::string& query_id) const;

    const std::string& path() const noexcept { return path_; }

private:
    void append_line(const std::string& file, const std::string& line);

    std::string path_;
    mutable std::mutex mutex_;
    std::set<std::string> known_queries_;
    std::map<std::string, std::map<std::string, int>> labels_;  // query id -> doc id -> relevance
};

}  // namespace winnow::server
