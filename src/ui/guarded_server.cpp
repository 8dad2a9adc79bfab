#include "ui/guarded_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace fabric::ui {

namespace {

using Clock = std::chrono::steady_clock;

struct Endpoint {
  std::string ip;
  int port = 0;
};

/// The socket's peer (or its own end) as an address and a port; empty when unknown.
Endpoint endpoint_of(int sock, bool peer) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  const int rc = peer ? ::getpeername(sock, reinterpret_cast<sockaddr*>(&addr), &len)
                      : ::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len);
  if (rc != 0) return {};
  char text[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    return {text, ntohs(in->sin_port)};
  }
  if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    return {text, ntohs(in6->sin6_port)};
  }
  return {};
}

/// Milliseconds left until `deadline`, at least 0.
int left_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return int(std::max<int64_t>(0, left.count()));
}

bool wait_for(int sock, short events, int ms) {
  pollfd p{sock, events, 0};
  return ::poll(&p, 1, ms) > 0 && (p.revents & (events | POLLHUP | POLLERR));
}

/// The socket, after the bytes already read from it: what cpp-httplib reads the request from.
/// Every read ends at the request's deadline.
class BufferedStream : public httplib::Stream {
 public:
  BufferedStream(int sock, std::string& buffer, Clock::time_point deadline)
      : sock_(sock), buffer_(buffer), deadline_(deadline) {}

  bool is_readable() const override {
    return !buffer_.empty() || wait_for(sock_, POLLIN, left_ms(deadline_));
  }
  bool is_writable() const override { return wait_for(sock_, POLLOUT, 5000); }
  ssize_t read(char* ptr, size_t size) override {
    if (!buffer_.empty()) {
      const size_t n = std::min(size, buffer_.size());
      std::copy_n(buffer_.data(), n, ptr);
      buffer_.erase(0, n);
      return ssize_t(n);
    }
    if (!wait_for(sock_, POLLIN, left_ms(deadline_))) return -1;
    return ::recv(sock_, ptr, size, 0);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    return ::send(sock_, ptr, size, MSG_NOSIGNAL);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    auto e = endpoint_of(sock_, true);
    ip = std::move(e.ip);
    port = e.port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    auto e = endpoint_of(sock_, false);
    ip = std::move(e.ip);
    port = e.port;
  }
  socket_t socket() const override { return sock_; }

 private:
  int sock_;
  std::string& buffer_;
  Clock::time_point deadline_;
};

enum class Head { Complete, Closed, Idle, TooLarge, TooSlow };

/// Reads until `buffer` holds a whole request head (up to its blank line), within the limits.
Head read_head(int sock, std::string& buffer, const ConnectionLimits& limits, bool first) {
  // A new connection's first request has `request_seconds` from the accept; a kept-alive one
  // waits `idle_seconds` for its next request, which then has `request_seconds`.
  auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                         first ? limits.request_seconds : limits.idle_seconds));
  bool started = first || !buffer.empty();
  char chunk[4096];
  while (true) {
    const size_t end = buffer.find("\r\n\r\n");
    const size_t head = end == std::string::npos ? buffer.size() : end + 4;
    if (head > limits.head_bytes) return Head::TooLarge;
    if (size_t(std::count(buffer.begin(), buffer.begin() + std::ptrdiff_t(head), '\n')) >
        limits.header_lines + 1)
      return Head::TooLarge;
    if (end != std::string::npos) return Head::Complete;
    if (!wait_for(sock, POLLIN, left_ms(deadline))) return started ? Head::TooSlow : Head::Idle;
    const ssize_t n = ::recv(sock, chunk, sizeof chunk, 0);
    if (n <= 0) return Head::Closed;
    if (!started) {
      started = true;
      deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(limits.request_seconds));
    }
    buffer.append(chunk, size_t(n));
  }
}

void answer_and_close(int sock, int status, const char* reason, const std::string& message) {
  const std::string body = "{\"error\": \"" + message + "\"}";
  const std::string response =
      "HTTP/1.1 " + std::to_string(status) + " " + reason +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\n\r\n" + body;
  if (!wait_for(sock, POLLOUT, 1000)) return;
  ::send(sock, response.data(), response.size(), MSG_NOSIGNAL);
  // A lingering close, bounded: closing with the client's bytes unread would reset the
  // connection, and the client could lose the answer it was sent. What it sends on for a
  // moment (at most 256 KiB, 0.5 s) is read and dropped.
  ::shutdown(sock, SHUT_WR);
  char sink[16 * 1024];
  const auto until = Clock::now() + std::chrono::milliseconds(500);
  for (size_t drained = 0; drained < 256 * 1024;) {
    const int left = left_ms(until);
    if (left <= 0 || !wait_for(sock, POLLIN, left)) break;
    const auto n = ::recv(sock, sink, sizeof sink, 0);
    if (n <= 0) break;
    drained += size_t(n);
  }
}

}  // namespace

GuardedServer::GuardedServer(ConnectionLimits limits) : limits_(limits) {
  const size_t threads = limits_.threads;
  new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
}

bool GuardedServer::enter(const std::string& client) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& n = open_[client];
  if (n >= limits_.per_client) return false;
  ++n;
  return true;
}

void GuardedServer::leave(const std::string& client) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = open_.find(client); it != open_.end() && --it->second == 0) open_.erase(it);
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  const std::string client = endpoint_of(sock, true).ip;
  if (!enter(client)) {
    answer_and_close(sock, 503, "Service Unavailable",
                     "too many connections from " + client + " at once");
  } else {
    std::string buffer;
    for (size_t served = 0; served < keep_alive_max_count_ && is_running(); ++served) {
      const Head head = read_head(sock, buffer, limits_, served == 0);
      if (head == Head::TooLarge) {
        answer_and_close(sock, 431, "Request Header Fields Too Large",
                         "a request's head is limited to " + std::to_string(limits_.head_bytes) +
                             " bytes and " + std::to_string(limits_.header_lines) + " headers");
        break;
      }
      if (head == Head::TooSlow) {
        answer_and_close(sock, 408, "Request Timeout", "the request did not arrive in time");
        break;
      }
      if (head != Head::Complete) break;
      const auto deadline =
          Clock::now() + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(limits_.request_seconds));
      BufferedStream stream(sock, buffer, deadline);
      bool closed = false;
      const bool last = served + 1 == keep_alive_max_count_;
      if (!process_request(stream, last, closed, nullptr) || closed) break;
    }
    leave(client);
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return true;
}

}  // namespace fabric::ui
