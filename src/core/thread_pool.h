// A fixed-size thread pool. Exceptions from tasks travel back through futures.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <future>
#include <mutex>
#include <queue>
#include <thread>
#include <type_traits>
#include <vector>

namespace winnow {

class ThreadPool {
public:
    // n_threads = 0 means std::thread::hardware_concurrency().
    explicit ThreadPool(std::size_t n_threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    std::size_t size() const noexcept { return workers_.size(); }

    template <typename Fn>
    auto submit(Fn&& fn) -> std::future<std::invoke_result_t<Fn>> {
        using Result = std::invoke_result_t<Fn>;
        auto task = std::make_shared<std::packaged_task<Result()>>(std::forward<Fn>(fn));
        std::future<Result> future = task->get_future();
        enqueue([task] { (*task)(); });
        return future;
    }

    // Runs fn(begin, end) over [0, n) split into contiguous chunks, one per worker at most,
    // on the pool plus the calling thread. Rethrows the first exception after all chunks end.
    // From within one of this pool's tasks it runs fn(0, n) inline (no deadlock on itself).
    void parallel_for(std::size_t n, const std::function<void(std::size_t, std::size_t)>& fn);

    // A process-wide pool sized to the machine, created on first use.
    static ThreadPool& global();

private:
    void enqueue(std::function<void()> job);
    void worker_loop();

    std::vector<std::thread> workers_;
    std::queue<std::function<void()>> jobs_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stopping_ = false;
};

}  // namespace winnow
