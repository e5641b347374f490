#include "server/guarded_server.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "core/json.h"
#include "server/body_decoder.h"
#include "winnow/error.h"
#include "winnow/server.h"

namespace winnow::server {

namespace {

using Clock = std::chrono::steady_clock;

std::string lower_trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string error_json(std::string_view type, std::string_view message) {
    return Json{{"error", {{"type", type}, {"message", message}}}}.dump(-1, ' ', false,
                                                                        Json::error_handler_t::replace);
}

int poll_ms(std::chrono::milliseconds d) {
    return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(d.count(), 0, 1 << 30));
}

void address_of(int fd, bool peer, std::string& ip, int& port) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    const int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                        : getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    if (rc != 0) return;
    char host[NI_MAXHOST] = {0};
    char serv[NI_MAXSERV] = {0};
    if (getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
        ip = host;
        port = std::atoi(serv);
    }
}

}  // namespace

// One accepted connection: the httplib Stream its requests are read through, with the deadlines
// and byte limits of the request being read.
class GuardedServer::Connection final : public httplib::Stream {
public:
    enum class Phase { Idle, Headers, Body };

    Connection(GuardedServer& server, int fd) : server_(server), fd_(fd) {
        address_of(fd, true, remote_ip_, remote_port_);
        address_of(fd, false, local_ip_, local_port_);
    }

    const std::string& client() const { return remote_ip_; }
    int fd() const { return fd_; }

    // --- httplib::Stream -------------------------------------------------------------------------
    bool is_readable() const override {
        return off_ < len_ || server_.wait_readable(const_cast<Connection&>(*this), limits().io_timeout);
    }
    bool is_writable() const override {
        pollfd p{fd_, POLLOUT, 0};
        return ::poll(&p, 1, poll_ms(limits().io_timeout)) > 0 && (p.revents & POLLOUT);
    }

    ssize_t read(char* ptr, std::size_t size) override {
        if (!within_limits()) return -1;
        if (off_ == len_) {
            const ssize_t n = fill();
            if (n <= 0) return n;
        }
        const std::size_t n = std::min(size, len_ - off_);
        std::memcpy(ptr, buf_ + off_, n);
        off_ += n;
        (phase_ == Phase::Body ? body_bytes_ : header_bytes_) += n;
        return static_cast<ssize_t>(n);
    }

    ssize_t write(const char* ptr, std::size_t size) override {
        std::size_t done = 0;
        while (done < size) {
            if (!is_writable()) return -1;
            const ssize_t n = ::send(fd_, ptr + done, size - done, MSG_NOSIGNAL);
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n <= 0) return -1;
            done += static_cast<std::size_t>(n);
        }
        return static_cast<ssize_t>(size);
    }

    void get_remote_ip_and_port(std::string& ip, int& port) const override {
        ip = remote_ip_;
        port = remote_port_;
    }
    void get_local_ip_and_port(std::string& ip, int& port) const override {
        ip = local_ip_;
        port = local_port_;
    }
    socket_t socket() const override { return fd_; }

    // --- request lifecycle ----------------------------------------------------------------------
    // Waits for the first byte of the next request (keep-alive); false on timeout, stop or error.
    bool wait_for_request() {
        return off_ < len_ || server_.wait_readable(*this, limits().keep_alive_timeout);
    }

    void begin_request() {
        phase_ = Phase::Headers;
        deadline_ = Clock::now() + limits().header_timeout;
        header_bytes_ = body_bytes_ = 0;
        request_ = nullptr;
        status_ = 0;
        type_.clear();
        message_.clear();
        rejected_ = false;
        content_encoding_.clear();
    }

    void end_request() {
        phase_ = Phase::Idle;
        request_ = nullptr;
    }

    // httplib's setup_request hook: the headers are parsed, the body is next.
    void on_headers(httplib::Request& req) {
        phase_ = Phase::Body;
        deadline_ = Clock::now() + limits().body_timeout;
        request_ = &req;
        check_headers(req);
        if (rejected_) {
            // No body is read for a rejected request (the pre-routing handler answers), so the
            // connection cannot be reused; tell the client, and do not invite the body.
            req.headers.erase("Connection");
            req.headers.emplace("Connection", "close");
            req.headers.erase("Expect");
        }
    }

    // A failure that decides the response status (the error handler applies it) and closes the
    // connection after the response.
    void fail(int status, std::string_view type, std::string message) {
        if (status_ != 0) return;  // the first cause wins
        status_ = status;
        type_ = type;
        message_ = std::move(message);
        close_ = true;
    }
    void reject(int status, std::string_view type, std::string message) {
        fail(status, type, std::move(message));
        rejected_ = true;
    }

    bool rejected() const { return rejected_; }
    bool failed() const { return status_ != 0; }
    int status() const { return status_; }
    const std::string& type() const { return type_; }
    const std::string& message() const { return message_; }
    bool must_close() const { return close_; }
    const std::string& content_encoding() const { return content_encoding_; }

