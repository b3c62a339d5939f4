// Tests of column types: widths, classification, names and parse_type.
#include "sluice/types.hpp"

#include <gtest/gtest.h>

#include "expect_error.hpp"

namespace sluice {
namespace {

using test::contains;
using test::error_message;

TEST(Types, Widths) {
  EXPECT_EQ(type_width(TypeId::i32), 4u);
  EXPECT_EQ(type_width(TypeId::u32), 4u);
  EXPECT_EQ(type_width(TypeId::f32), 4u);
  EXPECT_EQ(type_width(TypeId::string), 4u);
  EXPECT_EQ(type_width(TypeId::i64), 8u);
  EXPECT_EQ(type_width(TypeId::u64), 8u);
  EXPECT_EQ(type_width(TypeId::f64), 8u);
  EXPECT_EQ(type_width(TypeId::timestamp), 8u);
  EXPECT_EQ(type_width(TypeId::boolean), 1u);
}

TEST(Types, Classification) {
  for (TypeId id : {TypeId::i32, TypeId::i64, TypeId::u32, TypeId::u64, TypeId::timestamp}) {
    EXPECT_TRUE(is_integral(id));
    EXPECT_FALSE(is_floating(id));
  }
  for (TypeId id : {TypeId::f32, TypeId::f64}) {
    EXPECT_FALSE(is_integral(id));
    EXPECT_TRUE(is_floating(id));
  }
  for (TypeId id : {TypeId::boolean, TypeId::string}) {
    EXPECT_FALSE(is_integral(id));
    EXPECT_FALSE(is_floating(id));
  }
}

TEST(Types, TimeUnits) {
  EXPECT_EQ(nanos_per_unit(TimeUnit::ns), 1);
  EXPECT_EQ(nanos_per_unit(TimeUnit::us), 1000);
  EXPECT_EQ(nanos_per_unit(TimeUnit::ms), 1000000);
  EXPECT_EQ(nanos_per_unit(TimeUnit::s), 1000000000);
  EXPECT_STREQ(to_string(TimeUnit::ns), "ns");
  EXPECT_STREQ(to_string(TimeUnit::us), "us");
  EXPECT_STREQ(to_string(TimeUnit::ms), "ms");
  EXPECT_STREQ(to_string(TimeUnit::s), "s");
}

TEST(Types, ToString) {
  EXPECT_EQ(to_string(DataType(TypeId::i32)), "i32");
  EXPECT_EQ(to_string(DataType(TypeId::i64)), "i64");
  EXPECT_EQ(to_string(DataType(TypeId::u32)), "u32");
  EXPECT_EQ(to_string(DataType(TypeId::u64)), "u64");
  EXPECT_EQ(to_string(DataType(TypeId::f32)), "f32");
  EXPECT_EQ(to_string(DataType(TypeId::f64)), "f64");
  EXPECT_EQ(to_string(DataType(TypeId::boolean)), "bool");
  EXPECT_EQ(to_string(DataType(TypeId::string)), "string");
  EXPECT_EQ(to_string(DataType::timestamp(TimeUnit::ms)), "timestamp[ms]");
  EXPECT_EQ(to_string(DataType::timestamp(TimeUnit::ns)), "timestamp[ns]");
  EXPECT_EQ(to_string(DataType::timestamp(TimeUnit::s)), "timestamp[s]");
}

TEST(Types, ParseRoundTrip) {
  const DataType all[] = {TypeId::i32,
                          TypeId::i64,
                          TypeId::u32,
                          TypeId::u64,
                          TypeId::f32,
                          TypeId::f64,
                          TypeId::boolean,
                          TypeId::string,
                          DataType::timestamp(TimeUnit::ns),
                          DataType::timestamp(TimeUnit::us),
                          DataType::timestamp(TimeUnit::ms),
                          DataType::timestamp(TimeUnit::s)};
  for (DataType t : all) {
    const DataType parsed = parse_type(to_string(t));
    EXPECT_TRUE(parsed == t) << to_string(t);
    EXPECT_EQ(parsed.unit, t.id == TypeId::timestamp ? t.unit : parsed.unit);
  }
}

TEST(Types, ParseAliasesAndWhitespace) {
  EXPECT_TRUE(parse_type("boolean") == DataType(TypeId::boolean));
  EXPECT_TRUE(parse_type("timestamp") == DataType::timestamp(TimeUnit::ms));
  EXPECT_TRUE(parse_type("  f64 ") == DataType(TypeId::f64));
  EXPECT_EQ(parse_type("timestamp[us]").unit, TimeUnit::us);
}

TEST(Types, TimestampEqualityDependsOnUnit) {
  EXPECT_FALSE(DataType::timestamp(TimeUnit::ms) == DataType::timestamp(TimeUnit::s));
  EXPECT_TRUE(DataType(TypeId::i64, TimeUnit::s) == DataType(TypeId::i64, TimeUnit::ms));
}

TEST(Types, ParseErrors) {
  for (const char* bad : {"", "f16", "int", "I32", "timestamp[m]", "timestamp[ms", "string2"}) {
    const std::string message = error_message([&] { parse_type(bad); }, ErrorCode::parse_error);
    EXPECT_TRUE(contains(message, std::string("'") + bad + "'")) << bad;
  }
}

}  // namespace
}  // namespace sluice
