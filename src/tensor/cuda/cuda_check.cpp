#include "tensor/cuda/cuda_check.h"

#include <cublasLt.h>
#include <cuda_runtime.h>

#include "winnow/error.h"

namespace winnow::cuda {

void check(int status, const char* what) {
    const auto e = static_cast<cudaError_t>(status);
    if (e == cudaSuccess) return;
    cudaGetLastError();  // clear a sticky-free error so the next call starts clean
    WINNOW_CHECK(e != cudaErrorMemoryAllocation, Errc::TooLarge,
                 "cuda: {}: out of GPU memory (lower the token budget: --token-budget / --batch-tokens)", what);
    WINNOW_THROW(Errc::Internal, "cuda: {}: {} ({})", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

void check_launch(const char* kernel) { check(static_cast<int>(cudaGetLastError()), kernel); }

void check_cublas(int status, const char* what) {
    const auto s = static_cast<cublasStatus_t>(status);
    if (s == CUBLAS_STATUS_SUCCESS) return;
    WINNOW_CHECK(s != CUBLAS_STATUS_ALLOC_FAILED, Errc::TooLarge, "cublasLt: {}: out of GPU memory", what);
    WINNOW_THROW(Errc::Internal, "cublasLt: {}: status {}", what, static_cast<int>(s));
}

}  // namespace winnow::cuda
