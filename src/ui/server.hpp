// `fabric-exp ui`: the web app and its JSON API, served from the binary (cpp-httplib). Binds
// loopback unless told otherwise; a non-loopback bind requires an access token on every request.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace fabric::ui {

struct UiOptions {
  std::string store;               // the run store's path or URL
  std::string host = "127.0.0.1";  // a non-loopback host requires `token`
  int port = 8080;                 // 0: any free port
  std::string token{};             // required on every request when set
  /// Called with each request's method and path before it is answered (an access log).
  std::function<void(const std::string& method, const std::string& path)> on_request{};
};

/// Whether `host` only accepts connections from this machine.
bool is_loopback(const std::string& host);
/// 32 random hex characters from the system's entropy source.
std::string new_token();

class UiServer {
 public:
  /// Opens the store, the one connection every request shares (store::StoreError when there is
  /// none); throws std::invalid_argument for a non-loopback host without a token.
  explicit UiServer(UiOptions options);
  ~UiServer();
  UiServer(const UiServer&) = delete;
  UiServer& operator=(const UiServer&) = delete;

  /// Binds the socket; throws std::runtime_error naming host and port when it cannot.
  void bind();
  /// The bound port (the chosen one with port 0).
  int port() const { return port_; }
  /// Serves until stop() (from another thread or a signal handler's thread).
  void serve();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  UiOptions options_;
  int port_ = 0;
};

}  // namespace fabric::ui
