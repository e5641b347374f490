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

// Bounds how long idle OpenMP threads spin before they sleep (GOMP_SPINCOUNT=kOpenMpSpinCount, some tens of
// microseconds) unless the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT. libgomp's default spins about 300,000
// times: on a loaded machine a thread spinning for a partner that was descheduled burns its time slice (single-pair
// latency measured 10x worse). Sleeping at once (OMP_WAIT_POLICY=passive) costs a wake-up of tens of microseconds
// in every parallel region, ~2-3 ms of a 5-17 ms single pair. The short spin covers the gap between one region
// and the next within a forward pass and still sleeps when a partner is away (bench/README.md). GNU libgomp reads
// its environment once, when it is loaded (before main), so setting the variable later has no effect: call this
// first thing in main(); it sets the variable and re-executes the program (/proc/self/exe, same argv) once.
// Returns normally when nothing had to change or the re-exec failed.
void use_bounded_openmp_wait(char** argv) noexcept;

// Spin iterations of an idle OpenMP thread before it sleeps, as use_bounded_openmp_wait sets them.
inline constexpr const char* kOpenMpSpinCount = "1000";

}  // namespace winnow
