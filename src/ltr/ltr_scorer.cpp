// The `ltr` rerank stage and its registration with the pipeline.
#include "ltr/ltr_scorer.h"

#include <cmath>
#include <cstdlib>
#include <mutex>

#include "models/model_path.h"
#include "winnow/embedder.h"
#include "winnow/error.h"
#include "winnow/ltr.h"
#include "winnow/reranker.h"

namespace winnow::ltr {
namespace {

float cosine(const std::vector<float>& a, const std::vector<float>& b) {
    double dot = 0.0, na = 0.0, nb = 0.0;
    const std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        dot += static_cast<double>(a[i]) * b[i];
        na += static_cast<double>(a[i]) * a[i];
        nb += static_cast<double>(b[i]) * b[i];
    }
    return na > 0.0 && nb > 0.0 ? static_cast<float>(dot / std::sqrt(na * nb)) : 0.0f;
}

std::string param(const RerankConfig& config, const char* key) {
    auto it = config.params.find(key);
    return it == config.params.end() ? std::string() : it->second;
}

}  // namespace

ExternalSignals compute_signals(std::string_view query, const std::vector<Candidate>& candidates,
                                const Embedder* embedder, const Reranker* reranker) {
    ExternalSignals s;
    if (candidates.empty()) return s;
    if (embedder != nullptr) {
        const std::string q(query);
        const auto qv = embedder->embed(std::span<const std::string>(&q, 1), EmbedKind::Query);
        std::vector<std::string> texts;
        texts.reserve(candidates.size());
        for (const auto& c : candidates) texts.push_back(c.text);
        const auto dv = embedder->embed(texts, EmbedKind::Document);
        s.dense_cosine.reserve(candidates.size());
        for (const auto& v : dv) s.dense_cosine.push_back(cosine(qv.at(0), v));
    }
    if (reranker != nullptr) {
        std::vector<std::string> texts;
        texts.reserve(candidates.size());
        for (const auto& c : candidates) texts.push_back(c.text);
        const auto scores = reranker->score(query, texts);
        s.cross_encoder.reserve(candidates.size());
        for (const auto& p : scores) s.cross_encoder.push_back(p.raw_score);
    }
    return s;
}

LtrScorer::LtrScorer(std::shared_ptr<const LtrModel> model, std::shared_ptr<const CorpusStats> stats,
                     std::shared_ptr<const Embedder> embedder, std::shared_ptr<const Reranker> reranker)
    : model_(std::move(model)), extractor_(std::move(stats)), embedder_(std::move(embedder)),
      reranker_(std::move(reranker)) {
    WINNOW_CHECK(model_ != nullptr, Errc::InvalidArgument, "ltr: no model");
}

std::vector<RerankScore> LtrScorer::score(std::string_view query, const std::vector<Candidate>& candidates,
                                          const RerankConfig&) const {
    std::vector<RerankScore> out(candidates.size());
    if (candidates.empty()) return out;
    const ExternalSignals signals = compute_signals(query, candidates, embedder_.get(), reranker_.get());
    const std::vector<float> x = extractor_.extract(query, candidates, signals);
    const std::vector<float> y = model_->predict(x.data(), candidates.size());
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        out[i].raw = y[i];
        out[i].n_windows = 1;
        out[i].n_tokens = static_cast<std::uint32_t>(x[i * kFeatureCount + static_cast<std::size_t>(Feature::ChunkLength)]);
    }
    return out;
}

std::string LtrScorer::name() const { return "ltr(" + model_->path() + ")"; }

std::shared_ptr<const CandidateScorer> make_ltr_scorer(const RerankConfig& config) {
    std::string model = config.model;
    if (model.empty()) {
        const char* env = std::getenv("WINNOW_LTR_MODEL");
        WINNOW_CHECK(env != nullptr && *env != '\0', Errc::InvalidArgument,
                     "the ltr stage needs a model: ltr(model=<file>) or WINNOW_LTR_MODEL (e.g. models/ltr/default.ltr)");
        model = env;
    }
    const std::string index = param(config, "index");
    WINNOW_CHECK(!index.empty(), Errc::InvalidArgument,
                 "the ltr stage needs the index its features read statistics from: ltr(index=<dir>) (set "
                 "automatically when the pipeline runs over an index directory)");
    std::shared_ptr<const Embedder> embedder;
    std::shared_ptr<const Reranker> reranker;
    if (const std::string m = param(config, "embed_model"); !m.empty()) embedder = Embedder::load(resolve_model_path(m));
    if (const std::string m = param(config, "rerank_model"); !m.empty()) reranker = Reranker::load(resolve_model_path(m));
    return std::make_shared<LtrScorer>(LtrModel::load(model), CorpusStats::open_index(index), std::move(embedder),
                                       std::move(reranker));
}

void register_stages() {
    static std::once_flag once;
    std::call_once(once, [] { register_scorer("ltr", make_ltr_scorer); });
}

}  // namespace winnow::ltr
