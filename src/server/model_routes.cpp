// The model routes: rerank in the Cohere/Jina (/v1/rerank, /v2/rerank) and TEI (/rerank) dialects,
// embeddings in the OpenAI (/v1/embeddings) and TEI (/embed) dialects, and the batches their
// schedulers run on the models.
#include "server/server_impl.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/log.h"

namespace winnow {
namespace {

std::string random_id() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return fmt::format("{:016x}{:016x}", rng(), rng());
}

// Token estimate for raw pairs when the model's tokenizer is not used in the HTTP threads.
std::uint32_t estimate_tokens(std::size_t bytes) { return static_cast<std::uint32_t>(bytes / 4 + 3); }

// Cuts `text` to about `max_tokens` tokens at a UTF-8 boundary (raw mode's max_tokens_per_doc).
std::string cut_utf8(const std::string& text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) return text;
    std::size_t end = max_bytes;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    return text.substr(0, end);
}

// Byte length of the first `n_code_points` code points of UTF-8 `text` (tokenizer offsets count
// code points).
std::size_t utf8_prefix_bytes(const std::string& text, std::size_t n_code_points) {
    std::size_t i = 0;
    for (std::size_t cp = 0; i < text.size() && cp < n_code_points; ++cp) {
        ++i;
        while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
    }
    return i;
}

void l2_normalize(std::vector<float>& v) {
    double sum = 0.0;
    for (float x : v) sum += double(x) * x;
    if (sum <= 0.0) return;
    const float inv = static_cast<float>(1.0 / std::sqrt(sum));
    for (float& x : v) x *= inv;
}

}  // namespace

std::vector<PairScore> Server::Impl::run_rerank(const std::vector<const RerankUnit*>& units) {
    if (rerank_pretokenized.load()) {
        std::vector<TokenizedPair> pairs;
        pairs.reserve(units.size());
        for (const auto* u : units) pairs.push_back(u->tokens);
        try {
            auto scores = reranker->score_tokenized(pairs);
            for (std::size_t i = 0; i < scores.size() && i < units.size(); ++i) {
                scores[i].n_tokens = units[i]->n_tokens;
                scores[i].truncated = units[i]->truncated;
            }
            return scores;
        } catch (const Error& e) {
            if (e.code() != Errc::Unsupported) throw;
            log::warn("server: model {} does not take token ids ({}); scoring text pairs", reranker->name(),
                      e.what());
            rerank_pretokenized.store(false);
        }
    }
    std::vector<std::pair<std::string, std::string>> pairs;
    pairs.reserve(units.size());
    for (const auto* u : units) pairs.emplace_back(*u->query, u->doc);
    return reranker->score_pairs(pairs);
}

std::vector<std::vector<float>> Server::Impl::run_embed(std::uint64_t key, const std::vector<const EmbedUnit*>& units) {
    std::vector<std::string> texts;
    texts.reserve(units.size());
    for (const auto* u : units) texts.push_back(u->text);
    const EmbedKind kind = (key & 1) ? EmbedKind::Query : EmbedKind::Document;
    const std::size_t dims = static_cast<std::size_t>(key >> 1);
    return embedder->embed(texts, kind, dims);
}

