// cpp-httplib's server with bounds on what one connection may cost, checked before any request
// reaches a handler (and so before the token is). cpp-httplib 0.11 bounds the request line (8 KiB)
// and a body (set_payload_max_length), and times out each read (5 s) but not a request: a client
// that sends a header line every 2 s holds a worker thread for ever, and one whose headers never
// end grows the server's memory without limit. Here every connection reads its request's head
// itself, within a size, a line count and a deadline, from a bounded number of connections per
// client address, then hands it to cpp-httplib's own request processing.
#pragma once

#include <httplib.h>

#include <map>
#include <mutex>
#include <string>

namespace fabric::ui {

struct ConnectionLimits {
  size_t head_bytes = 16 * 1024;  // request line and headers of one request
  size_t header_lines = 64;
  double request_seconds = 10;  // from a request's first byte to the end of its body
  double idle_seconds = 5;      // a kept-alive connection's wait for its next request
  size_t per_client = 32;       // connections open at once from one address
  size_t threads = 64;          // connections served at once (the rest wait their turn)
};

class GuardedServer : public httplib::Server {
 public:
  explicit GuardedServer(ConnectionLimits limits = {});

 private:
  bool process_and_close_socket(socket_t sock) override;
  /// Takes one of `client`'s connection slots; false when it has none left.
  bool enter(const std::string& client);
  void leave(const std::string& client);

  ConnectionLimits limits_;
  std::mutex mutex_;
  std::map<std::string, size_t> open_;  // connections per client address
};

}  // namespace fabric::ui
