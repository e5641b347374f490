// Internal: device memory and the GEMMs of the GPU encoders (built with WINNOW_HAVE_CUDA only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "tensor/cuda/cuda_kernels.h"
#include "tensor/tensor.h"
#include "winnow/device.h"

struct cublasLtContext;

namespace winnow::cuda {

// Owns one cudaMalloc'd block; grows (never shrinks) with reserve().
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(std::size_t bytes);  // exactly `bytes` (weights)
    DeviceBuffer(DeviceBuffer&& other) noexcept : data_(other.data_), bytes_(other.bytes_) {
        other.data_ = nullptr;
        other.bytes_ = 0;
    }
    DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    ~DeviceBuffer();

    // At least `bytes` (old contents are lost when it grows, by half again to spare regrowth).
    void reserve(std::size_t bytes);
    void* data() const noexcept { return data_; }
    template <class T>
    T* as() const noexcept {
        return static_cast<T*>(data_);
    }
    std::size_t bytes() const noexcept { return bytes_; }

private:
    void* data_ = nullptr;
    std::size_t bytes_ = 0;
};

// Page-locked host memory for asynchronous copies; grows with reserve().
class PinnedBuffer {
public:
    PinnedBuffer() = default;
    PinnedBuffer(const PinnedBuffer&) = delete;
    PinnedBuffer& operator=(const PinnedBuffer&) = delete;
    ~PinnedBuffer();
    void reserve(std::size_t bytes);
    void* data() const noexcept { return data_; }
    std::size_t bytes() const noexcept { return bytes_; }

private:
    void* data_ = nullptr;
    std::size_t bytes_ = 0;
};

// The storage type of a model loaded in `precision` (fp32, bf16, fp16); Error(Unsupported) naming `where`
// for another (int8, auto: the caller resolves auto first).
DeviceType device_type(Precision precision, const std::string& where);

// f32 host data on the device, synchronously (weights, at load).
DeviceBuffer upload_f32(std::span<const float> host);
// f32 host data on the device in `type` (converted there).
DeviceBuffer upload_as(std::span<const float> host, DeviceType type);

// A stream, a cuBLASLt handle and its workspace: what one forward pass needs besides activations.
class GpuContext {
public:
    GpuContext();
    ~GpuContext();
    GpuContext(const GpuContext&) = delete;
    GpuContext& operator=(const GpuContext&) = delete;
    Stream stream() const noexcept { return stream_; }
    // y[rows x out] = x[rows x in] * w^T, all row-major in `type` (w: [out x in], PyTorch's layout), f32
    // accumulation (no TF32: fp32 models reproduce the CPU's results).
    void matmul(const void* x, std::size_t rows, const void* w, std::size_t in, std::size_t out, void* y,
                DeviceType type);
    void copy_to_device(void* dst, const void* host, std::size_t bytes);
    void copy_to_host(void* host, const void* src, std::size_t bytes);
    void synchronize();
    // rows x cols f32 of `device` as a host tensor, through `staging` (pinned): copies, waits for the
    // stream (and collects the profiling marks), then returns.
    Tensor download(PinnedBuffer& staging, const float* device, std::size_t rows, std::size_t cols);

    // Phase timing under WINNOW_CUDA_PROFILE=1, a development aid (off, each call is one branch):
    // mark(phase) closes `phase` at this point of the stream, the time since the previous mark counting to
    // it (mark(nullptr) only starts the clock); collect(), after synchronize(), adds the closed phases to
    // the totals, which report() lists ("phase ms" lines, largest first).
    void mark(const char* phase);
    void collect();
    std::string report() const;
    bool profiling() const noexcept { return profiling_; }

private:
    struct Algorithm {
        unsigned char bytes[64];  // a cublasLtMatmulAlgo_t, opaque here
    };
    // The algorithm cuBLASLt's heuristic picked, per (rows, in, out, type): asked once per shape.
    const Algorithm& algorithm(std::size_t rows, std::size_t in, std::size_t out, DeviceType type, void* op,
                               void* a, void* b, void* c);

    Stream stream_ = nullptr;
    cublasLtContext* lt_ = nullptr;
    DeviceBuffer workspace_;
    std::map<std::tuple<std::size_t, std::size_t, std::size_t, DeviceType>, Algorithm> algorithms_;
    bool profiling_ = false;
    std::vector<std::pair<const char*, void*>> marks_;  // (phase, cudaEvent_t) since the last collect()
    std::map<std::string, double> phase_ms_;
};

}  // namespace winnow::cuda
