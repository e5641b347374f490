// Internal: how a GEMM over `rows` activation rows is cut into calls whose row counts come from a small
// fixed set, so that oneDNN's matmul primitives (JIT-compiled for one exact shape, ~1 ms each) are made
// once per layer shape in a process and never again, whatever batch sizes the traffic brings.
//
// Rows go in blocks of kBlockRows, then one block of a multiple of kMidRows, then the tail (under
// kMidRows rows) padded up to a multiple of kTailRows. That gives 1 + 7 + 7 = 15 row counts per layer
// shape, at most two calls more than one whole-batch GEMM, and at most kTailRows - 1 padded rows (of
// zeros, whose outputs are dropped). A row's result does not depend on the other rows of its call.
#pragma once

#include <array>
#include <cstddef>

namespace winnow::row_blocks {

inline constexpr std::size_t kBlockRows = 512;
inline constexpr std::size_t kMidRows = 64;
inline constexpr std::size_t kTailRows = 8;

// One call: rows [first, first + rows) of the input, run as a GEMM of `gemm_rows` >= rows rows.
struct Block {
    std::size_t first;
    std::size_t rows;
    std::size_t gemm_rows;
    bool padded() const noexcept { return gemm_rows != rows; }
};

// The row count a GEMM of n (< kMidRows) tail rows runs with.
constexpr std::size_t padded_tail(std::size_t n) noexcept { return (n + kTailRows - 1) / kTailRows * kTailRows; }

// Calls fn(Block) for each block of `rows` rows, in order.
template <typename Fn>
void for_each(std::size_t rows, Fn&& fn) {
    std::size_t first = 0;
    while (rows - first >= kBlockRows) {
        fn(Block{first, kBlockRows, kBlockRows});
        first += kBlockRows;
    }
    const std::size_t mid = (rows - first) / kMidRows * kMidRows;
    if (mid > 0) {
        fn(Block{first, mid, mid});
        first += mid;
    }
    if (rows > first) fn(Block{first, rows - first, padded_tail(rows - first)});
}

// The row counts of every block for_each can make (for warm-up and tests).
constexpr std::size_t kShapes = 1 + (kBlockRows / kMidRows - 1) + (kMidRows / kTailRows - 1);
constexpr std::array<long, kShapes> gemm_row_counts() {
    std::array<long, kShapes> out{};
    std::size_t i = 0;
    out[i++] = static_cast<long>(kBlockRows);
    for (std::size_t r = kMidRows; r < kBlockRows; r += kMidRows) out[i++] = static_cast<long>(r);
    for (std::size_t r = kTailRows; r < kMidRows; r += kTailRows) out[i++] = static_cast<long>(r);
    return out;
}
inline constexpr std::array<long, kShapes> kGemmRowCounts = gemm_row_counts();

}  // namespace winnow::row_blocks
