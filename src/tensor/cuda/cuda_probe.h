// Internal: the CUDA device probe behind winnow::cuda_status() (built with WINNOW_HAVE_CUDA only).
#pragma once

#include "winnow/device.h"

namespace winnow::cuda {

// Counts the devices, reads device 0's properties, and runs one kernel of this build on it, so a
// binary without code for the GPU's architecture reports that instead of failing later. Never
// throws; a failure is CudaStatus::reason.
CudaStatus probe();

}  // namespace winnow::cuda
