#include "server/requests.h"

#include <bit>
#include <cstring>

namespace winnow::server {
namespace {

const Json* find_field(const Json& body, std::string_view key) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return nullptr;
    return &*it;
}

void check_object(const Json& body) {
    WINNOW_CHECK(body.is_object(), Errc::InvalidArgument, "request body: expected a JSON object, got {}",
                 body.type_name());
}

std::string get_text(const Json& value, std::string_view field, const RequestLimits& limits) {
    WINNOW_CHECK(value.is_string(), Errc::InvalidArgument, "field '{}': expected a string, got {}", field,
                 value.type_name());
    const auto& s = value.get_ref<const std::string&>();
    WINNOW_CHECK(s.size() <= limits.max_text_bytes, Errc::TooLarge, "field '{}': {} bytes, the limit is {}", field,
                 s.size(), limits.max_text_bytes);
    return s;
}

std::string required_string(const Json& body, std::string_view key, const RequestLimits& limits) {
    const Json* v = find_field(body, key);
    WINNOW_CHECK(v != nullptr, Errc::InvalidArgument, "missing field '{}'", key);
    return get_text(*v, key, limits);
}

std::string optional_string(const Json& body, std::string_view key, const RequestLimits& limits) {
    const Json* v = find_field(body, key);
    return v ? get_text(*v, key, limits) : std::string();
}

bool optional_bool(const Json& body, std::string_view key, bool fallback) {
    const Json* v = find_field(body, key);
    if (!v) return fallback;
    WINNOW_CHECK(v->is_boolean(), Errc::InvalidArgument, "field '{}': expected true or false, got {}", key,
                 v->type_name());
    return v->get<bool>();
}

// A non-negative integer field (no fractions, no negatives); `min` bounds it from below.
std::size_t optional_count(const Json& body, std::string_view key, std::size_t fallback, std::size_t min = 0,
                           std::size_t max = std::size_t(1) << 40) {
    const Json* v = find_field(body, key);
    if (!v) return fallback;
    WINNOW_CHECK(v->is_number_integer(), Errc::InvalidArgument, "field '{}': expected an integer, got {}", key,
                 v->is_number() ? std::string("a fraction") : std::string(v->type_name()));
    if (v->is_number_unsigned()) {
        const auto n = v->get<std::uint64_t>();
        WINNOW_CHECK(n >= min && n <= max, Errc::InvalidArgument, "field '{}': {} is out of range [{}, {}]", key, n,
                     min, max);
        return static_cast<std::size_t>(n);
    }
    const auto n = v->get<std::int64_t>();
    WINNOW_CHECK(n >= 0 && static_cast<std::uint64_t>(n) >= min && static_cast<std::uint64_t>(n) <= max,
                 Errc::InvalidArgument, "field '{}': {} is out of range [{}, {}]", key, n, min, max);
    return static_cast<std::size_t>(n);
}

// string | [string] (inputs to embed); `single` reports the bare-string form.
std::vector<std::string> string_or_list(const Json& body, std::string_view key, const RequestLimits& limits) {
    const Json* v = find_field(body, key);
    WINNOW_CHECK(v != nullptr, Errc::InvalidArgument, "missing field '{}'", key);
    std::vector<std::string> out;
    if (v->is_string()) {
        out.push_back(get_text(*v, key, limits));
        return out;
    }
    WINNOW_CHECK(v->is_array(), Errc::InvalidArgument, "field '{}': expected a string or an array of strings, got {}",
                 key, v->type_name());
    WINNOW_CHECK(v->size() <= limits.max_documents, Errc::TooLarge, "field '{}': {} items, the limit is {}", key,
                 v->size(), limits.max_documents);
    out.reserve(v->size());
    for (std::size_t i = 0; i < v->size(); ++i) {
        const Json& item = (*v)[i];
        const std::string field = fmt::format("{}[{}]", key, i);
        WINNOW_CHECK(!item.is_array() && !item.is_number(), Errc::Unsupported,
                     "field '{}': token-id inputs are not supported; send text", field);
        out.push_back(get_text(item, field, limits));
    }
    return out;
}

EmbedKind parse_kind(const Json& body, std::string_view key) {
    const Json* v = find_field(body, key);
    if (!v) return EmbedKind::Document;
    WINNOW_CHECK(v->is_string(), Errc::InvalidArgument, "field '{}': expected a string, got {}", key, v->type_name());
    const auto& s = v->get_ref<const std::string&>();
    if (s == "query" || s == "search_query") return EmbedKind::Query;
    if (s == "document" || s == "passage" || s == "search_document") return EmbedKind::Document;
    WINNOW_THROW(Errc::InvalidArgument, "field '{}': '{}' is not one of query, document", key, s);
}

}  // namespace

