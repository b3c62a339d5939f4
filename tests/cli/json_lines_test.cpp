// The JSON lines parser on its own: a table of well-formed lines for every column type, the
// malformed lines and their messages, dictionaries untouched by rejected lines, random rows
// written by a test-side JSON writer (random key order, whitespace, escapes, extra and duplicate
// keys) read back exactly, and random bytes that must only ever be rows or malformed lines.
#include "host/io/json_lines.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "host/io/time_text.hpp"
#include "sluice/batch.hpp"
#include "sluice/status.hpp"

namespace {

using sluice::Batch;
using sluice::BatchBuilder;
using sluice::Value;
using sluice::detail::JsonLinesOptions;
using sluice::detail::JsonLinesParser;
using sluice::detail::LineOutcome;
using Row = std::vector<Value>;

Value int_value(std::int64_t v) { return Value(v); }
Value uint_value(std::uint64_t v) { return Value(v); }
Value text_value(std::string v) { return Value(std::move(v)); }

/// Every row of `batch` as Values (strings decoded).
std::vector<Row> rows_of(const Batch& batch) {
  std::vector<Row> rows;
  for (std::size_t r = 0; r < batch.rows(); ++r) {
    Row row;
    for (std::size_t c = 0; c < batch.num_columns(); ++c) row.push_back(batch.at(r, c));
    rows.push_back(std::move(row));
  }
  return rows;
}

/// A row as text, for failure messages (doubles with round-trip precision).
std::string describe(const Row& row) {
  std::string out = "[";
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (i > 0) out += ", ";
    out +=
        row[i].index() == 5 ? "\"" + sluice::to_string(row[i]) + "\"" : sluice::to_string(row[i]);
  }
  return out + "]";
}

/// Equal values of the same alternative; doubles compared bit for bit (so -0 is not 0).
bool same(const Value& a, const Value& b) {
  if (a.index() != b.index()) return false;
  if (const double* x = std::get_if<double>(&a)) {
    const double y = std::get<double>(b);
    return std::memcmp(x, &y, sizeof y) == 0;
  }
  return a == b;
}

bool same_row(const Row& a, const Row& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!same(a[i], b[i])) return false;
  }
  return true;
}

/// What one parse of `body` into a fresh builder of `schema` gave.
struct Parsed {
  LineOutcome outcome;
  std::vector<Row> rows;
};

Parsed parse_body(const sluice::Schema& schema, std::string_view body,
                  JsonLinesOptions options = {}, std::uint64_t first_line = 1) {
  const JsonLinesParser parser(schema, options);
  BatchBuilder builder(schema);
  Parsed parsed;
  parsed.outcome = parser.parse(body, builder, first_line);
  const Batch batch = builder.finish();
  EXPECT_EQ(batch.rows(), parsed.outcome.rows);
  parsed.rows = rows_of(batch);
  return parsed;
}

Parsed parse_body(const std::string& schema, std::string_view body, JsonLinesOptions options = {},
                  std::uint64_t first_line = 1) {
  return parse_body(sluice::parse_schema(schema), body, options, first_line);
}

// ---------------------------------------------------------------------------------------------
// Well-formed lines.

struct GoodExample {
  std::string schema;
  std::string line;
  Row expected;
};

