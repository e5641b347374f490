#include "infer/batching.h"

#include <algorithm>
#include <numeric>

namespace winnow {

std::vector<std::vector<std::size_t>> plan_batches(std::span<const std::size_t> lengths, std::size_t token_budget) {
    std::vector<std::size_t> order(lengths.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return lengths[a] > lengths[b]; });
    std::vector<std::vector<std::size_t>> batches;
    std::size_t tokens = 0;
    for (std::size_t index : order) {
        if (batches.empty() || (tokens + lengths[index] > token_budget && !batches.back().empty())) {
            batches.emplace_back();
            tokens = 0;
        }
        batches.back().push_back(index);
        tokens += lengths[index];
    }
    return batches;
}

}  // namespace winnow
