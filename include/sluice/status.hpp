// Status and error types of the public API: a code plus a message that names the place.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace sluice {

/// What kind of failure a Status or Error reports.
enum class ErrorCode {
  ok = 0,
  invalid_argument,     ///< a bad option or API argument
  unknown_column,       ///< a name that is not in the schema
  type_mismatch,        ///< a value or expression of the wrong type
  parse_error,          ///< a bad expression, schema, duration or aggregate text
  malformed_input,      ///< a malformed input row or value
  io_error,             ///< a file or stream failed
  backend_unavailable,  ///< the requested backend cannot run here (e.g. no GPU)
  out_of_memory,        ///< host or device memory exhausted
  device_error,         ///< a CUDA call or kernel failed
  peer_failure,         ///< another rank of the job failed, was lost or stopped answering
  arithmetic_overflow,  ///< a result outside its type's range (an integer sum beyond i64)
  internal,             ///< a broken invariant inside Sluice
};

/// @brief Short lowercase name of an error code ("parse_error").
const char* to_string(ErrorCode code) noexcept;

/// @brief The outcome of an operation: ok, or an error code with a message naming the place
/// (column, line, position, stage or worker).
class Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status success() { return {}; }
  bool ok() const noexcept { return code_ == ErrorCode::ok; }
  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  /// @brief "code: message", or "ok".
  std::string to_string() const;

 private:
  ErrorCode code_ = ErrorCode::ok;
  std::string message_;
};

/// @brief The exception thrown by the API; carries the Status that describes it.
class Error : public std::runtime_error {
 public:
  explicit Error(Status status)
      : std::runtime_error(status.message()), status_(std::move(status)) {}
  Error(ErrorCode code, std::string message) : Error(Status(code, std::move(message))) {}
  const Status& status() const noexcept { return status_; }
  ErrorCode code() const noexcept { return status_.code(); }

 private:
  Status status_;
};

}  // namespace sluice