std::vector<GoodExample> good_examples() {
  constexpr std::int64_t kI64Min = std::numeric_limits<std::int64_t>::min();
  constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();
  return {
      // Every column type.
      {"a:i32,b:i64,c:u32,d:u64,e:f32,f:f64,g:bool,t:timestamp[ms],s:string",
       R"({"a":-2147483648,"b":-9223372036854775808,"c":4294967295,"d":18446744073709551615,)"
       R"("e":0.1,"f":-2.5e-3,"g":true,"t":1796230805250,"s":"x"})",
       {int_value(INT32_MIN), int_value(kI64Min), uint_value(UINT32_MAX), uint_value(kU64Max),
        Value(double{0.1F}), Value(-2.5e-3), Value(true), int_value(1796230805250),
        text_value("x")}},
      {"a:i32,g:bool,d:u64",
       R"({"a":2147483647,"g":false,"d":0})",
       {int_value(INT32_MAX), Value(false), uint_value(0)}},
      // Escapes: the short ones, \u00e9 and a surrogate pair; raw UTF-8 kept as is.
      {"s:string", R"({"s":"q\"b\\s\/\b\f\n\r\t"})", {text_value("q\"b\\s/\b\f\n\r\t")}},
      {"s:string",
       R"({"s":"caf\u00e9 \ud83D\uDE00 \u0041\u0000z"})",
       {text_value(std::string("caf\xC3\xA9 \xF0\x9F\x98\x80 A\0z", 14))}},
      {"s:string",
       "{\"s\":\"\xE6\x97\xA5\xE6\x9C\xAC \xC3\xA9 \xF0\x9F\x98\x80\"}",
       {text_value("\xE6\x97\xA5\xE6\x9C\xAC \xC3\xA9 \xF0\x9F\x98\x80")}},
      {"s:string", R"({"s":""})", {text_value("")}},
      // A key with escapes names its column.
      {"s:string,n:i64", R"({"\u0073":"k","\u006e":1})", {text_value("k"), int_value(1)}},
      // Values of keys outside the schema are skipped, nested or not.
      {"s:string",
       R"({"x":{"y":[1,{"z":null},"}]",[[]],{}],"q":"\"{"},"s":"ok","w":[[[true]]],)"
       R"("v":"\u0041","":-0.5e+10,"S":false,"n":null})",
       {text_value("ok")}},
      // Whitespace around every token.
      {"s:string,n:i64",
       " \t{ \"s\" : \"a b\" ,\r\"n\"\t:\t-7 ,\"x\" : [ 1 , { } ] } \t ",
       {text_value("a b"), int_value(-7)}},
      // A key given twice takes its last value (the first is not even checked).
      {"n:i64,s:string", R"({"n":1,"s":"a","n":2,"s":"b"})", {int_value(2), text_value("b")}},
      {"n:i64", R"({"n":"one","n":{"a":1},"n":3})", {int_value(3)}},
      // Integral numbers with a fraction or an exponent into integer columns, read exactly.
      {"a:i64,b:i64,c:i64,d:u64,e:i64,f:i32,g:u32",
       R"({"a":1e3,"b":2.0,"c":-0,"d":1.8446744073709551615e19,"e":12300e-2,"f":-0.0,)"
       R"("g":4.294967295E+9})",
       {int_value(1000), int_value(2), int_value(0), uint_value(kU64Max), int_value(123),
        int_value(0), uint_value(UINT32_MAX)}},
      {"a:i64,b:i64",
       R"({"a":-9.223372036854775808e18,"b":9223372036854775807.000})",
       {int_value(kI64Min), int_value(std::numeric_limits<std::int64_t>::max())}},
      // Floats: the nearest value (f32 from the text: through f64 this one would round to the
      // halfway point, then to even, 1); below the smallest subnormal is zero; integers are fine.
      {"e:f32,f:f64,g:f64,h:f64,i:f64,j:f32",
       R"({"e":3.4028235e38,"f":5e-324,"g":1e-400,"h":-1e-400,"i":9007199254740993,)"
       R"("j":1.00000005960464477550})",
       {Value(double{FLT_MAX}), Value(5e-324), Value(0.0), Value(-0.0), Value(9007199254740992.0),
        Value(double{1.0F + FLT_EPSILON})}},
      {"f:f64", R"({"f":1.7976931348623157e308})", {Value(DBL_MAX)}},
      // Timestamps: RFC 3339 text and numbers in the column's unit (fractions towards the past).
      {"t:timestamp[ms],u:timestamp[ms],v:timestamp[s]",
       R"({"t":"2026-12-02T17:00:05.250Z","u":"2026-12-02T17:00:05+01:00","v":"1764694805"})",
       {int_value(1796230805250), int_value(1796227205000), int_value(1764694805)}},
      {"a:timestamp[s],b:timestamp[s],c:timestamp[s],d:timestamp[ns],e:timestamp[us]",
       R"({"a":1.9,"b":-1.5,"c":-2,"d":-9223372036854775808,"e":1.5e3})",
       {int_value(1), int_value(-2), int_value(-2), int_value(kI64Min), int_value(1500)}},
      {"a:timestamp[s],b:timestamp[s]",
       R"({"a":-0.001,"b":12.5e-1})",
       {int_value(-1), int_value(1)}},
  };
}

TEST(JsonLines, ParsesTheExamples) {
  for (const GoodExample& example : good_examples()) {
    SCOPED_TRACE(example.line);
    const Parsed parsed = parse_body(example.schema, example.line + "\n");
    ASSERT_EQ(parsed.outcome.malformed, 0u)
        << (parsed.outcome.problems.empty() ? "" : parsed.outcome.problems[0].message);
    ASSERT_EQ(parsed.outcome.rows, 1u);
    ASSERT_EQ(parsed.rows.size(), 1u);
    EXPECT_TRUE(same_row(parsed.rows[0], example.expected))
        << describe(parsed.rows[0]) << " != " << describe(example.expected);
  }
}

TEST(JsonLines, SplitsLinesOnNewlinesDroppingCarriageReturnsAndBlankLines) {
  const std::string body =
      "{\"n\":1}\r\n"
      "\r\n"
      "   \t \r\n"
      "\n"
      "{\"n\":2}\n"
      "{\"n\":3}";  // the last line needs no line break
  const Parsed parsed = parse_body("n:i64", body);
  EXPECT_EQ(parsed.outcome.rows, 3u);
  EXPECT_EQ(parsed.outcome.malformed, 0u);
  EXPECT_TRUE(parsed.outcome.problems.empty());
  ASSERT_EQ(parsed.rows.size(), 3u);
  EXPECT_EQ(std::get<std::int64_t>(parsed.rows[2][0]), 3);
  // An empty body, and one of blank lines only, give nothing.
  EXPECT_EQ(parse_body("n:i64", "").outcome.rows, 0u);
  const Parsed blank = parse_body("n:i64", "\n\r\n \n");
  EXPECT_EQ(blank.outcome.rows + blank.outcome.malformed, 0u);
}

TEST(JsonLines, AppendsToTheBuilderAcrossCalls) {
  const sluice::Schema schema = sluice::parse_schema("n:i64,s:string");
  const JsonLinesParser parser(schema);
  BatchBuilder builder(schema);
  EXPECT_EQ(parser.parse("{\"n\":1,\"s\":\"a\"}\n", builder).rows, 1u);
  EXPECT_EQ(parser.parse("{\"n\":2,\"s\":\"b\"}\n{\"n\":3,\"s\":\"a\"}", builder).rows, 2u);
  const std::vector<Row> rows = rows_of(builder.finish());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(std::get<std::int64_t>(rows[1][0]), 2);
  EXPECT_EQ(std::get<std::string>(rows[2][1]), "a");
}

