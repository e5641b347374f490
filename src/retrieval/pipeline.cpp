// Pipeline::run and ask: first stage -> rerank -> diversity and cutoff -> pack -> answer, with
// per-stage timings and the explanation of every decision.
#include "winnow/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>
#include <tuple>

#include "core/log.h"
#include "ingest/chunker.h"
#include "llm/chat_client.h"
#include "models/model_path.h"
#include "retrieval/cutoff.h"
#include "winnow/error.h"
#include "winnow/reranker.h"

namespace winnow {

ScorerFactory find_scorer_factory(const std::string& stage_name);  // rerank_stage.cpp

struct Pipeline::Cache {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<const Reranker>> rerankers;
    std::map<std::string, std::shared_ptr<const CandidateScorer>> scorers;
};

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::string rerank_model(const RerankConfig& config) {
    if (!config.model.empty()) return config.model;
    const char* env = std::getenv("WINNOW_RERANK_MODEL");
    WINNOW_CHECK(env != nullptr && *env != '\0', Errc::InvalidArgument,
                 "the rerank stage needs a model: rerank(model=<folder or org/name>) or WINNOW_RERANK_MODEL");
    return env;
}

std::string cache_key(const RerankConfig& config, const std::string& model) {
    return fmt::format("{}|{}|{}|{}|{}|{}", config.kind, model, config.max_length, config.batch_tokens,
                       precision_name(config.precision), device_name(config.device));
}

}  // namespace

std::string_view decision_name(Decision decision) noexcept {
    switch (decision) {
    case Decision::Kept:
        return "kept";
    case Decision::CutTopN:
        return "cut_top_n";
    case Decision::CutMinScore:
        return "cut_min_score";
    case Decision::CutScoreGap:
        return "cut_score_gap";
    case Decision::CutTokens:
        return "cut_tokens";
    case Decision::CutPerDoc:
        return "cut_per_doc";
    case Decision::CutMmr:
        return "cut_mmr";
    case Decision::NotReranked:
        return "not_reranked";
    }
    return "kept";
}

std::string_view empty_reason_name(EmptyReason reason) noexcept {
    switch (reason) {
    case EmptyReason::None:
        return "none";
    case EmptyReason::EmptyIndex:
        return "empty_index";
    case EmptyReason::NoIndexedTerms:
        return "no_indexed_terms";
    case EmptyReason::NoCandidates:
        return "no_candidates";
    case EmptyReason::AllCut:
        return "all_cut";
    }
    return "none";
}

namespace {

// Why a result without hits has none, and a sentence saying so (what to try next).
void explain_empty(PipelineResult& result, const PipelineConfig& config, std::optional<std::size_t> source_size) {
    if (!result.hits.empty()) return;
    if (result.n_candidates > 0 && !result.cut.empty()) {
        result.empty = EmptyReason::AllCut;
        result.empty_hint = fmt::format(
            "The first stage found {} candidate{}, and the cutoff removed every one (the best: {}). Loosen the cutoff "
            "(a lower min_score or score_gap, a larger top_n or token budget).",
            result.n_candidates, result.n_candidates == 1 ? "" : "s", result.cut.front().reason);
    } else {
        // (An external engine's stage leaves `first_stage` unused: its terms are the engine's to know.)
        std::tie(result.empty, result.empty_hint) = explain_no_candidates(
            source_size,
            config.first_stage.first_stage == FirstStageKind::Bm25 && config.first_stage.external.engine.empty(),
            result.first_stage);
    }
}

}  // namespace

std::pair<EmptyReason, std::string> explain_no_candidates(std::optional<std::size_t> chunk_count, bool lexical,
                                                          std::string_view stage) {
    if (chunk_count && *chunk_count == 0) {
        return {EmptyReason::EmptyIndex, "The index is empty: add documents with `winnow index --index DIR --input FILES`."};
    }
    if (lexical) {
        return {EmptyReason::NoIndexedTerms,
                fmt::format("None of the query's terms occurs in the index{} (stop words are not indexed). Try other "
                            "words, or a dense or hybrid first stage, which matches meaning rather than words.",
                            chunk_count ? fmt::format(" ({} chunks)", *chunk_count) : std::string())};
    }
    return {EmptyReason::NoCandidates, fmt::format("The first stage ({}) returned no candidates.", stage)};
}

Pipeline::Pipeline(PipelineSpec spec, std::shared_ptr<const CandidateSource> source)
    : spec_(std::move(spec)), source_(std::move(source)), cache_(std::make_shared<Cache>()) {
    WINNOW_CHECK(source_ != nullptr, Errc::InvalidArgument, "pipeline: no candidate source");
    (void)PipelineConfig::from_spec(spec_);  // validates
}