Json parse_request_body(std::string_view body) {
    // nlohmann's parser takes a NUL byte for the end of the input and ignores what follows.
    if (const auto nul = body.find('\0'); nul != std::string_view::npos) {
        throw BadJson(fmt::format("request body contains a NUL byte (at byte {})", nul));
    }
    try {
        return Json::parse(body.begin(), body.end());
    } catch (const nlohmann::json::parse_error& e) {
        throw BadJson(fmt::format("request body is not valid JSON (at byte {})", e.byte));
    } catch (const nlohmann::json::exception& e) {
        // e.g. out_of_range for a number literal beyond double's range
        throw BadJson(fmt::format("request body is not usable JSON: {}", e.what()));
    }
}

RerankRequest parse_rerank_request(const Json& body, RerankDialect dialect, const RequestLimits& limits) {
    check_object(body);
    RerankRequest r;
    r.dialect = dialect;
    r.query = required_string(body, "query", limits);
    const bool tei = dialect == RerankDialect::Tei;
    const std::string_view docs_key = tei ? "texts" : "documents";
    const Json* docs = find_field(body, docs_key);
    WINNOW_CHECK(docs != nullptr, Errc::InvalidArgument, "missing field '{}'", docs_key);
    WINNOW_CHECK(docs->is_array(), Errc::InvalidArgument, "field '{}': expected an array, got {}", docs_key,
                 docs->type_name());
    WINNOW_CHECK(docs->size() <= limits.max_documents, Errc::TooLarge, "field '{}': {} documents, the limit is {}",
                 docs_key, docs->size(), limits.max_documents);
    r.documents.reserve(docs->size());
    for (std::size_t i = 0; i < docs->size(); ++i) {
        const Json& d = (*docs)[i];
        const std::string field = fmt::format("{}[{}]", docs_key, i);
        if (!tei && d.is_object()) {
            const Json* text = find_field(d, "text");
            WINNOW_CHECK(text != nullptr, Errc::InvalidArgument, "field '{}.text': missing (documents are strings "
                         "or objects with a 'text' string)", field);
            r.documents.push_back(get_text(*text, field + ".text", limits));
        } else {
            WINNOW_CHECK(d.is_string(), Errc::InvalidArgument, "field '{}': expected a string{}, got {}", field,
                         tei ? "" : " or an object with 'text'", d.type_name());
            r.documents.push_back(get_text(d, field, limits));
        }
    }
    if (tei) {
        r.truncate = optional_bool(body, "truncate", false);
        r.raw_scores = optional_bool(body, "raw_scores", false);
        r.return_documents = optional_bool(body, "return_text", false);
    } else {
        r.model = optional_string(body, "model", limits);
        r.top_n = optional_count(body, "top_n", 0, 1);
        // Cohere v1 and Jina return the documents unless told not to; Cohere v2 does not.
        r.return_documents = optional_bool(body, "return_documents", dialect == RerankDialect::CohereV1);
        r.max_tokens_per_doc = optional_count(body, "max_tokens_per_doc", 0, 1);
    }
    return r;
}

