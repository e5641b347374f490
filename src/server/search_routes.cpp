// /v1/search and /v1/ask over the server's --index: the pipeline (Pipeline::run, Pipeline::ask)
// with a per-request rerank scorer on the shared scheduler, per-request settings applied or
// refused, and the CLI's JSON form of the result.
#include "server/server_impl.h"

#include <algorithm>
#include <filesystem>

#include "retrieval/result_json.h"

namespace winnow {

// The pipeline's rerank stage for one request: the pipeline builds the pairs (maxp windows
// included) and pools the scores; the pairs themselves go through the shared rerank scheduler
// with this request's deadline, disconnect check and metrics, like a /v1/rerank request.
std::shared_ptr<const CandidateScorer> Server::Impl::scheduled_scorer(const httplib::Request& req, std::string_view route) {
    if (!reranker) return nullptr;
    return make_cross_encoder_scorer(reranker, [this, &req, route](std::string_view query,
                                                                   const std::vector<std::string>& texts,
                                                                   std::size_t max_length) {
        return score_on_queue(query, texts, 0, true, req, route, max_length);
    });
}

// True when a request's `model` names the loaded model: its folder, an equivalent path, or the
// hub id whose cache folder it is.
bool Server::Impl::same_model(const std::string& asked, const std::string& loaded) {
    if (asked == loaded) return true;
    std::error_code ec;
    if (std::filesystem::equivalent(asked, loaded, ec) && !ec) return true;
    std::string cache = "models--";
    for (char c : asked) cache += c == '/' ? std::string("--") : std::string(1, c);
    return loaded.find("/" + cache + "/") != std::string::npos;
}

// Per-request rerank settings are applied or refused, never ignored. This server scores the
// `rerank` stage with the model it was started with: another model is 404; a precision or batch
// budget other than the server's, or a max_length it cannot apply, is 422. Without
// --rerank-model the server's own spec loads its model once, and only its settings are allowed.
void Server::Impl::check_rerank_settings(const RerankConfig& r) const {
    if (!r.enabled || r.kind != "rerank") return;
    if (!r.urls.empty()) {
        // A remote rerank tier comes from the server's own --pipeline only: a request naming
        // another URL would make this server call hosts of the client's choosing.
        WINNOW_CHECK(own_rerank.urls == r.urls, Errc::InvalidArgument,
                     "rerank url: only the server's --pipeline can name a remote rerank tier (this server's: '{}')",
                     pipeline->spec().to_string());
        return;
    }
    if (reranker) {
        WINNOW_CHECK(r.model.empty() || same_model(r.model, reranker->name()), Errc::NotFound,
                     "rerank model '{}' is not loaded: this server was started with --rerank-model {}", r.model,
                     reranker->name());
        WINNOW_CHECK(r.precision == Precision::Auto || r.precision == reranker->precision(), Errc::InvalidArgument,
                     "rerank precision={}: this server's model runs in {} (set by --precision at start)",
                     precision_name(r.precision), precision_name(reranker->precision()));
        WINNOW_CHECK(r.device == Device::Auto || r.device == reranker->device(), Errc::InvalidArgument,
                     "rerank device={}: this server's model runs on {} (set by --device at start)",
                     device_name(r.device), device_name(reranker->device()));
        WINNOW_CHECK(r.batch_tokens == 0 || r.batch_tokens == options.batch_token_budget, Errc::InvalidArgument,
                     "rerank batch_tokens={}: this server batches {} tokens across requests (--batch-tokens at "
                     "start)", r.batch_tokens, options.batch_token_budget);
        WINNOW_CHECK(r.max_length == 0 || r.max_length >= reranker->max_length() || rerank_pretokenized.load(),
                     Errc::InvalidArgument,
                     "rerank max_length={} below the model's {}: this server sends text pairs to the model "
                     "(--no-pretokenize or an LLM reranker) and cannot apply it", r.max_length,
                     reranker->max_length());
        return;
    }
    const RerankConfig& own = own_rerank;
    WINNOW_CHECK(own.enabled && own.kind == "rerank", Errc::NotFound,
                 "no rerank model loaded (start the server with --rerank-model)");
    WINNOW_CHECK(r.model == own.model, Errc::NotFound, "rerank model '{}' is not loaded: this server's pipeline uses '{}'",
                 r.model, own.model);
    WINNOW_CHECK(r.max_length == own.max_length && r.precision == own.precision && r.device == own.device &&
                     r.batch_tokens == own.batch_tokens,
                 Errc::InvalidArgument,
                 "rerank max_length, precision, device and batch_tokens are fixed by this server's pipeline ('{}'): "
                 "start it with --rerank-model to change max_length per request", pipeline->spec().to_string());
}

// The request's settings as overrides of the server's spec.
std::map<std::string, std::string> Server::Impl::request_overrides(const srv::SearchRequest& r) {
    WINNOW_CHECK(pipeline, Errc::NotFound, "no index loaded (start the server with --index)");
    // Documents another process committed since (a running `winnow index`) become searchable now;
    // when nothing changed this costs one read of the store's generation.
    pipeline->refresh();
    std::map<std::string, std::string> overrides;
    if (!r.pipeline.empty()) {
        // A per-request spec applies as overrides of the server's spec: every stage.key=value
        // in it replaces or adds that setting.
        PipelineSpec spec;
        try {
            spec = PipelineSpec::parse(r.pipeline);
        } catch (const Error& e) {
            WINNOW_THROW(Errc::InvalidArgument, "field 'pipeline': {}", e.what());
        }
        for (const auto& stage : spec.stages) {
            for (const auto& [key, value] : stage.params) overrides[stage.name + "." + key] = value;
        }
    }
    if (r.k > 0) overrides["k"] = std::to_string(r.k);
    if (r.top_n > 0) overrides["cutoff.top_n"] = std::to_string(r.top_n);
    return overrides;
}

PipelineResult Server::Impl::run_search(const srv::SearchRequest& r, const httplib::Request& req, std::string_view route) {
    const auto overrides = request_overrides(r);
    check_rerank_settings(pipeline->config(overrides).rerank);
    return pipeline->run(r.query, overrides, scheduled_scorer(req, route));
}

// The CLI's JSON form of a pipeline result (retrieval/result_json.h).
Json Server::Impl::search_json(const PipelineResult& result, bool include_first_stage, bool answer) {
    if (result.n_truncated > 0) metrics.add_truncations("rerank", result.n_truncated);
    return retrieval::result_json(result, {.first_stage = include_first_stage, .answer = answer});
}

void Server::Impl::handle_search(const httplib::Request& req, httplib::Response& res) {
    const Json body = srv::parse_request_body(req.body);
    const auto r = srv::parse_search_request(body, limits);
    write_json(res, search_json(run_search(r, req, "/v1/search"), r.include_first_stage));
}

std::string Server::Impl::sse(std::string_view event, const Json& data) {
    return fmt::format("event: {}\ndata: {}\n\n", event, dump(data));
}

// Pipeline::ask, as `winnow ask`: the pack stage, then the answer stage (streamed after the
// sources with `stream`).
void Server::Impl::handle_ask(const httplib::Request& req, httplib::Response& res) {
    const Json body = srv::parse_request_body(req.body);
    const auto r = srv::parse_search_request(body, limits);
    const auto overrides = request_overrides(r);
    check_rerank_settings(pipeline->config(overrides).rerank);
    AskOptions ask;
    ask.answer = false;  // packed here; the answer below (or in the stream)
    auto result = std::make_shared<PipelineResult>(
        pipeline->ask(r.query, ask, overrides, scheduled_scorer(req, "/v1/ask")));
    ask.answer = true;
    const bool have_llm = Pipeline::has_llm(ask);
    if (!r.stream) {
        Pipeline::answer(*result, ask);
        write_json(res, search_json(*result, r.include_first_stage, true));
        return;
    }
    // Server-sent events: sources first, then answer deltas, then done (or error).
    auto head = std::make_shared<std::string>(sse(
        "sources", Json{{"sources", retrieval::sources_json(*result->context)}, {"context", result->context->context}}));
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [head, result, ask, have_llm](std::size_t, httplib::DataSink& sink) mutable {
            if (!sink.write(head->data(), head->size())) return false;
            if (have_llm) {
                try {
                    ask.on_delta = [&](std::string_view delta) {
                        const std::string e = sse("delta", Json{{"content", std::string(delta)}});
                        return sink.write(e.data(), e.size());
                    };
                    Pipeline::answer(*result, ask);
                    const std::string done = sse("done", Json{{"finish_reason", result->answer->finish_reason}});
                    sink.write(done.data(), done.size());
                } catch (const Error& e) {
                    const std::string err = sse("error", Json{{"type", errc_name(e.code())}, {"message", e.what()}});
                    sink.write(err.data(), err.size());
                }
            } else {
                const std::string done = sse("done", Json{{"finish_reason", "no_llm"}});
                sink.write(done.data(), done.size());
            }
            sink.done();
            return true;
        });
}

}  // namespace winnow
