// Candidate collection and labelling for learning-to-rank training.
#include "ltr/training_set.h"

#include <cstdio>

#include "eval/harness.h"
#include "ltr/features.h"
#include "ltr/ltr_scorer.h"
#include "models/model_path.h"
#include "winnow/embedder.h"
#include "winnow/error.h"
#include "winnow/index.h"
#include "winnow/reranker.h"

namespace winnow::ltr {

Collection collect_candidates(const std::string& dataset_dir, const std::string& split, const PipelineSpec& spec,
                              const CollectionOptions& options) {
    Collection c;
    c.dataset = eval::load_dataset(dataset_dir);
    c.split = split.empty() ? c.dataset.default_split() : split;
    const eval::Qrels& qrels = c.dataset.qrels(c.split);
    (void)qrels;
    if (options.index_dir.empty()) {
        const std::string cache = options.cache_dir.empty() ? eval::default_eval_cache_dir() : options.cache_dir;
        std::unique_ptr<Index> index = eval::open_dataset_index(c.dataset, cache, false);
        c.index_dir = index->dir();
    } else {
        c.index_dir = options.index_dir;
    }
    PipelineSpec first;
    first.stages.push_back(spec.stages.front());
    std::shared_ptr<const Embedder> embedder;
    std::shared_ptr<const Reranker> reranker;
    if (const StageSpec* ltr = spec.find("ltr")) {
        if (auto m = ltr->get("embed_model")) embedder = Embedder::load(resolve_model_path(*m));
        if (auto m = ltr->get("rerank_model")) reranker = Reranker::load(resolve_model_path(*m));
    }
    const Pipeline pipeline = Pipeline::open_index(c.index_dir, first);
    const FeatureExtractor extractor(CorpusStats::open_index(c.index_dir));
    const std::vector<eval::Query> queries = c.dataset.queries_for(c.split);
    Progress progress(fmt::format("train-ltr {}/{}: queries", c.dataset.name, c.split), queries.size(),
                      options.progress);
    for (const auto& q : queries) {
        QueryCandidates qc;
        qc.qid = q.id;
        qc.query = q.text;
        PipelineResult r = pipeline.run(q.text);
        for (auto& h : r.hits) qc.candidates.push_back(std::move(h.candidate));
        const ExternalSignals signals = compute_signals(q.text, qc.candidates, embedder.get(), reranker.get());
        qc.features = extractor.extract(q.text, qc.candidates, signals);
        c.queries.push_back(std::move(qc));
        progress.add();
    }
    return c;
}

TrainingData to_training_data(const Collection& collection, const std::string& prefix) {
    TrainingData data;
    data.n_features = kFeatureCount;
    const eval::Qrels& qrels = collection.dataset.qrels(collection.split);
    for (const auto& q : collection.queries) {
        std::vector<float> labels;
        std::vector<std::string> ids;
        bool any = false;
        for (const auto& c : q.candidates) {
            const int grade = std::max(0, qrels.grade(q.qid, c.doc_id, 0));
            labels.push_back(static_cast<float>(grade));
            ids.push_back(c.doc_id);
            any = any || grade > 0;
        }
        if (any) data.add_query(prefix + q.qid, q.features, labels, ids);
    }
    return data;
}

}  // namespace winnow::ltr
