// Printing pipeline results for `winnow search --pipeline`, `winnow ask` and `winnow demo`:
// a readable list with optional explanations, or JSON lines.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

#include "cli_io.h"
#include "core/json.h"
#include "retrieval/result_json.h"
#include "winnow/pipeline.h"

namespace winnow::cli {

inline std::string one_line(const std::string& text, std::size_t max_chars) {
    std::string out;
    for (char c : text) {
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
        if (c == ' ' && !out.empty() && out.back() == ' ') continue;
        out += c;
    }
    if (out.size() > max_chars) {
        std::size_t cut = max_chars;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
        out = out.substr(0, cut) + "...";
    }
    return out;
}

using retrieval::hit_json;  // the one hit serialiser (retrieval/result_json.h), shared with the server

// `mark` returns a short label per hit ("relevant") or "".
inline void print_result(const PipelineResult& r, bool explain, bool json,
                         const std::function<std::string(const PipelineHit&)>& mark = nullptr) {
    if (json) {
        for (const auto& h : r.hits) write_json_line(hit_json(h));
        if (explain) {
            for (const auto& h : r.cut) write_json_line(hit_json(h));
        }
        return;
    }
    if (explain) {
        std::printf("  pipeline: %s\n", r.spec.c_str());
        if (!r.first_stage.empty()) std::printf("  first stage: %s\n", r.first_stage.c_str());
        std::printf("  %zu candidates, %zu reranked%s, %zu kept", r.n_candidates, r.n_reranked,
                    r.n_truncated ? (" (" + std::to_string(r.n_truncated) + " truncated)").c_str() : "", r.hits.size());
        if (!r.scorer.empty()) std::printf(" (reranker: %s)", r.scorer.c_str());
        std::printf("\n  time:");
        for (const auto& t : r.timings) std::printf(" %s %.1f ms", t.stage.c_str(), t.ms);
        std::printf("\n");
    }
    if (r.hits.empty()) {
        std::printf("  (no results)\n");
        if (!r.empty_hint.empty()) std::printf("  %s\n", r.empty_hint.c_str());
    }
    for (const auto& h : r.hits) {
        const float score = h.rerank_score ? *h.rerank_score : h.first_stage_score;
        const std::string m = mark ? mark(h) : std::string();
        std::printf("  %2zu. [%.3f] %s%s%s\n", h.final_rank, score, h.candidate.title.c_str(),
                    h.candidate.source.empty() ? "" : ("  (" + h.candidate.source + ")").c_str(),
                    m.empty() ? "" : ("  <- " + m).c_str());
        std::printf("      %s\n", one_line(h.candidate.text, 160).c_str());
        if (explain) {
            std::printf("      first stage #%zu (score %.3f)", h.first_stage_rank, h.first_stage_score);
            if (h.rerank_score) {
                std::printf(" -> rerank %.3f (raw %.3f%s)", *h.rerank_score, *h.rerank_raw,
                            h.truncated ? ", truncated" : "");
            }
            std::printf("; %zu tokens; %s\n", h.n_tokens, h.reason.c_str());
        }
    }
    if (explain && !r.cut.empty()) {
        std::printf("  cut:\n");
        for (const auto& h : r.cut) {
            const std::string m = mark ? mark(h) : std::string();
            std::printf("    - %s (first stage #%zu", one_line(h.candidate.title, 50).c_str(), h.first_stage_rank);
            if (h.rerank_score) std::printf(", rerank %.3f", *h.rerank_score);
            std::printf("): %s%s\n", h.reason.c_str(), m.empty() ? "" : ("  <- " + m).c_str());
        }
    }
}

}  // namespace winnow::cli
