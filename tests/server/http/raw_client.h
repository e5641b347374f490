// A raw TCP client for the server tests that httplib's client cannot express: malformed or
// duplicate framing headers, chunked uploads, slow clients, a chosen loopback source address.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <string_view>

namespace winnow::testing {

class RawClient {
public:
    // Connects to 127.0.0.1:port from `source` (any 127.x.y.z address works on Linux loopback).
    explicit RawClient(int port, const char* source = "127.0.0.1") {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in from{};
        from.sin_family = AF_INET;
        inet_pton(AF_INET, source, &from.sin_addr);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof(from));
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(static_cast<std::uint16_t>(port));
        inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0;
    }
    ~RawClient() {
        if (fd_ >= 0) ::close(fd_);
    }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    bool connected() const { return connected_; }

    // False once the server has closed the connection (or reset it).
    bool send(std::string_view data) {
        while (!data.empty()) {
            const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // Reads what arrives until the peer closes, a complete response (headers and Content-Length
    // body) is in, or `timeout` passes. Returns everything read.
    std::string read_response(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
        const auto end = std::chrono::steady_clock::now() + timeout;
        while (!complete()) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
            char buf[65536];
            const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
            if (n <= 0) {
                closed_ = true;
                break;
            }
            in_.append(buf, static_cast<std::size_t>(n));
        }
        return in_;
    }

    // True when something (a response or the close) has arrived, without waiting.
    bool answered() {
        pollfd p{fd_, POLLIN, 0};
        return ::poll(&p, 1, 0) > 0;
    }

    bool closed() const { return closed_; }

    // The status code of the response read so far (0 when none).
    int status() const {
        if (in_.rfind("HTTP/1.1 ", 0) != 0 || in_.size() < 12) return 0;
        return std::atoi(in_.substr(9, 3).c_str());
    }
    std::string body() const {
        const auto p = in_.find("\r\n\r\n");
        return p == std::string::npos ? "" : in_.substr(p + 4);
    }

private:
    bool complete() const {
        const auto head_end = in_.find("\r\n\r\n");
        if (head_end == std::string::npos) return false;
        const auto cl = in_.find("Content-Length: ");
        if (cl == std::string::npos || cl > head_end) return true;
        const std::size_t len = std::stoul(in_.substr(cl + 16));
        return in_.size() >= head_end + 4 + len;
    }

    int fd_ = -1;
    bool connected_ = false;
    bool closed_ = false;
    std::string in_;
};

}  // namespace winnow::testing
