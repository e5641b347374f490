// The one registry of architectures, keyed by config.json's model_type (explicit list in
// registry.cpp: adding an architecture = one file + one line there).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "models/model.h"
#include "models/model_config.h"
#include "models/weight_store.h"

namespace winnow {

using ArchitectureFactory = std::unique_ptr<Model> (*)(const ModelConfig&, const WeightStore&, const LoadOptions&);

struct Architecture {
    std::string_view model_type;  // as in config.json ("bert", "xlm-roberta", ...)
    ArchitectureFactory create;
};

std::span<const Architecture> architectures() noexcept;
const Architecture* find_architecture(std::string_view model_type) noexcept;
// The architecture for config.model_type(); Errc::Unsupported naming it and the known ones.
const Architecture& require_architecture(const ModelConfig& config);

// Loads config.json and the weights of a model folder and builds its architecture. Errors name the
// file and tensor; an unknown model_type is Errc::Unsupported naming it and the known ones.
std::unique_ptr<Model> load_model(const std::string& folder, const LoadOptions& options = {});
std::unique_ptr<Model> load_model(const ModelConfig& config, const WeightStore& weights, const LoadOptions& options);

}  // namespace winnow
