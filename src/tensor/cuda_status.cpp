// cuda_status(): what the CUDA side of this build can do, probed once (tensor/cuda/cuda_probe.cu
// when the backend is built).
#include "winnow/device.h"

#ifdef WINNOW_HAVE_CUDA
#include "tensor/cuda/cuda_probe.h"
#endif

namespace winnow {

const CudaStatus& cuda_status() {
    static const CudaStatus status = [] {
#ifdef WINNOW_HAVE_CUDA
        return cuda::probe();
#else
        CudaStatus s;
        s.reason = "this build has no CUDA backend";
        return s;
#endif
    }();
    return status;
}

}  // namespace winnow
