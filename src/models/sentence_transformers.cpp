#include "models/sentence_transformers.h"

#include <filesystem>

#include "winnow/error.h"

namespace winnow {

namespace fs = std::filesystem;

std::string SentenceTransformersConfig::prompt(const std::string& name) const {
    auto it = prompts.find(name);
    return it == prompts.end() ? std::string() : it->second;
}

namespace {
// "sentence_transformers.models.Pooling", "sentence_transformers.sentence_transformer.modules.pooling.Pooling"
std::string module_kind(const std::string& type) {
    const auto dot = type.rfind('.');
    return dot == std::string::npos ? type : type.substr(dot + 1);
}
}  // namespace

SentenceTransformersConfig load_sentence_transformers_config(const std::string& folder) {
    SentenceTransformersConfig config;
    config.transformer_folder = folder;
    const fs::path root(folder);
    const fs::path modules_path = root / "modules.json";
    if (fs::exists(modules_path)) {
        config.from_modules = true;
        const std::string where = modules_path.string();
        const Json modules = load_json_file(where);
        WINNOW_CHECK(modules.is_array(), Errc::Corrupt, "{}: expected a JSON array of modules", where);
        bool have_pooling = false;
        for (const auto& module : modules) {
            const auto type = json_get<std::string>(module, "type", where);
            const auto path = json_get_or<std::string>(module, "path", "", where);
            WINNOW_CHECK(path.find("..") == std::string::npos, Errc::Corrupt, "{}: module path '{}' leaves the folder",
                         where, path);
            const std::string kind = module_kind(type);
            if (kind == "Transformer") {
                config.transformer_folder = path.empty() ? folder : (root / path).string();
            } else if (kind == "Pooling") {
                const auto pooling_path = (root / path / "config.json").string();
                WINNOW_CHECK(fs::exists(pooling_path), Errc::NotFound, "{}: pooling config not found", pooling_path);
                config.pooling = Pooling::from_json(load_json_file(pooling_path), pooling_path);
                have_pooling = true;
            } else if (kind == "Normalize") {
                config.normalize = true;
            } else {
                WINNOW_THROW(Errc::Unsupported, "{}: unsupported sentence-transformers module '{}'", where, type);
            }
        }
        if (!have_pooling) config.pooling = Pooling({PoolingMode::Mean});  // sentence-transformers' default
    }
    for (const fs::path& dir : {root, fs::path(config.transformer_folder)}) {
        const fs::path st_config = dir / "sentence_bert_config.json";
        if (fs::exists(st_config)) {
            const Json json = load_json_file(st_config.string());
            const auto max_len = json_get_or<std::int64_t>(json, "max_seq_length", 0, st_config.string());
            WINNOW_CHECK(max_len >= 0, Errc::Corrupt, "{}: negative max_seq_length", st_config.string());
            config.max_seq_length = static_cast<std::size_t>(max_len);
            break;
        }
    }
    const fs::path prompts_path = root / "config_sentence_transformers.json";
    if (fs::exists(prompts_path)) {
        const std::string where = prompts_path.string();
        const Json json = load_json_file(where);
        if (auto it = json.find("prompts"); it != json.end() && it->is_object()) {
            for (const auto& [name, text] : it->items()) {
                WINNOW_CHECK(text.is_string(), Errc::Corrupt, "{}: prompts['{}'] is not a string", where, name);
                config.prompts[name] = text.get<std::string>();
            }
        }
        config.default_prompt_name = json_get_or<std::string>(json, "default_prompt_name", "", where);
    }
    return config;
}

}  // namespace winnow
