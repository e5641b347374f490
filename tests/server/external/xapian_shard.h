// xapian-tcpsrv shards for tests: each serves one database on a free loopback port, in its own process
// group (the server forks a child per connection; killing the group ends those too).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "support/loopback.h"

namespace winnow::testing {

inline std::string find_xapian_tcpsrv() {
    for (const char* p : {"/usr/bin/xapian-tcpsrv", "/usr/local/bin/xapian-tcpsrv"}) {
        if (std::filesystem::exists(p)) return p;
    }
    return "";
}

class XapianShard {
public:
    // Starts the server and returns once it accepts connections (a port taken meanwhile: another one).
    XapianShard(const std::string& binary, const std::string& db) {
        for (int attempt = 0; attempt < 5 && port_ == 0; ++attempt) {
            const int port = free_loopback_port();
            const std::string port_text = std::to_string(port);
            pid_ = fork();
            if (pid_ == 0) {
                setpgid(0, 0);
                // Quiet: the readiness probe's bare connect makes it log a broken pipe on stderr.
                const int null_fd = ::open("/dev/null", O_WRONLY);
                if (null_fd >= 0) {
                    dup2(null_fd, STDOUT_FILENO);
                    dup2(null_fd, STDERR_FILENO);
                }
                execl(binary.c_str(), binary.c_str(), "--port", port_text.c_str(), "--interface", "127.0.0.1",
                      "--quiet", db.c_str(), static_cast<char*>(nullptr));
                _exit(127);
            }
            setpgid(pid_, pid_);
            // Ready when it accepts a connection; it failed to start when it exited. The bound only turns
            // a hang into a failure.
            const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
            while (std::chrono::steady_clock::now() < until) {
                int status = 0;
                if (waitpid(pid_, &status, WNOHANG) == pid_) {
                    pid_ = -1;
                    break;
                }
                if (accepts_connections(port)) {
                    port_ = port;
                    break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
        }
    }
    ~XapianShard() { kill_now(); }
    XapianShard(const XapianShard&) = delete;
    XapianShard& operator=(const XapianShard&) = delete;

    int port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    // SIGKILL to the server and its per-connection children; returns once the server is gone.
    void kill_now() {
        if (pid_ <= 0) return;
        ::kill(-pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

private:
    pid_t pid_ = -1;
    int port_ = 0;
};

}  // namespace winnow::testing
