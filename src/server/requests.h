// Parsing and validation of the HTTP API's JSON request bodies, independent of the transport (the
// fuzz target drives these directly). Every error names the field at fault:
//   BadJson (HTTP 400)              the body is not JSON at all
//   Error(InvalidArgument) (422)    a field is missing, of the wrong type or out of range
//   Error(TooLarge) (413)           over a configured limit (documents, text bytes)
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "winnow/embedder.h"
#include "winnow/error.h"

namespace winnow::server {

// The body is not parseable JSON (HTTP 400, unlike the 422 of a well-formed body with bad fields).
class BadJson : public Error {
public:
    explicit BadJson(std::string message) : Error(Errc::InvalidArgument, std::move(message)) {}
};

struct RequestLimits {
    std::size_t max_documents = 1000;       // documents / texts / inputs per request
    std::size_t max_text_bytes = 1 << 20;   // bytes of one query, document or input
    std::size_t max_request_tokens = 1 << 20;  // tokens of one request, all items together
};

Json parse_request_body(std::string_view body);

enum class RerankDialect { CohereV1, CohereV2, Tei };

struct RerankRequest {
    RerankDialect dialect = RerankDialect::CohereV1;
    std::string model;
    std::string query;
    std::vector<std::string> documents;
    std::size_t top_n = 0;               // 0: all
    bool return_documents = false;
    std::size_t max_tokens_per_doc = 0;  // 0: only the model's limit
    bool truncate = true;                // false (TEI): an input over the model's limit is an error (413)
    bool raw_scores = false;             // TEI: logits instead of activated scores
};

// Cohere/Jina (`/v1/rerank`, `/v2/rerank`): {model, query, documents: [string | {text}], top_n,
// return_documents, max_tokens_per_doc}. TEI (`/rerank`): {query, texts, truncate, raw_scores,
// return_text}.
RerankRequest parse_rerank_request(const Json& body, RerankDialect dialect, const RequestLimits& limits);

enum class EmbedDialect { OpenAI, Tei };

struct EmbedRequest {
    EmbedDialect dialect = EmbedDialect::OpenAI;
    std::string model;
    std::vector<std::string> inputs;
    bool base64 = false;         // OpenAI encoding_format
    std::size_t dimensions = 0;  // 0: the model's dimension
    bool normalize = true;       // TEI
    bool truncate = true;        // TEI: false makes an over-long input an error (413)
    EmbedKind kind = EmbedKind::Document;  // input_type / prompt_name "query" selects the query prompt
};

// OpenAI (`/v1/embeddings`): {input: string | [string], model, encoding_format: float|base64,
// dimensions, input_type}. TEI (`/embed`): {inputs: string | [string], normalize, truncate,
// dimensions, prompt_name}.
EmbedRequest parse_embed_request(const Json& body, EmbedDialect dialect, const RequestLimits& limits);

// Search over the server's index: {query, pipeline?, k?, top_n?, first_stage?, ...}. Fields besides
// `query` are passed through to the pipeline as per-request overrides.
struct SearchRequest {
    std::string query;
    std::string pipeline;     // a pipeline spec string; empty: the server's default
    std::size_t k = 0;        // first-stage candidates; 0: the spec's
    std::size_t top_n = 0;    // results kept; 0: the spec's
    bool stream = false;      // /v1/ask: server-sent events
    bool include_first_stage = false;  // also return the first-stage list (the web UI)
};
SearchRequest parse_search_request(const Json& body, const RequestLimits& limits);

// One relevance label from the web UI: {query_id?, query, doc_id, relevance (0|1|grade)}.
struct LabelRequest {
    std::string query_id;
    std::string query;
    std::string doc_id;
    int relevance = 0;
};
LabelRequest parse_label_request(const Json& body, const RequestLimits& limits);

// Standard base64 (RFC 4648, with padding) of the little-endian float32 bytes, as OpenAI returns
// embeddings with encoding_format=base64.
std::string base64_floats(std::span<const float> values);
std::string base64_encode(std::string_view bytes);

}  // namespace winnow::server
