// The socket layer under cpp-httplib: finding a request's connection socket (to notice a client
// that hung up while its request waits) and raising the listen backlog.
#include "server/socket_layer.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>

namespace winnow::server {
namespace {

// --- client-disconnect detection ---------------------------------------------------------------
// cpp-httplib 0.11 does not expose a request's socket. A connection is served start to end on one
// pool thread, so we find the socket once per connection (matching the peer and local ports) and
// cache it per thread; poll() then tells whether the peer hung up while its request is queued.
struct SocketCache {
    int fd = -1;
    int remote_port = -1;
    int local_port = -1;
};
thread_local SocketCache t_socket;

int port_of(const sockaddr_storage& addr) {
    if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
    if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
    return -1;
}

bool socket_matches(int fd, int remote_port, int local_port) {
    sockaddr_storage peer{}, local{};
    socklen_t len = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return false;
    len = sizeof(local);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) return false;
    return port_of(peer) == remote_port && port_of(local) == local_port;
}

}  // namespace

int find_request_socket(const httplib::Request& req) {
    if (t_socket.fd >= 0 && t_socket.remote_port == req.remote_port && t_socket.local_port == req.local_port &&
        socket_matches(t_socket.fd, req.remote_port, req.local_port)) {
        return t_socket.fd;
    }
    t_socket = {};
    DIR* dir = opendir("/proc/self/fd");
    if (!dir) return -1;
    int found = -1;
    while (dirent* entry = readdir(dir)) {
        char* end = nullptr;
        const long fd = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0' || fd == dirfd(dir)) continue;
        if (socket_matches(static_cast<int>(fd), req.remote_port, req.local_port)) {
            found = static_cast<int>(fd);
            break;
        }
    }
    closedir(dir);
    if (found >= 0) t_socket = {found, req.remote_port, req.local_port};
    return found;
}

// cpp-httplib 0.11 listens with a backlog of 5: a burst of new connections overflows it and
// clients see resets or 1 s SYN retries. Linux lets listen() be called again to raise the backlog;
// find our listening socket by its port.
void raise_listen_backlog(int port) {
    DIR* dir = opendir("/proc/self/fd");
    if (!dir) return;
    while (dirent* entry = readdir(dir)) {
        char* end = nullptr;
        const long fd = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0' || fd == dirfd(dir)) continue;
        int listening = 0;
        socklen_t len = sizeof(listening);
        if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
        sockaddr_storage local{};
        socklen_t alen = sizeof(local);
        if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &alen) == 0 &&
            port_of(local) == port) {
            ::listen(static_cast<int>(fd), SOMAXCONN);
        }
    }
    closedir(dir);
}

bool peer_hung_up(int fd) {
    if (fd < 0) return false;
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    return (p.revents & (POLLHUP | POLLERR | POLLRDHUP)) != 0;
}

}  // namespace winnow::server
