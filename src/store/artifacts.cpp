// Artifacts: files of a run, registered and served only inside the run's own folder.
#include <filesystem>
#include <optional>

#include "store/run_store.hpp"
#include "store/sqlite.hpp"

namespace fabric::store {

namespace fs = std::filesystem;

bool inside_folder(const std::string& folder, const std::string& path) {
  const fs::path root = fs::path(folder).lexically_normal();
  const fs::path p = fs::path(path).lexically_normal();
  if (folder.empty() || !root.is_absolute() || !p.is_absolute()) return false;
  const auto rel = p.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

namespace {
/// The real path of `path` (every symbolic link followed) when it and that real path are both
/// inside `run_dir` (as written and as its own real path); nullopt otherwise.
std::optional<fs::path> real_path_inside(const std::string& run_dir, const std::string& path) {
  if (!inside_folder(run_dir, path)) return std::nullopt;
  std::error_code ec;
  const fs::path root = fs::canonical(run_dir, ec);
  if (ec) return std::nullopt;
  const fs::path real = fs::canonical(path, ec);
  if (ec || !inside_folder(root.string(), real.string())) return std::nullopt;
  return real;
}
}  // namespace

std::optional<std::string> artifact_file(const std::string& run_dir, const std::string& path) {
  const auto real = real_path_inside(run_dir, path);
  std::error_code ec;
  if (!real || !fs::is_regular_file(fs::symlink_status(*real, ec)) || ec) return std::nullopt;
  return real->string();
}

void RunStore::add_artifact(const std::string& id, const std::string& path,
                            const std::string& kind) {
  // Only what is inside the run's own folder, symbolic links followed: the web UI serves
  // artifacts, and a row must not point it at any other file its user can read.
  const auto run = get(id);
  if (!run) throw StoreError("run " + id + " is not in the store: artifact not recorded");
  if (!real_path_inside(run->run_dir, path)) {
    throw StoreError("artifact '" + path + "' is not inside run " + id + "'s folder " +
                     run->run_dir + ": not recorded");
  }
  int64_t size = 0;
  if (fs::is_directory(path)) {
    for (const auto& e : fs::recursive_directory_iterator(path))
      if (e.is_regular_file()) size += int64_t(e.file_size());
  } else {
    size = int64_t(fs::file_size(path));
  }
  const std::string digest = sha256_path(path);
  db_->transaction([&] {
    db_->prepare(
           "INSERT INTO artifacts (run_id, path, kind, size, sha256, created_at) "
           "VALUES (?,?,?,?,?,?) ON CONFLICT (run_id, path) DO UPDATE SET kind = excluded.kind, "
           "size = excluded.size, sha256 = excluded.sha256, created_at = excluded.created_at")
        .bind_all({id, path, kind, size, digest, db_->now()})
        .run();
  });
}

void RunStore::remove_artifact(const std::string& id, const std::string& path) {
  db_->prepare("DELETE FROM artifacts WHERE run_id = ? AND path = ?").bind_all({id, path}).run();
}

std::vector<Artifact> RunStore::artifacts(const std::string& id) {
  auto st = db_->prepare(
      "SELECT path, coalesce(kind,''), coalesce(sha256,''), coalesce(size,0), "
      "coalesce(created_at,0) FROM artifacts WHERE run_id = ? ORDER BY path");
  st.bind(1, id);
  std::vector<Artifact> out;
  while (st.step()) out.push_back({st.text(0), st.text(1), st.text(2), st.integer(3), st.real(4)});
  return out;
}

}  // namespace fabric::store
