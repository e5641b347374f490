// Qwen3 (Qwen3ForCausalLM: the backbone of Qwen3-Reranker and Qwen3-Embedding), registered as
// model_type "qwen3". The model itself is a CausalLm (models/causal_lm.h).
#pragma once

#include <memory>

#include "models/model.h"
#include "models/model_config.h"
#include "models/weight_store.h"

namespace winnow {

std::unique_ptr<Model> create_qwen3(const ModelConfig& config, const WeightStore& weights, const LoadOptions& options);

}  // namespace winnow
