#include "models/model_config.h"

#include <filesystem>

#include "winnow/error.h"

namespace winnow {

ModelConfig ModelConfig::load(const std::string& folder) {
    const auto path = (std::filesystem::path(folder) / "config.json").string();
    WINNOW_CHECK(std::filesystem::exists(path), Errc::NotFound, "{}: model config not found", path);
    ModelConfig config(load_json_file(path), path);
    config.folder_ = folder;
    return config;
}

ModelConfig::ModelConfig(Json json, std::string where) : json_(std::move(json)), where_(std::move(where)) {
    WINNOW_CHECK(json_.is_object(), Errc::Corrupt, "{}: expected a JSON object", where_);
    model_type_ = json_get<std::string>(json_, "model_type", where_);
}

bool ModelConfig::has(std::string_view key) const {
    auto it = json_.find(key);
    return it != json_.end() && !it->is_null();
}

std::size_t ModelConfig::positive(std::string_view key) const {
    const auto value = json_get<std::int64_t>(json_, key, where_);
    WINNOW_CHECK(value > 0 && value < (std::int64_t{1} << 32), Errc::Corrupt, "{}: field '{}' must be positive, got {}",
                 where_, key, value);
    return static_cast<std::size_t>(value);
}

bool ModelConfig::has_architecture_suffix(std::string_view suffix) const {
    auto it = json_.find("architectures");
    if (it == json_.end() || !it->is_array()) return false;
    for (const auto& name : *it) {
        if (!name.is_string()) continue;
        const auto& s = name.get_ref<const std::string&>();
        if (s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) return true;
    }
    return false;
}

}  // namespace winnow
