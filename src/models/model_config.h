// ModelConfig: a model folder's config.json with typed accessors whose errors name the file and
// field.
#pragma once

#include <string>
#include <string_view>

#include "core/json.h"

namespace winnow {

class ModelConfig {
public:
    // Reads <folder>/config.json (Errc::NotFound naming it when missing).
    static ModelConfig load(const std::string& folder);
    ModelConfig(Json json, std::string where);

    const std::string& model_type() const noexcept { return model_type_; }
    const std::string& where() const noexcept { return where_; }
    const std::string& folder() const noexcept { return folder_; }
    const Json& json() const noexcept { return json_; }
    bool has(std::string_view key) const;

    template <typename T>
    T get(std::string_view key) const {
        return json_get<T>(json_, key, where_);
    }
    template <typename T>
    T get_or(std::string_view key, T fallback) const {
        return json_get_or<T>(json_, key, fallback, where_);
    }
    // An integer field that must be > 0 (sizes, counts): Corrupt naming it otherwise.
    std::size_t positive(std::string_view key) const;
    // Whether "architectures" lists a name ending in `suffix` (e.g. "ForSequenceClassification").
    bool has_architecture_suffix(std::string_view suffix) const;

private:
    Json json_;
    std::string where_;
    std::string folder_;
    std::string model_type_;
};

}  // namespace winnow
