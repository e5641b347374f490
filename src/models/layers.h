// Building blocks shared by the architectures: weights pulled from a WeightStore by name and the
// layers that use them. Each holds its tensors in the form its kernel wants (Linear: prepared for
// the layer's precision).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "models/model_config.h"
#include "models/weight_store.h"
#include "tensor/kernels.h"
#include "tensor/linear.h"
#include "tensor/tensor.h"

namespace winnow {

// `name.weight` [out x in] and, when `bias`, `name.bias` [out].
Linear load_linear(const WeightStore& weights, std::string_view name, std::size_t in, std::size_t out, bool bias,
                   Precision precision);
// Several projections of the same input fused into one GEMM (BERT's query/key/value): the weights
// are stacked along the output dimension in the order given.
Linear load_fused_linear(const WeightStore& weights, std::span<const std::string> names, std::size_t in,
                         std::size_t out_each, bool bias, Precision precision);

struct LayerNorm {
    Tensor gamma;
    Tensor beta;  // empty: no bias (ModernBERT)
    float eps = 1e-12f;

    // `name.weight` and, when `bias`, `name.bias`, both [dim].
    static LayerNorm load(const WeightStore& weights, std::string_view name, std::size_t dim, bool bias, float eps);
    void apply(const float* x, float* y, std::size_t rows) const;
    void apply(Tensor& x) const { apply(x.data(), x.data(), x.rows()); }
    // x = LayerNorm(x + residual)
    void add_apply(Tensor& x, const Tensor& residual) const;
};

// Looks up rows of an embedding table: out[t] = table[ids[t]] (ids validated by the caller).
void embedding_lookup(const Tensor& table, std::span<const std::int32_t> ids, Tensor& out);
// out[t] += table[ids[t]]
void embedding_add(const Tensor& table, std::span<const std::int32_t> ids, Tensor& out);

// The hidden activation named by a config ("gelu", "gelu_new", "relu", "silu", ...).
Activation parse_activation(const std::string& name, std::string_view where);

}  // namespace winnow
