// Where and in what precision a model computes: a leaf header, included by the public API
// (reranker.h, embedder.h, pipeline.h) and by src/tensor alike, so the arrow runs one way.
//
// The backend is picked in one place (models/registry.cpp, `resolve_device`): Device::Auto is
// CUDA when this build has CUDA, a GPU answers, and the model's architecture has a CUDA
// implementation; the CPU otherwise. Asking for Device::Cuda when any of the three is missing is
// an Error that says which one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace winnow {

// Compute precision of the linear layers. Auto picks the fastest one whose accuracy holds on the
// device (CPU: bf16 with AVX512-BF16, else fp32). Fp16 is a GPU precision; the CPU refuses it.
enum class Precision { Auto, Fp32, Bf16, Fp16, Int8 };

Precision parse_precision(std::string_view name);  // "auto|fp32|bf16|fp16|int8", throws Error(InvalidArgument)
std::string_view precision_name(Precision precision) noexcept;

enum class Device { Auto, Cpu, Cuda };

Device parse_device(std::string_view name);  // "auto|cpu|cuda", throws Error(InvalidArgument)
std::string_view device_name(Device device) noexcept;

// What this process can use on the CUDA side (probed once, then cached).
struct CudaStatus {
    bool built = false;          // compiled with WINNOW_CUDA
    bool usable = false;         // a device answered and ran this build's kernels
    int device_count = 0;
    std::string device;          // name and compute capability of device 0 ("NVIDIA H200, sm_90")
    std::size_t memory_bytes = 0;
    std::string reason;          // why not usable (driver missing, no device, no kernel image...)
    std::string to_string() const;
};
const CudaStatus& cuda_status();

}  // namespace winnow
