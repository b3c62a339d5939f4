// Timestamps as text: RFC 3339 out and in, against libc's timegm/gmtime_r on random instants,
// the accepted spellings, and what is refused.
#include <gtest/gtest.h>

#include <cstdint>
#include <ctime>
#include <random>
#include <string>

#include "host/io/time_text.hpp"

namespace {

using sluice::TimeUnit;
using sluice::detail::append_rfc3339;
using sluice::detail::parse_timestamp_text;
using sluice::detail::TimeParse;

std::string rfc3339(std::int64_t value, TimeUnit unit) {
  std::string out;
  append_rfc3339(out, value, unit);
  return out;
}

std::int64_t parsed(const std::string& text, TimeUnit unit) {
  std::int64_t v = 0;
  EXPECT_EQ(parse_timestamp_text(text, unit, v), TimeParse::ok) << text;
  return v;
}

TimeParse outcome(const std::string& text, TimeUnit unit = TimeUnit::ms) {
  std::int64_t v = 0;
  return parse_timestamp_text(text, unit, v);
}

TEST(TimeText, KnownInstants) {
  EXPECT_EQ(rfc3339(0, TimeUnit::s), "1970-01-01T00:00:00Z");
  EXPECT_EQ(rfc3339(-1, TimeUnit::ms), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(rfc3339(951827696789, TimeUnit::ms), "2000-02-29T12:34:56.789Z");
  EXPECT_EQ(rfc3339(1, TimeUnit::us), "1970-01-01T00:00:00.000001Z");
  EXPECT_EQ(rfc3339(-1, TimeUnit::ns), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(rfc3339(INT64_MIN, TimeUnit::ns), "1677-09-21T00:12:43.145224192Z");
  EXPECT_EQ(rfc3339(INT64_MAX, TimeUnit::ns), "2262-04-11T23:47:16.854775807Z");
  EXPECT_EQ(rfc3339(-62167219200, TimeUnit::s), "0000-01-01T00:00:00Z");
  EXPECT_EQ(rfc3339(-62167219201, TimeUnit::s), "-0001-12-31T23:59:59Z");
}

TEST(TimeText, AgreesWithLibcOnRandomInstants) {
  std::mt19937_64 rng(std::random_device{}());
  // Years 1 to 9999: what RFC 3339 spells with four digits.
  std::uniform_int_distribution<std::int64_t> seconds(-62135596800, 253402300799);
  for (int i = 0; i < 20000; ++i) {
    const std::int64_t s = seconds(rng);
    const auto t = static_cast<std::time_t>(s);
    std::tm tm{};
    ASSERT_NE(gmtime_r(&t, &tm), nullptr);
    char want[64];
    std::snprintf(want, sizeof want, "%04lld-%02d-%02dT%02d:%02d:%02dZ",
                  static_cast<long long>(tm.tm_year) + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                  tm.tm_min, tm.tm_sec);
    ASSERT_EQ(rfc3339(s, TimeUnit::s), want) << s;
    ASSERT_EQ(parsed(want, TimeUnit::s), s) << want;
    // The same instant with a fraction, in every finer unit, reads back to itself.
    const std::int64_t ms = s * 1000 + static_cast<std::int64_t>(rng() % 1000);
    ASSERT_EQ(parsed(rfc3339(ms, TimeUnit::ms), TimeUnit::ms), ms);
    if (s > -9'000'000'000 && s < 9'000'000'000) {
      const std::int64_t us = ms * 1000 + static_cast<std::int64_t>(rng() % 1000);
      ASSERT_EQ(parsed(rfc3339(us, TimeUnit::us), TimeUnit::us), us);
    }
  }
}

TEST(TimeText, Spellings) {
  const std::int64_t at = 1796230805000;  // 2026-12-02T17:00:05Z
  EXPECT_EQ(parsed("2026-12-02T17:00:05Z", TimeUnit::ms), at);
  EXPECT_EQ(parsed("2026-12-02t17:00:05z", TimeUnit::ms), at);
  EXPECT_EQ(parsed("2026-12-02 17:00:05", TimeUnit::ms), at);
  EXPECT_EQ(parsed("  2026-12-02T17:00:05Z\t", TimeUnit::ms), at);
  EXPECT_EQ(parsed("2026-12-02T18:00:05+01:00", TimeUnit::ms), at);
  EXPECT_EQ(parsed("2026-12-02T18:00:05+0100", TimeUnit::ms), at);
  EXPECT_EQ(parsed("2026-12-02T12:00:05-05", TimeUnit::ms), at);
  EXPECT_EQ(parsed("2026-12-02T17:00", TimeUnit::ms), at - 5000);
  EXPECT_EQ(parsed("2026-12-02", TimeUnit::s), (at - 5000) / 1000 - 17 * 3600);
  EXPECT_EQ(parsed("2026-12-02T17:00:05.25Z", TimeUnit::ms), at + 250);
  EXPECT_EQ(parsed("2026-12-02T17:00:05,25Z", TimeUnit::ms), at + 250);
  // Digits below the unit are dropped.
  EXPECT_EQ(parsed("2026-12-02T17:00:05.2509Z", TimeUnit::ms), at + 250);
  EXPECT_EQ(parsed("2026-12-02T17:00:05.123456789Z", TimeUnit::ns), at * 1'000'000 + 123456789);
  EXPECT_EQ(parsed("2026-12-02T17:00:05.9Z", TimeUnit::s), at / 1000);
  EXPECT_EQ(parsed("2024-02-29T00:00:00Z", TimeUnit::s), 1709164800);
  // Epoch numbers are in the column's unit; a fraction below it goes towards the past.
  EXPECT_EQ(parsed("1764694805", TimeUnit::s), 1764694805);
  EXPECT_EQ(parsed("1764694805.75", TimeUnit::s), 1764694805);
  EXPECT_EQ(parsed("+12", TimeUnit::ms), 12);
  EXPECT_EQ(parsed("-1.5", TimeUnit::ms), -2);
  EXPECT_EQ(parsed("-1.0", TimeUnit::ms), -1);
  EXPECT_EQ(parsed(".5", TimeUnit::ms), 0);
  EXPECT_EQ(parsed("5.", TimeUnit::ms), 5);
  EXPECT_EQ(parsed("-9223372036854775808", TimeUnit::ns), INT64_MIN);
  // The limits of nanoseconds, as text, both ways (those of coarser units lie beyond the
  // four-digit years the parser reads).
  for (const std::int64_t v : {INT64_MIN, INT64_MIN + 1, std::int64_t{-1}, INT64_MAX})
    EXPECT_EQ(parsed(rfc3339(v, TimeUnit::ns), TimeUnit::ns), v) << rfc3339(v, TimeUnit::ns);
  EXPECT_EQ(parsed("1969-12-31T23:59:59.5Z", TimeUnit::ms), -500);
  EXPECT_EQ(outcome("1677-09-21T00:12:43.145224191Z", TimeUnit::ns), TimeParse::out_of_range);
  // Years beyond four digits are written, with a sign before year 0.
  EXPECT_EQ(rfc3339(INT64_MAX, TimeUnit::s), "292277026596-12-04T15:30:07Z");
  EXPECT_EQ(rfc3339(INT64_MIN, TimeUnit::s), "-292277022657-01-27T08:29:52Z");
}

TEST(TimeText, Refusals) {
  for (const char* bad : {"",
                          ".",
                          "-",
                          "+-1",
                          "1e3",
                          "12:30",
                          "2026-13-01",
                          "2026-02-30",
                          "2023-02-29",
                          "2026-12-02T24:00:00Z",
                          "2026-12-02T17:60",
                          "2026-1-02",
                          "2026-12-02T17",
                          "2026-12-02X",
                          "2026-12-02T17:00:05Zjunk",
                          "2026-12-02T17:00:05+1",
                          "2026-12-02T17:00:05.Z",
                          "2026-12-02T17:00:05.1234567890Z",
                          "1,5",
                          "0x10"})
    EXPECT_EQ(outcome(bad), TimeParse::bad) << bad;
  EXPECT_EQ(outcome("9223372036854775808"), TimeParse::out_of_range);
  EXPECT_EQ(outcome("2300-01-01T00:00:00Z", TimeUnit::ns), TimeParse::out_of_range);
  EXPECT_EQ(outcome("99999999999999999999"), TimeParse::out_of_range);
}

}  // namespace
