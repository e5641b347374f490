// The web UI served at /ui: one self-contained HTML page (no external assets) compiled into the
// binary. A search box over the server's index shows the first-stage and the reranked lists side by
// side; each reranked result can be labelled relevant / not relevant (POST /v1/labels, saved as
// TREC qrels on the server).
#pragma once

#include <string>

namespace winnow::server {

const std::string& ui_page();

}  // namespace winnow::server
