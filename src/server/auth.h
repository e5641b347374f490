// API keys: `Authorization: Bearer <key>` checked in constant time.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace winnow::server {

class ApiKeys {
public:
    ApiKeys() = default;
    explicit ApiKeys(const std::vector<std::string>& keys);

    bool enabled() const noexcept { return !digests_.empty(); }
    // True when the Authorization header value is "Bearer <k>" for a configured key k. Compares
    // SHA-256 digests with CRYPTO_memcmp against every key, so the time taken depends neither on
    // where a guess first differs nor on which key matched.
    bool accepts(std::string_view authorization_header) const;

private:
    using Digest = std::array<unsigned char, 32>;
    static Digest digest(std::string_view text);
    std::vector<Digest> digests_;
};

}  // namespace winnow::server
