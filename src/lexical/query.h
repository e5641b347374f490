// The query side shared by one segment (InvertedIndex) and a snapshot of segments
// (SegmentSearcher): the analyzed bag of words, hits and the Lucene-style explanation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lexical/analyzer.h"
#include "lexical/bm25.h"

namespace winnow::lexical {

struct LexicalHit {
    std::int64_t chunk_id = 0;
    std::uint32_t doc = 0;      // document number within its segment
    std::uint32_t segment = 0;  // position of the segment in the searched snapshot (0 for one index)
    float score = 0.0f;
};

struct QueryTerm {
    std::string term;
    float boost = 1.0f;
};

struct Bm25Query {
    std::vector<QueryTerm> terms;  // unique terms, first-occurrence order
};

// Analyzes a query string into a bag of words; repeated terms get boost = count (as Anserini's
// BagOfWordsQueryGenerator does).
Bm25Query make_query(std::string_view text, Analyzer& analyzer);

struct TermExplanation {
    std::string term;
    float boost = 1.0f;
    std::uint64_t doc_freq = 0;   // combined over the searched segments
    std::uint64_t doc_count = 0;  // combined over the searched segments
    float idf = 0.0f;
    std::uint32_t tf = 0;
    std::uint32_t doc_length = 0;      // exact length (terms indexed)
    std::uint32_t encoded_length = 0;  // the length Lucene's one-byte norm decodes to
    float avgdl = 0.0f;
    float score = 0.0f;
};

struct Explanation {
    std::int64_t chunk_id = 0;
    float score = 0.0f;
    Bm25Params params;
    std::vector<TermExplanation> terms;  // every query term, tf = 0 when absent
    std::string to_string() const;       // Lucene-style indented text
};

}  // namespace winnow::lexical