EmbedRequest parse_embed_request(const Json& body, EmbedDialect dialect, const RequestLimits& limits) {
    check_object(body);
    EmbedRequest r;
    r.dialect = dialect;
    if (dialect == EmbedDialect::OpenAI) {
        r.inputs = string_or_list(body, "input", limits);
        r.model = optional_string(body, "model", limits);
        const Json* fmt_field = find_field(body, "encoding_format");
        if (fmt_field) {
            WINNOW_CHECK(fmt_field->is_string(), Errc::InvalidArgument,
                         "field 'encoding_format': expected \"float\" or \"base64\", got {}", fmt_field->type_name());
            const auto& f = fmt_field->get_ref<const std::string&>();
            WINNOW_CHECK(f == "float" || f == "base64", Errc::InvalidArgument,
                         "field 'encoding_format': '{}' is not one of float, base64", f);
            r.base64 = f == "base64";
        }
        r.kind = parse_kind(body, "input_type");
    } else {
        r.inputs = string_or_list(body, "inputs", limits);
        r.normalize = optional_bool(body, "normalize", true);
        r.truncate = optional_bool(body, "truncate", false);
        r.kind = parse_kind(body, "prompt_name");
    }
    WINNOW_CHECK(!r.inputs.empty(), Errc::InvalidArgument, "field '{}': must not be empty",
                 dialect == EmbedDialect::OpenAI ? "input" : "inputs");
    r.dimensions = optional_count(body, "dimensions", 0, 1);
    return r;
}

SearchRequest parse_search_request(const Json& body, const RequestLimits& limits) {
    check_object(body);
    SearchRequest r;
    r.query = required_string(body, "query", limits);
    WINNOW_CHECK(r.query.find_first_not_of(" \t\r\n") != std::string::npos, Errc::InvalidArgument,
                 "field 'query': must not be blank");
    r.pipeline = optional_string(body, "pipeline", limits);
    r.k = optional_count(body, "k", 0, 1, 100000);
    r.top_n = optional_count(body, "top_n", 0, 1, 100000);
    r.stream = optional_bool(body, "stream", false);
    r.include_first_stage = optional_bool(body, "include_first_stage", false);
    return r;
}

LabelRequest parse_label_request(const Json& body, const RequestLimits& limits) {
    check_object(body);
    LabelRequest r;
    r.query = required_string(body, "query", limits);
    r.query_id = optional_string(body, "query_id", limits);
    r.doc_id = required_string(body, "doc_id", limits);
    WINNOW_CHECK(!r.doc_id.empty() && r.doc_id.find_first_of(" \t\r\n") == std::string::npos, Errc::InvalidArgument,
                 "field 'doc_id': must be non-empty without whitespace");
    WINNOW_CHECK(r.query_id.find_first_of(" \t\r\n") == std::string::npos, Errc::InvalidArgument,
                 "field 'query_id': must not contain whitespace");
    const Json* rel = find_field(body, "relevance");
    WINNOW_CHECK(rel != nullptr, Errc::InvalidArgument, "missing field 'relevance'");
    if (rel->is_boolean()) {
        r.relevance = rel->get<bool>() ? 1 : 0;
    } else {
        r.relevance = static_cast<int>(optional_count(body, "relevance", 0, 0, 10));
    }
    return r;
}

std::string base64_encode(std::string_view bytes) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
                                (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) | std::uint8_t(bytes[i + 2]);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        const std::uint32_t v = std::uint32_t(std::uint8_t(bytes[i])) << 16;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += "==";
    } else if (rest == 2) {
        const std::uint32_t v = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
                                (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

std::string base64_floats(std::span<const float> values) {
    static_assert(std::endian::native == std::endian::little, "base64 embeddings assume a little-endian host");
    std::string bytes(values.size() * sizeof(float), '\0');
    if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
    return base64_encode(bytes);
}

}  // namespace winnow::server