// Scores (query, document) pairs on the shared rerank scheduler, batched with every other
// request's pairs (/v1/rerank, /v2/rerank, /rerank, and the rerank stage of /v1/search and
// /v1/ask); waits for them under the request's deadline, dropping them if the client leaves.
// `max_tokens_per_doc` cuts each document first (0: only the model's limit); with `truncate`
// false an input over the model's limit is an error (413).
// `stage_max_length` (the pipeline's rerank max_length, below the model's) truncates each pair
// to fewer tokens than the model's limit; it needs the pairs tokenized here.
std::vector<PairScore> Server::Impl::score_on_queue(std::string_view query_text, const std::vector<std::string>& documents,
                                                    std::size_t max_tokens_per_doc, bool truncate, const httplib::Request& req,
                                                    std::string_view route, std::size_t stage_max_length) {
    WINNOW_CHECK(reranker, Errc::NotFound, "no rerank model loaded (start the server with --rerank-model)");
    auto query = std::make_shared<const std::string>(query_text);
    const std::size_t max_length = stage_max_length > 0 && stage_max_length < reranker->max_length()
                                       ? stage_max_length
                                       : reranker->max_length();
    std::vector<RerankUnit> units;
    std::vector<std::uint32_t> costs;
    units.reserve(documents.size());
    costs.reserve(documents.size());
    std::size_t total = 0;
    const Tokenizer* tok = rerank_pretokenized.load() ? rerank_tokenizer : nullptr;
    WINNOW_CHECK(tok != nullptr || max_length == reranker->max_length(), Errc::InvalidArgument,
                 "rerank max_length={} below the model's {}: this server sends text pairs to the model "
                 "(--no-pretokenize or an LLM reranker) and cannot apply it", max_length, reranker->max_length());
    TruncationOptions truncation;
    truncation.max_length = max_length;
    truncation.strategy = TruncationStrategy::LongestFirst;
    for (std::size_t i = 0; i < documents.size(); ++i) {
        RerankUnit u;
        u.query = query;
        if (tok) {
            u.doc = documents[i];
            if (max_tokens_per_doc > 0) {
                const Encoding alone = tok->encode(u.doc, false);
                if (alone.size() > max_tokens_per_doc) {
                    u.doc.resize(utf8_prefix_bytes(u.doc, alone.offsets[max_tokens_per_doc - 1].second));
                    u.truncated = true;
                }
            }
            Encoding e = max_length > 0 ? tok->encode_pair(*query, u.doc, truncation) : tok->encode_pair(*query, u.doc);
            WINNOW_CHECK(truncate || !e.truncated, Errc::TooLarge,
                         "field 'texts[{}]': the input is longer than the model's {} tokens and 'truncate' is "
                         "false", i, max_length);
            u.truncated = u.truncated || e.truncated;
            u.n_tokens = static_cast<std::uint32_t>(e.ids.size());
            u.tokens.input_ids = std::move(e.ids);
            u.tokens.token_type_ids = std::move(e.type_ids);
        } else {
            u.doc = max_tokens_per_doc > 0 ? cut_utf8(documents[i], max_tokens_per_doc * 4) : documents[i];
            u.truncated = u.doc.size() < documents[i].size();
            u.n_tokens = estimate_tokens(query->size() + u.doc.size());
            if (max_length > 0 && u.n_tokens > max_length) u.n_tokens = static_cast<std::uint32_t>(max_length);
        }
        total += u.n_tokens;
        costs.push_back(u.n_tokens);
        units.push_back(std::move(u));
    }
    WINNOW_CHECK(total <= limits.max_request_tokens, Errc::TooLarge,
                 "request has about {} tokens, the limit is {}", total, limits.max_request_tokens);
    auto ticket = rerank_queue->submit(std::move(units), std::move(costs), 0, deadline());
    auto scores = await(*rerank_queue, ticket, req, route);
    std::uint64_t tokens = 0, truncated = 0;
    for (std::size_t i = 0; i < scores.size(); ++i) {
        tokens += scores[i].n_tokens;
        truncated += scores[i].truncated ? 1 : 0;
        WINNOW_CHECK(truncate || !scores[i].truncated, Errc::TooLarge,
                     "field 'texts[{}]': the input is longer than the model's {} tokens and 'truncate' is false",
                     i, max_length);
    }
    metrics.add_tokens("rerank", tokens);
    metrics.add_truncations("rerank", truncated);
    return scores;
}

std::vector<PairScore> Server::Impl::rerank(const srv::RerankRequest& r, const httplib::Request& req, std::string_view route) {
    return score_on_queue(r.query, r.documents, r.max_tokens_per_doc, r.truncate, req, route);
}

std::vector<std::size_t> Server::Impl::order_by_score(const std::vector<PairScore>& scores, bool raw) {
    std::vector<std::size_t> order(scores.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const float sa = raw ? scores[a].raw_score : scores[a].score;
        const float sb = raw ? scores[b].raw_score : scores[b].score;
        return sa > sb;
    });
    return order;
}

void Server::Impl::handle_rerank(const httplib::Request& req, httplib::Response& res, srv::RerankDialect dialect,
                                 std::string_view route) {
    const Json body = srv::parse_request_body(req.body);
    const auto r = srv::parse_rerank_request(body, dialect, limits);
    const auto scores = rerank(r, req, route);
    if (dialect == srv::RerankDialect::Tei) {
        const auto order = order_by_score(scores, r.raw_scores);
        Json out = Json::array();
        for (std::size_t i : order) {
            Json item{{"index", i}, {"score", r.raw_scores ? scores[i].raw_score : scores[i].score}};
            if (r.return_documents) item["text"] = r.documents[i];
            out.push_back(std::move(item));
        }
        write_json(res, out);
        return;
    }
    auto order = order_by_score(scores, false);
    if (r.top_n > 0 && r.top_n < order.size()) order.resize(r.top_n);
    Json results = Json::array();
    std::uint64_t tokens = 0;
    for (const auto& s : scores) tokens += s.n_tokens;
    for (std::size_t i : order) {
        Json item{{"index", i}, {"relevance_score", scores[i].score}};
        if (r.return_documents) item["document"] = Json{{"text", r.documents[i]}};
        results.push_back(std::move(item));
    }
    Json out{{"id", random_id()},
             {"model", reranker->name()},
             {"results", std::move(results)},
             {"usage", {{"total_tokens", tokens}}}};
    if (dialect == srv::RerankDialect::CohereV2 || dialect == srv::RerankDialect::CohereV1) {
        out["meta"] = Json{{"billed_units", {{"search_units", 1}}}, {"tokens", {{"input_tokens", tokens}}}};
    }
    write_json(res, out);
}

