// The socket layer under cpp-httplib 0.11, which exposes neither a request's socket nor the
// listen backlog: both are found through /proc/self/fd by their ports.
#pragma once

#include <httplib.h>

namespace winnow::server {

// The connection socket serving `req` (cached per thread: one connection is served start to end
// on one pool thread); -1 when not found.
int find_request_socket(const httplib::Request& req);
// Whether the peer of socket `fd` hung up (false for fd < 0).
bool peer_hung_up(int fd);
// Raises the backlog of the socket listening on `port` to SOMAXCONN.
void raise_listen_backlog(int port);

}  // namespace winnow::server
