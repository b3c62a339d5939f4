// Progress: a status line on stderr, redrawn a few times a second while a run goes on.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <mutex>
#include <ostream>
#include <streambuf>
#include <string>
#include <thread>

#include "sluice/engine.hpp"
#include "sluice/types.hpp"

namespace sluice::cli {

/// @brief Redraws "N rows read (R/s), watermark W, windows written N, late N, malformed N" on one
/// terminal line every `every`, from a thread of its own, until stop() (which clears the line).
/// `metrics` is called from that thread: it must be safe to call while the job runs
/// (Job::metrics() is). `watermark` formats a watermark in the time column's unit.
class Progress {
 public:
  Progress(std::ostream& out, std::function<Metrics()> metrics,
           std::function<std::string(std::int64_t)> watermark,
           std::chrono::milliseconds every = std::chrono::milliseconds(250));
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// @brief Stops redrawing and clears the line (idempotent).
  void stop();
  /// @brief A stream for messages while the line is drawn (malformed rows): each of its lines
  /// clears the status line first, which is redrawn at the next update.
  std::ostream& messages() { return messages_; }

  /// @brief The status line for `m`, `rate` rows per second.
  static std::string line(const Metrics& m, double rate,
                          const std::function<std::string(std::int64_t)>& watermark);

 private:
  void run();
  void write_message(char c);

  /// Forwards to out_, a status line cleared before each message line.
  class MessageBuffer final : public std::streambuf {
   public:
    explicit MessageBuffer(Progress& progress) : progress_(progress) {}

   protected:
    int_type overflow(int_type c) override;

   private:
    Progress& progress_;
  };

  std::ostream& out_;
  std::function<Metrics()> metrics_;
  std::function<std::string(std::int64_t)> watermark_;
  std::chrono::milliseconds every_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool drawn_ = false;
  bool line_start_ = true;  ///< of messages
  MessageBuffer message_buffer_{*this};
  std::ostream messages_{&message_buffer_};
  std::thread thread_;
};

/// @brief Whether stderr is a terminal (progress is drawn only there).
bool stderr_is_terminal();

}  // namespace sluice::cli
