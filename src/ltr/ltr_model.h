// LtrModel: a trained LambdaMART model (XGBoost's JSON model) plus the feature names it expects.
// On disk: `<path>` holds XGBoost's JSON model and `<path>.json` the sidecar written at training
// (feature list, training data, parameters, metrics, the command that made it).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace winnow::ltr {

// "<model>.json": the sidecar next to a model file.
std::string sidecar_path(const std::string& model_path);

class LtrModel {
public:
    // Reads `path` and its sidecar; throws Error(NotFound) when either is missing, Error(Corrupt)
    // when unreadable, Error(Unsupported) when the sidecar's features differ from this build's.
    static std::shared_ptr<const LtrModel> load(const std::string& path);
    // From XGBoost model bytes (JSON or UBJSON) and the feature names, in column order.
    LtrModel(const std::string& model_bytes, std::vector<std::string> features);
    ~LtrModel();
    LtrModel(const LtrModel&) = delete;
    LtrModel& operator=(const LtrModel&) = delete;

    // One score per row of `rows` (row-major, n_rows x features().size(); NaN = missing).
    std::vector<float> predict(const float* rows, std::size_t n_rows) const;
    const std::vector<std::string>& features() const noexcept { return features_; }
    const std::string& path() const noexcept { return path_; }

private:
    void* booster_ = nullptr;  // BoosterHandle
    std::vector<std::string> features_;
    std::string path_;
    mutable std::mutex mutex_;
};

}  // namespace winnow::ltr