std::shared_ptr<const CandidateScorer> Pipeline::scorer_for(const RerankConfig& config,
                                                            std::shared_ptr<const CandidateScorer> per_query) const {
    if (per_query && per_query->serves(config)) return per_query;
    if (config.kind == "rerank" && !config.urls.empty()) {
        // A remote rerank tier: the pool holds the model, so neither a per-query nor a set scorer
        // (both local models) applies. One scorer per pool setting, shared by all queries.
        std::string key =
            fmt::format("remote|{}|{}|{}", static_cast<int>(config.dialect), config.deadline_ms, config.attempts);
        for (const auto& url : config.urls) key += "|" + url;
        std::lock_guard<std::mutex> lock(cache_->mutex);
        if (auto it = cache_->scorers.find(key); it != cache_->scorers.end()) return it->second;
        auto scorer = make_remote_scorer(config);
        cache_->scorers[key] = scorer;
        return scorer;
    }
    if (config.kind == "rerank") {
        if (scorer_override_) return scorer_override_;
        const std::string model = rerank_model(config);
        const std::string key = cache_key(config, model);
        std::lock_guard<std::mutex> lock(cache_->mutex);
        if (auto it = cache_->scorers.find(key); it != cache_->scorers.end()) return it->second;
        ModelOptions options;
        options.max_length = config.max_length;
        options.precision = config.precision;
        options.device = config.device;
        if (config.batch_tokens > 0) options.token_budget = config.batch_tokens;
        auto reranker = Reranker::load(resolve_model_path(model), options);
        auto scorer = make_cross_encoder_scorer(reranker);
        cache_->rerankers[key] = reranker;
        cache_->scorers[key] = scorer;
        return scorer;
    }
    std::string key = cache_key(config, config.model);
    for (const auto& [k, v] : config.params) key += "|" + k + "=" + v;
    std::lock_guard<std::mutex> lock(cache_->mutex);
    if (auto it = cache_->scorers.find(key); it != cache_->scorers.end()) return it->second;
    ScorerFactory factory = find_scorer_factory(config.kind);
    WINNOW_CHECK(factory != nullptr, Errc::Unsupported, "pipeline: no scorer for stage '{}' in this build",
                 config.kind);
    auto scorer = factory(config);
    cache_->scorers[key] = scorer;
    return scorer;
}

TokenCountFn Pipeline::token_counter(const PipelineConfig& config) const {
    if (config.rerank.enabled && config.rerank.kind == "rerank" && config.rerank.urls.empty() && !scorer_override_) {
        (void)scorer_for(config.rerank, nullptr);
        const std::string key = cache_key(config.rerank, rerank_model(config.rerank));
        std::lock_guard<std::mutex> lock(cache_->mutex);
        auto it = cache_->rerankers.find(key);
        if (it != cache_->rerankers.end()) {
            std::shared_ptr<const Reranker> reranker = it->second;
            return [reranker](std::string_view text) -> std::size_t {
                return text.empty() ? 0 : reranker->tokenizer().encode(text, false).size();
            };
        }
    }
    auto approx = std::make_shared<ingest::TokenCounter>(ingest::TokenCounter::approximate());
    return [approx](std::string_view text) { return approx->count(text); };
}

PipelineConfig Pipeline::config(const std::map<std::string, std::string>& overrides) const {
    PipelineSpec spec = spec_;
    spec.apply_overrides(overrides);
    return PipelineConfig::from_spec(spec);
}

PipelineResult Pipeline::run(std::string_view query, const std::map<std::string, std::string>& overrides,
                             std::shared_ptr<const CandidateScorer> scorer_for_query) const {
    PipelineSpec spec = spec_;
    spec.apply_overrides(overrides);
    PipelineConfig config = PipelineConfig::from_spec(spec);
    const bool pack = config.has_pack;
    return run_config(query, std::move(spec), std::move(config), std::move(scorer_for_query), pack);
}

PipelineResult Pipeline::ask(std::string_view question, const AskOptions& options,
                             const std::map<std::string, std::string>& overrides,
                             std::shared_ptr<const CandidateScorer> scorer) const {
    PipelineSpec spec = spec_;
    spec.apply_overrides(overrides);
    PipelineConfig config = PipelineConfig::from_spec(spec);
    PipelineResult result = run_config(question, std::move(spec), std::move(config), std::move(scorer), true);
    if (options.answer) answer(result, options);
    return result;
}

namespace {

llm::ChatOptions chat_options(const AskOptions& options) {
    llm::ChatOptions chat;
    chat.url = options.llm_url;
    chat.model = options.llm_model;
    chat = llm::options_from_env(chat);
    chat.timeout_s = options.timeout_s;
    chat.temperature = options.temperature;
    chat.max_tokens = options.max_tokens;
    return chat;
}

}  // namespace

