// Typed exceptions of the Fabric library. The names follow the Python exception Lightning raises
// for the same misuse, so its documentation and tests carry over.
#pragma once

#include <stdexcept>
#include <string>

namespace fabric {

/// Base of every error the library throws on bad input or misuse.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A value outside what is allowed (Lightning: ValueError).
class ValueError : public Error {
 public:
  using Error::Error;
};

/// An argument of the wrong kind (Lightning: TypeError).
class TypeError : public Error {
 public:
  using Error::Error;
};

/// A state that does not allow the call, e.g. setup before launch (Lightning: RuntimeError).
class RuntimeError : public Error {
 public:
  using Error::Error;
};

/// A key missing from a checkpoint under strict loading (Lightning: KeyError).
class KeyError : public Error {
 public:
  using Error::Error;
};

/// A checkpoint or data file that does not exist (Lightning: FileNotFoundError).
class FileNotFoundError : public Error {
 public:
  using Error::Error;
};

/// A checkpoint whose bytes are not what was written (a zip record fails its CRC-32, or its
/// sha256 differs from the one the run store recorded).
class CheckpointCorruptError : public Error {
 public:
  using Error::Error;
};

/// A command line that asks for something that cannot be done (a tool's usage error: exit 2).
class UsageError : public Error {
 public:
  using Error::Error;
};

/// A feature Lightning has that this port does not build yet (Lightning: NotImplementedError).
class NotSupportedError : public Error {
 public:
  using Error::Error;
};

}  // namespace fabric
