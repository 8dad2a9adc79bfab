// The status of a run, a sweep or a trial: one vocabulary, stored in the run store under its
// lower-case name (the name is what queries and `runs --status` see).
#pragma once

#include <ostream>
#include <stdexcept>
#include <string>

namespace fabric::store {

enum class Status {
  Queued,    // a trial assigned ahead of running (SLURM job arrays)
  Running,   //
  Finished,  //
  Pruned,    // a trial stopped early by its sweep's pruner
  Failed,    //
  Killed,    // stopped by a signal; resumable from its last checkpoint
  Stopped,   // a sweep whose controller went away; resumable
};

inline const char* status_name(Status s) {
  switch (s) {
    case Status::Queued:
      return "queued";
    case Status::Running:
      return "running";
    case Status::Finished:
      return "finished";
    case Status::Pruned:
      return "pruned";
    case Status::Failed:
      return "failed";
    case Status::Killed:
      return "killed";
    case Status::Stopped:
      return "stopped";
  }
  return "?";
}

/// The status stored as `name`; throws std::invalid_argument for a name that is none.
inline Status parse_status(const std::string& name) {
  for (Status s : {Status::Queued, Status::Running, Status::Finished, Status::Pruned,
                   Status::Failed, Status::Killed, Status::Stopped}) {
    if (name == status_name(s)) return s;
  }
  throw std::invalid_argument("unknown status '" + name + "' in the run store");
}

/// Neither waiting nor running.
inline bool has_ended(Status s) {
  return s != Status::Queued && s != Status::Running;
}

inline std::ostream& operator<<(std::ostream& out, Status s) {
  return out << status_name(s);
}

inline std::string operator+(const std::string& text, Status s) {
  return text + status_name(s);
}

}  // namespace fabric::store
