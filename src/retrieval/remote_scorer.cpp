// The remote rerank tier: `rerank(url=...)` sends a query's candidate texts to a pool of
// `winnow serve` replicas (or any Cohere/TEI-compatible server) behind a balancer, with a deadline
// and retries on the next URL when an attempt fails.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "core/http_client.h"
#include "core/json.h"
#include "winnow/error.h"
#include "winnow/pipeline.h"

namespace winnow {
namespace {

using Clock = std::chrono::steady_clock;

// One HTTP exchange bounded by timeout_ms (connect included). body empty: GET.
http::Reply http_call(const std::string& url, const std::string& body, long timeout_ms) {
    http::Request request;
    request.method = body.empty() ? "GET" : "POST";
    request.url = url;
    request.body = body;
    request.timeout_ms = timeout_ms;
    return http::send(request);
}

class RemoteScorer final : public CandidateScorer {
public:
    explicit RemoteScorer(const RerankConfig& config)
        : urls_(config.urls), dialect_(config.dialect), deadline_ms_(config.deadline_ms), attempts_(config.attempts) {
        WINNOW_CHECK(!urls_.empty(), Errc::InvalidArgument, "remote rerank: no url");
    }

    std::vector<RerankScore> score(std::string_view query, const std::vector<Candidate>& candidates,
                                   const RerankConfig&) const override {
        if (candidates.empty()) return {};
        const std::string body = request_body(query, candidates);
        const auto deadline = Clock::now() + std::chrono::milliseconds(deadline_ms_);
        // Requests start on successive URLs so that a list of replicas shares the load too.
        const std::size_t first = next_.fetch_add(1, std::memory_order_relaxed);
        std::string failures;
        bool all_refused = true;
        bool waited = false;       // a 429's Retry-After already paused before this attempt
        bool out_of_time = false;  // stopped because the deadline left no room for another attempt
        for (std::size_t attempt = 0; attempt < attempts_; ++attempt) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            if (left <= 0) {
                out_of_time = true;
                break;
            }
            if (attempt > 0 && !waited) {
                // A short, growing pause before a retry (25 ms, 50 ms, ... at most 1 s) lets a
                // balancer's health check take a dead replica out of rotation.
                const auto pause =
                    std::chrono::milliseconds(std::min<long>(1000, 25L << std::min<std::size_t>(attempt - 1, 6)));
                if (Clock::now() + pause >= deadline) {
                    out_of_time = true;
                    break;
                }
                std::this_thread::sleep_for(pause);
            }
            waited = false;
            const std::string& base = urls_[(first + attempt) % urls_.size()];
            const std::string url = base + (dialect_ == RemoteDialect::Tei ? "/rerank" : "/v1/rerank");
            const http::Reply reply = http_call(url, body, static_cast<long>(left));
            if (reply.ok && reply.status == 200) return parse_reply(url, reply.body, candidates.size());
            if (!failures.empty()) failures += "; ";
            if (!reply.ok) {
                failures += fmt::format("{}: {}", url, reply.error);
                all_refused = false;
                continue;  // refused, reset or timed out: the next URL (the deadline bounds it)
            }
            failures += fmt::format("{}: HTTP {} {}", url, reply.status, http::error_message(reply.body));
            if (reply.status == 429) {
                // Overloaded: wait what it asked when that still fits, then try the next URL.
                if (reply.retry_after_s > 0) {
                    const auto resume = Clock::now() + std::chrono::seconds(reply.retry_after_s);
                    if (resume >= deadline) {
                        out_of_time = true;
                        break;
                    }
                    std::this_thread::sleep_until(resume);
                    waited = true;
                }
                continue;
            }
            all_refused = false;
            if (reply.status >= 500) continue;
            WINNOW_THROW(reply.status == 413 ? Errc::TooLarge : Errc::InvalidArgument,
                         "remote rerank {} answered HTTP {}: {}", url, reply.status, http::error_message(reply.body));
        }
        if (out_of_time || Clock::now() >= deadline) {
            WINNOW_THROW(Errc::Timeout, "remote rerank: no answer within deadline_ms={} ({})", deadline_ms_,
                         failures.empty() ? std::string("no attempt fitted") : failures);
        }
        WINNOW_THROW(all_refused ? Errc::Overloaded : Errc::Io, "remote rerank: {} attempt(s) failed: {}", attempts_,
                     failures);
    }

