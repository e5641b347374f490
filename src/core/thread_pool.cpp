#include "core/thread_pool.h"

#include <algorithm>
#include <exception>

namespace winnow {
namespace {

// The pool whose worker this thread is (null on other threads).
thread_local const ThreadPool* t_worker_of = nullptr;

}  // namespace

ThreadPool::ThreadPool(std::size_t n_threads) {
    if (n_threads == 0) n_threads = std::max(1u, std::thread::hardware_concurrency());
    workers_.reserve(n_threads);
    for (std::size_t i = 0; i < n_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
}

void ThreadPool::enqueue(std::function<void()> job) {
    {
        std::lock_guard lock(mutex_);
        jobs_.push(std::move(job));
    }
    cv_.notify_one();
}

void ThreadPool::worker_loop() {
    t_worker_of = this;
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (stopping_ && jobs_.empty()) return;
            job = std::move(jobs_.front());
            jobs_.pop();
        }
        job();
    }
}

void ThreadPool::parallel_for(std::size_t n, const std::function<void(std::size_t, std::size_t)>& fn) {
    if (n == 0) return;
    // Called from one of this pool's own tasks, it runs inline: chunks queued behind the caller
    // could wait for a worker that is waiting for them.
    const std::size_t n_chunks = t_worker_of == this ? 1 : std::min(n, workers_.size() + 1);
    if (n_chunks == 1) {
        fn(0, n);
        return;
    }
    const std::size_t per = (n + n_chunks - 1) / n_chunks;
    std::vector<std::future<void>> pending;
    pending.reserve(n_chunks - 1);
    for (std::size_t c = 1; c < n_chunks; ++c) {
        const std::size_t begin = c * per;
        const std::size_t end = std::min(n, begin + per);
        if (begin >= end) break;
        pending.push_back(submit([&fn, begin, end] { fn(begin, end); }));
    }
    std::exception_ptr first;
    try {
        fn(0, std::min(n, per));
    } catch (...) {
        first = std::current_exception();
    }
    for (auto& f : pending) {
        try {
            f.get();
        } catch (...) {
            if (!first) first = std::current_exception();
        }
    }
    if (first) std::rethrow_exception(first);
}

ThreadPool& ThreadPool::global() {
    // The caller of parallel_for works too, so one worker fewer than cores (at least one).
    static ThreadPool pool(std::max(2u, std::thread::hardware_concurrency()) - 1);
    return pool;
}

}  // namespace winnow
