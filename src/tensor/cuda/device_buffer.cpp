#include "tensor/cuda/device_buffer.h"

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "tensor/cuda/cublaslt_library.h"
#include "tensor/cuda/cuda_check.h"
#include "winnow/error.h"

namespace winnow::cuda {

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
        if (data_ != nullptr) cudaFree(data_);
        data_ = std::exchange(other.data_, nullptr);
        bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
}

DeviceBuffer::DeviceBuffer(std::size_t bytes) {
    check(cudaMalloc(&data_, bytes), "cudaMalloc");
    bytes_ = bytes;
}

DeviceBuffer::~DeviceBuffer() {
    if (data_ != nullptr) cudaFree(data_);
}

void DeviceBuffer::reserve(std::size_t bytes) {
    if (bytes <= bytes_) return;
    // Work queued on a stream may still read the old block: wait for it before freeing (growth is rare).
    if (data_ != nullptr) {
        check(cudaDeviceSynchronize(), "cudaDeviceSynchronize (before growing a buffer)");
        cudaFree(data_);
    }
    data_ = nullptr;
    bytes_ = 0;
    // Grow by half again, so a slowly rising batch size does not reallocate every call.
    const std::size_t want = bytes + bytes / 2;
    check(cudaMalloc(&data_, want), "cudaMalloc");
    bytes_ = want;
}

PinnedBuffer::~PinnedBuffer() {
    if (data_ != nullptr) cudaFreeHost(data_);
}

void PinnedBuffer::reserve(std::size_t bytes) {
    if (bytes <= bytes_) return;
    if (data_ != nullptr) {
        check(cudaDeviceSynchronize(), "cudaDeviceSynchronize (before growing a pinned buffer)");
        cudaFreeHost(data_);
    }
    data_ = nullptr;
    bytes_ = 0;
    const std::size_t want = bytes + bytes / 2;
    check(cudaMallocHost(&data_, want), "cudaMallocHost");
    bytes_ = want;
}

DeviceType device_type(Precision precision, const std::string& where) {
    switch (precision) {
        case Precision::Fp32:
            return DeviceType::F32;
        case Precision::Bf16:
            return DeviceType::Bf16;
        case Precision::Fp16:
            return DeviceType::F16;
        default:
            break;
    }
    WINNOW_THROW(Errc::Unsupported, "{}: precision {} does not run on CUDA (fp32, bf16 or fp16)", where,
                 precision_name(precision));
}

DeviceBuffer upload_f32(std::span<const float> host) {
    DeviceBuffer buffer(host.size_bytes() == 0 ? sizeof(float) : host.size_bytes());
    check(cudaMemcpy(buffer.data(), host.data(), host.size_bytes(), cudaMemcpyHostToDevice), "cudaMemcpy (weights)");
    return buffer;
}

DeviceBuffer upload_as(std::span<const float> host, DeviceType type) {
    if (type == DeviceType::F32) return upload_f32(host);
    const DeviceBuffer staging = upload_f32(host);
    DeviceBuffer buffer(host.size() * type_size(type) + 16);
    convert_from_f32(staging.as<float>(), buffer.data(), host.size(), type, nullptr);
    check(cudaDeviceSynchronize(), "convert weights");
    return buffer;
}

namespace {
constexpr std::size_t kWorkspaceBytes = 32u << 20;  // cuBLASLt's suggestion for Hopper

cudaDataType_t data_type(DeviceType type) {
    switch (type) {
        case DeviceType::F32:
            return CUDA_R_32F;
        case DeviceType::Bf16:
            return CUDA_R_16BF;
        case DeviceType::F16:
            return CUDA_R_16F;
    }
    return CUDA_R_32F;
}

// RAII for the cuBLASLt descriptors of one call.
struct Descriptors {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    ~Descriptors() {
        const CublasLtLibrary& lib = cublaslt();
        if (a != nullptr) lib.cublasLtMatrixLayoutDestroy(a);
        if (b != nullptr) lib.cublasLtMatrixLayoutDestroy(b);
        if (c != nullptr) lib.cublasLtMatrixLayoutDestroy(c);
        if (op != nullptr) lib.cublasLtMatmulDescDestroy(op);
    }
};
}  // namespace

GpuContext::GpuContext() {
    const char* profile = std::getenv("WINNOW_CUDA_PROFILE");
    profiling_ = profile != nullptr && std::strcmp(profile, "1") == 0;
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    cublasLtHandle_t handle = nullptr;
    check_cublas(cublaslt().cublasLtCreate(&handle), "cublasLtCreate");
    lt_ = handle;
    workspace_.reserve(kWorkspaceBytes);
}

