// CorpusStats: the collection statistics the learning-to-rank features need, taken from an index
// made by `winnow index` (or built in memory for tests):
//   - the chunk field: the index's own lexical index (analyzer, N, df, avgdl: Lucene's BM25 inputs);
//   - the title field: an inverted index over the documents' titles, built here with the lexical
//     module's Builder (the index has no title field of its own);
//   - document lengths in analyzed terms (title + text).
// Immutable once built; shared by every scorer over the same index directory and generation.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lexical/inverted_index.h"

namespace winnow::ltr {

// One document for an in-memory corpus (tests): its chunks are indexed as given.
struct StatsDocument {
    std::string id;
    std::string title;
    std::vector<std::string> chunks;  // chunk texts as indexed (may carry the title)
    std::string text;                 // the document text (for its length); "" = chunks joined
};

class CorpusStats {
public:
    // The statistics of an index directory, cached per (directory, store generation): a second
    // call for an unchanged index returns the same object. Throws Error(NotFound) when `dir`
    // holds no index.
    static std::shared_ptr<const CorpusStats> open_index(const std::string& dir);
    // Builds statistics over an in-memory corpus with the given analyzer spec ("english", ...).
    static std::shared_ptr<const CorpusStats> from_documents(const std::vector<StatsDocument>& docs,
                                                             std::string_view analyzer_spec = "english");

    const lexical::InvertedIndex& chunks() const noexcept { return *chunks_; }
    const lexical::InvertedIndex& titles() const noexcept { return *titles_; }
    const std::string& analyzer_spec() const noexcept { return analyzer_spec_; }
    // Analyzed terms of title + text of the document, or -1 when the document is unknown.
    std::int64_t document_length(std::string_view doc_id) const;
    std::size_t document_count() const noexcept { return doc_lengths_.size(); }
    // The collection language model over documents' title + text: cf(term) / total terms (0 when unseen).
    double collection_probability(std::string_view term) const;

    // Collection term frequencies (term -> occurrences in titles and texts), set by the builders.
    void set_collection_frequencies(std::unordered_map<std::string, std::uint64_t> cf);

    CorpusStats(std::shared_ptr<const lexical::InvertedIndex> chunks, std::shared_ptr<const lexical::InvertedIndex> titles,
                std::unordered_map<std::string, std::uint32_t> doc_lengths, std::string analyzer_spec);

private:
    std::shared_ptr<const lexical::InvertedIndex> chunks_;
    std::shared_ptr<const lexical::InvertedIndex> titles_;
    std::unordered_map<std::string, std::uint32_t> doc_lengths_;
    std::string analyzer_spec_;
    std::unordered_map<std::string, std::uint64_t> cf_;
    std::uint64_t total_terms_ = 0;
};

}  // namespace winnow::ltr
