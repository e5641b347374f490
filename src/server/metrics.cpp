#include "server/metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace winnow::server {
namespace {

// Label values: escape backslash, quote and newline as the exposition format requires.
std::string escape_label(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string format_number(double v) { return fmt::format("{}", v); }

}  // namespace

Metrics::Metrics()
    : latency_bounds_{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
      batch_unit_bounds_{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
      batch_token_bounds_{64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768} {}

void Metrics::observe(Histogram& h, const std::vector<double>& bounds, double value) {
    if (h.buckets.empty()) h.buckets.assign(bounds.size(), 0);
    const auto it = std::lower_bound(bounds.begin(), bounds.end(), value);
    if (it != bounds.end()) ++h.buckets[static_cast<std::size_t>(it - bounds.begin())];
    ++h.count;
    h.sum += value;
}

void Metrics::observe_request(std::string_view route, int status, double seconds) {
    std::lock_guard lock(mutex_);
    ++requests_[{std::string(route), status}];
    auto it = latency_.find(route);
    if (it == latency_.end()) it = latency_.emplace(std::string(route), Histogram{}).first;
    observe(it->second, latency_bounds_, seconds);
}

void Metrics::observe_batch(std::string_view kind, std::size_t units, std::size_t tokens, std::size_t requests,
                            double seconds) {
    std::lock_guard lock(mutex_);
    const std::string key(kind);
    observe(batch_units_[key], batch_unit_bounds_, static_cast<double>(units));
    observe(batch_tokens_[key], batch_token_bounds_, static_cast<double>(tokens));
    observe(batch_seconds_[key], latency_bounds_, seconds);
    batch_requests_[key] += requests;
}

void Metrics::add_tokens(std::string_view kind, std::uint64_t n) {
    std::lock_guard lock(mutex_);
    tokens_[std::string(kind)] += n;
}

void Metrics::add_truncations(std::string_view kind, std::uint64_t n) {
    std::lock_guard lock(mutex_);
    truncations_[std::string(kind)] += n;
}

void Metrics::add_rejected(std::string_view reason) {
    std::lock_guard lock(mutex_);
    ++rejected_[std::string(reason)];
}

void Metrics::add_cancelled(std::string_view route) {
    std::lock_guard lock(mutex_);
    ++cancelled_[std::string(route)];
}

void Metrics::add_gauge(std::string name, std::string help, std::string labels, std::function<double()> read) {
    std::lock_guard lock(mutex_);
    gauges_.push_back({std::move(name), std::move(help), std::move(labels), std::move(read), false});
}

void Metrics::add_counter(std::string name, std::string help, std::string labels, std::function<double()> read) {
    std::lock_guard lock(mutex_);
    gauges_.push_back({std::move(name), std::move(help), std::move(labels), std::move(read), true});
}

void Metrics::render_histogram(std::string& out, std::string_view name, std::string_view labels,
                               const std::vector<double>& bounds, const Histogram& h) {
    const std::string sep = labels.empty() ? "" : ",";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        cumulative += h.buckets.empty() ? 0 : h.buckets[i];
        out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, format_number(bounds[i]), cumulative);
    }
    out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, h.count);
    const std::string braces = labels.empty() ? "" : fmt::format("{{{}}}", labels);
    out += fmt::format("{}_sum{} {}\n", name, braces, format_number(h.sum));
    out += fmt::format("{}_count{} {}\n", name, braces, h.count);
}

std::string Metrics::render() const {
    std::lock_guard lock(mutex_);
    std::string out;
    auto counter_family = [&](std::string_view name, std::string_view help, std::string_view label,
                              const std::map<std::string, std::uint64_t, std::less<>>& values) {
        out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
        for (const auto& [key, value] : values) {
            out += fmt::format("{}{{{}=\"{}\"}} {}\n", name, label, escape_label(key), value);
        }
    };

    out += "# HELP winnow_http_requests_total HTTP requests by route and status.\n"
           "# TYPE winnow_http_requests_total counter\n";
    for (const auto& [key, value] : requests_) {
        out += fmt::format("winnow_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", escape_label(key.first),
                           key.second, value);
    }
    out += "# HELP winnow_http_request_duration_seconds HTTP request latency by route.\n"
           "# TYPE winnow_http_request_duration_seconds histogram\n";
    for (const auto& [route, h] : latency_) {
        render_histogram(out, "winnow_http_request_duration_seconds", fmt::format("route=\"{}\"", escape_label(route)),
                         latency_bounds_, h);
    }
    out += "# HELP winnow_batch_size Items (pairs or texts) per model batch.\n# TYPE winnow_batch_size histogram\n";
    for (const auto& [kind, h] : batch_units_) {
        render_histogram(out, "winnow_batch_size", fmt::format("model=\"{}\"", kind), batch_unit_bounds_, h);
    }
    out += "# HELP winnow_batch_tokens Tokens per model batch.\n# TYPE winnow_batch_tokens histogram\n";
    for (const auto& [kind, h] : batch_tokens_) {
        render_histogram(out, "winnow_batch_tokens", fmt::format("model=\"{}\"", kind), batch_token_bounds_, h);
    }
    out += "# HELP winnow_batch_duration_seconds Model time per batch.\n"
           "# TYPE winnow_batch_duration_seconds histogram\n";
    for (const auto& [kind, h] : batch_seconds_) {
        render_histogram(out, "winnow_batch_duration_seconds", fmt::format("model=\"{}\"", kind), latency_bounds_, h);
    }
    counter_family("winnow_batch_requests_total",
                   "Request shares per batch, summed (over batches count: requests merged per batch).", "model",
                   batch_requests_);
    counter_family("winnow_tokens_total", "Tokens processed by the models.", "model", tokens_);
    counter_family("winnow_truncations_total", "Inputs cut to the model's or the request's token limit.", "model",
                   truncations_);
    counter_family("winnow_rejected_total", "Requests refused before reaching a model, by reason.", "reason",
                   rejected_);
    counter_family("winnow_cancelled_total", "Requests whose client went away before the result.", "route",
                   cancelled_);
    std::string last_name;
    for (const auto& g : gauges_) {
        if (g.name != last_name) {
            out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", g.name, g.help, g.name, g.counter ? "counter" : "gauge");
            last_name = g.name;
        }
        const std::string braces = g.labels.empty() ? "" : fmt::format("{{{}}}", g.labels);
        out += fmt::format("{}{} {}\n", g.name, braces, format_number(g.read()));
    }
    return out;
}

}  // namespace winnow::server
