// The GPU encoders' own kernels (issue #19) against host references in double computed from the inputs as
// the device holds them (rounded to bf16/fp16). Attention: variable lengths (one token, partial key steps,
// several query turns of a warp), head sizes 16/32/64 and others, a local window, a sequence too long for
// the register kernel's shared memory (it yields to the tiles), peaked softmaxes. LayerNorm and bias +
// activation: the widths of the vector paths and of the fallbacks. Skipped without a device.
#include <gtest/gtest.h>

#ifdef WINNOW_HAVE_CUDA

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda/cuda_kernels.h"
#include "tensor/cuda/device_buffer.h"
#include "winnow/device.h"

namespace winnow::cuda {
namespace {

struct AttentionCase {
    DeviceType type;
    std::size_t head_dim;
    std::vector<int> lengths;
    std::size_t window;
    float spread;  // standard deviation of q, k, v: larger means a peakier softmax
};

// The values the device holds for `host` stored as `type` (rounded there, read back as f32).
std::vector<float> as_device_rounds(const std::vector<float>& host, DeviceType type) {
    DeviceBuffer stored = upload_as(host, type);
    DeviceBuffer back(host.size() * sizeof(float));
    convert_to_f32(stored.data(), back.as<float>(), host.size(), 1, nullptr, type, nullptr);
    std::vector<float> out(host.size());
    check(cudaMemcpy(out.data(), back.data(), host.size() * sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy");
    return out;
}

// out[t][h * D + d] of softmax(q k^T * scale) v per sequence and head, in double, from q, k, v with their
// bias (q already scaled when `scaled`, the softmax then in base 2 as the tensor-core kernels compute it).
std::vector<double> reference(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                              const std::vector<int>& cu, std::size_t heads, std::size_t dim, bool scaled,
                              std::size_t window) {
    const std::size_t hidden = heads * dim;
    const double scale = scaled ? 1.0 : 1.0 / std::sqrt(double(dim));
    std::vector<double> out(static_cast<std::size_t>(cu.back()) * hidden, 0.0);
    for (std::size_t s = 0; s + 1 < cu.size(); ++s) {
        for (std::size_t h = 0; h < heads; ++h) {
            for (int i = cu[s]; i < cu[s + 1]; ++i) {
                std::vector<double> scores;
                std::vector<int> keys;
                for (int j = cu[s]; j < cu[s + 1]; ++j) {
                    if (window > 0 && std::abs(i - j) > static_cast<int>(window)) continue;
                    double dot = 0;
                    for (std::size_t d = 0; d < dim; ++d)
                        dot += double(q[i * hidden + h * dim + d]) * k[j * hidden + h * dim + d];
                    scores.push_back(dot * scale);
                    keys.push_back(j);
                }
                const double top = *std::max_element(scores.begin(), scores.end());
                double sum = 0;
                for (double& x : scores) sum += (x = scaled ? std::exp2(x - top) : std::exp(x - top));
                for (std::size_t n = 0; n < keys.size(); ++n) {
                    for (std::size_t d = 0; d < dim; ++d) {
                        out[i * hidden + h * dim + d] += scores[n] / sum * v[keys[n] * hidden + h * dim + d];
                    }
                }
            }
        }
    }
    return out;
}

std::string kernel_name(AttentionKernel kernel) {
    switch (kernel) {
    case AttentionKernel::Registers:
        return "registers";
    case AttentionKernel::Tiles:
        return "tiles";
    case AttentionKernel::Cores:
        return "cores";
    case AttentionKernel::Auto:
        break;
    }
    return "auto";
}

void check_case(const AttentionCase& c) {
    constexpr std::size_t kHeads = 3;
    const std::size_t dim = c.head_dim, hidden = kHeads * dim;
    std::vector<int> cu{0};
    for (int length : c.lengths) cu.push_back(cu.back() + length);
    const std::size_t tokens = static_cast<std::size_t>(cu.back());
    const std::size_t max_length = static_cast<std::size_t>(*std::max_element(c.lengths.begin(), c.lengths.end()));
    std::mt19937 random(static_cast<unsigned>(dim * 1000 + tokens));
    std::normal_distribution<float> normal(0.0f, c.spread);
    std::vector<float> qkv(tokens * 3 * hidden), bias(3 * hidden);
    for (float& x : qkv) x = normal(random);
    for (float& x : bias) x = 0.1f * normal(random);
    const std::vector<float> held = as_device_rounds(qkv, c.type);
    const double scale = 1.0 / std::sqrt(double(dim));
    // What the CUDA-core kernel computes on: the held values plus the f32 bias, in f32. What the tensor-core
    // kernels compute on: q + bias times scale * log2(e), k + bias and v + bias, each rounded to the storage
    // type (their products accumulate in f32, the softmax in base 2).
    std::vector<float> q(tokens * hidden), k(tokens * hidden), v(tokens * hidden);
    std::vector<float> q_scaled(tokens * hidden);
    for (std::size_t t = 0; t < tokens; ++t) {
        for (std::size_t c3 = 0; c3 < hidden; ++c3) {
            q[t * hidden + c3] = held[t * 3 * hidden + c3] + bias[c3];
            k[t * hidden + c3] = held[t * 3 * hidden + hidden + c3] + bias[hidden + c3];
            v[t * hidden + c3] = held[t * 3 * hidden + 2 * hidden + c3] + bias[2 * hidden + c3];
            q_scaled[t * hidden + c3] = q[t * hidden + c3] * (static_cast<float>(scale) * 1.4426950408889634f);
        }
    }
    const std::vector<double> exact = reference(q, k, v, cu, kHeads, dim, false, c.window);
    const std::vector<double> rounded = reference(as_device_rounds(q_scaled, c.type), as_device_rounds(k, c.type),
                                                  as_device_rounds(v, c.type), cu, kHeads, dim, true, c.window);

    DeviceBuffer device_qkv = upload_as(qkv, c.type);
    DeviceBuffer device_bias = upload_f32(bias);
    DeviceBuffer device_cu(cu.size() * sizeof(std::int32_t));
    check(cudaMemcpy(device_cu.data(), cu.data(), cu.size() * sizeof(std::int32_t), cudaMemcpyHostToDevice),
          "cudaMemcpy");
    DeviceBuffer device_out(tokens * hidden * type_size(c.type));
    DeviceBuffer out_f32(tokens * hidden * sizeof(float));
    // Left to differ: the output's rounding to the storage type (half an ulp of |o| < 4 spread) and, on
    // the tensor cores, the probabilities' (half an ulp of each weight, at most that of the largest |v|).
    const double epsilon = c.type == DeviceType::Bf16 ? 1.0 / 256 : 1.0 / 2048;
    const double tolerance = 6 * epsilon * c.spread;
    for (AttentionKernel kernel : {AttentionKernel::Registers, AttentionKernel::Tiles, AttentionKernel::Cores}) {
        check(cudaMemset(device_out.data(), 0xff, device_out.bytes()), "cudaMemset");  // NaN where nothing is written
        attention_varlen(device_qkv.data(), device_bias.as<float>(), device_cu.as<std::int32_t>(), c.lengths.size(),
                         max_length, kHeads, dim, static_cast<float>(scale), device_out.data(), c.type, nullptr,
                         c.window, kernel);
        convert_to_f32(device_out.data(), out_f32.as<float>(), tokens, hidden, nullptr, c.type, nullptr);
        std::vector<float> got(tokens * hidden);
        check(cudaMemcpy(got.data(), out_f32.data(), got.size() * sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy");
        double worst = 0;
        std::size_t worst_at = 0;
        for (std::size_t i = 0; i < got.size(); ++i) {
            const double want = kernel == AttentionKernel::Cores ? exact[i] : rounded[i];
            const double error = std::isfinite(got[i]) ? std::abs(got[i] - want) : INFINITY;
            if (!(error <= worst)) {
                worst = error;
                worst_at = i;
            }
        }
        EXPECT_LE(worst, tolerance) << kernel_name(kernel) << ", head size " << dim << ", window " << c.window
                                    << ": token " << worst_at / hidden << ", column " << worst_at % hidden;
    }
}

#define WINNOW_REQUIRE_GPU()                                                                               \
    do {                                                                                                   \
        if (!cuda_status().usable) GTEST_SKIP() << "no usable CUDA device: " << cuda_status().to_string(); \
    } while (0)

const std::vector<int> kLengths{1, 7, 16, 31, 32, 33, 64, 65, 140, 250, 257, 300};

TEST(GpuAttention, KernelsMatchTheReferenceAcrossHeadSizes) {
    WINNOW_REQUIRE_GPU();
    for (DeviceType type : {DeviceType::Bf16, DeviceType::F16}) {
        for (std::size_t dim : {16u, 32u, 64u}) check_case({type, dim, kLengths, 0, 1.0f});
    }
}

TEST(GpuAttention, PeakedSoftmaxes) {
    WINNOW_REQUIRE_GPU();
    check_case({DeviceType::Bf16, 32, kLengths, 0, 3.0f});
    check_case({DeviceType::F16, 64, kLengths, 0, 2.5f});
}

TEST(GpuAttention, LocalWindow) {
    WINNOW_REQUIRE_GPU();
    check_case({DeviceType::Bf16, 32, kLengths, 5, 1.0f});
    check_case({DeviceType::Bf16, 64, {3, 40, 200}, 64, 1.0f});
}

TEST(GpuAttention, SequencesBeyondTheRegisterKernelsSharedMemory) {
    WINNOW_REQUIRE_GPU();
    // 900 keys of head size 64 need 250 KB of staging: the register kernel yields to the tiles.
    check_case({DeviceType::Bf16, 64, {900, 20}, 0, 1.0f});
}

TEST(GpuAttention, OtherHeadSizesFallBack) {
    WINNOW_REQUIRE_GPU();
    check_case({DeviceType::Bf16, 12, {5, 70}, 0, 1.0f});
    check_case({DeviceType::F16, 48, {5, 70}, 0, 1.0f});
}

// LayerNorm(x + bias + residual) and act(x + bias) against the host, for widths that take the chunked
// path (384, 768, 100) and ones that do not (98: not a multiple of 4; 2000: wider than 1024).
TEST(GpuRowKernels, LayerNormAndActivationMatchTheHost) {
    WINNOW_REQUIRE_GPU();
    for (DeviceType type : {DeviceType::Bf16, DeviceType::F16, DeviceType::F32}) {
        for (std::size_t cols : {384u, 768u, 100u, 98u, 2000u}) {
            const std::size_t rows = 37;
            std::mt19937 random(static_cast<unsigned>(cols));
            std::normal_distribution<float> normal(0.0f, 1.0f);
            std::vector<float> x(rows * cols), residual(rows * cols), bias(cols), gamma(cols), beta(cols);
            for (float& v : x) v = normal(random);
            for (float& v : residual) v = normal(random);
            for (float& v : bias) v = 0.5f * normal(random);
            for (float& v : gamma) v = 1.0f + 0.2f * normal(random);
            for (float& v : beta) v = 0.2f * normal(random);
            const std::vector<float> held_x = as_device_rounds(x, type), held_r = as_device_rounds(residual, type);
            DeviceBuffer dx = upload_as(x, type), dr = upload_as(residual, type);
            DeviceBuffer db = upload_f32(bias), dg = upload_f32(gamma), dbeta = upload_f32(beta);
            DeviceBuffer out_f32(rows * cols * sizeof(float));
            const double epsilon = type == DeviceType::Bf16 ? 1.0 / 256 : type == DeviceType::F16 ? 1.0 / 2048 : 1e-6;
            std::vector<float> got(rows * cols);
            const auto fetch = [&](const DeviceBuffer& buffer) {
                convert_to_f32(buffer.data(), out_f32.as<float>(), rows, cols, nullptr, type, nullptr);
                check(cudaMemcpy(got.data(), out_f32.data(), got.size() * sizeof(float), cudaMemcpyDeviceToHost),
                      "cudaMemcpy");
            };

            bias_residual_layernorm(dx.data(), db.as<float>(), dr.data(), dg.as<float>(), dbeta.as<float>(), 1e-12f,
                                    rows, cols, dr.data(), type, nullptr);  // in place over the residual
            fetch(dr);
            double worst = 0;
            for (std::size_t r = 0; r < rows; ++r) {
                std::vector<double> v(cols);
                double mean = 0, variance = 0;
                for (std::size_t c = 0; c < cols; ++c)
                    mean += v[c] = double(held_x[r * cols + c]) + held_r[r * cols + c] + bias[c];
                mean /= double(cols);
                for (double value : v) variance += (value - mean) * (value - mean);
                const double inverse = 1.0 / std::sqrt(variance / double(cols) + 1e-12);
                for (std::size_t c = 0; c < cols; ++c) {
                    const double want = (v[c] - mean) * inverse * gamma[c] + beta[c];
                    worst = std::max(worst, std::abs(want - got[r * cols + c]));
                }
            }
            EXPECT_LE(worst, 4 * epsilon + 1e-5) << "layernorm, width " << cols << ", type " << int(type);

            bias_activation(dx.data(), db.as<float>(), rows, cols, Activation::Gelu, type, nullptr);
            fetch(dx);
            worst = 0;
            for (std::size_t i = 0; i < rows * cols; ++i) {
                const double v = double(held_x[i]) + bias[i % cols];
                const double want = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
                worst = std::max(worst, std::abs(want - got[i]) / std::max(1.0, std::abs(want)));
            }
            EXPECT_LE(worst, epsilon + 1e-6) << "gelu, width " << cols << ", type " << int(type);
        }
    }
}

}  // namespace
}  // namespace winnow::cuda

#endif  // WINNOW_HAVE_CUDA
