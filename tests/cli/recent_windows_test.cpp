// RecentWindows (GET /windows' ring of JSON rows) and the serve endpoints' small helpers.
#include "host/cli/recent_windows.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "host/server/http_ingest_server.hpp"
#include "tests/api/expect_error.hpp"

namespace sluice::cli {
namespace {

std::string array_of(const std::vector<std::string>& rows, std::size_t from) {
  std::string out = "[";
  for (std::size_t i = from; i < rows.size(); ++i) out += (i > from ? "," : "") + rows[i];
  return out + "]\n";
}

TEST(RecentWindows, KeepsTheNewestRowsInWhateverPiecesTheyAreWritten) {
  for (const std::size_t capacity : {0u, 1u, 3u, 100u}) {
    std::mt19937_64 rng(capacity);
    RecentWindows recent(capacity);
    std::ostream out(&recent);
    std::vector<std::string> rows;
    std::string text;
    for (int i = 0; i < 50; ++i) {
      rows.push_back("{\"k\":\"r" + std::to_string(i) + "\",\"v\":" + std::to_string(rng() % 1000) +
                     "}");
      text += rows.back() + "\n";
    }
    // Written in random pieces, cut anywhere (a writer flushes whole emissions, not rows).
    for (std::size_t at = 0; at < text.size();) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 97, text.size() - at);
      if (n == 1) {
        out.put(text[at]);
      } else {
        out.write(text.data() + at, static_cast<std::streamsize>(n));
      }
      at += n;
    }
    out.flush();
    EXPECT_EQ(recent.total(), rows.size());
    const std::size_t kept = std::min(capacity, rows.size());
    EXPECT_EQ(recent.json(1000), array_of(rows, rows.size() - kept)) << capacity;
    EXPECT_EQ(recent.json(2), array_of(rows, rows.size() - std::min<std::size_t>(kept, 2)));
    EXPECT_EQ(recent.json(0), "[]\n");
  }
}

TEST(RecentWindows, APartialLineIsNotARowYet) {
  RecentWindows recent(10);
  std::ostream out(&recent);
  out << "{\"a\":1}\n{\"a\":";
  out.flush();
  EXPECT_EQ(recent.json(10), "[{\"a\":1}]\n");
  out << "2}\n";
  out.flush();
  EXPECT_EQ(recent.json(10), "[{\"a\":1},{\"a\":2}]\n");
}

TEST(ServeHelpers, PrecisionsOfBothInfluxApis) {
  using server::precision_tick_ns;
  EXPECT_EQ(precision_tick_ns("", false), 1);
  EXPECT_EQ(precision_tick_ns("ns", false), 1);
  EXPECT_EQ(precision_tick_ns("us", false), 1'000);
  EXPECT_EQ(precision_tick_ns("ms", false), 1'000'000);
  EXPECT_EQ(precision_tick_ns("s", false), 1'000'000'000);
  EXPECT_EQ(precision_tick_ns("n", true), 1);
  EXPECT_EQ(precision_tick_ns("u", true), 1'000);
  EXPECT_EQ(precision_tick_ns("m", true), 60'000'000'000);
  EXPECT_EQ(precision_tick_ns("h", true), 3'600'000'000'000);
  // v2 has no n, u, m or h; neither has anything else.
  for (const char* bad : {"n", "u", "m", "h", "ps", "S", "1s"})
    EXPECT_TRUE(test::contains(
        test::error_message([&] { precision_tick_ns(bad, false); }, ErrorCode::invalid_argument),
        "expected ns, us, ms or s"))
        << bad;
  EXPECT_TRUE(test::contains(
      test::error_message([] { precision_tick_ns("d", true); }, ErrorCode::invalid_argument),
      "precision 'd': expected n, ns, u, us, ms, s, m or h"));
}

TEST(ServeHelpers, JsonStringEscapesWhatJsonNeeds) {
  using server::json_string;
  EXPECT_EQ(json_string(""), "\"\"");
  EXPECT_EQ(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json_string("l1\nl2\r\t"), "\"l1\\nl2\\r\\t\"");
  EXPECT_EQ(json_string(std::string("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
  EXPECT_EQ(json_string("é"), "\"é\"");
}

}  // namespace
}  // namespace sluice::cli
