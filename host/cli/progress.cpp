// Progress: the redraw thread, and counts written compactly (1.2M, 350k).
#include "host/cli/progress.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <limits>
#include <ostream>

namespace sluice::cli {
namespace {

/// 987, 12.3k, 4.56M, 7.89G: three significant digits.
std::string compact(double v) {
  static constexpr const char* kSuffix[] = {"", "k", "M", "G", "T"};
  int s = 0;
  while (v >= 999.5 && s < 4) {
    v /= 1000;
    ++s;
  }
  char text[32];
  if (s == 0)
    std::snprintf(text, sizeof text, "%.0f", v);
  else
    std::snprintf(text, sizeof text,
                  v < 9.995   ? "%.2f%s"
                  : v < 99.95 ? "%.1f%s"
                              : "%.0f%s",
                  v, kSuffix[s]);
  return text;
}

}  // namespace

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::ostream& out, std::function<Metrics()> metrics,
                   std::function<std::string(std::int64_t)> watermark,
                   std::chrono::milliseconds every)
    : out_(out),
      metrics_(std::move(metrics)),
      watermark_(std::move(watermark)),
      every_(every),
      thread_([this] { run(); }) {}

Progress::~Progress() { stop(); }

std::string Progress::line(const Metrics& m, double rate,
                           const std::function<std::string(std::int64_t)>& watermark) {
  std::string text = compact(static_cast<double>(m.events_in)) + " rows read (" + compact(rate) +
                     "/s), watermark ";
  text += m.watermark == std::numeric_limits<std::int64_t>::min() ? std::string("none")
                                                                  : watermark(m.watermark);
  text += ", windows written " + compact(static_cast<double>(m.windows_fired)) + ", late " +
          compact(static_cast<double>(m.events_late)) + ", malformed " +
          compact(static_cast<double>(m.events_malformed));
  return text;
}

void Progress::run() {
  using Clock = std::chrono::steady_clock;
  std::uint64_t last_rows = 0;
  auto last = Clock::now();
  double rate = 0;
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, every_, [this] { return stopping_; })) {
    const Metrics m = metrics_();
    const auto now = Clock::now();
    const double seconds = std::chrono::duration<double>(now - last).count();
    if (seconds > 0) rate = static_cast<double>(m.events_in - last_rows) / seconds;
    last_rows = m.events_in;
    last = now;
    if (!line_start_) continue;  // a message is half written
    // Back to the line's start, the line, then clear what a longer one left.
    out_ << '\r' << line(m, rate, watermark_) << "\033[K" << std::flush;
    drawn_ = true;
  }
}

Progress::MessageBuffer::int_type Progress::MessageBuffer::overflow(int_type c) {
  if (!traits_type::eq_int_type(c, traits_type::eof()))
    progress_.write_message(traits_type::to_char_type(c));
  return traits_type::not_eof(c);
}

void Progress::write_message(char c) {
  std::lock_guard lock(mutex_);
  if (line_start_ && drawn_) {
    out_ << "\r\033[K";
    drawn_ = false;
  }
  out_ << c;
  line_start_ = c == '\n';
  if (line_start_) out_ << std::flush;
}

void Progress::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (drawn_) out_ << "\r\033[K" << std::flush;
  drawn_ = false;
}

}  // namespace sluice::cli