TEST(JsonLines, RejectsABuilderOfAnotherSchema) {
  const JsonLinesParser parser(sluice::parse_schema("n:i64"));
  BatchBuilder builder(sluice::parse_schema("n:i32"));
  try {
    parser.parse("{\"n\":1}", builder);
    ADD_FAILURE() << "no error";
  } catch (const sluice::Error& e) {
    EXPECT_EQ(e.code(), sluice::ErrorCode::invalid_argument);
  }
}

// ---------------------------------------------------------------------------------------------
// Malformed lines.

struct BadExample {
  std::string line;
  std::string message;
};

std::vector<BadExample> bad_examples() {
  const std::string long_string(70000, 'x');
  return {
      // Columns: missing, null, of the wrong kind, not fitting.
      {R"({"s":"a","b":true})", "missing 'n'"},
      {R"({})", "missing 'n'"},
      {R"({"n":null,"s":"a","b":true})", "'n' is null"},
      {R"({"n":"1","s":"a","b":true})", "'n' (i64): expected a number, got a string"},
      {R"({"n":1,"s":2,"b":true})", "'s' (string): expected a string, got a number"},
      {R"({"n":true,"s":"a","b":true})", "'n' (i64): expected a number, got a bool"},
      {R"({"n":{},"s":"a","b":true})", "'n' (i64): expected a number, got an object"},
      {R"({"n":[1],"s":"a","b":true})", "'n' (i64): expected a number, got an array"},
      {R"({"n":1,"s":"a","b":1})", "'b' (bool): expected true or false, got a number"},
      {R"({"n":1,"s":"a","b":"true"})", "'b' (bool): expected true or false, got a string"},
      {R"({"n":2.5,"s":"a","b":true})", "'n' (i64): 2.5 is not an integer"},
      {R"({"n":1e-1,"s":"a","b":true})", "'n' (i64): 1e-1 is not an integer"},
      {R"({"n":9223372036854775808,"s":"a","b":true})",
       "'n' (i64): 9223372036854775808 out of range"},
      {R"({"n":-9223372036854775809,"s":"a","b":true})",
       "'n' (i64): -9223372036854775809 out of range"},
      {R"({"n":1e19,"s":"a","b":true})", "'n' (i64): 1e19 out of range"},
      {R"({"n":1e999999999999999999999,"s":"a","b":true})",
       "'n' (i64): 1e999999999999999999999 out of range"},
      // Syntax: byte positions are 1-based within the line.
      {R"({"n":1,"s":"a","b":true} x)", "column 26: unexpected text after the object"},
      {R"({"n":1,"s":"a","b":true}})", "column 25: unexpected text after the object"},
      {R"({"n":1,"s":"a\q","b":true})", "column 14: invalid escape"},
      {R"({"n":1,"s":"a\u12G4","b":true})", "column 14: invalid \\u escape"},
      {R"({"n":1,"s":"\ud800","b":true})", "column 13: lone surrogate in \\u escape"},
      {R"({"n":1,"s":"\ud800\u0041","b":true})", "column 13: lone surrogate in \\u escape"},
      {R"({"n":1,"s":"\udc00\ud800","b":true})", "column 13: lone surrogate in \\u escape"},
      {"{\"n\":1,\"s\":\"a\tb\",\"b\":true}", "column 14: control character in string"},
      {"{\"n\":1,\"s\":\"\xC3\",\"b\":true}", "column 13: invalid UTF-8 in string"},
      {"{\"n\":1,\"s\":\"\xED\xA0\x80\",\"b\":true}", "column 13: invalid UTF-8 in string"},
      {"{\"n\":1,\"s\":\"\xC0\xAF\",\"b\":true}", "column 13: invalid UTF-8 in string"},
      {R"({"n":01,"s":"a","b":true})", "column 6: leading zero in number"},
      {R"({"n":-01,"s":"a","b":true})", "column 7: leading zero in number"},
      {R"({"n":+1,"s":"a","b":true})", "column 6: expected a value"},
      {R"({"n":NaN,"s":"a","b":true})", "column 6: expected a value"},
      {R"({"n":0x10,"s":"a","b":true})", "column 7: expected ',' or '}'"},
      {R"({"n":1.,"s":"a","b":true})", "column 8: expected a digit after '.'"},
      {R"({"n":.5,"s":"a","b":true})", "column 6: expected a value"},
      {R"({"n":1e,"s":"a","b":true})", "column 8: expected a digit in exponent"},
      {R"({"n":-,"s":"a","b":true})", "column 7: expected a digit"},
      {R"({"n":1,"s":"a,"b":true})", "column 16: expected ',' or '}'"},
      {R"({"n":1,"s":"a)", "column 12: unterminated string"},
      {R"({"n":1,"s":"a")", "column 15: unterminated object"},
      {R"({"n":1,"s":"a",)", "column 16: unterminated object"},
      {R"({"n":1,"x":[1,2)", "column 16: unterminated array"},
      {R"({"n":1,"x":[1,)", "column 15: expected a value"},
      {R"({"n":1,"x":{"a" 1}})", "column 17: expected ':'"},
      {R"({"n":1,"x":[1 2]})", "column 15: expected ',' or ']'"},
      {R"({"n":1,"x":{1:2}})", "column 13: expected a key"},
      {R"({"n" 1})", "column 6: expected ':'"},
      {R"({n:1})", "column 2: expected a key"},
      {R"({"n":1,})", "column 8: expected a key"},
      {R"({"n":tru})", "column 6: invalid literal"},
      {R"({"n":nul,"s":"a","b":true})", "column 6: invalid literal"},
      {R"([{"n":1}])", "column 1: expected '{'"},
      {R"(  "n")", "column 3: expected '{'"},
      {"{\"n\":1,\"s\":\"a\",\"b\":true}\v", "column 25: unexpected text after the object"},
      {"{\"x\":" + std::string(65, '[') + std::string(65, ']') + ",\"n\":1,\"s\":\"a\",\"b\":true}",
       "column 70: nesting deeper than 64"},
      {"{\"x\":" + std::string(200000, '[') + "}",
       "line of 200006 bytes exceeds the limit of 65536"},
      {"{\"n\":1,\"s\":\"" + long_string + "\",\"b\":true}",
       "line of 70023 bytes exceeds the limit of 65536"},
  };
}

