// The candidate source over an index directory (winnow::Index): first-stage knobs of the spec
// mapped to SearchOptions; the embedder for dense/hybrid loaded on first use from the index config.
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

    std::vector<Candidate> retrieve(std::string_view query, const FirstStageConfig& config) const override {
        const SearchOptions options = search_options(config);
        if (options.first_stage != FirstStageKind::Bm25) ensure_embedder();
        std::vector<SearchHit> hits = index_->search(query, options);
        std::vector<Candidate> out;
        out.reserve(hits.size());
        for (auto& h : hits) {
            Candidate c;
            c.chunk_id = h.chunk_id;
            c.doc_id = std::move(h.doc_id);
            c.title = std::move(h.title);
            c.source = std::move(h.source_path);
            c.text = std::move(h.text);
            c.begin = h.begin;
            c.end = h.end;
            c.score = h.score;
            out.push_back(std::move(c));
        }
        return out;
    }

    std::string describe(const FirstStageConfig& config) const override {
        const SearchOptions o = search_options(config);
        if (o.first_stage == FirstStageKind::Bm25) return o.bm25.empty() ? index_->config().bm25 : o.bm25;
        return config.kind;
    }

    // Index::refresh checks the store's generation (one read) and reloads the derived indexes only
    // when another process committed since.
    bool refresh() const override { return index_->refresh(); }

private:
    static SearchOptions search_options(const FirstStageConfig& config) {
        SearchOptions o;
        o.first_stage = parse_first_stage_kind(config.kind);
        o.k = config.k;
        o.with_text = true;
        auto get = [&](const char* key) -> const std::string* {
            auto it = config.params.find(key);
            return it == config.params.end() ? nullptr : &it->second;
        };
        const std::string* k1 = get("k1");
        const std::string* b = get("b");
        if (k1 || b) o.bm25 = fmt::format("bm25(k1={},b={})", k1 ? *k1 : "0.9", b ? *b : "0.4");
        if (auto* v = get("fusion")) o.fusion = *v;
        if (auto* v = get("rrf_k")) o.rrf_k = std::stod(*v);
        if (auto* v = get("weight")) o.lexical_weight = std::stod(*v);
        if (auto* v = get("k_first")) o.k_lexical = std::stoul(*v);
        if (auto* v = get("k_second")) o.k_dense = std::stoul(*v);
        return o;
    }

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
