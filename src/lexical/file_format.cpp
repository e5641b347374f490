#include "lexical/file_format.h"

#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "core/atomic_file.h"
#include "core/thread_pool.h"
#include "winnow/error.h"

namespace winnow::lexical::detail {

std::uint32_t checksum(std::string_view data, ThreadPool* pool) {
    auto crc_of = [](const char* p, std::size_t n) {
        return static_cast<std::uint32_t>(crc32_z(crc32_z(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(p), n));
    };
    constexpr std::size_t kPart = std::size_t{8} << 20;
    const std::size_t n_parts = pool != nullptr ? std::min(pool->size() + 1, data.size() / kPart) : 1;
    if (n_parts <= 1) return crc_of(data.data(), data.size());
    std::vector<std::uint32_t> crcs(n_parts);
    auto bounds = [&](std::size_t p) { return data.size() * p / n_parts; };
    pool->parallel_for(n_parts, [&](std::size_t begin, std::size_t end) {
        for (std::size_t p = begin; p < end; ++p) crcs[p] = crc_of(data.data() + bounds(p), bounds(p + 1) - bounds(p));
    });
    uLong crc = crcs[0];
    for (std::size_t p = 1; p < n_parts; ++p) {
        crc = crc32_combine(crc, crcs[p], static_cast<z_off_t>(bounds(p + 1) - bounds(p)));
    }
    return static_cast<std::uint32_t>(crc);
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

std::optional<std::string_view> checked_file(std::string_view data, std::string_view magic, ThreadPool* pool) {
    if (data.size() < magic.size() + 8 || data.substr(0, magic.size()) != magic) return std::nullopt;
    std::uint64_t stored = 0;
    std::memcpy(&stored, data.data() + data.size() - 8, 8);
    if (checksum(data.substr(0, data.size() - 8), pool) != stored) return std::nullopt;
    return data.substr(0, data.size() - 8);
}

std::optional<std::string_view> checked_body(std::string_view data, std::string_view magic) {
    auto file = checked_file(data, magic);
    if (!file) return std::nullopt;
    return file->substr(magic.size());
}

}  // namespace winnow::lexical::detail