TEST(JsonLines, ReportsMalformedLinesByNumberAndKeepsTheGoodOnes) {
  const std::string good = R"({"n":7,"s":"good","b":false})";
  const std::vector<BadExample> bad = bad_examples();
  // good, bad, good, blank, bad, good, blank, ... from line 100 on.
  std::string body = good + "\n";
  std::vector<std::uint64_t> bad_lines;
  std::uint64_t line = 101;
  for (const BadExample& example : bad) {
    body += example.line + "\n" + good + "\r\n\n";
    bad_lines.push_back(line);
    line += 3;
  }
  const Parsed parsed =
      parse_body("n:i64,s:string,b:bool", body, {.max_problems = 1000}, /*first_line=*/100);
  EXPECT_EQ(parsed.outcome.rows, bad.size() + 1);
  EXPECT_EQ(parsed.outcome.malformed, bad.size());
  ASSERT_EQ(parsed.outcome.problems.size(), bad.size());
  for (std::size_t i = 0; i < bad.size(); ++i) {
    SCOPED_TRACE(bad[i].line.substr(0, 80));
    EXPECT_EQ(parsed.outcome.problems[i].line, bad_lines[i]);
    EXPECT_EQ(parsed.outcome.problems[i].message, bad[i].message);
  }
  ASSERT_EQ(parsed.rows.size(), bad.size() + 1);
  for (const Row& row : parsed.rows) {
    EXPECT_TRUE(same_row(row, {int_value(7), text_value("good"), Value(false)})) << describe(row);
  }
}

TEST(JsonLines, ValuesThatDoNotFitTheirColumnNameIt) {
  const std::vector<BadExample> cases = {
      {R"({"v":-1})", "'v' (u32): -1 out of range"},
      {R"({"v":4294967296})", "'v' (u32): 4294967296 out of range"},
      {R"({"v":-0.5})", "'v' (u32): -0.5 is not an integer"},
  };
  for (const BadExample& example : cases) {
    const Parsed parsed = parse_body("v:u32", example.line);
    ASSERT_EQ(parsed.outcome.problems.size(), 1u) << example.line;
    EXPECT_EQ(parsed.outcome.problems[0].message, example.message);
  }
  const std::vector<std::pair<std::string, BadExample>> typed = {
      {"v:i32", {R"({"v":2147483648})", "'v' (i32): 2147483648 out of range"}},
      {"v:i32", {R"({"v":-2.147483649e9})", "'v' (i32): -2.147483649e9 out of range"}},
      {"v:u64", {R"({"v":18446744073709551616})", "'v' (u64): 18446744073709551616 out of range"}},
      {"v:u64", {R"({"v":-1})", "'v' (u64): -1 out of range"}},
      {"v:f64", {R"({"v":1e309})", "'v' (f64): 1e309 out of range"}},
      {"v:f32", {R"({"v":3.5e38})", "'v' (f32): 3.5e38 out of range"}},
      {"v:f32", {R"({"v":"1.5"})", "'v' (f32): expected a number, got a string"}},
      {"v:timestamp[ms]",
       {R"({"v":"yesterday"})", "'v' (timestamp[ms]): cannot read the string as a timestamp"}},
      {"v:timestamp[ms]",
       {R"({"v":true})",
        "'v' (timestamp[ms]): expected a number or a string, "
        "got a bool"}},
      {"v:timestamp[s]",
       {R"({"v":-9223372036854775808.5})",
        "'v' (timestamp[s]): -9223372036854775808.5 out of range"}},
      {"v:timestamp[s]",
       {R"({"v":"99999999999999999999"})", "'v' (timestamp[s]): timestamp out of range"}},
      {"v:string", {R"({"v":null})", "'v' is null"}},
      {"v:string", {R"({"v":["a"]})", "'v' (string): expected a string, got an array"}},
  };
  for (const auto& [schema, example] : typed) {
    const Parsed parsed = parse_body(schema, example.line);
    ASSERT_EQ(parsed.outcome.problems.size(), 1u) << example.line;
    EXPECT_EQ(parsed.outcome.problems[0].message, example.message);
    EXPECT_EQ(parsed.outcome.rows, 0u);
  }
}

