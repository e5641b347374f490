// An in-process winnow::Server on a loopback port, with a client to talk to it.
#pragma once

#include <httplib.h>

#include <memory>
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

}  // namespace winnow::testing
