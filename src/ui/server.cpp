#include "ui/server.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

#include "present/open_store.hpp"
#include "store/run_store.hpp"
#include "store/shared_run_store.hpp"
#include "ui/api.hpp"
#include "ui/assets.hpp"
#include "ui/guarded_server.hpp"

namespace fabric::ui {

namespace fs = std::filesystem;

namespace {

constexpr const char* kCookie = "fabric_exp_token";
constexpr double kStatementSeconds = 10;
constexpr double kReconnectSeconds = 3;

/// Compares without stopping at the first difference: the time taken says nothing of the token.
bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= uint8_t(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

std::string cookie_value(const httplib::Request& req, const std::string& name) {
  const std::string cookies = req.get_header_value("Cookie");
  size_t at = 0;
  while (at < cookies.size()) {
    size_t end = cookies.find(';', at);
    if (end == std::string::npos) end = cookies.size();
    std::string pair = cookies.substr(at, end - at);
    pair.erase(0, pair.find_first_not_of(' '));
    if (pair.rfind(name + "=", 0) == 0) return pair.substr(name.size() + 1);
    at = end + 1;
  }
  return "";
}

void json_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content("{\"error\": " + fabric::json_string(message) + "}", "application/json");
}

/// The Host header's name is this machine's (an empty one is a client that sends none).
bool addressed_to_this_machine(const std::string& host_header) {
  std::string name = host_header;
  if (!name.empty() && name.front() == '[') {
    name = name.substr(0, name.find(']') + 1);
  } else {
    name = name.substr(0, name.find(':'));
  }
  return name.empty() || name == "localhost" || name == "[::1]" || is_loopback(name);
}

/// The pages' routes, drawn by the same single page: the address says which.
bool is_page(const std::string& path) {
  return path == "/" || path == "/runs" || path == "/compare" || path == "/sweeps" ||
         path.rfind("/run/", 0) == 0 || path.rfind("/sweep/", 0) == 0;
}

}  // namespace

bool is_loopback(const std::string& host) {
  // 127.0.0.0/8 as a literal address ("127.evil.example" is a name anyone can point anywhere).
  const bool ipv4_loopback =
      host.rfind("127.", 0) == 0 && host.find_first_not_of("0123456789.") == std::string::npos;
  return ipv4_loopback || host == "localhost" || host == "::1";
}

std::string new_token() {
  std::random_device entropy;
  std::string token;
  const char* hex = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) token += hex[entropy() % 16];
  return token;
}

struct UiServer::Impl {
  GuardedServer http;  // cpp-httplib's, with bounds on what each connection may cost
  /// Opened once (a missing store fails here, not on the first page): one connection for
  /// every request thread.
  std::unique_ptr<store::SharedRunStore> store;
};

