// Progress: the status line's text, its redraws and clearing, and messages that clear it.
#include "host/cli/progress.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <sstream>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using sluice::Metrics;
using sluice::cli::Progress;

std::string as_number(std::int64_t wm) { return std::to_string(wm); }

TEST(Progress, TheLineSaysRowsRateWatermarkWindowsLateAndMalformed) {
  Metrics m;
  m.events_in = 1234567;
  m.windows_fired = 999;
  m.events_late = 1000;
  m.events_malformed = 0;
  m.watermark = 1700000000000;
  EXPECT_EQ(Progress::line(m, 35000.4, as_number),
            "1.23M rows read (35.0k/s), watermark 1700000000000, windows written 999, late "
            "1.00k, malformed 0");
  m.watermark = std::numeric_limits<std::int64_t>::min();
  m.events_in = 5;
  EXPECT_EQ(Progress::line(m, 0, as_number),
            "5 rows read (0/s), watermark none, windows written 999, late 1.00k, malformed 0");
}

TEST(Progress, RedrawsInPlaceAndClearsTheLineWhenStoppedOrForAMessage) {
  std::ostringstream out;
  Metrics m;
  m.events_in = 42;
  {
    Progress progress(
        out, [&] { return m; }, as_number, 2ms);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (out.str().find("42 rows read") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    progress.messages() << "in.csv:7: column 'cpu': cannot parse 'x' as f32\n";
    progress.stop();
    progress.stop();
  }
  const std::string text = out.str();
  EXPECT_EQ(text.rfind("\r42 rows read", 0), 0u) << text;
  EXPECT_NE(text.find("malformed 0\033[K"), std::string::npos) << text;
  // The message starts on a cleared line, whole; the output ends with the line cleared.
  EXPECT_NE(text.find("\r\033[Kin.csv:7: column 'cpu': cannot parse 'x' as f32\n"),
            std::string::npos)
      << text;
  EXPECT_TRUE(text.ends_with("\n") || text.ends_with("\r\033[K")) << text;
}

}  // namespace
