// `fabric-exp ui`: serves the web app over the run store until Ctrl-C.
#include <cctype>
#include <csignal>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "present/open_store.hpp"
#ifdef FABRIC_WITH_UI
#include "ui/server.hpp"
#endif

namespace fabric::cli {

using namespace present;  // tables, JSON, dates and the store as the terminal shows them

namespace {

struct UiArgs {
  std::string store, host = "127.0.0.1", token, token_file;
  int port = 8080;
  bool verbose = false;
};

#ifndef FABRIC_WITH_UI
int serve_ui(const UiArgs&) {
  throw NotSupportedError(
      "fabric-exp ui is not supported by this build: it needs cpp-httplib (Debian's "
      "libcpp-httplib-dev); install it and build again");
}
#else
/// The token's first line, from a file only its owner should read (a token given with --token
/// is in the process list for every local user to see).
std::string read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError("--token-file " + path + ": cannot read it");
  std::string token;
  std::getline(in, token);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.size() < 16) {
    throw UsageError("--token-file " + path + ": the token on its first line must have at " +
                     "least 16 characters");
  }
  return token;
}

int serve_ui(const UiArgs& a) {
  ui::UiOptions options{store_path(a.store), a.host, a.port, a.token, {}};
  if (!a.token_file.empty()) options.token = read_token_file(a.token_file);
  if (a.verbose) {
    options.on_request = [](const std::string& method, const std::string& path) {
      std::cerr << method + " " + path + "\n";  // one write: lines of threads do not interleave
    };
  }
  const bool needs_token = !ui::is_loopback(a.host);
  if (needs_token && options.token.empty()) options.token = ui::new_token();
  // SIGINT and SIGTERM are waited for by one thread (blocked in every other, which the server
  // starts after this): a clean stop, with no work inside a signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ui::UiServer server(options);
  server.bind();
  const std::string shown_host =
      a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host;
  std::cout << "fabric-exp ui: " << store::masked_location(options.store) << " at http://"
            << shown_host << ":" << server.port() << "/"
            << (options.token.empty() ? "" : "?token=" + options.token) << "  (Ctrl-C stops)"
            << std::endl;
  std::thread waiter([&] {
    int received = 0;
    sigwait(&stop_signals, &received);
    server.stop();
  });
  server.serve();
  // serve() also returns when the socket fails: the waiter is then released by a signal to it.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return 0;
}
#endif

}  // namespace

void add_ui_command(CLI::App& app) {
  auto* sub = app.add_subcommand("ui", "Browse runs and sweeps in a web browser");
  auto a = std::make_shared<UiArgs>();
  add_store_option(sub, a->store);
  sub->add_option("--host", a->host, "Address to listen on; other than loopback needs a token")
      ->capture_default_str();
  sub->add_option("--port", a->port, "Port (0: any free one)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  auto* token =
      sub->add_option("--token", a->token,
                      "Access token every request must carry (generated for a non-loopback host)");
  sub->add_option("--token-file", a->token_file,
                  "Read the access token from this file's first line (not shown in the process "
                  "list, as --token is)")
      ->excludes(token);
  sub->add_flag("--verbose", a->verbose, "Print each request");
  register_action(sub, [a] { return serve_ui(*a); });
}

}  // namespace fabric::cli
