// The web UI served at /ui: one self-contained HTML page (no external assets) compiled into the
// binary. A search box over the server's index shows the first-stage and the reranked lists side by
// side, each hit with why the cutoff kept or cut it and its text clamped to six whole lines ("Show
// more" opens the rest); the header names the pipeline, reranker, models and index (GET /v1/info).
// A hit can be labelled relevant / not relevant (POST /v1/labels, saved as TREC qrels on the
// server): the label is the whole document's, so every chunk of it shown takes it, and it comes
// back after a reload (GET /v1/labels). An empty result says why (the result's `empty` hint).
#pragma once

#include <string>

namespace winnow::server {

const std::string& ui_page();

}  // namespace winnow::server
