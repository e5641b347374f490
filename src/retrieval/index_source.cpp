// The candidate source over an index directory (winnow::Index): the spec's typed first-stage
// options go to Index::search as they are; the embedder for dense/hybrid is loaded on first use
// from the index config.
#include <memory>
#include <mutex>

#include "models/model_path.h"
#include "winnow/embedder.h"
#include "winnow/error.h"
#include "winnow/index.h"
#include "winnow/pipeline.h"

namespace winnow {
namespace {

class IndexSource final : public CandidateSource {
public:
    explicit IndexSource(std::shared_ptr<Index> index) : index_(std::move(index)) {}

    std::vector<Candidate> retrieve(std::string_view query, const SearchOptions& options) const override {
        if (options.first_stage != FirstStageKind::Bm25) ensure_embedder();
        SearchOptions o = options;
        o.with_text = true;  // the rerank and cutoff stages read the text
        return index_->search(query, o);
    }

    std::string describe(const SearchOptions& options) const override {
        if (options.first_stage != FirstStageKind::Bm25) ensure_embedder();
        return index_->first_stage_name(options);
    }

    // Index::refresh checks the store's generation (one read) and reloads the derived indexes only
    // when another process committed since.
    bool refresh() const override { return index_->refresh(); }

    std::optional<std::size_t> size() const override { return index_->chunk_count(); }

private:
    void ensure_embedder() const {
        std::lock_guard<std::mutex> lock(mutex_);
        if (embedder_loaded_) return;
        WINNOW_CHECK(index_->has_dense(), Errc::InvalidArgument,
                     "index {} has no dense side; index with --embed-model to use dense or hybrid", index_->dir());
        const std::string& model = index_->config().embed_model;
        WINNOW_CHECK(!model.empty(), Errc::Corrupt, "index {}: dense side without an embed model in its config", index_->dir());
        index_->set_embedder(Embedder::load(resolve_model_path(model)));
        embedder_loaded_ = true;
    }

    std::shared_ptr<Index> index_;
    mutable std::mutex mutex_;
    mutable bool embedder_loaded_ = false;
};

}  // namespace

Pipeline Pipeline::open_index(const std::string& index_dir, PipelineSpec spec) {
    std::shared_ptr<Index> index = Index::open(index_dir);
    // Registered scorer stages (ltr) read corpus statistics from the index: tell them which one.
    for (auto& stage : spec.stages) {
        if (stage.name != "rerank" && has_scorer(stage.name) && !stage.get("index")) stage.set("index", index_dir);
    }
    Pipeline pipeline(std::move(spec), std::make_shared<IndexSource>(std::move(index)));
    pipeline.index_dir_ = index_dir;
    return pipeline;
}

}  // namespace winnow
