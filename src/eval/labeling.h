// Manual relevance labeling (`winnow label`): for each query, the union of the top-n final results
// across several first-stage k values, shuffled (seeded) and shown without scores or k, judged
// relevant / not relevant / skip. Every judgment is appended to a TREC qrels file and fsync'ed
// before the next one is asked, so an interrupted session loses nothing and a rerun resumes
// with the pairs not yet labelled.
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "eval/dataset.h"
#include "eval/sweep.h"

namespace winnow::eval {

struct LabelCandidate {
    std::string doc_id;
    std::string title;
    std::string text;
};

struct LabelTask {
    Query query;
    std::vector<LabelCandidate> candidates;  // shuffled union, no order information
};

// Runs the ranker at each k, takes the top `top_n` final results, unions them per query (first
// occurrence keeps its text) and shuffles each union with a generator seeded by (seed, query id).
std::vector<LabelTask> build_label_tasks(Ranker& ranker, const std::vector<Query>& queries,
                                         const std::vector<std::size_t>& ks, std::size_t top_n, std::uint64_t seed);

// The (query, document) pairs already labelled in a qrels file (missing file: none). A last line
// cut short by a crash (no newline, not 4 fields) is dropped from the file.
std::set<std::pair<std::string, std::string>> load_labelled_pairs(const std::string& path);

struct LabelStats {
    std::size_t labelled = 0;         // judgments written in this session
    std::size_t relevant = 0;         // of which relevant
    std::size_t skipped = 0;          // pairs skipped (asked again next time)
    std::size_t already = 0;          // pairs found in the file from earlier sessions
    std::size_t remaining = 0;        // pairs neither labelled nor skipped when the session ended
    bool quit = false;                // the person typed q, or input ended
};

// The terminal loop: reads one answer per line from `in` (r/y/1 relevant, n/0 not relevant,
// s skip, q quit, ? help; anything else asks again) and appends "qid 0 docid grade" lines to
// `qrels_path`, fsync'ed one by one.
LabelStats run_labeling(const std::vector<LabelTask>& tasks, const std::string& qrels_path, std::istream& in,
                        std::ostream& out, std::size_t max_chars = 1200);

}  // namespace winnow::eval
