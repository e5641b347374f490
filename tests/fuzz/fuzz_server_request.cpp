// Fuzz target for the HTTP API's request parsing: the first byte picks the endpoint, the rest is
// the request body. Every input must end in a parsed request or a winnow::Error (400/413/422),
// never a crash, a hang or another exception type.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/requests.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace winnow::server;
    if (size == 0) return 0;
    const std::uint8_t route = data[0];
    const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
    RequestLimits limits;
    limits.max_documents = 64;
    limits.max_text_bytes = 4096;
    try {
        const winnow::Json json = parse_request_body(body);
        switch (route % 7) {
        case 0: parse_rerank_request(json, RerankDialect::CohereV1, limits); break;
        case 1: parse_rerank_request(json, RerankDialect::CohereV2, limits); break;
        case 2: parse_rerank_request(json, RerankDialect::Tei, limits); break;
        case 3: parse_embed_request(json, EmbedDialect::OpenAI, limits); break;
        case 4: parse_embed_request(json, EmbedDialect::Tei, limits); break;
        case 5: parse_search_request(json, limits); break;
        default: parse_label_request(json, limits); break;
        }
    } catch (const winnow::Error&) {
        // Expected: bad JSON or bad fields.
    }
    return 0;
}
