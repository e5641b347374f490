// Internal: turning CUDA runtime / cuBLASLt status codes into winnow::Error (built with WINNOW_HAVE_CUDA).
#pragma once

namespace winnow::cuda {

// Throws Error(TooLarge) for an out-of-memory status, Error(Internal) for any other failure, naming `what`
// and the status; does nothing on success. `status` is a cudaError_t.
void check(int status, const char* what);
// After a kernel launch: the launch's own error (bad configuration, no kernel image for this GPU).
void check_launch(const char* kernel);
// A cublasStatus_t.
void check_cublas(int status, const char* what);

}  // namespace winnow::cuda
