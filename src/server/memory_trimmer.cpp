#include "server/memory_trimmer.h"

#include <malloc.h>

namespace winnow::server {

MemoryTrimmer::MemoryTrimmer(std::chrono::milliseconds quiet, std::function<bool()> idle, std::function<void()> release)
    : quiet_(quiet), idle_(std::move(idle)), release_(std::move(release)) {
    thread_ = std::thread([this] { loop(); });
}

MemoryTrimmer::~MemoryTrimmer() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void MemoryTrimmer::on_idle() {
    {
        std::lock_guard lock(mutex_);
        last_idle_ = Clock::now();
        if (pending_) return;  // the pending trim now waits from this later end
        pending_ = true;
    }
    wake_.notify_one();
}

void MemoryTrimmer::drain() {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return stop_ || (!pending_ && !running_); });
}

std::uint64_t MemoryTrimmer::trims() const {
    std::lock_guard lock(mutex_);
    return trims_;
}

void MemoryTrimmer::release_free_memory() {
    ::malloc_trim(0);
}

void MemoryTrimmer::loop() {
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait(lock, [this] { return stop_ || pending_; });
        if (stop_) break;
        // Quiet for `quiet_` since the latest request ended (each later end pushes the trim back).
        while (!stop_ && Clock::now() < last_idle_ + quiet_) {
            const auto due = last_idle_ + quiet_;
            wake_.wait_until(lock, due, [this] { return stop_; });
        }
        if (stop_) break;
        pending_ = false;
        if (idle_()) {
            running_ = true;
            lock.unlock();
            release_();
            lock.lock();
            running_ = false;
            ++trims_;
        }
        done_.notify_all();
    }
    pending_ = false;
    done_.notify_all();
}

}  // namespace winnow::server
