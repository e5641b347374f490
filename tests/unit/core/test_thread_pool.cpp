#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "core/thread_pool.h"

TEST(ThreadPool, SubmitReturnsValues) {
    winnow::ThreadPool pool(2);
    auto a = pool.submit([] { return 21 * 2; });
    auto b = pool.submit([] { return std::string("x"); });
    EXPECT_EQ(a.get(), 42);
    EXPECT_EQ(b.get(), "x");
}

TEST(ThreadPool, ParallelForCoversEveryIndexOnce) {
    winnow::ThreadPool pool(3);
    std::vector<std::atomic<int>> hits(1001);
    pool.parallel_for(hits.size(), [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) hits[i].fetch_add(1);
    });
    for (auto& h : hits) EXPECT_EQ(h.load(), 1);
}

// A task of the pool that calls parallel_for on the same pool: with one worker, busy with that
// task, chunks queued for a worker would never run. They run inline instead.
TEST(ThreadPool, ParallelForInsideATaskOfThePoolRunsInline) {
    winnow::ThreadPool pool(1);
    auto total = pool.submit([&pool] {
        std::vector<int> hits(1000, 0);
        pool.parallel_for(hits.size(), [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) ++hits[i];
        });
        return std::accumulate(hits.begin(), hits.end(), 0);
    });
    EXPECT_EQ(total.get(), 1000);
}

TEST(ThreadPool, ExceptionsPropagate) {
    winnow::ThreadPool pool(2);
    auto f = pool.submit([]() -> int { throw std::runtime_error("boom"); });
    EXPECT_THROW(f.get(), std::runtime_error);
    EXPECT_THROW(pool.parallel_for(10, [](std::size_t b, std::size_t) {
        if (b > 0) throw std::runtime_error("chunk");
    }),
                 std::runtime_error);
}
