// BatchScheduler: cross-request batching under a token budget, bounded queue, deadlines, cancel.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "server/batch_scheduler.h"

namespace winnow::server {
namespace {

using namespace std::chrono_literals;
using Sched = BatchScheduler<int, int>;

// Records every batch. With `hold_first`, the first batch waits inside the model until open(), so
// that what a test submits meanwhile queues behind it whatever the machine's speed.
struct Recorder {
    std::mutex mutex;
    std::vector<std::vector<int>> batches;
    std::chrono::milliseconds delay{0};
    bool hold_first = false;
    std::promise<void> first_started;
    bool signalled = false;
    std::promise<void> gate;
    std::shared_future<void> gate_open = gate.get_future().share();

    void open() { gate.set_value(); }

    Sched::RunBatch fn() {
        return [this](std::uint64_t, const std::vector<const int*>& units) {
            bool first = false;
            {
                std::lock_guard lock(mutex);
                std::vector<int> b;
                for (const int* u : units) b.push_back(*u);
                batches.push_back(b);
                if (!signalled) {
                    signalled = first = true;
                    first_started.set_value();
                }
            }
            if (first && hold_first) gate_open.wait();
            if (delay.count() > 0) std::this_thread::sleep_for(delay);
            std::vector<int> out;
            for (const int* u : units) out.push_back(*u * 10);
            return out;
        };
    }
};

Clock::time_point far() { return Clock::now() + 60s; }

std::vector<int> wait_take(const Sched::TicketPtr& t) {
    EXPECT_TRUE(t->wait_for(10s));
    return t->take();
}

TEST(BatchScheduler, ResultsComeBackInOrderPerRequest) {
    Recorder rec;
    Sched sched({}, rec.fn());
    auto t = sched.submit({1, 2, 3}, {1, 1, 1}, 0, far());
    EXPECT_EQ(wait_take(t), (std::vector<int>{10, 20, 30}));
}

TEST(BatchScheduler, MergesQueuedRequestsIntoOneBatch) {
    Recorder rec;
    rec.hold_first = true;
    Sched sched({}, rec.fn());
    // The first request occupies the worker; the next three queue up meanwhile and must share
    // one batch.
    auto first = sched.submit({0}, {1}, 0, far());
    rec.first_started.get_future().wait();
    auto a = sched.submit({1, 2}, {1, 1}, 0, far());
    auto b = sched.submit({3}, {1}, 0, far());
    auto c = sched.submit({4, 5, 6}, {1, 1, 1}, 0, far());
    rec.open();
    EXPECT_EQ(wait_take(a), (std::vector<int>{10, 20}));
    EXPECT_EQ(wait_take(b), (std::vector<int>{30}));
    EXPECT_EQ(wait_take(c), (std::vector<int>{40, 50, 60}));
    wait_take(first);
    ASSERT_EQ(rec.batches.size(), 2u);
    EXPECT_EQ(rec.batches[1], (std::vector<int>{1, 2, 3, 4, 5, 6}));
}

TEST(BatchScheduler, WithoutMergingEachBatchHoldsOneRequest) {
    Recorder rec;
    rec.hold_first = true;
    SchedulerOptions o;
    o.merge_requests = false;
    Sched sched(o, rec.fn());
    auto first = sched.submit({0}, {1}, 0, far());
    rec.first_started.get_future().wait();
    auto a = sched.submit({1, 2}, {1, 1}, 0, far());
    auto b = sched.submit({3}, {1}, 0, far());
    rec.open();
    wait_take(a);
    wait_take(b);
    wait_take(first);
    std::vector<std::vector<int>> expected{{0}, {1, 2}, {3}};
    EXPECT_EQ(rec.batches, expected);
}

TEST(BatchScheduler, RespectsTokenBudgetAndSplitsLargeRequests) {
    Recorder rec;
    rec.hold_first = true;
    SchedulerOptions o;
    o.token_budget = 100;
    Sched sched(o, rec.fn());
    auto first = sched.submit({0}, {1}, 0, far());
    rec.first_started.get_future().wait();
    // 5 units of 40 tokens: batches of at most 2 (80 tokens); a 500-token unit runs alone.
    auto a = sched.submit({1, 2, 3, 4, 5}, {40, 40, 40, 40, 40}, 0, far());
    auto big = sched.submit({9}, {500}, 0, far());
    rec.open();
    EXPECT_EQ(wait_take(a), (std::vector<int>{10, 20, 30, 40, 50}));
    EXPECT_EQ(wait_take(big), (std::vector<int>{90}));
    wait_take(first);
    std::vector<std::vector<int>> expected{{0}, {1, 2}, {3, 4}, {5}, {9}};
    EXPECT_EQ(rec.batches, expected);
}

TEST(BatchScheduler, RespectsMaxBatchUnits) {
    Recorder rec;
    SchedulerOptions o;
    o.max_batch_units = 3;
    Sched sched(o, rec.fn());
    auto t = sched.submit({1, 2, 3, 4, 5, 6, 7}, std::vector<std::uint32_t>(7, 1), 0, far());
    wait_take(t);
    for (const auto& b : rec.batches) EXPECT_LE(b.size(), 3u);
}

TEST(BatchScheduler, KeysDoNotMix) {
    Recorder rec;
    rec.hold_first = true;
    Sched sched({}, rec.fn());
    auto first = sched.submit({0}, {1}, 0, far());
    rec.first_started.get_future().wait();
    auto a = sched.submit({1}, {1}, 7, far());
    auto b = sched.submit({2}, {1}, 8, far());
    auto c = sched.submit({3}, {1}, 7, far());
    rec.open();
    wait_take(a);
    wait_take(b);
    wait_take(c);
    wait_take(first);
    std::vector<std::vector<int>> expected{{0}, {1, 3}, {2}};
    EXPECT_EQ(rec.batches, expected);
}

TEST(BatchScheduler, FullQueueThrowsOverloadedAndFreesOnCompletion) {
    Recorder rec;
    rec.hold_first = true;
    SchedulerOptions o;
    o.max_queue_units = 4;
    Sched sched(o, rec.fn());
    auto first = sched.submit({0}, {1}, 0, far());
    rec.first_started.get_future().wait();
    auto a = sched.submit({1, 2, 3}, {1, 1, 1}, 0, far());
    EXPECT_EQ(sched.queued_units(), 3u);
    try {
        sched.submit({4, 5}, {1, 1}, 0, far());
        FAIL() << "expected Overloaded";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Overloaded);
    }
    EXPECT_THROW(sched.submit({1, 2, 3, 4, 5}, {1, 1, 1, 1, 1}, 0, far()), Error);  // never fits: TooLarge
    rec.open();
    wait_take(a);
    EXPECT_EQ(sched.queued_units(), 0u);
    auto b = sched.submit({4, 5}, {1, 1}, 0, far());
    EXPECT_EQ(wait_take(b), (std::vector<int>{40, 50}));
    wait_take(first);
}

TEST(BatchScheduler, ExpiredRequestsFailWithTimeoutWithoutRunning) {
    Recorder rec;
    rec.hold_first = true;
    Sched sched({}, rec.fn());
    auto first = sched.submit({0}, {1}, 0, far());
    rec.first_started.get_future().wait();
    const auto deadline = Clock::now() + 10ms;
    auto late = sched.submit({1}, {1}, 0, deadline);
    while (Clock::now() <= deadline) std::this_thread::sleep_for(1ms);  // it expires while queued
    rec.open();
    ASSERT_TRUE(late->wait_for(5s));
    try {
        late->take();
        FAIL() << "expected Timeout";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Timeout);
    }
    wait_take(first);
    for (const auto& b : rec.batches) EXPECT_EQ(std::count(b.begin(), b.end(), 1), 0);
}

