#include "models/safetensors.h"

#include <limits>

#include "core/json.h"
#include "winnow/error.h"

namespace winnow {

std::size_t TensorInfo::n_elements() const noexcept {
    std::size_t n = 1;
    for (std::size_t d : shape) n *= d;
    return n;
}

namespace {

bool checked_mul(std::size_t a, std::size_t b, std::size_t& out) noexcept {
    if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a) return false;
    out = a * b;
    return true;
}

std::size_t read_u64_le(const std::uint8_t* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return static_cast<std::size_t>(v);
}

}  // namespace

SafetensorsHeader parse_safetensors_header(std::span<const std::uint8_t> bytes, std::string_view where) {
    WINNOW_CHECK(bytes.size() >= 8, Errc::Corrupt, "{}: not a safetensors file (only {} bytes)", where, bytes.size());
    const std::size_t header_len = read_u64_le(bytes.data());
    WINNOW_CHECK(header_len <= bytes.size() - 8, Errc::Corrupt,
                 "{}: truncated safetensors file (header of {} bytes, file of {} bytes)", where, header_len,
                 bytes.size());
    const std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), header_len);
    const Json header = parse_json(text, where);
    WINNOW_CHECK(header.is_object(), Errc::Corrupt, "{}: safetensors header is not a JSON object", where);

    SafetensorsHeader result;
    result.data_offset = 8 + header_len;
    const std::size_t data_size = bytes.size() - result.data_offset;
    for (const auto& [name, entry] : header.items()) {
        if (name == "__metadata__") continue;
        WINNOW_CHECK(entry.is_object(), Errc::Corrupt, "{}: tensor '{}': header entry is not an object", where, name);
        TensorInfo info;
        info.name = name;
        const auto dtype_name_field = json_get<std::string>(entry, "dtype", fmt::format("{}: tensor '{}'", where, name));
        const auto dtype = parse_dtype(dtype_name_field);
        WINNOW_CHECK(dtype.has_value(), Errc::Unsupported, "{}: tensor '{}': unsupported dtype '{}'", where, name,
                     dtype_name_field);
        info.dtype = *dtype;
        const auto shape = entry.find("shape");
        WINNOW_CHECK(shape != entry.end() && shape->is_array(), Errc::Corrupt, "{}: tensor '{}': missing shape", where,
                     name);
        std::size_t n_elements = 1;
        for (const auto& dim : *shape) {
            WINNOW_CHECK(dim.is_number_unsigned() || (dim.is_number_integer() && dim.get<std::int64_t>() >= 0),
                         Errc::Corrupt, "{}: tensor '{}': bad shape {}", where, name, shape->dump());
            const auto d = dim.get<std::uint64_t>();
            info.shape.push_back(static_cast<std::size_t>(d));
            WINNOW_CHECK(checked_mul(n_elements, static_cast<std::size_t>(d), n_elements), Errc::Corrupt,
                         "{}: tensor '{}': shape {} overflows", where, name, shape->dump());
        }
        const auto offsets = entry.find("data_offsets");
        WINNOW_CHECK(offsets != entry.end() && offsets->is_array() && offsets->size() == 2 &&
                         (*offsets)[0].is_number_unsigned() && (*offsets)[1].is_number_unsigned(),
                     Errc::Corrupt, "{}: tensor '{}': bad data_offsets", where, name);
        info.begin = static_cast<std::size_t>((*offsets)[0].get<std::uint64_t>());
        info.end = static_cast<std::size_t>((*offsets)[1].get<std::uint64_t>());
        WINNOW_CHECK(info.begin <= info.end && info.end <= data_size, Errc::Corrupt,
                     "{}: tensor '{}': data_offsets [{}, {}] outside the data section of {} bytes (truncated file?)",
                     where, name, info.begin, info.end, data_size);
        std::size_t n_bytes = 0;
        WINNOW_CHECK(checked_mul(n_elements, dtype_size(info.dtype), n_bytes) && n_bytes == info.end - info.begin,
                     Errc::Corrupt, "{}: tensor '{}': {} bytes of data for shape {} of {}", where, name,
                     info.end - info.begin, shape->dump(), dtype_name_field);
        result.tensors.emplace(name, std::move(info));
    }
    return result;
}

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(path) {
    header_ = parse_safetensors_header(file_.bytes(), path);
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
    auto it = header_.tensors.find(name);
    return it == header_.tensors.end() ? nullptr : &it->second;
}

std::span<const std::uint8_t> SafetensorsFile::bytes(const TensorInfo& info) const {
    return file_.bytes().subspan(header_.data_offset + info.begin, info.end - info.begin);
}

Tensor tensor_to_f32(const TensorInfo& info, std::span<const std::uint8_t> bytes, std::string_view where) {
    WINNOW_CHECK(dtype_is_float(info.dtype), Errc::Unsupported, "{}: tensor '{}' has dtype {}, expected a float type",
                 where, info.name, dtype_name(info.dtype));
    std::size_t rows = 1;
    std::size_t cols = 1;
    if (info.shape.size() == 1) {
        cols = info.shape[0];
    } else if (!info.shape.empty()) {
        rows = info.shape[0];
        cols = info.n_elements() / (rows == 0 ? 1 : rows);
        if (rows == 0) cols = 0;
    }
    Tensor t(rows, cols);
    convert_to_f32(info.dtype, bytes.data(), info.n_elements(), t.data());
    return t;
}

}  // namespace winnow