std::vector<std::vector<float>> Server::Impl::embed(const srv::EmbedRequest& r, const httplib::Request& req,
                                                    std::string_view route, std::uint64_t& tokens) {
    WINNOW_CHECK(embedder, Errc::NotFound, "no embedding model loaded (start the server with --embed-model)");
    WINNOW_CHECK(r.dimensions <= embedder->dimension(), Errc::InvalidArgument,
                 "field 'dimensions': {} is more than the model's {}", r.dimensions, embedder->dimension());
    const std::size_t max_length = embedder->max_length();
    std::vector<EmbedUnit> units;
    std::vector<std::uint32_t> costs;
    units.reserve(r.inputs.size());
    tokens = 0;
    for (std::size_t i = 0; i < r.inputs.size(); ++i) {
        std::uint32_t cost = 0;
        if (embed_tokenizer) {
            const Encoding e = embed_tokenizer->encode(r.inputs[i], true);
            cost = static_cast<std::uint32_t>(e.size());
            WINNOW_CHECK(r.truncate || r.dialect == srv::EmbedDialect::OpenAI || (!e.truncated && (max_length == 0 || cost <= max_length)),
                         Errc::TooLarge, "field 'inputs[{}]': {} tokens, over the model's {}, and 'truncate' is false",
                         i, cost, max_length);
        } else {
            cost = estimate_tokens(r.inputs[i].size());
        }
        if (max_length > 0 && cost > max_length) {
            WINNOW_CHECK(r.truncate || r.dialect == srv::EmbedDialect::OpenAI, Errc::TooLarge,
                         "field 'inputs[{}]': about {} tokens, over the model's {}, and 'truncate' is false", i,
                         cost, max_length);
            cost = static_cast<std::uint32_t>(max_length);
        }
        tokens += cost;
        costs.push_back(cost);
        units.push_back({r.inputs[i]});
    }
    WINNOW_CHECK(tokens <= limits.max_request_tokens, Errc::TooLarge,
                 "request has about {} tokens, the limit is {}", tokens, limits.max_request_tokens);
    const std::uint64_t key = (std::uint64_t(r.dimensions) << 1) | (r.kind == EmbedKind::Query ? 1u : 0u);
    auto ticket = embed_queue->submit(std::move(units), std::move(costs), key, deadline());
    auto vectors = await(*embed_queue, ticket, req, route);
    metrics.add_tokens("embed", tokens);
    return vectors;
}

void Server::Impl::handle_openai_embeddings(const httplib::Request& req, httplib::Response& res) {
    const Json body = srv::parse_request_body(req.body);
    const auto r = srv::parse_embed_request(body, srv::EmbedDialect::OpenAI, limits);
    std::uint64_t tokens = 0;
    const auto vectors = embed(r, req, "/v1/embeddings", tokens);
    Json data = Json::array();
    for (std::size_t i = 0; i < vectors.size(); ++i) {
        Json item{{"object", "embedding"}, {"index", i}};
        if (r.base64) {
            item["embedding"] = srv::base64_floats(vectors[i]);
        } else {
            item["embedding"] = vectors[i];
        }
        data.push_back(std::move(item));
    }
    write_json(res, Json{{"object", "list"},
                         {"data", std::move(data)},
                         {"model", embedder->name()},
                         {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}});
}

void Server::Impl::handle_tei_embed(const httplib::Request& req, httplib::Response& res) {
    const Json body = srv::parse_request_body(req.body);
    const auto r = srv::parse_embed_request(body, srv::EmbedDialect::Tei, limits);
    std::uint64_t tokens = 0;
    auto vectors = embed(r, req, "/embed", tokens);
    if (r.normalize) {
        for (auto& v : vectors) l2_normalize(v);
    }
    write_json(res, Json(vectors));
}

}  // namespace winnow
