// The candidate source of a pipeline whose first stage is an external engine (xapian, elasticsearch):
// one engine per distinct connection setting (a per-query override may name another database),
// opened on first use and shared by all queries.
#include <map>
#include <mutex>

#include "core/json.h"
#include "retrieval/external_engine.h"
#include "winnow/error.h"
#include "winnow/pipeline.h"

namespace winnow {
namespace {

std::string engine_key(const ExternalStageOptions& e) {
    Json j = {{"engine", e.engine}, {"db", e.db},           {"remote", e.remote},       {"url", e.url},
              {"index", e.index},   {"field", e.field},     {"knn_field", e.knn_field}, {"embed_model", e.embed_model},
              {"timeout_ms", e.timeout_ms}, {"num_candidates", e.num_candidates}, {"dfs", e.dfs},
              {"opensearch", e.opensearch}};
    return j.dump();
}

class ExternalSource final : public CandidateSource {
public:
    explicit ExternalSource(std::string stage) : stage_(std::move(stage)) {}

    std::vector<Candidate> retrieve(std::string_view query, const SearchOptions& options) const override {
        return engine(options)->search(query, options);
    }
    std::string describe(const SearchOptions& options) const override { return engine(options)->describe(options); }

private:
    std::shared_ptr<const retrieval::ExternalEngine> engine(const SearchOptions& options) const {
        WINNOW_CHECK(!options.external.engine.empty(), Errc::InvalidArgument,
                     "this pipeline's first stage is {} (an external engine, no index directory): an override "
                     "cannot switch it to {}",
                     stage_, first_stage_kind_name(options.first_stage));
        const std::string key = engine_key(options.external);
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = engines_.find(key);
        if (it != engines_.end()) return it->second;
        auto made = options.external.engine == "xapian" ? retrieval::make_xapian_engine(options.external)
                                                        : retrieval::make_elasticsearch_engine(options.external);
        engines_[key] = made;
        return made;
    }

    std::string stage_;
    mutable std::mutex mutex_;
    mutable std::map<std::string, std::shared_ptr<const retrieval::ExternalEngine>> engines_;
};

}  // namespace

bool PipelineSpec::external_first_stage() const {
    return !stages.empty() && (stages.front().name == "xapian" || stages.front().name == "elasticsearch");
}

Pipeline Pipeline::open(const std::string& index_dir, PipelineSpec spec) {
    if (!spec.external_first_stage()) {
        WINNOW_CHECK(!index_dir.empty(), Errc::InvalidArgument,
                     "the first stage {} runs over an index directory: give --index (or start the pipeline with "
                     "xapian(...) or elasticsearch(...))",
                     spec.stages.empty() ? std::string("bm25") : spec.stages.front().name);
        return open_index(index_dir, std::move(spec));
    }
    // Registered scorer stages (ltr) read corpus statistics from an index directory when one is given.
    if (!index_dir.empty()) {
        for (auto& stage : spec.stages) {
            if (stage.name != "rerank" && has_scorer(stage.name) && !stage.get("index")) stage.set("index", index_dir);
        }
    }
    auto source = std::make_shared<ExternalSource>(spec.stages.front().name);
    Pipeline pipeline(std::move(spec), std::move(source));
    pipeline.index_dir_ = index_dir;
    return pipeline;
}

}  // namespace winnow