    std::string name() const override {
        std::string joined;
        for (const auto& u : urls_) joined += (joined.empty() ? "" : " ") + u;
        return fmt::format("remote({}:{})", dialect_ == RemoteDialect::Tei ? "tei" : "cohere", joined);
    }

private:
    std::string request_body(std::string_view query, const std::vector<Candidate>& candidates) const {
        Json texts = Json::array();
        for (const auto& c : candidates) texts.push_back(c.text);
        Json body = Json::object();
        body["query"] = std::string(query);
        if (dialect_ == RemoteDialect::Tei) {
            body["texts"] = std::move(texts);
            body["raw_scores"] = true;
            body["truncate"] = true;
        } else {
            body["documents"] = std::move(texts);
            body["top_n"] = candidates.size();
            body["return_documents"] = false;
        }
        return body.dump(-1, ' ', false, Json::error_handler_t::replace);
    }

    std::vector<RerankScore> parse_reply(const std::string& url, const std::string& text, std::size_t n) const {
        std::vector<RerankScore> out(n);
        std::vector<bool> seen(n, false);
        try {
            const Json j = Json::parse(text);
            const Json& results = dialect_ == RemoteDialect::Tei ? j : j.at("results");
            WINNOW_CHECK(results.is_array() && results.size() == n, Errc::Corrupt,
                         "remote rerank {}: expected {} results, got {}", url, n,
                         results.is_array() ? results.size() : 0);
            for (const Json& r : results) {
                const std::size_t index = r.at("index").get<std::size_t>();
                WINNOW_CHECK(index < n && !seen[index], Errc::Corrupt,
                             "remote rerank {}: result index {} out of range or repeated", url, index);
                seen[index] = true;
                if (dialect_ == RemoteDialect::Tei) {
                    out[index].raw = r.at("score").get<float>();
                } else {
                    // relevance_score = sigmoid(logit): map it back to the logit.
                    const double p = std::clamp(r.at("relevance_score").get<double>(), 1e-12, 1.0 - 1e-12);
                    out[index].raw = static_cast<float>(std::log(p / (1.0 - p)));
                }
            }
        } catch (const nlohmann::json::exception& e) {
            WINNOW_THROW(Errc::Corrupt, "remote rerank {}: malformed answer ({}): {}", url, e.what(),
                         text.substr(0, 200));
        }
        return out;
    }

    std::vector<std::string> urls_;
    RemoteDialect dialect_;
    std::size_t deadline_ms_;
    std::size_t attempts_;
    mutable std::atomic<std::size_t> next_{0};
};

}  // namespace

std::shared_ptr<const CandidateScorer> make_remote_scorer(const RerankConfig& config) {
    return std::make_shared<RemoteScorer>(config);
}

std::vector<ReplicaHealth> remote_pool_health(const std::vector<std::string>& urls, std::size_t timeout_ms) {
    std::vector<std::future<ReplicaHealth>> probes;
    for (const auto& base : urls) {
        probes.push_back(std::async(std::launch::async, [base, timeout_ms] {
            ReplicaHealth h;
            h.url = base;
            const http::Reply reply = http_call(base + "/health", "", static_cast<long>(timeout_ms));
            if (!reply.ok) {
                h.detail = reply.error;
                return h;
            }
            h.http_status = reply.status;
            h.up = reply.status == 200;
            try {
                const Json j = Json::parse(reply.body);
                if (j.is_object() && j.contains("status") && j["status"].is_string())
                    h.detail = j["status"].get<std::string>();
            } catch (const nlohmann::json::exception&) {
                h.detail = reply.body.substr(0, 200);
            }
            return h;
        }));
    }
    std::vector<ReplicaHealth> out;
    for (auto& p : probes) out.push_back(p.get());
    return out;
}

}  // namespace winnow