bool Pipeline::has_llm(const AskOptions& options) {
    return !chat_options(options).url.empty();
}

void Pipeline::answer(PipelineResult& result, const AskOptions& options) {
    WINNOW_CHECK(result.context.has_value(), Errc::InvalidArgument, "answer: the result has no packed context");
    const llm::ChatOptions chat = chat_options(options);
    if (chat.url.empty()) return;
    const auto t0 = std::chrono::steady_clock::now();
    llm::ChatClient client(chat);
    const std::vector<llm::ChatMessage> messages = {{"system", result.context->system}, {"user", result.context->user}};
    const llm::ChatResult reply =
        options.on_delta ? client.stream(messages, options.on_delta) : client.complete(messages);
    result.answer = Answer{reply.content, reply.finish_reason, reply.model};
    result.timings.push_back({"answer", ms_since(t0)});
}

PipelineResult Pipeline::run_config(std::string_view query, PipelineSpec spec, PipelineConfig config,
                                    std::shared_ptr<const CandidateScorer> scorer_for_query, bool pack) const {
    if (config.rerank.enabled && config.rerank.kind != "rerank" && !index_dir_.empty()) {
        config.rerank.params.emplace("index", index_dir_);
    }
    PipelineResult result;
    result.query = std::string(query);
    result.spec = spec.to_string();

    auto t0 = std::chrono::steady_clock::now();
    result.first_stage = source_->describe(config.first_stage);
    std::vector<Candidate> candidates = source_->retrieve(query, config.first_stage);
    result.timings.push_back({"first_stage", ms_since(t0)});
    result.n_candidates = candidates.size();

    std::vector<PipelineHit> hits(candidates.size());
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        hits[i].first_stage_rank = i + 1;
        hits[i].first_stage_score = candidates[i].score;
    }
    if (config.rerank.enabled && !candidates.empty()) {
        t0 = std::chrono::steady_clock::now();
        auto scorer = scorer_for(config.rerank, std::move(scorer_for_query));
        result.scorer = scorer->name();
        const std::vector<RerankScore> scores = scorer->score(query, candidates, config.rerank);
        WINNOW_ASSERT(scores.size() == candidates.size());
        float lo = scores.front().raw, hi = lo;
        for (const auto& s : scores) {
            lo = std::min(lo, s.raw);
            hi = std::max(hi, s.raw);
        }
        for (std::size_t i = 0; i < hits.size(); ++i) {
            const float raw = scores[i].raw;
            float norm = raw;
            switch (config.rerank.normalize) {
            case ScoreNormalization::Sigmoid:
                norm = 1.0f / (1.0f + std::exp(-raw));
                break;
            case ScoreNormalization::MinMax:
                norm = hi > lo ? (raw - lo) / (hi - lo) : 1.0f;
                break;
            case ScoreNormalization::None:
                break;
            }
            hits[i].rerank_raw = raw;
            hits[i].rerank_score = norm;
            hits[i].truncated = scores[i].truncated;
            hits[i].n_windows = scores[i].n_windows;
            if (scores[i].truncated) ++result.n_truncated;
        }
        result.n_reranked = hits.size();
        result.timings.push_back({"rerank", ms_since(t0)});
    }
    for (std::size_t i = 0; i < hits.size(); ++i) hits[i].candidate = std::move(candidates[i]);
    if (config.rerank.enabled) {
        std::stable_sort(hits.begin(), hits.end(),
                         [](const PipelineHit& a, const PipelineHit& b) { return *a.rerank_raw > *b.rerank_raw; });
    }

    t0 = std::chrono::steady_clock::now();
    const TokenCountFn count = token_counter(config);
    for (auto& h : hits) h.n_tokens = count(h.candidate.text);
    retrieval::decide(hits, config.diversity, config.cutoff, result.cut);
    std::stable_sort(result.cut.begin(), result.cut.end(), [](const PipelineHit& a, const PipelineHit& b) {
        const float sa = retrieval::effective_score(a), sb = retrieval::effective_score(b);
        if (sa != sb) return sa > sb;
        return a.first_stage_rank < b.first_stage_rank;
    });
    result.hits = std::move(hits);
    result.timings.push_back({"cutoff", ms_since(t0)});
    if (result.hits.empty()) explain_empty(result, config, source_->size());
    if (pack) {
        t0 = std::chrono::steady_clock::now();
        result.context = pack_context(query, result.hits, config.pack, count);
        result.timings.push_back({"pack", ms_since(t0)});
    }
    return result;
}

}  // namespace winnow
