// Intra-op threads of the tensor kernels (OpenMP, which oneDNN uses too): the one place they are set up.
#pragma once

#include <cstddef>

namespace winnow {

// Sets the OpenMP thread count of the calling thread for a scope (0 = leave as is: all cores).
class ScopedThreads {
public:
    explicit ScopedThreads(std::size_t n_threads);
    ~ScopedThreads();
    ScopedThreads(const ScopedThreads&) = delete;
    ScopedThreads& operator=(const ScopedThreads&) = delete;

private:
    int previous_;
};

// Makes idle OpenMP threads sleep at once instead of spinning (OMP_WAIT_POLICY=passive) unless the user set
// OMP_WAIT_POLICY or GOMP_SPINCOUNT. On a loaded machine a spinning thread whose partner was descheduled burns
// its time slice: measured 10-20x slower single-pair latency. GNU libgomp reads its environment once, when it is
// loaded (before main), so setting the variable later has no effect: call this first thing in main(); it sets
// the variable and re-executes the program (/proc/self/exe, same argv) when the OpenMP runtime started with a
// different policy. Returns normally when nothing had to change or the re-exec failed (then spinning stays).
void use_passive_openmp_wait(char** argv) noexcept;

}  // namespace winnow
