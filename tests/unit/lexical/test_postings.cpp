#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "lexical/postings.h"

namespace winnow::lexical::postings {
namespace {

// Every bit width of gaps and frequencies, full blocks and tails, round-trips exactly.
TEST(Postings, BlocksRoundTripAtEveryWidth) {
    std::mt19937 rng(1);
    for (unsigned bits = 0; bits <= 32; ++bits) {
        for (std::size_t n : {1u, 7u, 64u, 127u, 128u}) {
            std::vector<std::uint32_t> docs(n), tfs(n);
            const std::uint64_t max_gap = bits == 0 ? 0 : (bits == 32 ? 0xffffffffULL : (1ULL << bits) - 1);
            const std::uint32_t base = bits >= 31 ? 0 : 5;
            std::uint64_t next = base;
            for (std::size_t i = 0; i < n; ++i) {
                // The largest gap once (so the width is `bits`), small ones elsewhere, staying below 2^32.
                std::uint64_t gap = i == 0 ? max_gap : rng() % 3;
                if (next + gap >= 0xffffffffULL - 2 * n) gap = 0;
                docs[i] = static_cast<std::uint32_t>(next + gap);
                next = docs[i] + 1ULL;
                tfs[i] = 1 + static_cast<std::uint32_t>(i == n - 1 ? max_gap : rng() % 4);
                if (tfs[i] == 0) tfs[i] = 1;
            }
            std::vector<std::uint64_t> words;
            encode_block(docs.data(), tfs.data(), n, base, words);
            const auto h = header(words.data());
            EXPECT_EQ(words.size(), block_words(n, h.doc_bits, h.tf_bits));
            std::vector<std::uint32_t> d2(n), t2(n);
            decode_docs(words.data(), n, base, d2.data());
            decode_tfs(words.data(), n, t2.data());
            ASSERT_EQ(d2, docs) << "bits " << bits << " n " << n;
            ASSERT_EQ(t2, tfs) << "bits " << bits << " n " << n;
        }
    }
}

}  // namespace
}  // namespace winnow::lexical::postings
