// Shared by the lexical tests: two result lists must hold the same chunks in the same order with
// bit-identical scores (every pruning sums each document's terms in query-term order).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lexical/segment_searcher.h"

namespace winnow::lexical {

inline void expect_same(const std::vector<LexicalHit>& a, const std::vector<LexicalHit>& b, const std::string& what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    for (std::size_t i = 0; i < a.size(); ++i) {
        ASSERT_EQ(a[i].chunk_id, b[i].chunk_id) << what << " rank " << i;
        ASSERT_EQ(a[i].score, b[i].score) << what << " rank " << i;  // bit-identical
    }
}

}  // namespace winnow::lexical
