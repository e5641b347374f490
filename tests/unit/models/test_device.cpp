// The device concept: parsing, the one rule that picks the backend (registry.cpp resolve_device),
// and what a model load does with each choice on a machine without a usable GPU.
#include <gtest/gtest.h>

#include <string>

#include "models/registry.h"
#include "winnow/device.h"
#include "winnow/error.h"
#include "winnow/reranker.h"

namespace winnow {
namespace {

const std::string kModels = std::string(WINNOW_SHARED_DIR) + "/fixtures/models/";

std::unique_ptr<Model> fake_cuda_model(const ModelConfig&, const WeightStore&, const LoadOptions&) { return nullptr; }

CudaStatus usable_gpu() {
    CudaStatus s;
    s.built = true;
    s.usable = true;
    s.device_count = 1;
    s.device = "test GPU, sm_90";
    return s;
}

template <class F>
std::string error_of(F&& f, Errc expected) {
    try {
        f();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), expected) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "no error";
    return {};
}

TEST(Device, NamesRoundTrip) {
    for (Device d : {Device::Auto, Device::Cpu, Device::Cuda}) EXPECT_EQ(parse_device(device_name(d)), d);
    for (Precision p : {Precision::Auto, Precision::Fp32, Precision::Bf16, Precision::Fp16, Precision::Int8}) {
        EXPECT_EQ(parse_precision(precision_name(p)), p);
    }
    EXPECT_EQ(parse_device("gpu"), Device::Cuda);
    EXPECT_NE(error_of([] { parse_device("tpu"); }, Errc::InvalidArgument).find("'tpu'"), std::string::npos);
    EXPECT_NE(error_of([] { parse_precision("fp8"); }, Errc::InvalidArgument).find("'fp8'"), std::string::npos);
}

TEST(Device, AutoPicksCudaOnlyWithAGpuAndAnImplementation) {
    const Architecture cpu_only{"bert", nullptr, nullptr};
    const Architecture both{"bert", nullptr, fake_cuda_model};
    const CudaStatus none;  // not built
    CudaStatus no_gpu;
    no_gpu.built = true;
    no_gpu.reason = "cudaErrorInsufficientDriver: CUDA driver version is insufficient";
    EXPECT_EQ(resolve_device(Device::Auto, both, usable_gpu()), Device::Cuda);
    EXPECT_EQ(resolve_device(Device::Auto, cpu_only, usable_gpu()), Device::Cpu);
    EXPECT_EQ(resolve_device(Device::Auto, both, no_gpu), Device::Cpu);
    EXPECT_EQ(resolve_device(Device::Auto, both, none), Device::Cpu);
    EXPECT_EQ(resolve_device(Device::Cpu, both, usable_gpu()), Device::Cpu);
    EXPECT_EQ(resolve_device(Device::Cuda, both, usable_gpu()), Device::Cuda);
}

TEST(Device, CudaAskedForSaysWhatIsMissing) {
    const Architecture cpu_only{"qwen3", nullptr, nullptr};
    const Architecture both{"bert", nullptr, fake_cuda_model};
    CudaStatus no_gpu;
    no_gpu.built = true;
    no_gpu.reason = "no CUDA device";
    EXPECT_NE(error_of([&] { resolve_device(Device::Cuda, both, CudaStatus{}); }, Errc::Unsupported)
                  .find("built without CUDA"),
              std::string::npos);
    EXPECT_NE(error_of([&] { resolve_device(Device::Cuda, both, no_gpu); }, Errc::Unsupported).find("no CUDA device"),
              std::string::npos);
    EXPECT_NE(error_of([&] { resolve_device(Device::Cuda, cpu_only, usable_gpu()); }, Errc::Unsupported)
                  .find("model_type 'qwen3' has no CUDA implementation"),
              std::string::npos);
}

TEST(Device, ThisBuildReportsItsCudaSide) {
    const CudaStatus& s = cuda_status();
#ifdef WINNOW_HAVE_CUDA
    EXPECT_TRUE(s.built);
#else
    EXPECT_FALSE(s.built);
#endif
    if (!s.usable) {
        EXPECT_FALSE(s.reason.empty());
        EXPECT_NE(s.to_string().find(s.built ? s.reason : "not built"), std::string::npos);
    } else {
        EXPECT_GT(s.device_count, 0);
        EXPECT_GT(s.memory_bytes, 0u);
    }
    EXPECT_EQ(&cuda_status(), &s);  // probed once
}

TEST(Device, LoadingHonoursTheDeviceAndItsPrecisions) {
    ModelOptions options;
    options.precision = Precision::Fp32;
    options.device = Device::Cpu;
    auto cpu = Reranker::load(kModels + "bert-ce", options);
    EXPECT_EQ(cpu->device(), Device::Cpu);

    options.device = Device::Auto;  // BERT has a CUDA implementation where the build has CUDA
    const bool bert_on_cuda = cuda_status().usable && find_architecture("bert")->create_cuda != nullptr;
    EXPECT_EQ(Reranker::load(kModels + "bert-ce", options)->device(), bert_on_cuda ? Device::Cuda : Device::Cpu);
#ifdef WINNOW_HAVE_CUDA
    EXPECT_NE(find_architecture("bert")->create_cuda, nullptr);
    EXPECT_NE(find_architecture("xlm-roberta")->create_cuda, nullptr);
    EXPECT_NE(find_architecture("modernbert")->create_cuda, nullptr);
#else
    EXPECT_EQ(find_architecture("bert")->create_cuda, nullptr);
    EXPECT_EQ(find_architecture("modernbert")->create_cuda, nullptr);
#endif
    EXPECT_EQ(find_architecture("qwen3")->create_cuda, nullptr);

    options.device = Device::Cpu;
    options.precision = Precision::Fp16;
    EXPECT_NE(error_of([&] { Reranker::load(kModels + "bert-ce", options); }, Errc::Unsupported)
                  .find("fp16 runs on CUDA only"),
              std::string::npos);

    if (!cuda_status().usable) {
        options.device = Device::Cuda;
        options.precision = Precision::Auto;
        const std::string message = error_of([&] { Reranker::load(kModels + "bert-ce", options); }, Errc::Unsupported);
        EXPECT_NE(message.find("device cuda"), std::string::npos) << message;
    }
}

}  // namespace
}  // namespace winnow
