#include "tensor/threads.h"

#include <omp.h>
#include <unistd.h>

#include <cstdlib>

namespace winnow {

ScopedThreads::ScopedThreads(std::size_t n_threads) : previous_(omp_get_max_threads()) {
    if (n_threads > 0) omp_set_num_threads(static_cast<int>(n_threads));
}

ScopedThreads::~ScopedThreads() {
    omp_set_num_threads(previous_);
}

void use_bounded_openmp_wait(char** argv) noexcept {
    if (argv == nullptr || argv[0] == nullptr) return;
    if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
    if (setenv("GOMP_SPINCOUNT", kOpenMpSpinCount, 0) != 0) return;
#if defined(__linux__)
    execv("/proc/self/exe", argv);
#endif
    // exec failed (or not Linux): keep running with the runtime's default policy.
}

}  // namespace winnow
