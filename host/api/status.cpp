// Status and ErrorCode: names of error codes and the text of a status.
#include "sluice/status.hpp"

namespace sluice {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::ok:
      return "ok";
    case ErrorCode::invalid_argument:
      return "invalid_argument";
    case ErrorCode::unknown_column:
      return "unknown_column";
    case ErrorCode::type_mismatch:
      return "type_mismatch";
    case ErrorCode::parse_error:
      return "parse_error";
    case ErrorCode::malformed_input:
      return "malformed_input";
    case ErrorCode::io_error:
      return "io_error";
    case ErrorCode::backend_unavailable:
      return "backend_unavailable";
    case ErrorCode::out_of_memory:
      return "out_of_memory";
    case ErrorCode::device_error:
      return "device_error";
    case ErrorCode::peer_failure:
      return "peer_failure";
    case ErrorCode::arithmetic_overflow:
      return "arithmetic_overflow";
    case ErrorCode::internal:
      return "internal";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  std::string out = sluice::to_string(code_);
  out += ": ";
  out += message_;
  return out;
}

}  // namespace sluice
