// LtrModel: loading an XGBoost ranking model with its sidecar, and prediction.
#include "ltr/ltr_model.h"

#include <cmath>
#include <filesystem>
#include <limits>

#include "core/json.h"
#include "core/mmap_file.h"
#include "ltr/features.h"
#include "ltr/xgb_check.h"

namespace winnow::ltr {

std::string sidecar_path(const std::string& model_path) { return model_path + ".json"; }

std::shared_ptr<const LtrModel> LtrModel::load(const std::string& path) {
    WINNOW_CHECK(std::filesystem::exists(path), Errc::NotFound, "ltr: no model file {}", path);
    const std::string side = sidecar_path(path);
    WINNOW_CHECK(std::filesystem::exists(side), Errc::NotFound, "ltr: model {} has no sidecar {}", path, side);
    const Json meta = load_json_file(side);
    WINNOW_CHECK(meta.is_object() && meta.contains("features") && meta["features"].is_array(), Errc::Corrupt,
                 "{}: no \"features\" array", side);
    std::vector<std::string> features;
    for (const auto& f : meta["features"]) {
        WINNOW_CHECK(f.is_object() && f.contains("name") && f["name"].is_string(), Errc::Corrupt,
                     "{}: each entry of \"features\" needs a \"name\"", side);
        features.push_back(f["name"].get<std::string>());
    }
    const std::vector<std::string> ours = feature_names();
    WINNOW_CHECK(features == ours, Errc::Unsupported,
                 "ltr: model {} was trained on {} features that differ from this build's {} (retrain it with "
                 "`winnow train-ltr`)", path, features.size(), ours.size());
    auto model = std::make_shared<LtrModel>(read_file(path), std::move(features));
    model->path_ = path;
    return model;
}

LtrModel::LtrModel(const std::string& model_bytes, std::vector<std::string> features) : features_(std::move(features)) {
    WINNOW_CHECK(!model_bytes.empty(), Errc::Corrupt, "ltr: empty model");
    BoosterHandle h = nullptr;
    WINNOW_XGB(XGBoosterCreate(nullptr, 0, &h));
    booster_ = h;
    if (XGBoosterLoadModelFromBuffer(h, model_bytes.data(), model_bytes.size()) != 0) {
        const std::string why = XGBGetLastError();
        XGBoosterFree(h);
        booster_ = nullptr;
        WINNOW_THROW(Errc::Corrupt, "ltr: not an XGBoost model: {}", why);
    }
    WINNOW_XGB(XGBoosterSetParam(h, "nthread", "1"));
    bst_ulong n_features = 0;
    WINNOW_XGB(XGBoosterGetNumFeature(h, &n_features));
    WINNOW_CHECK(n_features <= features_.size(), Errc::Corrupt, "ltr: the model uses {} features, its list names {}",
                 n_features, features_.size());
}

LtrModel::~LtrModel() {
    if (booster_) XGBoosterFree(static_cast<BoosterHandle>(booster_));
}

std::vector<float> LtrModel::predict(const float* rows, std::size_t n_rows) const {
    std::vector<float> out(n_rows, 0.0f);
    if (n_rows == 0) return out;
    std::lock_guard<std::mutex> lock(mutex_);
    DMatrix m;
    WINNOW_XGB(XGDMatrixCreateFromMat(rows, n_rows, features_.size(), std::numeric_limits<float>::quiet_NaN(), &m.handle));
    const char* config = R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})";
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* result = nullptr;
    WINNOW_XGB(XGBoosterPredictFromDMatrix(static_cast<BoosterHandle>(booster_), m.handle, config, &shape, &dim, &result));
    WINNOW_CHECK(dim >= 1 && shape[0] == n_rows, Errc::Internal, "ltr: xgboost returned {} predictions for {} rows",
                 dim >= 1 ? shape[0] : 0, n_rows);
    std::copy(result, result + n_rows, out.begin());
    return out;
}

}  // namespace winnow::ltr
