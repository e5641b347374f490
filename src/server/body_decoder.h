// Request bodies sent with a Content-Encoding, decoded with a bound on the decoded size.
// cpp-httplib inflates into the request body without any limit (a 300 KB gzip body became 300 MB
// before the body limit applied), so the server takes the encoding off the request and decodes
// here, stopping as soon as the output passes the limit.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace winnow::server {

// True for the encodings decode_body() handles: "" and "identity" (none), "gzip"/"x-gzip",
// "deflate" (zlib-wrapped, or raw deflate as some clients send it), "br". Case-insensitive.
bool supported_content_encoding(std::string_view encoding);

// Decodes `raw` sent with Content-Encoding `encoding` (one coding; a list such as "gzip, br" is
// Unsupported). Throws Error(TooLarge) naming `max_bytes` as soon as the decoded size would pass it,
// Error(Unsupported) for an encoding outside supported_content_encoding(), Error(InvalidArgument)
// for data that is not valid in its encoding. Memory: the output (at most `max_bytes`) plus
// zlib's/brotli's fixed state.
std::string decode_body(std::string_view raw, std::string_view encoding, std::size_t max_bytes);

}  // namespace winnow::server
