// StopSignals: SIGINT and SIGTERM turned into a stop request that a reader can wait on.
#pragma once

namespace sluice::cli {

/// @brief While alive, the first SIGINT or SIGTERM is a stop request: it is recorded and makes
/// fd() readable (a self-pipe, so that a reader waiting in poll(2) wakes up). A second one
/// kills the process as the signal would have. One instance at a time; the previous handlers
/// come back on destruction.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  /// @brief Readable once a stop was requested.
  int fd() const noexcept;
  /// @brief The signal that asked to stop, 0 for none yet.
  int signal() const noexcept;
  /// @brief The exit status of a program a signal stopped: 128 + the signal (130 for SIGINT,
  /// 143 for SIGTERM), or `otherwise` when none did.
  int exit_status(int otherwise) const noexcept;
};

}  // namespace sluice::cli
