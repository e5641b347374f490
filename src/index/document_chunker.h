// The index's own chunking: one chunk per document ("title text", as Anserini indexes BEIR; the
// title is left out when the text already opens with it). It is the Writer's default and the
// "document" chunker of the registry (ingest/chunker_registry.cpp).
#pragma once

#include <vector>

#include "winnow/index.h"

namespace winnow::index {

std::vector<ChunkText> document_chunks(const IndexDocument& doc);

}  // namespace winnow::index
