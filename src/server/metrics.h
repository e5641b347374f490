// Prometheus text exposition (format 0.0.4) for the server's counters, gauges and histograms.
// Our own ~150 lines rather than prometheus-cpp: we only need to render text on GET /metrics,
// and prometheus-cpp would bring its own HTTP server and is not in the project's package set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace winnow::server {

class Metrics {
public:
    Metrics();

    // One finished HTTP request: counts by (route, status), latency histogram by route.
    void observe_request(std::string_view route, int status, double seconds);
    // One model batch of `kind` ("rerank" or "embed").
    void observe_batch(std::string_view kind, std::size_t units, std::size_t tokens, std::size_t requests,
                       double seconds);
    void add_tokens(std::string_view kind, std::uint64_t n);
    void add_truncations(std::string_view kind, std::uint64_t n);
    void add_rejected(std::string_view reason);  // overloaded, too_large, unauthorized, ...
    void add_cancelled(std::string_view route);  // client went away before the result
    // A gauge read at render time (e.g. queue depth of a scheduler).
    void add_gauge(std::string name, std::string help, std::string labels, std::function<double()> read);
    // A counter kept elsewhere (e.g. by the kernels), read at render time.
    void add_counter(std::string name, std::string help, std::string labels, std::function<double()> read);

    std::string render() const;

private:
    struct Histogram {
        std::vector<std::uint64_t> buckets;  // cumulative counts rendered; stored per bucket
        std::uint64_t count = 0;
        double sum = 0.0;
    };
    struct Gauge {
        std::string name, help, labels;
        std::function<double()> read;
        bool counter = false;
    };
    static void observe(Histogram& h, const std::vector<double>& bounds, double value);
    static void render_histogram(std::string& out, std::string_view name, std::string_view labels,
                                 const std::vector<double>& bounds, const Histogram& h);

    mutable std::mutex mutex_;
    std::vector<double> latency_bounds_;
    std::vector<double> batch_unit_bounds_;
    std::vector<double> batch_token_bounds_;
    std::map<std::pair<std::string, int>, std::uint64_t> requests_;
    std::map<std::string, Histogram, std::less<>> latency_;
    std::map<std::string, Histogram, std::less<>> batch_units_;
    std::map<std::string, Histogram, std::less<>> batch_tokens_;
    std::map<std::string, Histogram, std::less<>> batch_seconds_;
    std::map<std::string, std::uint64_t, std::less<>> batch_requests_;
    std::map<std::string, std::uint64_t, std::less<>> tokens_;
    std::map<std::string, std::uint64_t, std::less<>> truncations_;
    std::map<std::string, std::uint64_t, std::less<>> rejected_;
    std::map<std::string, std::uint64_t, std::less<>> cancelled_;
    std::vector<Gauge> gauges_;
};

}  // namespace winnow::server
