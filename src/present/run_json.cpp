#include "present/run_json.hpp"

#include <sstream>

#include "present/table_output.hpp"

namespace fabric::present {

std::string run_json(store::RunStore& s, const store::RunRecord& r) {
  std::ostringstream o;
  auto field = [&](const char* key, const std::string& json) {
    o << (o.tellp() > 1 ? ",\n  " : "\n  ") << json_string(key) << ": " << json;
  };
  o << "{";
  field("id", json_string(r.id));
  field("name", json_string(r.name));
  field("experiment", json_string(r.experiment));
  field("status", json_string(store::status_name(r.status)));
  field("exit_code", r.exit_code ? std::to_string(*r.exit_code) : "null");
  field("error", json_string(r.error));
  field("note", json_string(r.note));
  field("parent", r.parent.empty() ? "null" : json_string(r.parent));
  field("created_at", json_value(r.created_at));
  field("started_at", json_value(r.started_at));
  field("ended_at", r.ended_at > 0 ? json_value(r.ended_at) : "null");
  field("duration_s", r.ended_at > 0 ? json_value(r.ended_at - r.started_at) : "null");
  field("seed", std::to_string(r.seed));
  field("world_size", std::to_string(r.world_size));
  field("host", json_string(r.host));
  field("pid", std::to_string(r.pid));
  field("recipe_path", json_string(r.recipe_path));
  field("run_dir", json_string(r.run_dir));
  field("git_commit", r.git_commit.empty() ? "null" : json_string(r.git_commit));
  field("git_dirty", r.git_dirty ? (*r.git_dirty ? "true" : "false") : "null");
  field("overrides", r.overrides_json.empty() ? "[]" : r.overrides_json);
  field("environment", r.env_json.empty() ? "{}" : r.env_json);
  std::string tags = "{";
  for (const auto& [k, v] : s.tags(r.id))
    tags += (tags.size() > 1 ? ", " : "") + json_string(k) + ": " + json_string(v);
  field("tags", tags + "}");
  std::string params = "{";
  for (const auto& [k, v] : s.params(r.id))
    params += (params.size() > 1 ? ", " : "") + json_string(k) + ": " + json_string(v);
  field("params", params + "}");
  std::string metrics = "{";
  for (const auto& m : s.summaries(r.id)) {
    metrics += (metrics.size() > 1 ? ",\n    " : "\n    ") + json_string(m.key) +
               ": {\"last\": " + json_value(m.last) + ", \"min\": " + json_value(m.min) +
               ", \"max\": " + json_value(m.max) +
               ", \"last_step\": " + std::to_string(m.last_step) +
               ", \"count\": " + std::to_string(m.count) + "}";
  }
  field("metrics", metrics + (metrics.size() > 1 ? "\n  }" : "}"));
  std::string artifacts = "[";
  for (const auto& a : s.artifacts(r.id)) {
    artifacts += (artifacts.size() > 1 ? ", " : "") + std::string("{\"path\": ") +
                 json_string(a.path) + ", \"kind\": " + json_string(a.kind) +
                 ", \"bytes\": " + std::to_string(a.size) +
                 ", \"sha256\": " + json_string(a.sha256) + "}";
  }
  field("artifacts", artifacts + "]");
  field("resolved_recipe", json_string(r.resolved));
  field("recipe", json_string(r.recipe_text));  // as written, before defaults and overrides
  o << "\n}";
  return o.str();
}

}  // namespace fabric::present
