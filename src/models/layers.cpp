#include "models/layers.h"

#include <cstring>

#include "winnow/error.h"

namespace winnow {

Linear load_linear(const WeightStore& weights, std::string_view name, std::size_t in, std::size_t out, bool bias,
                   Precision precision) {
    const Tensor weight = weights.get(std::string(name) + ".weight", {out, in});
    const Tensor b = bias ? weights.get(std::string(name) + ".bias", {out}) : Tensor();
    return Linear(weight, b, precision);
}

Linear load_fused_linear(const WeightStore& weights, std::span<const std::string> names, std::size_t in,
                         std::size_t out_each, bool bias, Precision precision) {
    Tensor weight(names.size() * out_each, in);
    Tensor b = bias ? Tensor(1, names.size() * out_each) : Tensor();
    for (std::size_t i = 0; i < names.size(); ++i) {
        const Tensor part = weights.get(names[i] + ".weight", {out_each, in});
        std::memcpy(weight.row(i * out_each), part.data(), part.size() * sizeof(float));
        if (bias) {
            const Tensor part_bias = weights.get(names[i] + ".bias", {out_each});
            std::memcpy(b.data() + i * out_each, part_bias.data(), out_each * sizeof(float));
        }
    }
    return Linear(weight, b, precision);
}

LayerNorm LayerNorm::load(const WeightStore& weights, std::string_view name, std::size_t dim, bool bias, float eps) {
    LayerNorm norm;
    norm.gamma = weights.get(std::string(name) + ".weight", {dim});
    if (bias) norm.beta = weights.get(std::string(name) + ".bias", {dim});
    norm.eps = eps;
    return norm;
}

void LayerNorm::apply(const float* x, float* y, std::size_t rows) const {
    layer_norm(x, y, rows, gamma.size(), gamma.data(), beta.empty() ? nullptr : beta.data(), eps);
}

void LayerNorm::add_apply(Tensor& x, const Tensor& residual) const {
    add_layer_norm(x.data(), residual.data(), x.rows(), x.cols(), gamma.data(), beta.empty() ? nullptr : beta.data(),
                   eps);
}

void embedding_lookup(const Tensor& table, std::span<const std::int32_t> ids, Tensor& out) {
    out.resize(ids.size(), table.cols());
    const std::size_t bytes = table.cols() * sizeof(float);
    for (std::size_t t = 0; t < ids.size(); ++t) std::memcpy(out.row(t), table.row(ids[t]), bytes);
}

void embedding_add(const Tensor& table, std::span<const std::int32_t> ids, Tensor& out) {
    const std::size_t cols = table.cols();
    for (std::size_t t = 0; t < ids.size(); ++t) {
        const float* src = table.row(ids[t]);
        float* dst = out.row(t);
        for (std::size_t c = 0; c < cols; ++c) dst[c] += src[c];
    }
}

Activation parse_activation(const std::string& name, std::string_view where) {
    if (name == "gelu" || name == "gelu_python") return Activation::Gelu;
    if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return Activation::GeluTanh;
    if (name == "relu") return Activation::Relu;
    if (name == "silu" || name == "swish") return Activation::Silu;
    if (name == "tanh") return Activation::Tanh;
    WINNOW_THROW(Errc::Unsupported, "{}: unsupported activation '{}'", where, name);
}

}  // namespace winnow