private:
    const ConnectionLimits& limits() const { return server_.limits_; }

    // Byte limits of the current phase; a failure here is final for the request.
    bool within_limits() {
        if (status_ != 0) return false;
        const auto& l = limits();
        if (phase_ == Phase::Headers && header_bytes_ > l.max_header_bytes) {
            fail(431, "too_large",
                 fmt::format("request line and headers over the server's limit of {} bytes", l.max_header_bytes));
            return false;
        }
        if (phase_ == Phase::Body) {
            // The body as httplib has it (after chunked framing), and the bytes on the wire (chunk
            // framing can be most of them: at most as much framing as body, plus 64 KiB).
            const std::size_t body = request_ ? request_->body.size() : 0;
            if (body > l.max_body_bytes || body_bytes_ > 2 * l.max_body_bytes + (64u << 10)) {
                fail(413, "too_large", fmt::format("request body over the server's limit of {} bytes", l.max_body_bytes));
                return false;
            }
        }
        return true;
    }

    // Reads what the socket has, waiting no longer than the phase's deadline and the per-read timeout.
    ssize_t fill() {
        off_ = len_ = 0;
        const bool timed = phase_ == Phase::Headers || phase_ == Phase::Body;
        for (;;) {
            auto wait = limits().io_timeout;
            if (timed) {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
                if (left.count() <= 0) {
                    timeout();
                    return -1;
                }
                wait = std::min(wait, left);
            }
            if (!server_.wait_readable(*this, wait)) {
                if (!server_.stopping()) timeout();
                return -1;
            }
            const ssize_t n = ::recv(fd_, buf_, sizeof(buf_), 0);
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n <= 0) return n < 0 ? -1 : 0;
            len_ = static_cast<std::size_t>(n);
            return n;
        }
    }

    void timeout() {
        const auto& l = limits();
        if (phase_ == Phase::Headers) {
            fail(408, "timeout", fmt::format("request headers not complete within {} ms", l.header_timeout.count()));
        } else if (phase_ == Phase::Body) {
            fail(408, "timeout", fmt::format("request body not complete within {} ms", l.body_timeout.count()));
        } else {
            fail(408, "timeout", fmt::format("no data from the client for {} ms", l.io_timeout.count()));
        }
    }

    void check_headers(httplib::Request& req) {
        const auto& l = limits();
        for (const auto& [name, value] : req.headers) {
            if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
                return reject(400, "invalid_request", fmt::format("header '{}' contains a NUL byte", name.c_str()));
            }
        }
        const auto n_length = req.headers.count("Content-Length");
        const auto n_transfer = req.headers.count("Transfer-Encoding");
        if (n_length > 1) return reject(400, "invalid_request", "duplicate Content-Length header");
        if (n_transfer > 1) return reject(400, "invalid_request", "duplicate Transfer-Encoding header");
        if (n_length && n_transfer) {
            return reject(400, "invalid_request", "both Content-Length and Transfer-Encoding given");
        }
        if (n_transfer) {
            const std::string te = lower_trimmed(req.get_header_value("Transfer-Encoding"));
            if (te != "chunked") {
                return reject(400, "invalid_request",
                              fmt::format("Transfer-Encoding '{}' is not supported (only chunked)", te));
            }
        }
        if (n_length) {
            const std::string& v = req.headers.find("Content-Length")->second;
            const bool digits = !v.empty() && v.size() <= 18 &&
                                std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
            if (!digits) return reject(400, "invalid_request", fmt::format("invalid Content-Length '{}'", v));
            if (std::stoull(v) > l.max_body_bytes) {
                return reject(413, "too_large",
                              fmt::format("request body of {} bytes over the server's limit of {} bytes", v,
                                          l.max_body_bytes));
            }
        }
        const auto n_encoding = req.headers.count("Content-Encoding");
        if (n_encoding > 1) return reject(415, "unsupported", "more than one Content-Encoding header");
        if (n_encoding) {
            content_encoding_ = req.get_header_value("Content-Encoding");
            // httplib would inflate it into the body without a limit: the guard decodes it instead.
            req.headers.erase("Content-Encoding");
            if (!supported_content_encoding(content_encoding_)) {
                return reject(415, "unsupported",
                              fmt::format("Content-Encoding '{}' is not supported (use gzip, deflate, br or identity)",
                                          content_encoding_));
            }
        }
    }

    GuardedServer& server_;
    int fd_;
    std::string remote_ip_, local_ip_;
    int remote_port_ = -1, local_port_ = -1;
    char buf_[16 * 1024];
    std::size_t off_ = 0, len_ = 0;

    Phase phase_ = Phase::Idle;
    Clock::time_point deadline_{};
    std::size_t header_bytes_ = 0, body_bytes_ = 0;
    httplib::Request* request_ = nullptr;
    int status_ = 0;
    std::string type_, message_;
    bool rejected_ = false;
    bool close_ = false;
    std::string content_encoding_;
};