TEST(BatchScheduler, CancelledRequestsNeverReachTheModel) {
    Recorder rec;
    rec.hold_first = true;
    Sched sched({}, rec.fn());
    auto first = sched.submit({0}, {1}, 0, far());
    rec.first_started.get_future().wait();
    auto gone = sched.submit({1, 2}, {1, 1}, 0, far());
    auto kept = sched.submit({3}, {1}, 0, far());
    sched.cancel(gone, Errc::Cancelled, "client disconnected");
    EXPECT_EQ(sched.queued_units(), 1u);
    rec.open();
    EXPECT_EQ(wait_take(kept), (std::vector<int>{30}));
    ASSERT_TRUE(gone->wait_for(1s));
    EXPECT_THROW(gone->take(), Error);
    wait_take(first);
    std::vector<std::vector<int>> expected{{0}, {3}};
    EXPECT_EQ(rec.batches, expected);
}

TEST(BatchScheduler, ModelErrorsFailEveryRequestInTheBatch) {
    Sched sched({}, [](std::uint64_t, const std::vector<const int*>&) -> std::vector<int> {
        throw Error(Errc::Corrupt, "weights went bad");
    });
    auto t = sched.submit({1}, {1}, 0, far());
    ASSERT_TRUE(t->wait_for(5s));
    try {
        t->take();
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Corrupt);
        EXPECT_STREQ(e.what(), "weights went bad");
    }
}

TEST(BatchScheduler, StopDrainsQueuedWorkThenRefuses) {
    Recorder rec;
    rec.delay = 30ms;
    Sched sched({}, rec.fn());
    std::vector<Sched::TicketPtr> tickets;
    for (int i = 0; i < 5; ++i) tickets.push_back(sched.submit({i}, {1}, 0, far()));
    sched.stop();
    for (auto& t : tickets) {
        EXPECT_TRUE(t->finished());
        EXPECT_EQ(t->take().size(), 1u);
    }
    EXPECT_THROW(sched.submit({1}, {1}, 0, far()), Error);
}

// Several threads stopping at once (a signal handler's shutdown and a destructor, say) all return
// after the queued work is done; none joins the worker twice.
TEST(BatchScheduler, ConcurrentStopsJoinOnce) {
    Recorder rec;
    rec.delay = 20ms;
    Sched sched({}, rec.fn());
    std::vector<Sched::TicketPtr> tickets;
    for (int i = 0; i < 3; ++i) tickets.push_back(sched.submit({i}, {1}, 0, far()));
    std::vector<std::thread> stoppers;
    for (int i = 0; i < 4; ++i) stoppers.emplace_back([&] { sched.stop(); });
    for (auto& t : stoppers) t.join();
    for (auto& t : tickets) EXPECT_TRUE(t->finished());
}

}  // namespace
}  // namespace winnow::server