TEST(JsonLines, NestingIsBoundedByMaxDepthWithoutRecursion) {
  const auto nested = [](std::size_t depth) {
    std::string value;
    for (std::size_t i = 0; i < depth; ++i) value += i % 2 == 0 ? "[" : "{\"k\":";
    value += "1";
    for (std::size_t i = depth; i-- > 0;) value += i % 2 == 0 ? "]" : "}";
    return "{\"x\":" + value + ",\"n\":1}\n";
  };
  EXPECT_EQ(parse_body("n:i64", nested(64)).outcome.rows, 1u);
  const Parsed deeper = parse_body("n:i64", nested(65));
  ASSERT_EQ(deeper.outcome.problems.size(), 1u);
  EXPECT_EQ(deeper.outcome.problems[0].message,
            "column " + std::to_string(5 + 32 * (1 + 5) + 1) + ": nesting deeper than 64");
  EXPECT_EQ(parse_body("n:i64", nested(1), {.max_depth = 0}).outcome.malformed, 1u);
  EXPECT_EQ(parse_body("n:i64", R"({"x":"[[","n":1})", {.max_depth = 0}).outcome.rows, 1u);
  // Far deeper than any stack would take recursively.
  const JsonLinesOptions deep{.max_line_bytes = 1 << 24, .max_depth = 1 << 22};
  EXPECT_EQ(parse_body("n:i64", nested(1 << 20), deep).outcome.rows, 1u);
  const Parsed unclosed = parse_body("n:i64", "{\"x\":" + std::string(1 << 20, '['), deep);
  ASSERT_EQ(unclosed.outcome.problems.size(), 1u);
  EXPECT_EQ(unclosed.outcome.problems[0].message,
            "column " + std::to_string(5 + (1 << 20) + 1) + ": unterminated array");
}

TEST(JsonLines, LineLengthLimitExcludesTheLineBreak) {
  const std::string line = R"({"n":12345678901234567})";
  ASSERT_EQ(line.size(), 23u);
  EXPECT_EQ(parse_body("n:i64", line + "\r\n", {.max_line_bytes = 23}).outcome.rows, 1u);
  const Parsed longer = parse_body("n:i64", line + " \r\n", {.max_line_bytes = 23});
  ASSERT_EQ(longer.outcome.problems.size(), 1u);
  EXPECT_EQ(longer.outcome.problems[0].message, "line of 24 bytes exceeds the limit of 23");
}

TEST(JsonLines, CapsTheProblemsButCountsEveryMalformedLine) {
  std::string body;
  for (int i = 0; i < 30; ++i) body += "{\"n\":" + std::string(i % 3 == 0 ? "1" : "x") + "}\n";
  const Parsed parsed = parse_body("n:i64", body, {.max_problems = 3}, /*first_line=*/5);
  EXPECT_EQ(parsed.outcome.rows, 10u);
  EXPECT_EQ(parsed.outcome.malformed, 20u);
  ASSERT_EQ(parsed.outcome.problems.size(), 3u);
  EXPECT_EQ(parsed.outcome.problems[0].line, 6u);
  EXPECT_EQ(parsed.outcome.problems[1].line, 7u);
  EXPECT_EQ(parsed.outcome.problems[2].line, 9u);
  EXPECT_EQ(parsed.outcome.problems[2].message, "column 6: expected a value");
  EXPECT_TRUE(parse_body("n:i64", body, {.max_problems = 0}).outcome.problems.empty());
}

TEST(JsonLines, RejectedLinesAddNoStringsToTheDictionaries) {
  const sluice::Schema schema = sluice::parse_schema("s:string,n:i64,s2:string");
  const JsonLinesParser parser(schema);
  BatchBuilder builder(schema);
  const std::string body =
      R"({"n":1,"s":"a","s2":"b"})"
      "\n"
      R"({"s":"bad1","s2":"bad2","n":"x"})"  // a number column of the wrong kind
      "\n"
      R"({"s":"bad3","s2":5,"n":1})"  // the second string column of the wrong kind
      "\n"
      R"({"s":"bad4","s2":"bad5","n":1.5})"  // a number that does not fit
      "\n"
      R"({"s":"bad6","s2":"bad7"})"  // a column missing
      "\n"
      R"({"s":"bad8","s2":"bad9","n":1},)"  // a syntax error after the strings
      "\n"
      R"({"s":"bad10","s2":"bad11","n":9223372036854775808})"
      "\n"
      R"({"s":"a","s2":"c","n":2})"
      "\n";
  const LineOutcome outcome = parser.parse(body, builder);
  EXPECT_EQ(outcome.rows, 2u);
  EXPECT_EQ(outcome.malformed, 6u);
  EXPECT_EQ(builder.dictionary(0)->size(), 1u);
  EXPECT_EQ(builder.dictionary(2)->size(), 2u);
  for (const char* text : {"bad1", "bad3", "bad4", "bad6", "bad8", "bad10"}) {
    EXPECT_FALSE(builder.dictionary(0)->find(text).has_value()) << text;
  }
  const std::vector<Row> rows = rows_of(builder.finish());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(same_row(rows[1], {text_value("a"), int_value(2), text_value("c")}))
      << describe(rows[1]);
}

// ---------------------------------------------------------------------------------------------
// Random rows through a test-side JSON writer.

/// Appends code point `code` as UTF-8.
void append_code_point(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
    return;
  }
  char bytes[4];
  int count = 0;
  std::uint32_t rest = code;
  const std::uint32_t lead_marks[] = {0, 0, 0xC0, 0xE0, 0xF0};
  count = code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  for (int i = count - 1; i > 0; --i) {
    bytes[i] = static_cast<char>(0x80 | (rest & 0x3F));
    rest >>= 6;
  }
  bytes[0] = static_cast<char>(lead_marks[count] | rest);
  out.append(bytes, static_cast<std::size_t>(count));
}

/// Writes random JSON for rows: random key order, whitespace, escapes, extra keys and earlier
/// values for keys given twice.
class JsonWriter {
 public:
  explicit JsonWriter(std::mt19937_64& random) : random_(random) {}

  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(random_) < p; }
  std::uint64_t below(std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(random_);
  }

  std::string space() {
    static const char* const kSpaces[] = {"", "", "", " ", "\t", "  ", " \r ", "\t \t"};
    return kSpaces[below(std::size(kSpaces))];
  }

  /// A random string as code points: ASCII (quotes and backslashes often), control characters
  /// and 2-, 3- and 4-byte UTF-8.
  std::vector<std::uint32_t> random_code_points() {
    std::vector<std::uint32_t> codes(below(12));
    for (std::uint32_t& code : codes) {
      switch (below(8)) {
        case 0:
          code = below(2) == 0 ? '"' : '\\';
          break;
        case 1:
          code = static_cast<std::uint32_t>(below(0x20));
          break;
        case 2:
          code = static_cast<std::uint32_t>(0x80 + below(0x800 - 0x80));
          break;
        case 3:
          do {
            code = static_cast<std::uint32_t>(0x800 + below(0x10000 - 0x800));
          } while (code >= 0xD800 && code <= 0xDFFF);
          break;
        case 4:
          code = static_cast<std::uint32_t>(0x10000 + below(0x110000 - 0x10000));
          break;
        default:
          code = static_cast<std::uint32_t>(0x20 + below(0x7F - 0x20 + 1));  // with '/', 0x7F
          break;
      }
    }
    return codes;
  }

  static std::string utf8(const std::vector<std::uint32_t>& codes) {
    std::string out;
    for (const std::uint32_t code : codes) append_code_point(out, code);
    return out;
  }

  /// `codes` as a JSON string: each code point raw where JSON allows it, or escaped (short
  /// escapes, \uXXXX in either case, surrogate pairs above U+FFFF).
  std::string quote(const std::vector<std::uint32_t>& codes) {
    std::string out = "\"";
    for (const std::uint32_t code : codes) {
      const char* short_escape = nullptr;
      switch (code) {
        case '"':
          short_escape = "\\\"";
          break;
        case '\\':
          short_escape = "\\\\";
          break;
        case '/':
          short_escape = "\\/";
          break;
        case '\b':
          short_escape = "\\b";
          break;
        case '\f':
          short_escape = "\\f";
          break;
        case '\n':
          short_escape = "\\n";
          break;
        case '\r':
          short_escape = "\\r";
          break;
        case '\t':
          short_escape = "\\t";
          break;
        default:
          break;
      }
      const bool must_escape = code < 0x20 || code == '"' || code == '\\';
      const std::uint64_t how = below(3);
      if (!must_escape && how == 0) {
        append_code_point(out, code);
      } else if (short_escape != nullptr && how == 1) {
        out += short_escape;
      } else if (code < 0x10000) {
        out += unicode_escape(code);
      } else {
        out += unicode_escape(0xD800 + ((code - 0x10000) >> 10));
        out += unicode_escape(0xDC00 + ((code - 0x10000) & 0x3FF));
      }
    }
    return out + "\"";
  }

  std::string quote(std::string_view ascii) {
    std::vector<std::uint32_t> codes(ascii.begin(), ascii.end());
    return quote(codes);
  }

  /// An integer as JSON: plain, or with a fraction of zeros, or its point moved with an exponent.
  std::string integer(bool negative, std::uint64_t magnitude) {
    const std::string digits = std::to_string(magnitude);
    const std::string sign = negative || (magnitude == 0 && chance(0.2)) ? "-" : "";
    switch (below(4)) {
      case 0:
        return sign + digits + "." + std::string(1 + below(3), '0');
      case 1:
        if (digits.size() > 1) {
          const std::size_t shift = 1 + below(digits.size() - 1);
          return sign + digits.substr(0, digits.size() - shift) + "." +
                 digits.substr(digits.size() - shift) + (chance(0.5) ? "e" : "E+") +
                 std::to_string(shift);
        }
        return sign + digits + "e0";
      case 2: {
        const std::size_t zeros = magnitude == 0 ? 0 : below(4);
        return sign + digits + std::string(zeros, '0') + "e-" + std::to_string(zeros);
      }
      default:
        return sign + digits;
    }
  }
  std::string integer(std::int64_t v) {
    const bool negative = v < 0;
    const std::uint64_t magnitude =
        negative ? ~static_cast<std::uint64_t>(v) + 1 : static_cast<std::uint64_t>(v);
    return integer(negative, magnitude);
  }

  /// A random JSON value nested up to `depth` (for keys the schema does not read, and earlier
  /// values of duplicated keys).
  std::string any_value(int depth) {
    switch (below(depth > 0 ? 8 : 6)) {
      case 0:
        return quote(random_code_points());
      case 1:
        return chance(0.5) ? "true" : "false";
      case 2:
        return "null";
      case 3:
        return integer(static_cast<std::int64_t>(random_()));
      case 4:
        return chance(0.5) ? "-0.5e+10" : "1E-7";
      case 5:
        return "0";
      case 6: {
        std::string out = "[" + space();
        const std::uint64_t items = below(4);
        for (std::uint64_t i = 0; i < items; ++i) {
          if (i > 0) out += space() + "," + space();
          out += any_value(depth - 1);
        }
        return out + space() + "]";
      }
      default: {
        std::string out = "{" + space();
        const std::uint64_t members = below(4);
        for (std::uint64_t i = 0; i < members; ++i) {
          if (i > 0) out += space() + "," + space();
          out += quote(random_code_points()) + space() + ":" + space() + any_value(depth - 1);
        }
        return out + space() + "}";
      }
    }
  }

  /// \uXXXX for a UTF-16 unit, in upper or lower case.
  std::string unicode_escape(std::uint32_t unit) {
    char text[16];
    std::snprintf(text, sizeof text, chance(0.5) ? "\\u%04X" : "\\u%04x",
                  static_cast<unsigned>(unit));
    return text;
  }

 private:
  std::mt19937_64& random_;
};