namespace {
// The connection whose request this thread is serving (httplib runs a connection on one thread).
thread_local GuardedServer::Connection* t_connection = nullptr;

void write_failure(httplib::Response& res, const GuardedServer::Connection& c) {
    res.status = c.status();
    res.set_content(error_json(c.type(), c.message()), "application/json");
}
}  // namespace

ConnectionLimits connection_limits(const ServerOptions& o) {
    ConnectionLimits l;
    l.max_body_bytes = o.max_body_bytes;
    l.header_timeout = o.header_timeout;
    l.body_timeout = o.body_timeout;
    l.keep_alive_timeout = o.keep_alive_timeout;
    l.max_connections_per_client = o.max_connections_per_client;
    return l;
}

GuardedServer::GuardedServer() {
    httplib::Server::set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        if (t_connection && t_connection->rejected()) {
            write_failure(res, *t_connection);
            return HandlerResponse::Handled;
        }
        return pre_routing_ ? pre_routing_(req, res) : HandlerResponse::Unhandled;
    });
    httplib::Server::set_error_handler(HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
        // httplib says 400 for any read failure; the connection knows the real cause.
        if (t_connection && t_connection->failed()) {
            write_failure(res, *t_connection);
            if (user_error_handler_) user_error_handler_(req, res);
            return HandlerResponse::Handled;  // Handled: httplib then sets Content-Length
        }
        if (user_error_handler_) return user_error_handler_(req, res);
        return HandlerResponse::Unhandled;
    }));
}

GuardedServer& GuardedServer::set_pre_routing_handler(HandlerWithResponse handler) {
    pre_routing_ = std::move(handler);
    return *this;
}

GuardedServer& GuardedServer::set_error_handler(HandlerWithResponse handler) {
    user_error_handler_ = std::move(handler);
    return *this;
}

GuardedServer& GuardedServer::Post(const std::string& pattern, Handler handler) {
    httplib::Server::Post(pattern, [this, handler = std::move(handler)](const httplib::Request& req,
                                                                         httplib::Response& res) {
        Connection* c = t_connection;
        const std::string encoding = c ? c->content_encoding() : std::string();
        if (!encoding.empty() || req.body.size() > limits_.max_body_bytes) {
            try {
                // httplib's Request is not const where it lives (process_request's local); the
                // handlers read the decoded body from it.
                const_cast<httplib::Request&>(req).body = decode_body(req.body, encoding, limits_.max_body_bytes);
            } catch (const Error& e) {
                const int status = e.code() == Errc::TooLarge ? 413 : e.code() == Errc::Unsupported ? 415 : 400;
                const std::string_view type = e.code() == Errc::InvalidArgument ? "invalid_request" : errc_name(e.code());
                if (c) {
                    c->fail(status, type, e.what());
                    write_failure(res, *c);
                } else {
                    res.status = status;
                    res.set_content(error_json(type, e.what()), "application/json");
                }
                return;
            }
        }
        handler(req, res);
    });
    return *this;
}