GpuContext::~GpuContext() {
    for (auto& [phase, event] : marks_) cudaEventDestroy(static_cast<cudaEvent_t>(event));
    if (lt_ != nullptr) cublaslt().cublasLtDestroy(lt_);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

void GpuContext::matmul(const void* x, std::size_t rows, const void* w, std::size_t in, std::size_t out, void* y,
                        DeviceType type) {
    if (rows == 0) return;
    // Row-major y[rows x out] = x w^T is column-major y^T[out x rows] = (w as column-major [in x out])^T * x^T,
    // x^T being x's row-major storage read column-major [in x rows].
    const cudaDataType_t t = data_type(type);
    const CublasLtLibrary& lib = cublaslt();
    Descriptors d;
    check_cublas(lib.cublasLtMatmulDescCreate(&d.op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "matmul desc");
    const cublasOperation_t transpose = CUBLAS_OP_T, none = CUBLAS_OP_N;
    check_cublas(lib.cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof(transpose)),
                 "transa");
    check_cublas(lib.cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSB, &none, sizeof(none)), "transb");
    check_cublas(lib.cublasLtMatrixLayoutCreate(&d.a, t, in, out, in), "layout w");
    check_cublas(lib.cublasLtMatrixLayoutCreate(&d.b, t, in, rows, in), "layout x");
    check_cublas(lib.cublasLtMatrixLayoutCreate(&d.c, t, out, rows, out), "layout y");
    const Algorithm& chosen = algorithm(rows, in, out, type, d.op, d.a, d.b, d.c);
    cublasLtMatmulAlgo_t algo;
    std::memcpy(&algo, chosen.bytes, sizeof(algo));
    const float alpha = 1.0f, beta = 0.0f;
    check_cublas(lib.cublasLtMatmul(lt_, d.op, &alpha, w, d.a, x, d.b, &beta, y, d.c, y, d.c, &algo, workspace_.data(),
                                workspace_.bytes(), stream_),
                 "cublasLtMatmul");
}

const GpuContext::Algorithm& GpuContext::algorithm(std::size_t rows, std::size_t in, std::size_t out,
                                                   DeviceType type, void* op, void* a, void* b, void* c) {
    static_assert(sizeof(cublasLtMatmulAlgo_t) <= sizeof(Algorithm::bytes));
    const auto key = std::make_tuple(rows, in, out, type);
    if (auto it = algorithms_.find(key); it != algorithms_.end()) return it->second;
    if (algorithms_.size() >= 4096) algorithms_.clear();  // row counts vary with traffic: keep it bounded
    const CublasLtLibrary& lib = cublaslt();
    cublasLtMatmulPreference_t preference = nullptr;
    check_cublas(lib.cublasLtMatmulPreferenceCreate(&preference), "matmul preference");
    const std::size_t workspace = workspace_.bytes();
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    cublasStatus_t status = lib.cublasLtMatmulPreferenceSetAttribute(
        preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof(workspace));
    if (status == CUBLAS_STATUS_SUCCESS) {
        status = lib.cublasLtMatmulAlgoGetHeuristic(
            lt_, static_cast<cublasLtMatmulDesc_t>(op), static_cast<cublasLtMatrixLayout_t>(a),
            static_cast<cublasLtMatrixLayout_t>(b), static_cast<cublasLtMatrixLayout_t>(c),
            static_cast<cublasLtMatrixLayout_t>(c), preference, 1, &result, &found);
    }
    lib.cublasLtMatmulPreferenceDestroy(preference);
    check_cublas(status, "cublasLtMatmulAlgoGetHeuristic");
    WINNOW_CHECK(found > 0, Errc::Unsupported, "cublasLt: no algorithm for a {} x {} by {} x {} matmul", rows, in, out,
                 in);
    Algorithm& slot = algorithms_[key];
    std::memcpy(slot.bytes, &result.algo, sizeof(result.algo));
    return slot;
}

void GpuContext::copy_to_device(void* dst, const void* host, std::size_t bytes) {
    if (bytes == 0) return;
    check(cudaMemcpyAsync(dst, host, bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync to device");
}

void GpuContext::copy_to_host(void* host, const void* src, std::size_t bytes) {
    if (bytes == 0) return;
    check(cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync to host");
}

void GpuContext::synchronize() { check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }

Tensor GpuContext::download(PinnedBuffer& staging, const float* device, std::size_t rows, std::size_t cols) {
    const std::size_t bytes = rows * cols * sizeof(float);
    staging.reserve(bytes);
    copy_to_host(staging.data(), device, bytes);
    synchronize();
    collect();
    Tensor out(rows, cols);
    if (bytes > 0) std::memcpy(out.data(), staging.data(), bytes);
    return out;
}

}  // namespace winnow::cuda

namespace winnow::cuda {

void GpuContext::mark(const char* phase) {
    if (!profiling_) return;
    cudaEvent_t event = nullptr;
    check(cudaEventCreate(&event), "cudaEventCreate");
    check(cudaEventRecord(event, stream_), "cudaEventRecord");
    marks_.emplace_back(phase, event);
}

void GpuContext::collect() {
    if (!profiling_) return;
    for (std::size_t i = 0; i < marks_.size(); ++i) {
        if (i > 0 && marks_[i].first != nullptr) {
            float ms = 0.0f;
            check(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(marks_[i - 1].second),
                                       static_cast<cudaEvent_t>(marks_[i].second)),
                  "cudaEventElapsedTime");
            phase_ms_[marks_[i].first] += ms;
        }
    }
    for (auto& [phase, event] : marks_) cudaEventDestroy(static_cast<cudaEvent_t>(event));
    marks_.clear();
}

std::string GpuContext::report() const {
    std::vector<std::pair<double, std::string>> rows;
    double total = 0.0;
    for (const auto& [phase, ms] : phase_ms_) {
        rows.emplace_back(ms, phase);
        total += ms;
    }
    std::sort(rows.rbegin(), rows.rend());
    std::string out;
    for (const auto& [ms, phase] : rows) {
        out += phase + " " + std::to_string(ms) + " ms (" + std::to_string(total > 0 ? 100.0 * ms / total : 0.0) +
               "%)\n";
    }
    return out;
}

}  // namespace winnow::cuda
