// BatchScheduler: cross-request batching under a token budget, with a bounded queue.
//
// HTTP handlers submit a request's units (rerank pairs, texts to embed) with a token cost each; one
// worker thread forms batches of up to `token_budget` tokens from the queued requests, oldest
// first, runs the model once per batch and hands every unit's result back to its request. Units
// only share a batch when their `key` matches (for embeddings: query/document kind and dimensions).
// The queue is bounded in units: a submit that would exceed it throws Error(Overloaded) (HTTP 429).
// Requests past their deadline fail with Timeout; cancelled ones (client gone) are dropped before
// their units reach the model.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "winnow/error.h"

namespace winnow::server {

using Clock = std::chrono::steady_clock;

struct SchedulerOptions {
    std::size_t token_budget = 8192;      // tokens per batch (a single larger unit still runs alone)
    std::size_t max_batch_units = 256;    // units per batch
    std::size_t max_queue_units = 4096;   // units waiting; beyond this submit() throws Overloaded
    bool merge_requests = true;           // false: one request per batch (the baseline batching beats)
};

// What the worker reports after each batch (for metrics).
struct BatchStats {
    std::size_t units = 0;
    std::size_t tokens = 0;
    std::size_t requests = 0;  // distinct requests in the batch
    double seconds = 0.0;
};

template <typename Unit, typename Result>
class BatchScheduler {
public:
    // Runs one batch; must return one result per unit, in order. May throw winnow::Error (every
    // request in the batch then fails with it).
    using RunBatch = std::function<std::vector<Result>(std::uint64_t key, const std::vector<const Unit*>& units)>;
    using OnBatch = std::function<void(const BatchStats&)>;

    class Ticket {
    public:
        // Waits up to `timeout` for the request to finish; true when it has (done or failed).
        bool wait_for(Clock::duration timeout) {
            std::unique_lock lock(mutex_);
            return cv_.wait_for(lock, timeout, [&] { return finished_; });
        }
        bool finished() {
            std::lock_guard lock(mutex_);
            return finished_;
        }
        // The results, in unit order; rethrows the failure. Only after wait_for returned true.
        std::vector<Result> take() {
            std::lock_guard lock(mutex_);
            WINNOW_ASSERT(finished_);
            if (error_) throw *error_;
            return std::move(results_);
        }
        Clock::time_point deadline() const { return deadline_; }

    private:
        friend class BatchScheduler;
        // Fails the ticket unless it already finished; returns whether this call finished it.
        bool fail(Error error) {
            {
                std::lock_guard lock(mutex_);
                if (finished_) return false;
                finished_ = true;
                error_ = std::move(error);
            }
            cv_.notify_all();
            return true;
        }
        void deliver(std::size_t index, Result&& result) {
            bool now_done = false;
            {
                std::lock_guard lock(mutex_);
                if (finished_) return;  // failed or cancelled meanwhile: drop
                results_[index] = std::move(result);
                now_done = ++done_ == results_.size();
                if (now_done) finished_ = true;
            }
            if (now_done) cv_.notify_all();
        }

        std::vector<Unit> units_;
        std::vector<std::uint32_t> costs_;
        std::uint64_t key_ = 0;
        Clock::time_point deadline_;
        std::size_t next_ = 0;  // first unit not yet taken into a batch (guarded by the scheduler's mutex)

        std::mutex mutex_;
        std::condition_variable cv_;
        std::vector<Result> results_;
        std::size_t done_ = 0;
        bool finished_ = false;
        std::optional<Error> error_;
    };
    using TicketPtr = std::shared_ptr<Ticket>;

    BatchScheduler(SchedulerOptions options, RunBatch run, OnBatch on_batch = {})
        : options_(options), run_(std::move(run)), on_batch_(std::move(on_batch)) {
        WINNOW_ASSERT(options_.max_batch_units > 0 && options_.token_budget > 0);
        worker_ = std::thread([this] { worker_loop(); });
    }
    ~BatchScheduler() { stop(); }
    BatchScheduler(const BatchScheduler&) = delete;
    BatchScheduler& operator=(const BatchScheduler&) = delete;

    // Queues a request. Throws Error(Overloaded) when the queue cannot take its units now, and
    // Error(TooLarge) when it never could. An empty request finishes at once.
    TicketPtr submit(std::vector<Unit> units, std::vector<std::uint32_t> costs, std::uint64_t key,
                     Clock::time_point deadline) {
        WINNOW_ASSERT(units.size() == costs.size());
        auto ticket = std::make_shared<Ticket>();
        const std::size_t n = units.size();
        ticket->results_.resize(n);
        ticket->units_ = std::move(units);
        ticket->costs_ = std::move(costs);
        ticket->key_ = key;
        ticket->deadline_ = deadline;
        if (n == 0) {
            ticket->finished_ = true;
            return ticket;
        }
        WINNOW_CHECK(n <= options_.max_queue_units, Errc::TooLarge,
                     "request has {} items; the queue holds at most {}", n, options_.max_queue_units);
        {
            std::lock_guard lock(mutex_);
            WINNOW_CHECK(!stopping_, Errc::Overloaded, "server is shutting down");
            WINNOW_CHECK(queued_units_ + n <= options_.max_queue_units, Errc::Overloaded,
                         "queue full: {} items waiting, {} more requested, capacity {}", queued_units_, n,
                         options_.max_queue_units);
            queued_units_ += n;
            queue_.push_back(ticket);
        }
        cv_.notify_one();
        return ticket;
    }

