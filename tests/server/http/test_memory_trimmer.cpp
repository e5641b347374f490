// MemoryTrimmer: a trim runs on its own thread once the server has been idle for the quiet period
// since the last request in flight ended, only while it is still idle, one at a time however often
// it is asked for. Conditions are built
// (a release function that blocks until the test lets it go), not waited for.
#include <atomic>
#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

#include "server/memory_trimmer.h"

namespace winnow::server {
namespace {

using namespace std::chrono_literals;

TEST(MemoryTrimmer, TrimsWhenIdle) {
    std::atomic<int> released{0};
    MemoryTrimmer trimmer(
        0ms, [] { return true; }, [&] { ++released; });
    trimmer.on_idle();
    trimmer.drain();
    EXPECT_EQ(released.load(), 1);
    EXPECT_EQ(trimmer.trims(), 1U);
    trimmer.on_idle();
    trimmer.drain();
    EXPECT_EQ(released.load(), 2);
}

TEST(MemoryTrimmer, SkipsWhenARequestStartedMeanwhile) {
    std::atomic<int> in_flight{1};
    std::atomic<int> released{0};
    MemoryTrimmer trimmer(
        0ms, [&] { return in_flight.load() == 0; }, [&] { ++released; });
    trimmer.on_idle();
    trimmer.drain();
    EXPECT_EQ(released.load(), 0);
    EXPECT_EQ(trimmer.trims(), 0U);
    in_flight = 0;
    trimmer.on_idle();
    trimmer.drain();
    EXPECT_EQ(released.load(), 1);
}

TEST(MemoryTrimmer, OneTrimPendingAtMostWhileOneRuns) {
    std::mutex m;
    std::condition_variable cv;
    bool entered = false, let_go = false;
    std::atomic<int> released{0};
    MemoryTrimmer trimmer(
        0ms, [] { return true; },
        [&] {
            std::unique_lock lock(m);
            entered = true;
            cv.notify_all();
            cv.wait(lock, [&] { return let_go; });
            ++released;
        });
    trimmer.on_idle();
    {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return entered; });  // the first trim is running now
    }
    for (int i = 0; i < 100; ++i) trimmer.on_idle();  // a burst of requests ending meanwhile
    {
        std::lock_guard lock(m);
        let_go = true;
    }
    cv.notify_all();
    trimmer.drain();
    EXPECT_EQ(released.load(), 2) << "the running trim, then one for all the calls made during it";
}

TEST(MemoryTrimmer, DestructionDropsATrimNotStarted) {
    std::atomic<int> released{0};
    {
        // A quiet period no test waits for: the trim is due only in an hour.
        MemoryTrimmer trimmer(
            1h, [] { return true; }, [&] { ++released; });
        trimmer.on_idle();
    }
    EXPECT_EQ(released.load(), 0);
}

TEST(MemoryTrimmer, TheDefaultReleaseRuns) {
    MemoryTrimmer::release_free_memory();
}

}  // namespace
}  // namespace winnow::server
