// Safetensors files (https://github.com/huggingface/safetensors format): an 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets}}, then the raw data. Files are
// memory-mapped; every header field is validated so a corrupt or truncated file gives an Error
// naming the file and tensor instead of a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/mmap_file.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace winnow {

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::size_t> shape;
    std::size_t begin = 0;  // byte offsets into the data section
    std::size_t end = 0;

    std::size_t n_elements() const noexcept;
};

// The parsed header of one file: tensor name -> info, with offsets relative to data_offset.
struct SafetensorsHeader {
    std::map<std::string, TensorInfo, std::less<>> tensors;
    std::size_t data_offset = 0;  // 8 + header length
};

// Parses and validates the header of a safetensors image held in memory. `where` names the file in
// errors (Errc::Corrupt for anything malformed or inconsistent, Unsupported for an unknown dtype).
SafetensorsHeader parse_safetensors_header(std::span<const std::uint8_t> bytes, std::string_view where);

class SafetensorsFile {
public:
    explicit SafetensorsFile(const std::string& path);

    const std::string& path() const noexcept { return file_.path(); }
    const TensorInfo* find(std::string_view name) const;
    const std::map<std::string, TensorInfo, std::less<>>& tensors() const noexcept { return header_.tensors; }
    // The raw bytes of a tensor (validated to lie inside the file).
    std::span<const std::uint8_t> bytes(const TensorInfo& info) const;

private:
    MmapFile file_;
    SafetensorsHeader header_;
};

// Converts a tensor image to f32 [rows x cols] (a 1-D tensor becomes 1 x n; higher ranks are
// flattened to [shape[0] x rest]). Errc::Unsupported for non-float dtypes.
Tensor tensor_to_f32(const TensorInfo& info, std::span<const std::uint8_t> bytes, std::string_view where);

}  // namespace winnow
