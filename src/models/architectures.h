// The factories of the architectures in registry.cpp, one file each.
#pragma once

#include <memory>

#include "models/model.h"
#include "models/model_config.h"
#include "models/weight_store.h"

namespace winnow {

std::unique_ptr<Model> create_bert(const ModelConfig& config, const WeightStore& weights, const LoadOptions& options);
std::unique_ptr<Model> create_xlm_roberta(const ModelConfig& config, const WeightStore& weights,
                                          const LoadOptions& options);
std::unique_ptr<Model> create_modernbert(const ModelConfig& config, const WeightStore& weights,
                                         const LoadOptions& options);

}  // namespace winnow