/// The columns of the random rows: every type, and names that need escapes or are not ASCII.
sluice::Schema random_schema() {
  using sluice::DataType;
  using sluice::TypeId;
  return sluice::Schema({{"i32", TypeId::i32},
                         {"i64", TypeId::i64},
                         {"u32", TypeId::u32},
                         {"u64", TypeId::u64},
                         {"f32", TypeId::f32},
                         {"f64", TypeId::f64},
                         {"flag", TypeId::boolean},
                         {"ts", DataType::timestamp(sluice::TimeUnit::us)},
                         {"text", TypeId::string},
                         {"q\"uo\\te caf\xC3\xA9", TypeId::string}});
}

/// One random line: its reference row (as Batch::at gives it) and its JSON.
struct RandomLine {
  Row row;
  std::string json;
};

template <class T>
T random_integer(JsonWriter& writer, std::mt19937_64& random) {
  constexpr T kMin = std::numeric_limits<T>::min();
  constexpr T kMax = std::numeric_limits<T>::max();
  switch (writer.below(6)) {
    case 0:
      return kMin;
    case 1:
      return kMax;
    case 2:
      return static_cast<T>(writer.below(200)) - (std::is_signed_v<T> ? 100 : 0);
    default:
      return std::uniform_int_distribution<T>(kMin, kMax)(random);
  }
}

