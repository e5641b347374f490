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
#ifdef WINNOW_HAVE_CUDA
// The GPU implementations (cuda/bert_cuda.cpp, cuda/modernbert_cuda.cpp), registered next to the CPU ones.
std::unique_ptr<Model> create_bert_on_cuda(const ModelConfig& config, const WeightStore& weights,
                                           const LoadOptions& options);
std::unique_ptr<Model> create_xlm_roberta_on_cuda(const ModelConfig& config, const WeightStore& weights,
                                                  const LoadOptions& options);
std::unique_ptr<Model> create_modernbert_on_cuda(const ModelConfig& config, const WeightStore& weights,
                                                 const LoadOptions& options);
#define WINNOW_ON_CUDA(factory) factory
#else
#define WINNOW_ON_CUDA(factory) nullptr
#endif
std::unique_ptr<Model> create_modernbert(const ModelConfig& config, const WeightStore& weights,
                                         const LoadOptions& options);

}  // namespace winnow
