#include "models/weight_store.h"

#include <filesystem>

#include "core/json.h"
#include "winnow/error.h"

namespace winnow {

namespace fs = std::filesystem;

namespace {
std::string shape_string(const std::vector<std::size_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}
}  // namespace

WeightStore WeightStore::open(const std::string& folder) {
    const fs::path dir(folder);
    const fs::path single = dir / "model.safetensors";
    const fs::path index = dir / "model.safetensors.index.json";
    if (fs::exists(single)) return open_file(single.string());
    WINNOW_CHECK(fs::exists(index), Errc::NotFound, "{}: no model.safetensors or model.safetensors.index.json", folder);

    WeightStore store;
    store.where_ = index.string();
    const Json json = load_json_file(store.where_);
    const auto map_it = json.find("weight_map");
    WINNOW_CHECK(map_it != json.end() && map_it->is_object(), Errc::Corrupt, "{}: missing object 'weight_map'",
                 store.where_);
    std::map<std::string, const SafetensorsFile*> shards;
    for (const auto& [name, shard] : map_it->items()) {
        WINNOW_CHECK(shard.is_string(), Errc::Corrupt, "{}: weight_map['{}'] is not a file name", store.where_, name);
        const auto shard_name = shard.get<std::string>();
        WINNOW_CHECK(shard_name.find('/') == std::string::npos && shard_name.find("..") == std::string::npos,
                     Errc::Corrupt, "{}: weight_map['{}'] names a file outside the folder: '{}'", store.where_, name,
                     shard_name);
        auto it = shards.find(shard_name);
        if (it == shards.end()) {
            const fs::path shard_path = dir / shard_name;
            WINNOW_CHECK(fs::exists(shard_path), Errc::NotFound, "{}: shard '{}' (of tensor '{}') not found",
                         store.where_, shard_path.string(), name);
            store.files_.push_back(std::make_unique<SafetensorsFile>(shard_path.string()));
            it = shards.emplace(shard_name, store.files_.back().get()).first;
        }
        const TensorInfo* info = it->second->find(name);
        WINNOW_CHECK(info != nullptr, Errc::Corrupt, "{}: tensor '{}' is mapped to '{}' but that file lacks it",
                     store.where_, name, shard_name);
        store.index_.emplace(name, Entry{it->second, info});
    }
    return store;
}

WeightStore WeightStore::open_file(const std::string& path) {
    WINNOW_CHECK(fs::exists(path), Errc::NotFound, "{}: file not found", path);
    WeightStore store;
    store.where_ = path;
    store.files_.push_back(std::make_unique<SafetensorsFile>(path));
    const SafetensorsFile* file = store.files_.back().get();
    for (const auto& [name, info] : file->tensors()) store.index_.emplace(name, Entry{file, &info});
    return store;
}

bool WeightStore::has(std::string_view name) const { return index_.find(name) != index_.end(); }

WeightStore::Entry WeightStore::find(std::string_view name) const {
    auto it = index_.find(name);
    WINNOW_CHECK(it != index_.end(), Errc::NotFound, "{}: tensor '{}' not found", where_, name);
    return it->second;
}

std::vector<std::size_t> WeightStore::shape(std::string_view name) const { return find(name).info->shape; }

Tensor WeightStore::get(std::string_view name, std::initializer_list<std::size_t> shape) const {
    const Entry entry = find(name);
    const std::vector<std::size_t> expected(shape);
    WINNOW_CHECK(entry.info->shape == expected, Errc::Corrupt, "{}: tensor '{}' has shape {}, expected {}",
                 entry.file->path(), name, shape_string(entry.info->shape), shape_string(expected));
    return tensor_to_f32(*entry.info, entry.file->bytes(*entry.info), entry.file->path());
}

std::vector<std::string> WeightStore::names() const {
    std::vector<std::string> out;
    out.reserve(index_.size());
    for (const auto& [name, entry] : index_) out.push_back(name);
    return out;
}

}  // namespace winnow
