// decode_body (src/server/body_decoder.h): every supported Content-Encoding, the decoded-size
// limit applied while decoding, corrupt and truncated data.
#include <brotli/encode.h>
#include <gtest/gtest.h>

#include "support/deflate.h"
#include <zlib.h>

#include "server/body_decoder.h"
#include "winnow/error.h"

namespace winnow::server {
namespace {

using winnow::test::deflate_with;
using winnow::test::gzip;

Errc code_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.code();
    }
    return Errc::Internal;
}

const std::string kText = "{\"query\": \"q\", \"documents\": [\"some text to compress, some text to compress\"]}";

TEST(BodyDecoder, EveryEncodingRoundTrips) {
    EXPECT_EQ(decode_body(kText, "", 1000), kText);
    EXPECT_EQ(decode_body(kText, "identity", 1000), kText);
    EXPECT_EQ(decode_body(deflate_with(kText, 15 + 16), "gzip", 1000), kText);
    EXPECT_EQ(decode_body(deflate_with(kText, 15 + 16), " X-GZIP ", 1000), kText);
    EXPECT_EQ(decode_body(deflate_with(kText, 15), "deflate", 1000), kText);   // zlib format
    EXPECT_EQ(decode_body(deflate_with(kText, -15), "deflate", 1000), kText);  // raw deflate
    // Concatenated gzip members are one body (RFC 1952).
    EXPECT_EQ(decode_body(deflate_with(kText, 31) + deflate_with(kText, 31), "gzip", 1000), kText + kText);
    std::string br(BrotliEncoderMaxCompressedSize(kText.size()), '\0');
    std::size_t br_size = br.size();
    ASSERT_TRUE(BrotliEncoderCompress(5, 22, BROTLI_MODE_TEXT, kText.size(),
                                      reinterpret_cast<const std::uint8_t*>(kText.data()), &br_size,
                                      reinterpret_cast<std::uint8_t*>(br.data())));
    br.resize(br_size);
    EXPECT_EQ(decode_body(br, "br", 1000), kText);
    EXPECT_EQ(code_of([&] { decode_body(br, "br", 10); }), Errc::TooLarge);
}

TEST(BodyDecoder, LimitAppliesToTheDecodedSizeWhileDecoding) {
    EXPECT_EQ(code_of([] { decode_body(kText, "", kText.size() - 1); }), Errc::TooLarge);
    EXPECT_EQ(decode_body(kText, "", kText.size()), kText);
    const std::string packed = deflate_with(kText, 31);
    EXPECT_EQ(decode_body(packed, "gzip", kText.size()), kText);
    EXPECT_EQ(code_of([&] { decode_body(packed, "gzip", kText.size() - 1); }), Errc::TooLarge);
    // A bomb: 128 MiB of zeros is ~570 KB of gzip. Decoding stops at the limit (the test would
    // take seconds and half a GiB if it inflated everything first).
    const std::string bomb = deflate_with(std::string(128u << 20, '\0'), 31);
    try {
        decode_body(bomb, "gzip", 1u << 20);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::TooLarge);
        EXPECT_NE(std::string(e.what()).find("1048576"), std::string::npos) << e.what();
    }
}

TEST(BodyDecoder, CorruptTruncatedAndUnknown) {
    const std::string packed = deflate_with(kText, 31);
    EXPECT_EQ(code_of([] { decode_body("plain text", "gzip", 1000); }), Errc::InvalidArgument);
    EXPECT_EQ(code_of([&] { decode_body(packed.substr(0, packed.size() / 2), "gzip", 1000); }), Errc::InvalidArgument);
    EXPECT_EQ(code_of([&] { decode_body(packed + "junk", "gzip", 1000); }), Errc::InvalidArgument);
    EXPECT_EQ(code_of([] { decode_body("xyz", "br", 1000); }), Errc::InvalidArgument);
    EXPECT_EQ(code_of([] { decode_body("abc", "compress", 1000); }), Errc::Unsupported);
    EXPECT_EQ(code_of([] { decode_body("abc", "gzip, br", 1000); }), Errc::Unsupported);
    EXPECT_TRUE(supported_content_encoding("GZIP"));
    EXPECT_FALSE(supported_content_encoding("zstd"));
}

}  // namespace
}  // namespace winnow::server
