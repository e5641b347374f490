// WeightStore: the tensors of a model folder, from model.safetensors or a sharded
// model.safetensors.index.json ({"weight_map": {tensor: shard file}}), memory-mapped. Tensors are
// converted to f32 on request with their shape checked against what the architecture expects.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "models/safetensors.h"
#include "tensor/tensor.h"

namespace winnow {

class WeightStore {
public:
    // Opens <folder>/model.safetensors or <folder>/model.safetensors.index.json. Errc::NotFound
    // naming the folder when neither exists.
    static WeightStore open(const std::string& folder);
    // A single file (tests).
    static WeightStore open_file(const std::string& path);

    bool has(std::string_view name) const;
    // The tensor as f32 with exactly `shape` (1-D [n] is returned as 1 x n). Errors name the file
    // and tensor: NotFound when absent, Corrupt when the shape differs.
    Tensor get(std::string_view name, std::initializer_list<std::size_t> shape) const;
    // The shape stored in the file (NotFound when absent).
    std::vector<std::size_t> shape(std::string_view name) const;
    std::vector<std::string> names() const;
    const std::string& where() const noexcept { return where_; }

private:
    struct Entry {
        const SafetensorsFile* file;
        const TensorInfo* info;
    };
    Entry find(std::string_view name) const;

    std::string where_;  // the file or index named in errors
    std::vector<std::unique_ptr<SafetensorsFile>> files_;
    std::map<std::string, Entry, std::less<>> index_;
};

}  // namespace winnow