bool GuardedServer::stopping() const {
    std::lock_guard lock(mutex_);
    return stopping_;
}

void GuardedServer::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        // Wakes every connection blocked on its client; requests being handled are not waiting.
        for (const auto& [c, waiting] : connections_) {
            if (waiting) ::shutdown(c->fd(), SHUT_RDWR);
        }
    }
    httplib::Server::stop();
}

std::size_t GuardedServer::open_connections() const {
    std::lock_guard lock(mutex_);
    return connections_.size();
}

bool GuardedServer::wait_readable(Connection& c, std::chrono::milliseconds timeout) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return false;
        connections_[&c] = true;
    }
    pollfd p{c.fd(), POLLIN, 0};
    int rc = 0;
    const auto end = Clock::now() + timeout;
    do {
        rc = ::poll(&p, 1, poll_ms(std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now())));
    } while (rc < 0 && errno == EINTR);
    std::lock_guard lock(mutex_);
    connections_[&c] = false;
    return rc > 0 && !stopping_;
}

bool GuardedServer::admit(Connection& c) {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    std::size_t& n = per_client_[c.client()];
    if (limits_.max_connections_per_client > 0 && n >= limits_.max_connections_per_client) {
        if (n == 0) per_client_.erase(c.client());
        return false;
    }
    ++n;
    connections_.emplace(&c, false);
    return true;
}

void GuardedServer::release(Connection& c) {
    std::lock_guard lock(mutex_);
    connections_.erase(&c);
    auto it = per_client_.find(c.client());
    if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
}

void GuardedServer::serve(Connection& c) {
    std::size_t left = keep_alive_max_count_;
    while (left > 0 && c.wait_for_request()) {
        c.begin_request();
        const bool close = left == 1 || stopping();
        bool closed = false;
        t_connection = &c;
        const bool ok = process_request(c, close, closed, [&c](httplib::Request& req) { c.on_headers(req); });
        t_connection = nullptr;
        c.end_request();
        if (!ok || closed || close || c.must_close()) break;
        --left;
    }
}

// Refuses a connection over the per-client cap (or one accepted while stopping): a 503 without
// reading the request further than what has arrived (waiting briefly for it, so that the client
// reads the answer instead of a reset), then close.
static void refuse(int fd, std::size_t cap, bool stopping) {
    pollfd p{fd, POLLIN, 0};
    char scratch[16 * 1024];
    if (::poll(&p, 1, 200) > 0) (void)::recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);
    const std::string body =
        stopping ? error_json("overloaded", "server is shutting down")
                 : error_json("overloaded", fmt::format("too many connections from this address (limit {})", cap));
    const std::string response = fmt::format(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
        "Connection: close\r\nContent-Length: {}\r\n\r\n{}",
        body.size(), body);
    (void)::send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(fd, SHUT_WR);
    for (int i = 0; i < 4 && ::recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT) > 0; ++i) {
    }
}

// After an error answer to a request whose body was not read to the end: stop sending, then read
// and drop what the client still sends for a bounded time and size, so that its kernel does not
// turn our close into a reset that can discard the answer before the client reads it.
static void lingering_close(int fd, std::size_t max_bytes) {
    ::shutdown(fd, SHUT_WR);
    char scratch[16 * 1024];
    std::size_t drained = 0;
    const auto end = Clock::now() + std::chrono::seconds(2);
    while (drained < max_bytes) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, poll_ms(left)) <= 0) break;
        const ssize_t n = ::recv(fd, scratch, sizeof(scratch), 0);
        if (n <= 0) break;
        drained += static_cast<std::size_t>(n);
    }
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
    {
        Connection c(*this, sock);
        if (admit(c)) {
            serve(c);
            release(c);
            if (c.must_close() && !stopping()) lingering_close(sock, 2 * limits_.max_body_bytes + (64u << 10));
        } else {
            refuse(sock, limits_.max_connections_per_client, stopping());
        }
    }
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return true;
}

}  // namespace winnow::server
