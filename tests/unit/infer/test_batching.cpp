#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "infer/batching.h"

namespace winnow {
namespace {

TEST(Batching, EveryIndexOnceWithinTheBudget) {
    const std::vector<std::size_t> lengths{10, 200, 35, 35, 512, 1, 90, 64, 64, 7};
    const std::size_t budget = 256;
    const auto batches = plan_batches(lengths, budget);
    std::vector<std::size_t> seen;
    for (const auto& batch : batches) {
        ASSERT_FALSE(batch.empty());
        std::size_t tokens = 0;
        for (auto i : batch) tokens += lengths[i];
        // Only a single over-long sequence may exceed the budget, alone.
        if (tokens > budget) {
            EXPECT_EQ(batch.size(), 1u);
        }
        seen.insert(seen.end(), batch.begin(), batch.end());
    }
    std::sort(seen.begin(), seen.end());
    std::vector<std::size_t> all(lengths.size());
    std::iota(all.begin(), all.end(), 0);
    EXPECT_EQ(seen, all);
    // Longest first.
    EXPECT_EQ(batches.front().front(), 4u);
}

TEST(Batching, EmptyAndTinyBudgets) {
    EXPECT_TRUE(plan_batches({}, 100).empty());
    const std::vector<std::size_t> lengths{3, 3, 3};
    EXPECT_EQ(plan_batches(lengths, 1).size(), 3u);
    EXPECT_EQ(plan_batches(lengths, 9).size(), 1u);
    EXPECT_EQ(plan_batches(lengths, 8).size(), 2u);
}

}  // namespace
}  // namespace winnow
