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
    ArchitectureFactory create;   // the CPU implementation
    // The CUDA implementation, or nullptr when the architecture has none (or the build has no CUDA).
    // Device::Auto picks it whenever cuda_status().usable.
    ArchitectureFactory create_cuda = nullptr;
};

// The device a model of `arch` runs on for `requested` (the one place that picks the backend):
// Auto is Cuda when `cuda` is usable and the architecture has a CUDA implementation, else Cpu.
// Cuda when one of the two is missing throws Error(Unsupported) saying which. Pure: tests pass
// any CudaStatus.
Device resolve_device(Device requested, const Architecture& arch, const CudaStatus& cuda);

std::span<const Architecture> architectures() noexcept;
const Architecture* find_architecture(std::string_view model_type) noexcept;
// The architecture for config.model_type(); Errc::Unsupported naming it and the known ones.
const Architecture& require_architecture(const ModelConfig& config);

// Loads config.json and the weights of a model folder and builds its architecture. Errors name the
// file and tensor; an unknown model_type is Errc::Unsupported naming it and the known ones.
std::unique_ptr<Model> load_model(const std::string& folder, const LoadOptions& options = {});
std::unique_ptr<Model> load_model(const ModelConfig& config, const WeightStore& weights, const LoadOptions& options);

}  // namespace winnow
