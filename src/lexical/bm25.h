// BM25 as Lucene (8+) computes it, so scores match Anserini's:
//   idf    = (float) ln(1 + (docCount - df + 0.5) / (df + 0.5))
//   avgdl  = (float) (sumTotalTermFreq / (double) docCount)
//   cache  = 1 / (k1 * ((1 - b) + b * dl(norm) / avgdl)) for each of the 256 one-byte norms
//   score  = w - w / (1 + tf * cache[norm]),  w = boost * idf     (= w * tf / (tf + k1 * (...)))
// Lucene 8 dropped the constant (k1 + 1) factor of the textbook numerator, and stores each
// document's length lossily as one byte (SmallFloat.intToByte4): dl(norm) is the decoded length.
// All arithmetic is float as in Lucene; the per-term sum is accumulated in double.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "winnow/candidate.h"

namespace winnow::lexical {

using winnow::Bm25Params;  // the public type (winnow/candidate.h): k1, b with Anserini's defaults

// "bm25", "bm25()", "bm25(k1=1.2,b=0.75)" (either key optional). Throws Error(InvalidArgument).
Bm25Params parse_bm25_spec(std::string_view spec);
std::string bm25_spec(const Bm25Params& params);

// Lucene's SmallFloat.intToByte4 / byte4ToInt: 4 significant bits, values < 24 exact.
std::uint8_t int_to_byte4(std::uint32_t value) noexcept;
std::uint32_t byte4_to_int(std::uint8_t byte) noexcept;

class Bm25Similarity {
public:
    Bm25Similarity(Bm25Params params, std::uint64_t doc_count, std::uint64_t sum_total_term_freq);

    const Bm25Params& params() const noexcept { return params_; }
    float avgdl() const noexcept { return avgdl_; }
    std::uint64_t doc_count() const noexcept { return doc_count_; }

    float idf(std::uint64_t doc_freq) const noexcept;
    float norm_inverse(std::uint8_t norm) const noexcept { return cache_[norm]; }
    // The score of one term in one document; monotonic in tf and in norm_inverse.
    static float score(float weight, float tf, float norm_inverse) noexcept {
        return weight - weight / (1.0f + tf * norm_inverse);
    }

private:
    Bm25Params params_;
    std::uint64_t doc_count_;
    float avgdl_;
    std::array<float, 256> cache_{};
};

}  // namespace winnow::lexical
