// The JSON API under /api/ that the UI's pages use, and scripts can too. Independent of HTTP:
// a path and its query parameters in, a status and a body out (server.cpp carries them).
//
//   GET /api/runs?where=&order_by=&columns=&limit=&offset=   the runs table, filtered and paged
//   GET /api/runs/<id>                                        one run (as `show --format json`)
//   GET /api/runs/<id>/series?keys=a,b&max_points=2000        metric curves, downsampled (LTTB)
//   GET /api/runs/<id>/log?lines=200                          the tail of train.log
//   GET /api/runs/<id>/artifacts/<n>                          the n-th registered artifact file
//   GET /api/sweeps                                           every sweep
//   GET /api/sweeps/<id>                                      a sweep and its trials, best first
#pragma once

#include <map>
#include <string>

namespace fabric::store {
class SharedRunStore;
}

namespace fabric::ui {

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body{};
  std::string file{};  // non-empty: send this file (a registered artifact) instead of body
};

using QueryParams = std::map<std::string, std::string>;

/// Answers one GET under /api/ from `store`, the server's one connection (requests take turns
/// on it). Runs whose process died are marked failed first, as the query commands do. Never
/// throws: a bad request is a 4xx with {"error": ...} (and "column" for a filter error), a
/// failure a 500.
ApiResponse handle_api(store::SharedRunStore& store, const std::string& path,
                       const QueryParams& params);

}  // namespace fabric::ui
