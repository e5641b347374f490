// Gives the memory a burst of requests freed back to the system once the server goes idle.
// glibc's malloc keeps freed memory in its arenas (one per thread that allocated, up to 8 per
// core), so after a burst of large requests a server's RSS stays near its peak for good;
// malloc_trim(0) returns the free pages of every arena. It walks the arenas under their locks, and
// the pages it returns fault in again when the next requests allocate, so it runs on a thread of
// its own, and only once the server has stayed idle (no request in flight) for a quiet period: a
// busy server whose in-flight count touches zero between requests is not trimmed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace winnow::server {

class MemoryTrimmer {
public:
    using Clock = std::chrono::steady_clock;
    // `idle` says whether no request is in flight now (checked just before trimming); `release`
    // returns the memory (malloc_trim(0) by default).
    MemoryTrimmer(std::chrono::milliseconds quiet, std::function<bool()> idle,
                  std::function<void()> release = release_free_memory);
    ~MemoryTrimmer();  // stops the thread; a trim not started is dropped
    MemoryTrimmer(const MemoryTrimmer&) = delete;
    MemoryTrimmer& operator=(const MemoryTrimmer&) = delete;

    // The last request in flight ended: a trim is due `quiet` from now, unless another request
    // ends later (then from that one's end) or is in flight then. Returns at once.
    void on_idle();
    // Blocks until no trim is pending or running (for tests and shutdown).
    void drain();
    std::uint64_t trims() const;

    static void release_free_memory();

private:
    void loop();

    const std::chrono::milliseconds quiet_;
    const std::function<bool()> idle_;
    const std::function<void()> release_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    bool pending_ = false;
    bool running_ = false;
    bool stop_ = false;
    std::uint64_t trims_ = 0;
    Clock::time_point last_idle_{};  // the latest on_idle()
    std::thread thread_;
};

}  // namespace winnow::server
