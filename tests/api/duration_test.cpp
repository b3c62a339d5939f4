// Tests of parse_duration and to_string(Duration).
#include "sluice/duration.hpp"

#include <gtest/gtest.h>

#include "expect_error.hpp"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using test::contains;
using test::error_message;

TEST(Duration, ParseUnits) {
  EXPECT_EQ(parse_duration("100ns"), 100ns);
  EXPECT_EQ(parse_duration("500us"), 500us);
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("10s"), 10s);
  EXPECT_EQ(parse_duration("2m"), 2min);
  EXPECT_EQ(parse_duration("1h"), 1h);
  EXPECT_EQ(parse_duration("0"), 0ns);
  EXPECT_EQ(parse_duration("0s"), 0ns);
  EXPECT_EQ(parse_duration(" 5s "), 5s);
}

TEST(Duration, ParseLargeValues) {
  EXPECT_EQ(parse_duration("2562047h"), std::chrono::hours(2562047));
  EXPECT_EQ(parse_duration("9223372036854775807ns").count(), INT64_MAX);
}

TEST(Duration, ParseErrorsNameTheText) {
  for (const char* bad : {"", "s", "10", "10x", "10 s", "-5s", "1.5s", "10sec", "5S", "2562048h",
                          "99999999999999999999ns"}) {
    const std::string message = error_message([&] { parse_duration(bad); }, ErrorCode::parse_error);
    EXPECT_TRUE(contains(message, std::string("'") + bad + "'")) << bad;
  }
}

TEST(Duration, ToStringPicksLargestExactUnit) {
  EXPECT_EQ(to_string(Duration{0}), "0s");
  EXPECT_EQ(to_string(10s), "10s");
  EXPECT_EQ(to_string(1500ms), "1500ms");
  EXPECT_EQ(to_string(120s), "2m");
  EXPECT_EQ(to_string(90s), "90s");
  EXPECT_EQ(to_string(3h), "3h");
  EXPECT_EQ(to_string(61min), "61m");
  EXPECT_EQ(to_string(1001us), "1001us");
  EXPECT_EQ(to_string(7ns), "7ns");
  EXPECT_EQ(to_string(-2s), "-2s");
}

TEST(Duration, RoundTrip) {
  for (Duration d : {Duration{1}, Duration{1000}, Duration{2500000}, Duration{3600000000000},
                     Duration{12345678901}}) {
    EXPECT_EQ(parse_duration(to_string(d)), d) << to_string(d);
  }
}

}  // namespace
}  // namespace sluice
