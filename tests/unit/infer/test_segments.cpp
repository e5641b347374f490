// run_segments: every input consumed once, in order, segment by segment; the next segment prepared while
// the current one is consumed; errors from either side propagate. And segment_size per device.
#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "infer/segments.h"

namespace winnow {
namespace {

TEST(Segments, ConsumesEverySegmentInOrder) {
    for (std::size_t n : {0u, 1u, 3u, 10u, 12u}) {
        std::vector<std::size_t> seen;
        std::vector<std::pair<std::size_t, std::size_t>> prepared;
        std::mutex mutex;
        run_segments(
            n, 3,
            [&](std::size_t begin, std::size_t end) {
                std::lock_guard lock(mutex);
                prepared.emplace_back(begin, end);
                std::vector<std::size_t> values;
                for (std::size_t i = begin; i < end; ++i) values.push_back(i * 10);
                return values;
            },
            [&](std::size_t begin, std::vector<std::size_t>&& values) {
                EXPECT_EQ(begin, seen.size());
                for (std::size_t v : values) seen.push_back(v / 10);
            });
        ASSERT_EQ(seen.size(), n);
        for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(seen[i], i);
        EXPECT_EQ(prepared.size(), (n + 2) / 3);
    }
}

TEST(Segments, NextSegmentIsPreparedWhileTheCurrentOneIsConsumed) {
    // Consuming segment 0 waits until segment 1 has been prepared: it only finishes if the two overlap
    // (one after the other, the wait would run out and the expectation fail).
    std::promise<void> second_prepared;
    auto second = second_prepared.get_future();
    std::vector<std::size_t> consumed;
    run_segments(
        4, 2,
        [&](std::size_t begin, std::size_t) {
            if (begin == 2) second_prepared.set_value();
            return begin;
        },
        [&](std::size_t begin, std::size_t&& value) {
            EXPECT_EQ(begin, value);
            if (begin == 0) {
                EXPECT_EQ(second.wait_for(std::chrono::seconds(60)), std::future_status::ready);
            }
            consumed.push_back(begin);
        });
    EXPECT_EQ(consumed, (std::vector<std::size_t>{0, 2}));
}

TEST(Segments, ErrorsPropagate) {
    const auto identity = [](std::size_t begin, std::size_t) { return begin; };
    EXPECT_THROW(run_segments(
                     6, 2,
                     [](std::size_t begin, std::size_t) -> std::size_t {
                         if (begin == 4) throw std::runtime_error("prepare");
                         return begin;
                     },
                     [](std::size_t, std::size_t&&) {}),
                 std::runtime_error);
    EXPECT_THROW(run_segments(6, 2, identity,
                              [](std::size_t begin, std::size_t&&) {
                                  if (begin == 2) throw std::runtime_error("consume");
                              }),
                 std::runtime_error);
}

TEST(Segments, OneSegmentOnTheCpuSegmentsOnAGpu) {
    EXPECT_EQ(segment_size(10000, Device::Cpu), 10000u);
    EXPECT_EQ(segment_size(0, Device::Cpu), 1u);
    EXPECT_EQ(segment_size(10000, Device::Cuda), kGpuSegment);
}

}  // namespace
}  // namespace winnow
