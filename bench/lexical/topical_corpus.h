// A deterministic synthetic corpus with topical structure, built from the shared collections
// (the 11 folders of ../shared/data/ir: NPL, SciFact, Cranfield, CISI, CACM, MEDLINE, LISA, ADI,
// the DBpedia and MS MARCO subsets, WikiQA; about 62k real documents).
//
// Each passage takes one real document as its source and draws its words one by one: 70% from
// the source document's own words (so its term frequencies, with repetition), 20% from its
// collection's words (the topic: medicine, aeronautics, computing, physics, ...) and 10% from all
// collections (background). Lengths are uniform in 20..100 words (mean 60, a chunk). Passages
// from one source share its rare words, so terms cluster by document and topic as in real text
// (unlike words drawn independently from one unigram model, which defeats every pruning method).
// The queries are the collections' own queries (every query of every folder), which are about
// the sources' topics. A passage repeats its words about as often as the real documents do
// (`bench_lexical --stats` against `--sources`: 76% of postings have tf 1, mean tf 1.47; in the
// ~46k sources themselves 78% and 1.42). Its blocks' score bounds lie somewhat closer to their
// terms' bounds than the sources' do (at 62k chunks, >= 0.9 of the term's bound in 90% of the
// query terms' blocks; in the sources 77%; at 1M chunks 81%).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace winnow::bench {

class TopicalCorpus {
public:
    // Reads the collections under shared_dir/data/ir (throws Error when none can be read).
    explicit TopicalCorpus(const std::string& shared_dir);

    std::size_t source_count() const noexcept { return docs_.size(); }
    std::size_t vocabulary_size() const noexcept { return words_.size(); }
    const std::vector<std::string>& queries() const noexcept { return queries_; }
    const std::vector<std::string>& collections() const noexcept { return collection_names_; }

    // Passage `index` of the corpus of `seed`: the same text for the same (seed, index) whatever
    // else was generated (each passage has its own random stream), so a corpus can be generated
    // in any order, in parallel, or extended.
    void passage(std::uint64_t seed, std::uint64_t index, std::string& out) const;
    // Source document `i` as read (lower-cased words): the real text, for bench_lexical --sources.
    void source(std::size_t i, std::string& out) const;

private:
    struct Source {
        std::uint64_t begin, end;  // its word occurrences in occurrences_
        std::uint32_t collection;
    };
    std::vector<std::string> words_;
    std::vector<std::uint32_t> occurrences_;                    // word ids, document after document
    std::vector<std::pair<std::uint64_t, std::uint64_t>> collection_range_;  // per collection
    std::vector<Source> docs_;
    std::vector<std::string> queries_;
    std::vector<std::string> collection_names_;
};

}  // namespace winnow::bench