template <class F, class Bits>
F random_float(JsonWriter& writer, std::mt19937_64& random) {
  switch (writer.below(8)) {
    case 0:
      return std::numeric_limits<F>::max() * (writer.chance(0.5) ? 1 : -1);
    case 1:
      return std::numeric_limits<F>::denorm_min() * (writer.chance(0.5) ? 1 : -1);
    case 2:
      return writer.chance(0.5) ? F(0) : -F(0);
    case 3:
      return std::uniform_real_distribution<F>(-1e6, 1e6)(random);
    default: {
      F value;
      do {
        const Bits bits = static_cast<Bits>(random());
        std::memcpy(&value, &bits, sizeof value);
      } while (!std::isfinite(value));
      return value;
    }
  }
}

RandomLine random_line(JsonWriter& writer, std::mt19937_64& random, const sluice::Schema& schema) {
  RandomLine line;
  std::vector<std::string> values;  // JSON of each column's value

  const auto i32 = random_integer<std::int32_t>(writer, random);
  line.row.push_back(int_value(i32));
  values.push_back(writer.integer(i32));
  const auto i64 = random_integer<std::int64_t>(writer, random);
  line.row.push_back(int_value(i64));
  values.push_back(writer.integer(i64));
  const auto u32 = random_integer<std::uint32_t>(writer, random);
  line.row.push_back(uint_value(u32));
  values.push_back(writer.integer(false, u32));
  const auto u64 = random_integer<std::uint64_t>(writer, random);
  line.row.push_back(uint_value(u64));
  values.push_back(writer.integer(false, u64));

  char text[64];
  const float f32 = random_float<float, std::uint32_t>(writer, random);
  line.row.push_back(Value(double{f32}));
  std::snprintf(text, sizeof text, "%.9g", static_cast<double>(f32));
  values.emplace_back(text);
  const double f64 = random_float<double, std::uint64_t>(writer, random);
  line.row.push_back(Value(f64));
  std::snprintf(text, sizeof text, "%.17g", f64);
  values.emplace_back(text);

  const bool flag = writer.chance(0.5);
  line.row.push_back(Value(flag));
  values.emplace_back(flag ? "true" : "false");

  // Timestamps: RFC 3339 text (years 1 to 9999), digits in a string, or a number, integral
  // or with a fraction that is dropped towards the past.
  std::int64_t ts = random_integer<std::int64_t>(writer, random);
  switch (writer.below(4)) {
    case 0: {
      ts = std::uniform_int_distribution<std::int64_t>(-62135596800000000,
                                                       253402300799999999)(random);
      std::string rfc3339;
      sluice::detail::append_rfc3339(rfc3339, ts, sluice::TimeUnit::us);
      values.push_back(writer.quote(rfc3339));
      break;
    }
    case 1:
      values.push_back(writer.quote(std::to_string(ts)));
      break;
    case 2:
      if (ts >= 0) {
        values.push_back(std::to_string(ts) + ".25");
      } else {  // -(|ts| - 1).75 floors to ts
        values.push_back("-" + std::to_string(~static_cast<std::uint64_t>(ts)) + ".75");
      }
      break;
    default:
      values.push_back(writer.integer(ts));
      break;
  }
  line.row.push_back(int_value(ts));

  for (int i = 0; i < 2; ++i) {
    const std::vector<std::uint32_t> codes = writer.random_code_points();
    line.row.push_back(text_value(JsonWriter::utf8(codes)));
    values.push_back(writer.quote(codes));
  }

  // Members: each column once (after an earlier value of its key, sometimes), extra keys.
  struct Member {
    std::size_t column;  // schema column, or schema.size() for an extra key
    bool decoy;          // an earlier value of a key given twice
    std::string json;
  };
  std::vector<Member> members;
  for (std::size_t c = 0; c < schema.size(); ++c) {
    // The name's code points (its bytes, but for the one non-ASCII character, é).
    std::vector<std::uint32_t> codes;
    const std::string& name = schema.field(c).name;
    for (std::size_t at = 0; at < name.size(); ++at) {
      const auto byte = static_cast<unsigned char>(name[at]);
      if (byte == 0xC3) {  // é, the only non-ASCII character of the names
        codes.push_back(0xE9);
        ++at;
      } else {
        codes.push_back(byte);
      }
    }
    const std::string key = writer.quote(codes);
    const auto member = [&](const std::string& value) {
      return key + writer.space() + ":" + writer.space() + value;
    };
    if (writer.chance(0.15)) members.push_back({c, true, member(writer.any_value(2))});
    members.push_back({c, false, member(values[c])});
  }
  static const char* const kExtraNames[] = {"extra", "I32", "i32 ", "", "ts2", "t\\ext"};
  for (std::uint64_t i = writer.below(4); i > 0; --i) {
    members.push_back({schema.size(), false,
                       writer.quote(kExtraNames[writer.below(std::size(kExtraNames))]) +
                           writer.space() + ":" + writer.space() + writer.any_value(4)});
  }
  std::shuffle(members.begin(), members.end(), random);
  // A key given twice takes its last value: keep each decoy before its column's real value.
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (!members[i].decoy) continue;
    for (std::size_t j = 0; j < i; ++j) {
      if (members[j].column == members[i].column) std::swap(members[i], members[j]);
    }
  }
  line.json = writer.space() + "{" + writer.space();
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (i > 0) line.json += writer.space() + "," + writer.space();
    line.json += members[i].json;
  }
  line.json += writer.space() + "}" + writer.space();
  return line;
}

