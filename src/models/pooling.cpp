#include "models/pooling.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "winnow/error.h"

namespace winnow {

namespace {
struct ModeName {
    PoolingMode mode;
    std::string_view name;        // current config form
    std::string_view legacy_key;  // pooling_mode_*_tokens flag
};
constexpr ModeName kModes[] = {
    {PoolingMode::Cls, "cls", "pooling_mode_cls_token"},
    {PoolingMode::Max, "max", "pooling_mode_max_tokens"},
    {PoolingMode::Mean, "mean", "pooling_mode_mean_tokens"},
    {PoolingMode::MeanSqrtLen, "mean_sqrt_len_tokens", "pooling_mode_mean_sqrt_len_tokens"},
    {PoolingMode::WeightedMean, "weightedmean", "pooling_mode_weightedmean_tokens"},
    {PoolingMode::LastToken, "lasttoken", "pooling_mode_lasttoken"},
};
}  // namespace

std::string_view pooling_mode_name(PoolingMode mode) noexcept {
    for (const auto& m : kModes) {
        if (m.mode == mode) return m.name;
    }
    return "?";
}

PoolingMode parse_pooling_mode(std::string_view name, std::string_view where) {
    for (const auto& m : kModes) {
        if (m.name == name) return m.mode;
    }
    if (name == "mean_sqrt_len") return PoolingMode::MeanSqrtLen;
    WINNOW_THROW(Errc::Unsupported, "{}: unsupported pooling mode '{}'", where, name);
}

Pooling::Pooling(std::vector<PoolingMode> modes, bool include_prompt)
    : modes_(std::move(modes)), include_prompt_(include_prompt) {
    // The output order is the canonical one, whatever order the config listed them in.
    std::sort(modes_.begin(), modes_.end());
    modes_.erase(std::unique(modes_.begin(), modes_.end()), modes_.end());
}

Pooling Pooling::from_json(const Json& json, std::string_view where) {
    WINNOW_CHECK(json.is_object(), Errc::Corrupt, "{}: expected a JSON object", where);
    std::vector<PoolingMode> modes;
    if (auto it = json.find("pooling_mode"); it != json.end() && !it->is_null()) {
        if (it->is_string()) {
            modes.push_back(parse_pooling_mode(it->get<std::string>(), where));
        } else if (it->is_array()) {
            for (const auto& m : *it) {
                WINNOW_CHECK(m.is_string(), Errc::Corrupt, "{}: 'pooling_mode' entries must be strings", where);
                modes.push_back(parse_pooling_mode(m.get<std::string>(), where));
            }
        } else {
            WINNOW_THROW(Errc::Corrupt, "{}: field 'pooling_mode' has the wrong type ({})", where, it->type_name());
        }
    }
    for (const auto& m : kModes) {
        if (json_get_or<bool>(json, m.legacy_key, false, where)) modes.push_back(m.mode);
    }
    WINNOW_CHECK(!modes.empty(), Errc::Corrupt, "{}: no pooling mode enabled", where);
    return Pooling(std::move(modes), json_get_or<bool>(json, "include_prompt", true, where));
}

Tensor Pooling::pool(const Tensor& hidden, std::span<const std::uint32_t> cu_seqlens,
                     std::span<const std::uint32_t> skip) const {
    const std::size_t n = cu_seqlens.size() - 1;
    const std::size_t dim = hidden.cols();
    Tensor out = Tensor::zeros(n, dim * modes_.size());
    for (std::size_t s = 0; s < n; ++s) {
        const std::size_t begin = cu_seqlens[s];
        const std::size_t end = cu_seqlens[s + 1];
        std::size_t first = begin;
        if (!include_prompt_ && s < skip.size()) first = std::min(end, begin + skip[s]);
        const std::size_t count = end - first;
        for (std::size_t m = 0; m < modes_.size(); ++m) {
            float* o = out.row(s) + m * dim;
            switch (modes_[m]) {
                case PoolingMode::Cls:
                    std::memcpy(o, hidden.row(begin), dim * sizeof(float));
                    break;
                case PoolingMode::LastToken:
                    if (end > begin) std::memcpy(o, hidden.row(end - 1), dim * sizeof(float));
                    break;
                case PoolingMode::Max:
                    if (count == 0) break;
                    std::fill(o, o + dim, -std::numeric_limits<float>::infinity());
                    for (std::size_t t = first; t < end; ++t) {
                        const float* row = hidden.row(t);
                        for (std::size_t c = 0; c < dim; ++c) o[c] = std::max(o[c], row[c]);
                    }
                    break;
                case PoolingMode::Mean:
                case PoolingMode::MeanSqrtLen: {
                    for (std::size_t t = first; t < end; ++t) {
                        const float* row = hidden.row(t);
                        for (std::size_t c = 0; c < dim; ++c) o[c] += row[c];
                    }
                    // sentence-transformers clamps the token count to >= 1e-9.
                    const float denom = modes_[m] == PoolingMode::Mean
                                            ? std::max(static_cast<float>(count), 1e-9f)
                                            : std::sqrt(std::max(static_cast<float>(count), 1e-9f));
                    for (std::size_t c = 0; c < dim; ++c) o[c] /= denom;
                    break;
                }
                case PoolingMode::WeightedMean: {
                    // Weights are the 1-based positions in the sequence.
                    float weight_sum = 0.0f;
                    for (std::size_t t = first; t < end; ++t) {
                        const auto w = static_cast<float>(t - begin + 1);
                        weight_sum += w;
                        const float* row = hidden.row(t);
                        for (std::size_t c = 0; c < dim; ++c) o[c] += w * row[c];
                    }
                    const float denom = std::max(weight_sum, 1e-9f);
                    for (std::size_t c = 0; c < dim; ++c) o[c] /= denom;
                    break;
                }
            }
        }
    }
    return out;
}

void l2_normalize_rows(Tensor& x) {
    for (std::size_t r = 0; r < x.rows(); ++r) {
        float* row = x.row(r);
        double sq = 0.0;
        for (std::size_t c = 0; c < x.cols(); ++c) sq += static_cast<double>(row[c]) * row[c];
        // torch.nn.functional.normalize: x / max(||x||, 1e-12)
        const float norm = std::max(static_cast<float>(std::sqrt(sq)), 1e-12f);
        for (std::size_t c = 0; c < x.cols(); ++c) row[c] /= norm;
    }
}

}  // namespace winnow
