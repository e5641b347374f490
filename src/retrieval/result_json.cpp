#include "retrieval/result_json.h"

#include <algorithm>

namespace winnow::retrieval {

Json hit_json(const PipelineHit& h) {
    Json j = {{"rank", h.final_rank > 0 ? Json(h.final_rank) : Json(nullptr)},
              {"doc_id", h.candidate.doc_id},
              {"chunk_id", h.candidate.chunk_id},
              {"score", h.rerank_score ? *h.rerank_score : h.first_stage_score},
              {"title", h.candidate.title},
              {"source", h.candidate.source},
              {"span", {h.candidate.begin, h.candidate.end}},
              {"text", h.candidate.text},
              {"first_stage", {{"rank", h.first_stage_rank}, {"score", h.first_stage_score}}},
              {"tokens", h.n_tokens},
              {"decision", std::string(decision_name(h.decision))},
              {"reason", h.reason}};
    if (h.rerank_score) {
        j["rerank"] = {{"score", *h.rerank_score},
                       {"raw_score", h.rerank_raw.value_or(0.0f)},
                       {"truncated", h.truncated},
                       {"windows", h.n_windows}};
    }
    return j;
}

Json sources_json(const PackedContext& context) {
    Json sources = Json::array();
    for (const auto& s : context.sources) {
        sources.push_back(
            {{"n", s.n}, {"doc_id", s.doc_id}, {"title", s.title}, {"source", s.source}, {"span", {s.begin, s.end}}});
    }
    return sources;
}

Json result_json(const PipelineResult& result, const ResultJsonOptions& options) {
    Json hits = Json::array();
    for (const auto& h : result.hits) hits.push_back(hit_json(h));
    Json timings = Json::object();
    for (const auto& t : result.timings) timings[t.stage] = t.ms;
    Json out{{"query", result.query},
             {"pipeline", result.spec},
             {"first_stage_name", result.first_stage},
             {"results", std::move(hits)}};
    if (options.cut) {
        Json cut = Json::array();
        for (const auto& h : result.cut) cut.push_back(hit_json(h));
        out["cut"] = std::move(cut);
    }
    if (options.first_stage) {
        std::vector<const PipelineHit*> all;
        for (const auto& h : result.hits) all.push_back(&h);
        for (const auto& h : result.cut) all.push_back(&h);
        std::sort(all.begin(), all.end(),
                  [](const PipelineHit* a, const PipelineHit* b) { return a->first_stage_rank < b->first_stage_rank; });
        Json first = Json::array();
        for (const auto* h : all) {
            Json j = hit_json(*h);
            j["rank"] = h->first_stage_rank;
            j["score"] = h->first_stage_score;
            first.push_back(std::move(j));
        }
        out["first_stage"] = std::move(first);
    }
    if (result.empty != EmptyReason::None) {
        out["empty"] = {{"reason", std::string(empty_reason_name(result.empty))}, {"hint", result.empty_hint}};
    }
    out["n_candidates"] = result.n_candidates;
    out["n_reranked"] = result.n_reranked;
    out["n_truncated"] = result.n_truncated;
    out["scorer"] = result.scorer;
    out["timings_ms"] = std::move(timings);
    if (result.context) {
        out["context"] = result.context->context;
        out["system"] = result.context->system;
        out["prompt"] = result.context->user;
        out["prompt_tokens"] = result.context->n_tokens;
        out["sources"] = sources_json(*result.context);
        if (options.answer) {
            out["answer"] = result.answer ? Json(result.answer->text) : Json(nullptr);
            if (result.answer) {
                out["finish_reason"] = result.answer->finish_reason;
                out["llm_model"] = result.answer->model;
            } else {
                out["note"] =
                    "no LLM configured (WINNOW_LLM_URL and WINNOW_LLM_MODEL, or --llm-url): the packed "
                    "context only";
            }
        }
    }
    return out;
}

}  // namespace winnow::retrieval
