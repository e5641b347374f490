// An in-process winnow::Server on a loopback port, with a client to talk to it.
#pragma once

#include <httplib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/json.h"
#include "fake_models.h"
#include "winnow/server.h"

namespace winnow::testing {

struct RunningServer {
    std::unique_ptr<Server> server;
    std::thread thread;
    int port = 0;

    RunningServer(ServerOptions options, std::shared_ptr<Reranker> reranker, std::shared_ptr<Embedder> embedder) {
        options.host = "127.0.0.1";
        options.port = 0;
        server = std::make_unique<Server>(std::move(options), std::move(reranker), std::move(embedder));
        port = server->bind();
        thread = std::thread([this] { server->run(); });
        for (int i = 0; i < 500 && !server->running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ~RunningServer() { shutdown(); }
    void shutdown() {
        if (thread.joinable()) {
            server->stop();
            thread.join();
        }
    }
    httplib::Client client() const {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(std::chrono::seconds(30));
        return c;
    }
};

inline Json body_json(const httplib::Result& r) { return Json::parse(r->body); }

// Waits until `done()` holds, polling. Tests wait on a condition they built (a request held inside
// the model, a queue depth, a counter), never on the clock; `bound` only turns a hang into a
// failure and is far above what any machine needs.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds bound = std::chrono::milliseconds(60000)) {
    const auto until = std::chrono::steady_clock::now() + bound;
    while (!done()) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

// The value of one series (`name{labels}` as rendered) in Prometheus text, or -1 when absent.
inline double metric(const std::string& text, const std::string& name) {
    const auto pos = text.find("\n" + name + " ");
    return pos == std::string::npos ? -1.0 : std::stod(text.substr(pos + name.size() + 2));
}

}  // namespace winnow::testing
