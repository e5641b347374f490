#include "models/registry.h"

#include "models/architectures.h"
#include "models/qwen3.h"
#include "tensor/linear_precision.h"
#include "winnow/error.h"

namespace winnow {

namespace {
constexpr Architecture kArchitectures[] = {
    {"bert", create_bert, WINNOW_ON_CUDA(create_bert_on_cuda)},
    {"xlm-roberta", create_xlm_roberta, WINNOW_ON_CUDA(create_xlm_roberta_on_cuda)},
    {"roberta", create_xlm_roberta, WINNOW_ON_CUDA(create_xlm_roberta_on_cuda)},
    {"modernbert", create_modernbert, WINNOW_ON_CUDA(create_modernbert_on_cuda)},
    {"qwen3", create_qwen3},
};
}  // namespace

std::span<const Architecture> architectures() noexcept { return kArchitectures; }

const Architecture* find_architecture(std::string_view model_type) noexcept {
    for (const auto& arch : kArchitectures) {
        if (arch.model_type == model_type) return &arch;
    }
    return nullptr;
}

const Architecture& require_architecture(const ModelConfig& config) {
    const Architecture* arch = find_architecture(config.model_type());
    if (arch == nullptr) {
        std::string known;
        for (const auto& a : kArchitectures) known += (known.empty() ? "" : ", ") + std::string(a.model_type);
        WINNOW_THROW(Errc::Unsupported, "{}: unsupported model_type '{}' (supported: {})", config.where(),
                     config.model_type(), known);
    }
    return *arch;
}

Device resolve_device(Device requested, const Architecture& arch, const CudaStatus& cuda) {
    if (requested == Device::Cpu) return Device::Cpu;
    if (requested == Device::Auto) return cuda.usable && arch.create_cuda != nullptr ? Device::Cuda : Device::Cpu;
    WINNOW_CHECK(cuda.built, Errc::Unsupported,
                 "device cuda: this winnow was built without CUDA (configure with -DWINNOW_CUDA=ON on a machine "
                 "with the CUDA toolkit), use --device cpu");
    WINNOW_CHECK(cuda.usable, Errc::Unsupported, "device cuda: no usable CUDA device ({}); use --device cpu",
                 cuda.reason);
    if (arch.create_cuda == nullptr) {
        std::string on_cuda;
        for (const auto& a : kArchitectures) {
            if (a.create_cuda != nullptr) on_cuda += (on_cuda.empty() ? "" : ", ") + std::string(a.model_type);
        }
        WINNOW_THROW(Errc::Unsupported, "device cuda: model_type '{}' has no CUDA implementation (on CUDA: {}); use "
                     "--device cpu", arch.model_type, on_cuda.empty() ? "none yet" : on_cuda);
    }
    return Device::Cuda;
}

namespace {
// Every model is built here: Device::Auto and Precision::Auto become a concrete device and
// precision once, so every architecture (and what it reports in ModelInfo) sees the same choice.
std::unique_ptr<Model> create(const Architecture& arch, const ModelConfig& config, const WeightStore& weights,
                              LoadOptions options) {
    options.device = resolve_device(options.device, arch, cuda_status());
    if (options.device == Device::Cuda) {
        if (options.precision == Precision::Auto) options.precision = Precision::Bf16;
        WINNOW_CHECK(options.precision != Precision::Int8, Errc::Unsupported,
                     "{}: precision int8 runs on the CPU only; on CUDA use bf16, fp16 or fp32", config.where());
        return arch.create_cuda(config, weights, options);
    }
    WINNOW_CHECK(options.precision != Precision::Fp16, Errc::Unsupported,
                 "{}: precision fp16 runs on CUDA only; on the CPU use bf16 or fp32", config.where());
    options.precision = resolve_precision(options.precision);
    return arch.create(config, weights, options);
}
}  // namespace

std::unique_ptr<Model> load_model(const ModelConfig& config, const WeightStore& weights, const LoadOptions& options) {
    return create(require_architecture(config), config, weights, options);
}

std::unique_ptr<Model> load_model(const std::string& folder, const LoadOptions& options) {
    const ModelConfig config = ModelConfig::load(folder);
    const Architecture& arch = require_architecture(config);  // before touching the weights
    const WeightStore weights = WeightStore::open(folder);
    return create(arch, config, weights, options);
}

}  // namespace winnow
