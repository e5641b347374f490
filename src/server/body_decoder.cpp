#include "server/body_decoder.h"

#include <brotli/decode.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>

#include "winnow/error.h"

namespace winnow::server {

namespace {

constexpr std::size_t kChunk = 64 * 1024;

std::string lower_trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

[[noreturn]] void too_large(std::size_t max_bytes, std::string_view encoding) {
    WINNOW_THROW(Errc::TooLarge, "request body over the server's limit of {} bytes once decoded (Content-Encoding: {})",
                 max_bytes, encoding);
}

// Appends `n` bytes to `out`, or throws once the total would pass `max_bytes`.
void append_bounded(std::string& out, const char* data, std::size_t n, std::size_t max_bytes, std::string_view encoding) {
    if (n > max_bytes - out.size()) too_large(max_bytes, encoding);
    out.append(data, n);
}

// zlib inflate; window_bits 15 + 32 reads gzip or zlib headers, -15 raw deflate. Concatenated gzip
// members (allowed by RFC 1952) are decoded one after the other.
bool inflate_bounded(std::string_view raw, int window_bits, std::size_t max_bytes, std::string_view encoding,
                     std::string& out) {
    if (raw.size() > 0xFFFFFFFFu) too_large(max_bytes, encoding);  // zlib counts input in 32 bits
    z_stream z{};
    if (inflateInit2(&z, window_bits) != Z_OK) WINNOW_THROW(Errc::Internal, "zlib: inflateInit2 failed");
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, inflateEnd);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
    z.avail_in = static_cast<uInt>(raw.size());
    std::array<char, kChunk> buf;
    for (;;) {
        z.next_out = reinterpret_cast<Bytef*>(buf.data());
        z.avail_out = static_cast<uInt>(buf.size());
        const int ret = inflate(&z, Z_NO_FLUSH);
        if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR) return false;
        append_bounded(out, buf.data(), buf.size() - z.avail_out, max_bytes, encoding);
        if (ret == Z_STREAM_END) {
            if (z.avail_in == 0) return true;
            if (window_bits < 0 || inflateReset(&z) != Z_OK) return false;  // bytes after the stream
            continue;
        }
        // No progress possible, or all input used with room left for output: the data was cut short.
        if (ret == Z_BUF_ERROR || (z.avail_in == 0 && z.avail_out != 0)) return false;
    }
}

void brotli_bounded(std::string_view raw, std::size_t max_bytes, std::string& out) {
    std::unique_ptr<BrotliDecoderState, void (*)(BrotliDecoderState*)> state(
        BrotliDecoderCreateInstance(nullptr, nullptr, nullptr), BrotliDecoderDestroyInstance);
    if (!state) WINNOW_THROW(Errc::Internal, "brotli: cannot create a decoder");
    const auto* next_in = reinterpret_cast<const std::uint8_t*>(raw.data());
    std::size_t avail_in = raw.size();
    std::array<char, kChunk> buf;
    for (;;) {
        auto* next_out = reinterpret_cast<std::uint8_t*>(buf.data());
        std::size_t avail_out = buf.size();
        const auto r = BrotliDecoderDecompressStream(state.get(), &avail_in, &next_in, &avail_out, &next_out, nullptr);
        append_bounded(out, buf.data(), buf.size() - avail_out, max_bytes, "br");
        if (r == BROTLI_DECODER_RESULT_SUCCESS) {
            WINNOW_CHECK(avail_in == 0, Errc::InvalidArgument, "request body: bytes after the end of the br stream");
            return;
        }
        if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) continue;
        WINNOW_THROW(Errc::InvalidArgument, "request body is not valid br (brotli) data{}",
                     r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT ? ": truncated" : "");
    }
}

}  // namespace

bool supported_content_encoding(std::string_view encoding) {
    const std::string e = lower_trimmed(encoding);
    return e.empty() || e == "identity" || e == "gzip" || e == "x-gzip" || e == "deflate" || e == "br";
}

std::string decode_body(std::string_view raw, std::string_view encoding, std::size_t max_bytes) {
    const std::string e = lower_trimmed(encoding);
    std::string out;
    if (e.empty() || e == "identity") {
        append_bounded(out, raw.data(), raw.size(), max_bytes, e.empty() ? "identity" : e);
        return out;
    }
    if (e == "gzip" || e == "x-gzip") {
        WINNOW_CHECK(inflate_bounded(raw, 15 + 32, max_bytes, e, out), Errc::InvalidArgument,
                     "request body is not valid gzip data");
        return out;
    }
    if (e == "deflate") {
        // RFC 9110's deflate is the zlib format; some clients send raw deflate, which zlib's header
        // check rejects at once: try that second.
        if (inflate_bounded(raw, 15, max_bytes, e, out)) return out;
        out.clear();
        WINNOW_CHECK(inflate_bounded(raw, -15, max_bytes, e, out), Errc::InvalidArgument,
                     "request body is not valid deflate data");
        return out;
    }
    if (e == "br") {
        brotli_bounded(raw, max_bytes, out);
        return out;
    }
    WINNOW_THROW(Errc::Unsupported, "Content-Encoding '{}' is not supported (use gzip, deflate, br or identity)",
                 std::string(encoding));
}

}  // namespace winnow::server