TEST(JsonLines, RandomRowsRoundTripExactly) {
  const sluice::Schema schema = random_schema();
  for (const std::uint64_t seed : {1u, 2u, 3u, 4u}) {
    for (const std::size_t count : {0u, 1u, 7u, 1000u}) {
      SCOPED_TRACE("seed " + std::to_string(seed) + ", " + std::to_string(count) + " rows");
      std::mt19937_64 random(seed * 7919 + count);
      JsonWriter writer(random);
      std::vector<Row> expected;
      std::string body;
      for (std::size_t i = 0; i < count; ++i) {
        if (writer.chance(0.05)) body += writer.chance(0.5) ? "\n" : " \t\r\n";  // blank lines
        RandomLine line = random_line(writer, random, schema);
        body += line.json;
        if (i + 1 < count || writer.chance(0.5)) body += writer.chance(0.3) ? "\r\n" : "\n";
        expected.push_back(std::move(line.row));
      }
      const Parsed parsed = parse_body(schema, body);
      EXPECT_EQ(parsed.outcome.malformed, 0u);
      for (const auto& problem : parsed.outcome.problems) {
        ADD_FAILURE() << "line " << problem.line << ": " << problem.message;
      }
      EXPECT_EQ(parsed.outcome.rows, count);
      ASSERT_EQ(parsed.rows.size(), expected.size());
      for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_TRUE(same_row(parsed.rows[i], expected[i]))
            << "row " << i << ": " << describe(parsed.rows[i]) << " != " << describe(expected[i]);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Robustness.

bool is_blank(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

TEST(JsonLines, RandomBytesAreRowsOrMalformedLinesNeverACrash) {
  const sluice::Schema schema = random_schema();
  std::mt19937_64 random(20260601);
  JsonWriter writer(random);
  static const std::string kJsonBytes = "{}[]\":,\\/ueE+-.0123456789tfnrulsa \t\r\xC3\xA9\xF0";
  for (int round = 0; round < 20; ++round) {
    std::vector<std::string> lines;
    for (int i = 0; i < 200; ++i) {
      std::string line;
      switch (writer.below(4)) {
        case 0: {  // random bytes, JSON-ish ones often
          for (std::uint64_t n = writer.below(80); n > 0; --n) {
            char c = writer.chance(0.7) ? kJsonBytes[writer.below(kJsonBytes.size())]
                                        : static_cast<char>(writer.below(256));
            if (c == '\n') c = ' ';
            line += c;
          }
          break;
        }
        case 1: {  // a valid line cut short
          const std::string json = random_line(writer, random, schema).json;
          line = json.substr(0, writer.below(json.size() + 1));
          break;
        }
        case 2: {  // a valid line with bytes changed
          line = random_line(writer, random, schema).json;
          for (std::uint64_t n = 1 + writer.below(3); n > 0; --n) {
            char c = static_cast<char>(writer.below(256));
            if (c == '\n') c = '{';
            line[writer.below(line.size())] = c;
          }
          break;
        }
        default:
          line = random_line(writer, random, schema).json;
          break;
      }
      lines.push_back(std::move(line));
    }
    std::string body;
    std::uint64_t non_blank = 0;
    for (const std::string& line : lines) {
      body += line + "\n";
      if (!is_blank(line)) ++non_blank;
    }
    const Parsed parsed = parse_body(schema, body, {.max_problems = 5});
    EXPECT_EQ(parsed.outcome.rows + parsed.outcome.malformed, non_blank);
    EXPECT_EQ(parsed.outcome.problems.size(), std::min<std::uint64_t>(parsed.outcome.malformed, 5));
    EXPECT_GT(parsed.outcome.rows, 0u);
    EXPECT_GT(parsed.outcome.malformed, 0u);
    // The same body in a small buffer of its own, so that AddressSanitizer sees any read past it.
    std::vector<char> exact(body.begin(), body.end());
    const JsonLinesParser parser(schema);
    BatchBuilder builder(schema);
    const LineOutcome again =
        parser.parse(std::string_view(exact.data(), exact.size() - 1), builder);
    EXPECT_EQ(again.rows, parsed.outcome.rows);
  }
}

}  // namespace
