#include "tensor/cuda/cuda_probe.h"

#include <cuda_runtime.h>

#include <string>

namespace winnow::cuda {

namespace {

constexpr unsigned kProbeValue = 0x5eed1e55u;

__global__ void probe_kernel(unsigned* out) { *out = kProbeValue; }

std::string describe(cudaError_t error) {
    return std::string(cudaGetErrorName(error)) + ": " + cudaGetErrorString(error);
}

}  // namespace

CudaStatus probe() {
    CudaStatus status;
    status.built = true;
    int count = 0;
    if (const cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
        status.reason = describe(e);
        return status;
    }
    if (count == 0) {
        status.reason = "no CUDA device";
        return status;
    }
    status.device_count = count;
    cudaDeviceProp props{};
    if (const cudaError_t e = cudaGetDeviceProperties(&props, 0); e != cudaSuccess) {
        status.reason = "device 0: " + describe(e);
        return status;
    }
    const std::string arch = "sm_" + std::to_string(props.major) + std::to_string(props.minor);
    status.device = std::string(props.name) + ", " + arch;
    status.memory_bytes = props.totalGlobalMem;

    unsigned* value = nullptr;
    if (const cudaError_t e = cudaMalloc(&value, sizeof(unsigned)); e != cudaSuccess) {
        status.reason = "device 0: cudaMalloc: " + describe(e);
        return status;
    }
    probe_kernel<<<1, 1>>>(value);
    cudaError_t e = cudaGetLastError();
    unsigned host = 0;
    if (e == cudaSuccess) e = cudaMemcpy(&host, value, sizeof(unsigned), cudaMemcpyDeviceToHost);
    cudaFree(value);
    if (e != cudaSuccess) {
        status.reason = "device 0 (" + arch + ") cannot run this build's kernels (" + describe(e) +
                        "); rebuild with -DCMAKE_CUDA_ARCHITECTURES=" + std::to_string(props.major) +
                        std::to_string(props.minor);
        return status;
    }
    if (host != kProbeValue) {
        status.reason = "device 0: the probe kernel returned a wrong value";
        return status;
    }
    status.usable = true;
    return status;
}

}  // namespace winnow::cuda
