#include "lexical/file_format.h"

#include <fstream>
#include <iterator>

#include "core/atomic_file.h"
#include "winnow/error.h"

namespace winnow::lexical::detail {

std::uint64_t fnv1a(const char* data, std::size_t n, std::uint64_t h) {
    for (std::size_t i = 0; i < n; ++i) {
        h ^= static_cast<unsigned char>(data[i]);
        h *= 0x100000001b3ULL;
    }
    return h;
}

void write_atomic(const std::string& path, std::string_view contents) { write_file_atomic(path, contents); }

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::string data;
    in.seekg(0, std::ios::end);
    const auto size = in.tellg();
    if (size < 0) return std::nullopt;
    data.resize(static_cast<std::size_t>(size));
    in.seekg(0);
    if (!in.read(data.data(), static_cast<std::streamsize>(data.size()))) return std::nullopt;
    return data;
}

std::optional<std::string_view> checked_body(std::string_view data, std::string_view magic) {
    if (data.size() < magic.size() + 8 || data.substr(0, magic.size()) != magic) return std::nullopt;
    std::uint64_t stored = 0;
    std::memcpy(&stored, data.data() + data.size() - 8, 8);
    if (fnv1a(data.data(), data.size() - 8) != stored) return std::nullopt;
    return data.substr(magic.size(), data.size() - magic.size() - 8);
}

}  // namespace winnow::lexical::detail
