// Tests of Schema: construction checks, lookup, text form and parse_schema.
#include "sluice/schema.hpp"

#include <gtest/gtest.h>

#include "expect_error.hpp"

namespace sluice {
namespace {

using test::contains;
using test::error_message;

Schema sample() {
  return Schema(
      {{"ts", DataType::timestamp(TimeUnit::ms)}, {"host", TypeId::string}, {"cpu", TypeId::f32}});
}

TEST(Schema, Lookup) {
  const Schema s = sample();
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.field(1).name, "host");
  EXPECT_EQ(s.index_of("cpu"), 2u);
  EXPECT_EQ(s.find("ts"), std::optional<std::size_t>(0));
  EXPECT_FALSE(s.find("mem").has_value());
  EXPECT_FALSE(s.find("").has_value());
}

TEST(Schema, IndexOfUnknownListsColumns) {
  const std::string message =
      error_message([] { sample().index_of("mem"); }, ErrorCode::unknown_column);
  EXPECT_EQ(message, "unknown column 'mem' (columns: ts, host, cpu)");
}

TEST(Schema, RejectsEmptyName) {
  const std::string message = error_message(
      [] {
        Schema({{"a", TypeId::i32}, {"", TypeId::i32}});
      },
      ErrorCode::invalid_argument);
  EXPECT_TRUE(contains(message, "column 2"));
}

TEST(Schema, RejectsDuplicateName) {
  const std::string message = error_message(
      [] {
        Schema({{"a", TypeId::i32}, {"b", TypeId::i64}, {"a", TypeId::f32}});
      },
      ErrorCode::invalid_argument);
  EXPECT_TRUE(contains(message, "'a'"));
}

TEST(Schema, ToStringAndEquality) {
  const Schema s = sample();
  EXPECT_EQ(s.to_string(), "ts:timestamp[ms],host:string,cpu:f32");
  EXPECT_TRUE(parse_schema(s.to_string()) == s);
  EXPECT_FALSE(parse_schema("ts:timestamp[s],host:string,cpu:f32") == s);
  EXPECT_FALSE(parse_schema("ts:timestamp[ms],host:string") == s);
  EXPECT_FALSE(parse_schema("ts:timestamp[ms],name:string,cpu:f32") == s);
  EXPECT_TRUE(Schema() == Schema());
  EXPECT_EQ(Schema().to_string(), "");
}

TEST(Schema, ParseToleratesWhitespace) {
  const Schema s = parse_schema("  ts : timestamp[ms] ,host:string,\tcpu: f32 ");
  EXPECT_TRUE(s == sample());
  EXPECT_EQ(parse_schema("flag:bool,n:u64").field(0).type.id, TypeId::boolean);
}

TEST(Schema, ParseErrorsNameTheEntry) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"ts:timestamp[ms],cpu", "bad schema entry 2 'cpu': expected name:type"},
      {"", "bad schema entry 1 '': expected name:type"},
      {"a:i32,", "bad schema entry 2 ''"},
      {"a:i32,:f32", "bad schema entry 2 ':f32'"},
      {"a:i32,b:f16", "bad schema entry 2 'b:f16': unknown type 'f16'"},
      {"a:i32,b:", "bad schema entry 2 'b:'"},
      {"a:i32,b:i64,a:f32", "bad schema entry 3 'a:f32': duplicate column name 'a'"},
  };
  for (const Case& c : cases) {
    const std::string message =
        error_message([&] { parse_schema(c.text); }, ErrorCode::parse_error);
    EXPECT_TRUE(contains(message, c.expected)) << c.text;
  }
}

}  // namespace
}  // namespace sluice
