#include "index/first_stage.h"

#include <algorithm>
#include <future>

#include "index/dense_index.h"
#include "index/segment_directory.h"
#include "lexical/segment_searcher.h"
#include "winnow/embedder.h"
#include "winnow/error.h"

namespace winnow::index {

Bm25FirstStage::Bm25FirstStage(std::shared_ptr<const lexical::SegmentSearcher> index, lexical::Bm25Params params)
    : index_(std::move(index)), params_(params) {
    WINNOW_ASSERT(index_ != nullptr);
}

std::vector<Candidate> Bm25FirstStage::search(std::string_view query, std::size_t k) const {
    const auto hits = index_->search(query, k, params_);
    std::vector<Candidate> out;
    out.reserve(hits.size());
    for (const auto& h : hits) out.push_back({h.chunk_id, h.score});
    return out;
}

std::string Bm25FirstStage::name() const { return lexical::bm25_spec(params_); }

std::optional<lexical::Explanation> Bm25FirstStage::explain(std::string_view query, std::int64_t chunk_id) const {
    return index_->explain(query, chunk_id, params_);
}

DenseFirstStage::DenseFirstStage(std::shared_ptr<const DenseSnapshot> index,
                                 std::shared_ptr<const Embedder> embedder, std::size_t ef_search)
    : index_(std::move(index)), embedder_(std::move(embedder)), ef_search_(ef_search) {
    WINNOW_ASSERT(index_ != nullptr);
    WINNOW_CHECK(embedder_ != nullptr, Errc::InvalidArgument, "dense first stage: no embedding model given");
}

std::vector<Candidate> DenseFirstStage::search_vector(const std::vector<float>& query, std::size_t k) const {
    const auto hits = index_->search(query, k, ef_search_);
    std::vector<Candidate> out;
    out.reserve(hits.size());
    for (const auto& h : hits) out.push_back({h.chunk_id, h.score});
    return out;
}

std::vector<Candidate> DenseFirstStage::search(std::string_view query, std::size_t k) const {
    const std::string text(query);
    auto vectors = embedder_->embed(std::span<const std::string>(&text, 1), EmbedKind::Query, index_->dimension());
    WINNOW_CHECK(vectors.size() == 1 && vectors[0].size() == index_->dimension(), Errc::InvalidArgument,
                 "dense first stage: the embedder returned {} values; the index has dimension {}",
                 vectors.empty() ? 0 : vectors[0].size(), index_->dimension());
    return search_vector(vectors[0], k);
}

std::string DenseFirstStage::name() const {
    if (ef_search_ == 0) return fmt::format("dense({})", index_->factory());
    return fmt::format("dense({},ef_search={})", index_->factory(), ef_search_);
}

HybridFirstStage::HybridFirstStage(std::shared_ptr<const FirstStage> first, std::shared_ptr<const FirstStage> second,
                                   HybridOptions options)
    : first_(std::move(first)), second_(std::move(second)), options_(options) {
    WINNOW_ASSERT(first_ != nullptr && second_ != nullptr);
    WINNOW_CHECK(options_.weight >= 0 && options_.weight <= 1, Errc::InvalidArgument,
                 "hybrid: weight must be in [0, 1], got {}", options_.weight);
    WINNOW_CHECK(options_.rrf_k >= 0, Errc::InvalidArgument, "hybrid: rrf k must be >= 0, got {}", options_.rrf_k);
}

std::vector<Candidate> HybridFirstStage::search(std::string_view query, std::size_t k) const {
    const std::size_t k1 = options_.k_lexical > 0 ? options_.k_lexical : std::max<std::size_t>(k, 100);
    const std::size_t k2 = options_.k_dense > 0 ? options_.k_dense : std::max<std::size_t>(k, 100);
    std::vector<Candidate> lists[2];
    lists[0] = first_->search(query, k1);
    lists[1] = second_->search(query, k2);
    if (options_.fusion == FusionMethod::Rrf) return reciprocal_rank_fusion(lists, options_.rrf_k, k);
    const double weights[2] = {options_.weight, 1.0 - options_.weight};
    return weighted_score_fusion(lists, weights, k);
}

std::string HybridFirstStage::name() const {
    if (options_.fusion == FusionMethod::Rrf) {
        return fmt::format("hybrid(rrf,k={},{},{})", options_.rrf_k, first_->name(), second_->name());
    }
    return fmt::format("hybrid(weighted,w={},{},{})", options_.weight, first_->name(), second_->name());
}

}  // namespace winnow::index
