// Tests of the text form of Value.
#include "sluice/value.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace sluice {
namespace {

TEST(Value, ToString) {
  EXPECT_EQ(to_string(Value{}), "");
  EXPECT_EQ(to_string(Value{true}), "true");
  EXPECT_EQ(to_string(Value{false}), "false");
  EXPECT_EQ(to_string(Value{std::int64_t{-42}}), "-42");
  EXPECT_EQ(to_string(Value{std::numeric_limits<std::int64_t>::min()}), "-9223372036854775808");
  EXPECT_EQ(to_string(Value{std::numeric_limits<std::uint64_t>::max()}), "18446744073709551615");
  EXPECT_EQ(to_string(Value{std::string("web-1")}), "web-1");
}

TEST(Value, DoublesRoundTrip) {
  EXPECT_EQ(to_string(Value{0.1}), "0.1");
  EXPECT_EQ(to_string(Value{2.5}), "2.5");
  EXPECT_EQ(to_string(Value{-1.0}), "-1");
  for (double d : {0.1 + 0.2, 1.0 / 3.0, 1e300, 1e-300, 123456.789}) {
    EXPECT_EQ(std::stod(to_string(Value{d})), d);
  }
}

}  // namespace
}  // namespace sluice
