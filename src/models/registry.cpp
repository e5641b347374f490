#include "models/registry.h"

#include "models/architectures.h"
#include "models/qwen3.h"
#include "tensor/linear_precision.h"
#include "winnow/error.h"

namespace winnow {

namespace {
constexpr Architecture kArchitectures[] = {
    {"bert", create_bert},
    {"xlm-roberta", create_xlm_roberta},
    {"roberta", create_xlm_roberta},
    {"modernbert", create_modernbert},
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

namespace {
// Every model is built here: Precision::Auto becomes a concrete precision once, so every
// architecture (and the precision it reports in ModelInfo) sees the same choice.
std::unique_ptr<Model> create(const Architecture& arch, const ModelConfig& config, const WeightStore& weights,
                              LoadOptions options) {
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
