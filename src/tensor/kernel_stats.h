// Process-wide counters of the work the GEMM kernels do outside the GEMMs themselves: oneDNN matmul
// primitives made (each one JIT-compiles code for one shape, ~1 ms). With the fixed row blocks of
// row_blocks.h the count stops growing once a model has seen each block size; the server exports it
// (`winnow_kernel_primitives_created_total`) and `winnow rerank --log info` reports it.
#pragma once

#include <cstdint>

namespace winnow {

struct KernelStats {
    std::uint64_t primitives_created = 0;
    double creation_seconds = 0.0;  // wall time spent making them
};

KernelStats kernel_stats() noexcept;
void record_primitive_created(double seconds) noexcept;

// Eager warm-up: a layer's first GEMM makes the primitives for every row-block size at once (15 per layer
// shape, ~0.5 ms each) instead of one per new size later. Off by default (a one-shot CLI run would pay for
// sizes it never uses); winnow::Server turns it on, so traffic of any batch sizes makes none after each
// layer has run once.
void set_eager_kernel_warmup(bool on) noexcept;
bool eager_kernel_warmup() noexcept;

}  // namespace winnow
