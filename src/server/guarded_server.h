// GuardedServer: cpp-httplib's server with the connection-level limits httplib 0.11 lacks.
//
// httplib serves each connection on one pool thread and reads it through a Stream; its only time
// limit is a per-read timeout (a client sending one header line every few seconds keeps a thread
// forever), it inflates gzip bodies and reads chunked bodies without any size limit, and its stop()
// waits for every connection to end. GuardedServer replaces the per-connection loop
// (process_and_close_socket) with its own Stream, which enforces:
//   - a deadline for a request's line and headers (`header_timeout`) and one for its body
//     (`body_timeout`), on top of a per-read timeout, and a keep-alive idle timeout;
//   - a cap on the request line + header bytes (431) and on the body: Content-Length over the limit
//     is refused before reading (413), a chunked body stops at the limit (413), and a
//     Content-Encoding is taken off the request and decoded by decode_body() with the limit applied
//     to the decoded size (413; unknown encodings 415);
//   - a cap on open connections per client address (beyond it: 503 and close);
//   - request-smuggling and truncation guards: a duplicate Content-Length, Content-Length together
//     with Transfer-Encoding, a Transfer-Encoding other than chunked, a non-numeric Content-Length,
//     or a NUL byte in any header (httplib hands out header values as C strings, so bytes after a
//     NUL were ignored: `Bearer key%00junk` matched `key`) get 400 and close the connection;
//   - stop() that also drops every connection waiting on its client (idle keep-alive, slow
//     headers or body); requests already being handled finish.
// Rejections answer with the server's JSON error shape and close the connection.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace winnow {
struct ServerOptions;
}

namespace winnow::server {

struct ConnectionLimits {
    std::size_t max_body_bytes = 16u << 20;     // decoded body (after chunked framing and Content-Encoding)
    std::size_t max_header_bytes = 64u << 10;   // request line + headers
    std::chrono::milliseconds header_timeout{10000};      // first byte of a request to the end of its headers
    std::chrono::milliseconds body_timeout{60000};        // end of the headers to the end of the body
    std::chrono::milliseconds keep_alive_timeout{5000};   // idle between two requests of a connection
    std::chrono::milliseconds io_timeout{30000};          // any one read or write
    std::size_t max_connections_per_client = 32;          // open connections per client IP address
};

ConnectionLimits connection_limits(const ServerOptions& options);

class GuardedServer : public httplib::Server {
public:
    GuardedServer();
    void set_connection_limits(const ConnectionLimits& limits) { limits_ = limits; }

    // These hide httplib's own (the server calls them on a GuardedServer): POST handlers get the
    // decoded body; the pre-routing handler answers rejected requests first; the error handler gives
    // the statuses the guard decided (408, 413, 415, 431) before the server's own handler runs.
    GuardedServer& Post(const std::string& pattern, Handler handler);
    GuardedServer& set_pre_routing_handler(HandlerWithResponse handler);
    GuardedServer& set_error_handler(HandlerWithResponse handler);

    // Stops accepting, drops the connections that wait on their client, lets the others finish
    // their current request. Thread-safe; returns at once (listen_after_bind() returns when done).
    void stop();

    // Open connections (all clients), for metrics and tests.
    std::size_t open_connections() const;
    bool stopping() const;

    class Connection;

private:
    bool process_and_close_socket(socket_t sock) override;
    bool admit(Connection& c);
    void release(Connection& c);
    bool wait_readable(Connection& c, std::chrono::milliseconds timeout);
    void serve(Connection& c);

    ConnectionLimits limits_;
    HandlerWithResponse pre_routing_;
    HandlerWithResponse user_error_handler_;
    mutable std::mutex mutex_;
    bool stopping_ = false;
    std::unordered_map<std::string, std::size_t> per_client_;
    std::unordered_map<Connection*, bool> connections_;  // value: waiting on the client right now

};

}  // namespace winnow::server
