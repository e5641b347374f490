// Length-aware batching by a token budget: sequences are grouped so that a forward pass holds at
// most `token_budget` tokens (bounding activation memory) without padding anything. A sequence
// longer than the budget gets a batch of its own.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace winnow {

// Indices into `lengths`, grouped into batches; longest sequences first so that the per-sequence
// attention work of a batch is balanced. Every index appears exactly once.
std::vector<std::vector<std::size_t>> plan_batches(std::span<const std::size_t> lengths, std::size_t token_budget);

}  // namespace winnow
