// Test collections for evaluation: queries, graded judgments per split, and where the documents are.
//
// load_dataset() recognises a folder by its files: BEIR (queries.jsonl, qrels/<split>.tsv,
// corpus.jsonl[.gz]), TREC (topics + qrels + <DOC> corpus, e.g. NPL), the SMART collections
// (Cranfield, CISI, MEDLINE, CACM, ADI), LISA and WikiQA, applying each one's documented quirks
// (see Dataset::notes). Documents themselves are read by the ingest corpus readers.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "winnow/eval.h"

namespace winnow::eval {

enum class CorpusFormat { Beir, Trec, Smart, Lisa, WikiQa };
std::string_view corpus_format_name(CorpusFormat format) noexcept;

struct Query {
    std::string id;
    std::string text;
};

struct Dataset {
    std::string name;  // the folder's name
    std::string dir;
    std::string kind;  // "beir", "trec", "cranfield", "smart", "lisa", "wikiqa"
    CorpusFormat corpus_format = CorpusFormat::Beir;
    std::vector<std::string> corpus_paths;  // files holding the documents, in order
    std::vector<Query> queries;             // every query of the collection, file order
    std::map<std::string, Qrels> splits;    // split name -> judgments
    std::vector<std::string> notes;         // quirks applied while loading

    std::string default_split() const;  // "test" when present, else the first split
    // Throws Error(NotFound) naming the available splits.
    const Qrels& qrels(const std::string& split) const;
    // The queries judged in `split`, in file order (the ones an evaluation runs).
    std::vector<Query> queries_for(const std::string& split) const;
};

// Recognises and loads a collection folder; Error(NotFound/Unsupported/Corrupt) names the file at fault.
Dataset load_dataset(const std::string& dir);

// Queries from a file: BEIR queries.jsonl ({"_id","text"}), TREC topics (<top><num><title>),
// SMART (.I/.W), TSV "id<TAB>text", or plain text (one query per line, ids 1, 2, ...).
std::vector<Query> load_queries(const std::string& path);

// Readers for the individual formats (exposed for tests).
std::vector<Query> parse_beir_queries(std::string_view text, std::string_view where);
Qrels parse_beir_qrels(std::string_view text, std::string_view where);
std::vector<Query> parse_trec_topics(std::string_view text, std::string_view where);
// SMART records (.I id, then fields). Query text = .T and .W joined; records with empty text dropped.
std::vector<Query> parse_smart_queries(std::string_view text, std::string_view where);
// "qid docid 0 0" pair lists (ADI, CISI, CACM): every pair relevant with grade 1.
Qrels parse_smart_pairs(std::string_view text, std::string_view where);
// Cranfield: query ids are positions in cran.qry; codes 1 (best) .. 4 (least) become grades 4 .. 1
// and -1 ("no relevance") grade 0.
Qrels parse_cranfield_qrels(std::string_view text, std::string_view where);
std::vector<Query> parse_lisa_queries(std::string_view text, std::string_view where);
// LISARJ.NUM: "qid n doc1 ... docn" as a stream of numbers.
Qrels parse_lisa_judgments(std::string_view text, std::string_view where);
// WikiQA TSV: queries (QuestionID, Question) and qrels (QuestionID, SentenceID, Label), keeping only
// questions with at least one correct sentence (the standard "answerable" test set).
void parse_wikiqa(std::string_view text, std::string_view where, std::vector<Query>& queries, Qrels& qrels,
                  std::size_t& n_unanswerable);

// "007" -> "7"; a non-numeric id is returned unchanged.
std::string normalize_numeric_id(std::string_view id);

}  // namespace winnow::eval
