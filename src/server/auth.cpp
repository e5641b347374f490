#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>

#include "winnow/error.h"
#include "winnow/server.h"

namespace winnow {

std::vector<std::string> load_api_keys(const std::string& path) {
    std::ifstream in(path);
    WINNOW_CHECK(in.good(), Errc::NotFound, "{}: cannot open API key file", path);
    std::vector<std::string> keys;
    std::string line;
    while (std::getline(in, line)) {
        const auto begin = line.find_first_not_of(" \t\r");
        if (begin == std::string::npos || line[begin] == '#') continue;
        const auto end = line.find_last_not_of(" \t\r");
        keys.push_back(line.substr(begin, end - begin + 1));
    }
    WINNOW_CHECK(!keys.empty(), Errc::InvalidArgument, "{}: no API keys in the file", path);
    return keys;
}

namespace server {

ApiKeys::ApiKeys(const std::vector<std::string>& keys) {
    for (const auto& k : keys) {
        WINNOW_CHECK(!k.empty(), Errc::InvalidArgument, "API keys must not be empty");
        digests_.push_back(digest(k));
    }
}

ApiKeys::Digest ApiKeys::digest(std::string_view text) {
    Digest out{};
    unsigned int size = 0;
    const bool ok = EVP_Digest(text.data(), text.size(), out.data(), &size, EVP_sha256(), nullptr) == 1;
    WINNOW_ASSERT(ok && size == out.size());
    return out;
}

bool ApiKeys::accepts(std::string_view header) const {
    constexpr std::string_view kScheme = "Bearer ";
    if (header.size() < kScheme.size()) return false;
    // The scheme is case-insensitive (RFC 7235); the token is not.
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
        const char a = header[i], b = kScheme[i];
        if ((a | 0x20) != (b | 0x20)) return false;
    }
    std::string_view token = header.substr(kScheme.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\r')) token.remove_suffix(1);
    const Digest d = digest(token);
    int match = 0;
    for (const auto& k : digests_) match |= CRYPTO_memcmp(d.data(), k.data(), d.size()) == 0 ? 1 : 0;
    return match != 0;
}

}  // namespace server
}  // namespace winnow
