// Overhead of ThreadPool::parallel_for against a plain loop (Google Benchmark).
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "core/thread_pool.h"

namespace {

void work(std::vector<float>& v, std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) v[i] = std::sqrt(v[i] + 1.0f);
}

void BM_SerialLoop(benchmark::State& state) {
    std::vector<float> v(static_cast<std::size_t>(state.range(0)), 1.0f);
    for (auto _ : state) {
        work(v, 0, v.size());
        benchmark::DoNotOptimize(v.data());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_ParallelFor(benchmark::State& state) {
    std::vector<float> v(static_cast<std::size_t>(state.range(0)), 1.0f);
    winnow::ThreadPool& pool = winnow::ThreadPool::global();
    for (auto _ : state) {
        pool.parallel_for(v.size(), [&](std::size_t b, std::size_t e) { work(v, b, e); });
        benchmark::DoNotOptimize(v.data());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

}  // namespace

BENCHMARK(BM_SerialLoop)->Arg(1 << 12)->Arg(1 << 18);
BENCHMARK(BM_ParallelFor)->Arg(1 << 12)->Arg(1 << 18);