UiServer::UiServer(UiOptions options)
    : impl_(std::make_unique<Impl>()), options_(std::move(options)) {
  if (!is_loopback(options_.host) && options_.token.empty()) {
    throw std::invalid_argument("--host " + options_.host +
                                " is reachable from other machines: it needs an access token");
  }
  auto opened = present::open_store(options_.store);
  // People wait on these answers: no query runs past kStatementSeconds, and a lost PostgreSQL
  // server fails a request after kReconnectSeconds with a 503 instead of a writer's two minutes.
  opened->db().set_limits(kStatementSeconds, kReconnectSeconds);
  impl_->store = std::make_unique<store::SharedRunStore>(std::move(opened));
  auto& http = impl_->http;
  // cpp-httplib's default also sets SO_REUSEPORT, with which a second server binds a port that
  // is taken and silently shares its connections: only SO_REUSEADDR (a quick restart) here.
  http.set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  http.set_payload_max_length(64 * 1024);  // the app only reads; no request needs a body
  http.set_keep_alive_max_count(100);
  // Every request: the token (when there is one), then only GET and HEAD.
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (options_.on_request) options_.on_request(req.method, req.path);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                   "script-src 'self'; connect-src 'self'; frame-ancestors 'none'");
    // Without a token the server trusts loopback, so a page of another site that points its
    // own name at 127.0.0.1 (DNS rebinding) must not be served: the Host must be this machine.
    if (options_.token.empty() && !addressed_to_this_machine(req.get_header_value("Host"))) {
      json_error(res, 403, "this server answers requests addressed to this machine only");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!options_.token.empty()) {
      std::string given = req.get_param_value("token");
      const std::string bearer = req.get_header_value("Authorization");
      if (given.empty() && bearer.rfind("Bearer ", 0) == 0) given = bearer.substr(7);
      if (given.empty()) given = cookie_value(req, kCookie);
      if (!same_secret(given, options_.token)) {
        json_error(res, 401, "an access token is required: open the address fabric-exp ui printed");
        return httplib::Server::HandlerResponse::Handled;
      }
      // A page opened with ?token= keeps it in a cookie, so the page's own requests carry it.
      if (req.has_param("token")) {
        res.set_header("Set-Cookie", std::string(kCookie) + "=" + options_.token +
                                         "; Path=/; HttpOnly; SameSite=Strict");
      }
    }
    if (req.method != "GET" && req.method != "HEAD") {
      json_error(res, 405, "read-only: only GET and HEAD are served");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.Get(R"(/api/.*)", [this](const httplib::Request& req, httplib::Response& res) {
    QueryParams params;
    for (const auto& [k, v] : req.params) params.emplace(k, v);  // the first of repeated keys
    ApiResponse answer = handle_api(*impl_->store, req.path, params);
    res.status = answer.status;
    if (answer.file.empty()) {
      res.set_content(answer.body, answer.content_type);
      res.set_header("Cache-Control", "no-store");
      return;
    }
    // A registered artifact, streamed in pieces: memory stays bounded for any file size.
    auto in = std::make_shared<std::ifstream>(answer.file, std::ios::binary);
    const auto size = size_t(fs::file_size(answer.file));
    res.set_header("Content-Disposition",
                   "attachment; filename=\"" + fs::path(answer.file).filename().string() + "\"");
    res.set_content_provider(size, answer.content_type,
                             [in](size_t offset, size_t length, httplib::DataSink& sink) {
                               std::vector<char> buffer(std::min<size_t>(length, 1 << 16));
                               in->seekg(std::streamoff(offset));
                               in->read(buffer.data(), std::streamsize(buffer.size()));
                               const auto got = size_t(in->gcount());
                               if (got == 0) return false;
                               sink.write(buffer.data(), got);
                               return true;
                             });
  });
  http.Get(R"(/static/([a-z0-9_.]+))", [](const httplib::Request& req, httplib::Response& res) {
    const Asset* asset = find_asset(req.matches[1].str());
    if (!asset) return json_error(res, 404, "no such file");
    res.set_content(asset->bytes.data(), asset->bytes.size(), asset->content_type.data());
    res.set_header("Cache-Control", "no-cache");
  });
  http.Get(R"(/.*)", [](const httplib::Request& req, httplib::Response& res) {
    if (!is_page(req.path)) return json_error(res, 404, "no such page");
    const Asset* page = find_asset("index.html");
    res.set_content(page->bytes.data(), page->bytes.size(), page->content_type.data());
    res.set_header("Cache-Control", "no-store");
  });
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
        std::string what = "internal error";
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        json_error(res, 500, what);
      });
  // What cpp-httplib answers itself (a request it cannot parse, a header line too long for its
  // reader, a range it cannot serve) has no body: JSON too, like every other answer.
  const httplib::Server::HandlerWithResponse body_for_errors = [](const httplib::Request&,
                                                                  httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    json_error(res, res.status,
               "the request could not be read as HTTP (" + std::to_string(res.status) + ")");
    return httplib::Server::HandlerResponse::Handled;
  };
  http.set_error_handler(body_for_errors);
}

UiServer::~UiServer() {
  stop();
}

void UiServer::bind() {
  auto& http = impl_->http;
  if (options_.port == 0) {
    port_ = http.bind_to_any_port(options_.host);
  } else {
    port_ = http.bind_to_port(options_.host, options_.port) ? options_.port : -1;
  }
  if (port_ <= 0) {
    throw std::runtime_error("cannot listen on " + options_.host + ":" +
                             std::to_string(options_.port) +
                             " (in use, or not an address of this machine)");
  }
}

void UiServer::serve() {
  impl_->http.listen_after_bind();
}

void UiServer::stop() {
  if (impl_) impl_->http.stop();
}

}  // namespace fabric::ui
