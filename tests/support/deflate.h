// Compresses test bodies with zlib: raw deflate, zlib or gzip framing by window_bits (as deflateInit2
// takes them: 15 zlib, -15 raw, 15 + 16 gzip).
#pragma once

#include <zlib.h>

#include <string>

namespace winnow::test {

inline std::string deflate_with(const std::string& data, int window_bits) {
    z_stream z{};
    deflateInit2(&z, 1, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&z, data.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

inline std::string gzip(const std::string& data) { return deflate_with(data, 15 + 16); }

}  // namespace winnow::test