    // Withdraws a request (client gone or deadline passed in the handler): its queued units are
    // dropped, units already in a running batch finish and are discarded.
    void cancel(const TicketPtr& ticket, Errc why, std::string message) {
        {
            std::lock_guard lock(mutex_);
            auto it = std::find(queue_.begin(), queue_.end(), ticket);
            if (it != queue_.end()) {
                queued_units_ -= ticket->units_.size() - ticket->next_;
                queue_.erase(it);
            }
        }
        ticket->fail(Error(why, std::move(message)));
    }

    // Stops taking requests, finishes everything queued, joins the worker. Idempotent.
    // Finishes the queued work and joins the worker; safe to call from several threads at once
    // (each returns once the worker has finished).
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        cv_.notify_all();
        std::call_once(joined_, [this] {
            if (worker_.joinable()) worker_.join();
        });
    }

    std::size_t queued_units() const {
        std::lock_guard lock(mutex_);
        return queued_units_;
    }
    // Units per second over recent batches (an exponential moving average; 0 before the first).
    double throughput() const { return throughput_.load(std::memory_order_relaxed); }
    const SchedulerOptions& options() const { return options_; }

private:
    struct Slot {
        TicketPtr ticket;
        std::size_t index;
    };

    void worker_loop() {
        std::unique_lock lock(mutex_);
        for (;;) {
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) {
                if (stopping_) return;
                continue;
            }
            std::vector<Slot> batch;
            std::vector<TicketPtr> expired;
            std::size_t tokens = 0;
            std::size_t requests = 0;
            const auto now = Clock::now();
            const std::uint64_t key = queue_.front()->key_;
            bool full = false;
            for (auto it = queue_.begin(); it != queue_.end() && !full;) {
                Ticket& t = **it;
                if (t.deadline_ <= now) {
                    queued_units_ -= t.units_.size() - t.next_;
                    expired.push_back(*it);
                    it = queue_.erase(it);
                    continue;
                }
                if (t.key_ != key) {
                    ++it;
                    continue;
                }
                const std::size_t before = batch.size();
                while (t.next_ < t.units_.size()) {
                    const std::size_t cost = t.costs_[t.next_];
                    if (batch.size() >= options_.max_batch_units ||
                        (!batch.empty() && tokens + cost > options_.token_budget)) {
                        full = true;
                        break;
                    }
                    batch.push_back({*it, t.next_++});
                    tokens += cost;
                }
                if (batch.size() > before) ++requests;
                if (t.next_ == t.units_.size()) {
                    it = queue_.erase(it);
                } else {
                    ++it;
                }
                if (!options_.merge_requests && !batch.empty()) break;
            }
            queued_units_ -= batch.size();
            lock.unlock();
            for (auto& t : expired) t->fail(Error(Errc::Timeout, "deadline passed while queued"));
            if (!batch.empty()) run_batch(key, batch, tokens, requests);
            lock.lock();
        }
    }

    void run_batch(std::uint64_t key, std::vector<Slot>& batch, std::size_t tokens, std::size_t requests) {
        std::vector<const Unit*> units;
        units.reserve(batch.size());
        for (const auto& slot : batch) units.push_back(&slot.ticket->units_[slot.index]);
        const auto start = Clock::now();
        std::optional<Error> failure;
        std::vector<Result> results;
        try {
            results = run_(key, units);
            if (results.size() != units.size()) {
                failure = Error(Errc::Internal, fmt::format("model returned {} results for {} inputs",
                                                            results.size(), units.size()));
            }
        } catch (const Error& e) {
            failure = e;
        } catch (const std::exception& e) {
            failure = Error(Errc::Internal, e.what());
        }
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        // Recorded before any result is delivered: a client that has its answer finds its batch in
        // the metrics (the delivery wakes the request's thread, which may respond at once).
        if (on_batch_) on_batch_(BatchStats{batch.size(), tokens, requests, seconds});
        if (failure) {
            for (auto& slot : batch) slot.ticket->fail(*failure);
        } else {
            for (std::size_t i = 0; i < batch.size(); ++i) batch[i].ticket->deliver(batch[i].index, std::move(results[i]));
            if (seconds > 0) {
                const double rate = static_cast<double>(batch.size()) / seconds;
                const double old = throughput_.load(std::memory_order_relaxed);
                throughput_.store(old == 0.0 ? rate : 0.8 * old + 0.2 * rate, std::memory_order_relaxed);
            }
        }
    }

    SchedulerOptions options_;
    RunBatch run_;
    OnBatch on_batch_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<TicketPtr> queue_;
    std::size_t queued_units_ = 0;
    bool stopping_ = false;
    std::atomic<double> throughput_{0.0};
    std::thread worker_;
    std::once_flag joined_;
};

}  // namespace winnow::server
