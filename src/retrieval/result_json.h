// The one JSON form of a pipeline result, shared by the CLI (`winnow search --pipeline --json`,
// `winnow ask --json`) and the server (/v1/search, /v1/ask), so both print the same fields.
//
//   hit:    {rank, doc_id, chunk_id, score, title, source, span: [begin, end], text,
//            first_stage: {rank, score}, tokens, decision, reason,
//            rerank?: {score, raw_score, truncated, windows}}           rank is null for a cut hit
//   result: {query, pipeline, first_stage_name, results: [hit], cut?: [hit], first_stage?: [hit],
//            empty?: {reason, hint}, n_candidates, n_reranked, n_truncated, scorer, timings_ms: {stage: ms},
//            context?, system?, prompt?, prompt_tokens?, sources?: [{n, doc_id, title, source, span}],
//            answer?, finish_reason?, llm_model? | note?}   note: no LLM configured
//   empty:  only without results: reason empty_index | no_indexed_terms | no_candidates | all_cut,
//           hint a sentence for a person
#pragma once

#include "core/json.h"
#include "winnow/pipeline.h"

namespace winnow::retrieval {

Json hit_json(const PipelineHit& hit);

struct ResultJsonOptions {
    bool cut = false;          // also the cut candidates ("cut", in reranked order)
    bool first_stage = false;  // also every candidate in first-stage order ("first_stage", scores of the first stage)
    bool answer = false;       // the answer fields (null answer without one) when the result has a packed context
};

Json result_json(const PipelineResult& result, const ResultJsonOptions& options = {});

// Just the packed context's sources.
Json sources_json(const PackedContext& context);

}  // namespace winnow::retrieval
