#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <stdexcept>

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

TEST(ThreadPool, ExceptionsPropagate) {
    winnow::ThreadPool pool(2);
    auto f = pool.submit([]() -> int { throw std::runtime_error("boom"); });
    EXPECT_THROW(f.get(), std::runtime_error);
    EXPECT_THROW(pool.parallel_for(10, [](std::size_t b, std::size_t) {
        if (b > 0) throw std::runtime_error("chunk");
    }),
                 std::runtime_error);
}
