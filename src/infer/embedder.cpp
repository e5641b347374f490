// The Embedder facade: the load factory.
#include "winnow/embedder.h"

#include "infer/llm_embedder.h"
#include "infer/llm_reranker.h"
#include "infer/max_length.h"
#include "infer/sentence_embedder.h"
#include "models/model_path.h"

namespace winnow {

std::shared_ptr<Embedder> Embedder::load(const std::string& model, const ModelOptions& options) {
    const std::string folder = resolve_model_path(model);
    std::shared_ptr<Embedder> embedder;
    if (options.kind == ModelKind::Llm || (options.kind == ModelKind::Auto && is_llm_model_folder(folder))) {
        embedder = std::make_shared<LlmEmbedder>(folder, options);
    } else {
        embedder = std::make_shared<SentenceEmbedder>(folder, options);
    }
    warn_if_max_length_capped(folder, options.max_length, embedder->max_length());
    return embedder;
}

std::vector<std::vector<float>> Embedder::embed_with_stats(std::span<const std::string> texts, EmbedKind kind,
                                                           std::size_t dimensions, EmbedStats& stats) const {
    auto vectors = embed(texts, kind, dimensions);
    stats.n_texts += texts.size();
    return vectors;
}

}  // namespace winnow
