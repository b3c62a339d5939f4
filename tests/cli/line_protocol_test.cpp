// The Influx line protocol parser: a table of spellings (escapes, every field type, comments,
// CRLF, every precision into every time column), malformed lines with their numbers and
// messages, random points written as line protocol and read back, and random bytes.
#include "host/io/line_protocol.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "sluice/batch.hpp"
#include "sluice/status.hpp"

namespace {

using sluice::BatchBuilder;
using sluice::DataType;
using sluice::Schema;
using sluice::TimeUnit;
using sluice::TypeId;
using sluice::Value;
using sluice::detail::LineOutcome;
using sluice::detail::LineProtocolOptions;
using sluice::detail::LineProtocolParser;

using Row = std::vector<Value>;
using Rows = std::vector<Row>;

constexpr std::int64_t kNs = 1;
constexpr std::int64_t kUs = 1'000;
constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kS = 1'000'000'000;
constexpr std::int64_t kMinute = 60 * kS;
constexpr std::int64_t kHour = 60 * kMinute;

/// The rows built so far, as Values (strings decoded).
Rows take_rows(BatchBuilder& builder) {
  const sluice::Batch batch = builder.finish();
  Rows rows;
  for (std::size_t r = 0; r < batch.rows(); ++r) {
    Row row;
    for (std::size_t c = 0; c < batch.num_columns(); ++c) row.push_back(batch.at(r, c));
    rows.push_back(std::move(row));
  }
  return rows;
}

struct Parsed {
  LineOutcome outcome;
  Rows rows;
};

Parsed parse(const Schema& schema, LineProtocolOptions options, std::string_view text,
             std::uint64_t first_line = 1) {
  const LineProtocolParser parser(schema, std::move(options));
  BatchBuilder builder(schema);
  Parsed parsed;
  parsed.outcome = parser.parse(text, builder, first_line);
  EXPECT_EQ(builder.rows(), parsed.outcome.rows);
  parsed.rows = take_rows(builder);
  return parsed;
}

Parsed parse(std::string_view schema, LineProtocolOptions options, std::string_view text,
             std::uint64_t first_line = 1) {
  return parse(sluice::parse_schema(schema), std::move(options), text, first_line);
}

LineProtocolOptions with_time(std::string column, std::int64_t tick_ns = 1) {
  LineProtocolOptions options;
  options.time_column = std::move(column);
  options.tick_ns = tick_ns;
  return options;
}

/// The row of `line`, which must be well formed.
Row row_of(const Schema& schema, const LineProtocolOptions& options, std::string_view line) {
  const Parsed parsed = parse(schema, options, line);
  EXPECT_EQ(parsed.outcome.malformed, 0u)
      << line << ": "
      << (parsed.outcome.problems.empty() ? "" : parsed.outcome.problems[0].message);
  EXPECT_EQ(parsed.rows.size(), 1u) << line;
  return parsed.rows.empty() ? Row{} : parsed.rows[0];
}

Row row_of(std::string_view schema, const LineProtocolOptions& options, std::string_view line) {
  return row_of(sluice::parse_schema(schema), options, line);
}

/// The message of `line`, which must be malformed (and add no row).
std::string problem_of(std::string_view schema, const LineProtocolOptions& options,
                       std::string_view line) {
  const Parsed parsed = parse(schema, options, line);
  EXPECT_EQ(parsed.outcome.malformed, 1u) << line;
  EXPECT_TRUE(parsed.rows.empty()) << line;
  if (parsed.outcome.problems.size() != 1) {
    ADD_FAILURE() << "no problem for " << line;
    return "";
  }
  EXPECT_EQ(parsed.outcome.problems[0].line, 1u);
  return parsed.outcome.problems[0].message;
}

TEST(LineProtocol, ReadsEveryFieldType) {
  const Row row =
      row_of("t:timestamp[ns],f:f64,i:i64,u:u64,b:bool,s:string", with_time("t"),
             R"(m f=-1.5e3,i=-12i,u=18446744073709551615u,b=t,s="a \"q\" \\ b, c=d" 5)");
  ASSERT_EQ(row.size(), 6u);
  EXPECT_EQ(std::get<std::int64_t>(row[0]), 5);
  EXPECT_EQ(std::get<double>(row[1]), -1500.0);
  EXPECT_EQ(std::get<std::int64_t>(row[2]), -12);
  EXPECT_EQ(std::get<std::uint64_t>(row[3]), 18446744073709551615u);
  EXPECT_EQ(std::get<bool>(row[4]), true);
  EXPECT_EQ(std::get<std::string>(row[5]), R"(a "q" \ b, c=d)");
}

TEST(LineProtocol, FloatSpellings) {
  const std::pair<const char*, double> cases[] = {
      {"1", 1.0},
      {"-1", -1.0},
      {"1.5", 1.5},
      {"-1e3", -1000.0},
      {"1E-2", 0.01},
      {"2.5e+2", 250},
      {".5", 0.5},
      {"-.25", -0.25},
      {"0", 0.0},
      {"1.", 1.0},
      {"123456789012345678901234567890", 1.2345678901234568e29},
  };
  for (const auto& [text, want] : cases) {
    const Row row = row_of("t:i64,x:f64", with_time("t"), std::string("m x=") + text);
    ASSERT_EQ(row.size(), 2u) << text;
    EXPECT_EQ(std::get<double>(row[1]), want) << text;
  }
  // Into f32 and into integral columns when integral.
  const Row row = row_of("t:i64,x:f32,n:i64,u:u32", with_time("t"), "m x=0.5,n=-3e2,u=7 1");
  ASSERT_EQ(row.size(), 4u);
  EXPECT_EQ(std::get<double>(row[1]), 0.5);
  EXPECT_EQ(std::get<std::int64_t>(row[2]), -300);
  EXPECT_EQ(std::get<std::uint64_t>(row[3]), 7u);
}

TEST(LineProtocol, BooleanSpellings) {
  const std::pair<const char*, bool> cases[] = {
      {"t", true},  {"T", true},  {"true", true},   {"True", true},   {"TRUE", true},
      {"f", false}, {"F", false}, {"false", false}, {"False", false}, {"FALSE", false},
  };
  for (const auto& [text, want] : cases) {
    const Row row = row_of("t:i64,b:bool", with_time("t"), std::string("m b=") + text);
    ASSERT_EQ(row.size(), 2u) << text;
    EXPECT_EQ(std::get<bool>(row[1]), want) << text;
  }
  for (const char* text : {"tRUE", "yes", "1b", "truee"}) {
    EXPECT_NE(problem_of("t:i64,b:bool", with_time("t"), std::string("m b=") + text), "") << text;
  }
}

TEST(LineProtocol, IntegerSuffixes) {
  const Row row = row_of("t:i64,a:i32,b:f64,c:u64,d:f32,e:i64", with_time("t"),
                         "m a=-2147483648i,b=12i,c=0u,d=3u,e=9223372036854775807i");
  ASSERT_EQ(row.size(), 6u);
  EXPECT_EQ(std::get<std::int64_t>(row[1]), -2147483648);
  EXPECT_EQ(std::get<double>(row[2]), 12.0);
  EXPECT_EQ(std::get<std::uint64_t>(row[3]), 0u);
  EXPECT_EQ(std::get<double>(row[4]), 3.0);
  EXPECT_EQ(std::get<std::int64_t>(row[5]), std::numeric_limits<std::int64_t>::max());
}

TEST(LineProtocol, Escapes) {
  const Schema schema({{"t", DataType::timestamp(TimeUnit::ns)},
                       {"ho st,=", TypeId::string},
                       {"other", TypeId::string},
                       {"back", TypeId::string},
                       {"f k=,", TypeId::f64},
                       {"s", TypeId::string}});
  LineProtocolOptions options = with_time("t");
  options.measurement = "my m,x\\=";  // '=' is not escaped in a measurement: "\=" stays
  const Row row = row_of(schema, options,
                         R"(my\ m\,x\=,ho\ st\,\==a\ b\,c\=d,other=x\\\,y,back=a\b\\c )"
                         R"(f\ k\=\,=2,s="\a\"\\\n" 9)");
  ASSERT_EQ(row.size(), 6u);
  EXPECT_EQ(std::get<std::string>(row[1]), "a b,c=d");
  EXPECT_EQ(std::get<std::string>(row[2]), R"(x\,y)");   // "\\" is one backslash; "\," a comma
  EXPECT_EQ(std::get<std::string>(row[3]), R"(a\b\c)");  // a backslash before another byte stays
  EXPECT_EQ(std::get<double>(row[4]), 2.0);
  EXPECT_EQ(std::get<std::string>(row[5]), R"(\a"\\n)");
  EXPECT_EQ(std::get<std::int64_t>(row[0]), 9);
}

TEST(LineProtocol, CommentsBlankLinesAndCrlf) {
  const std::string text =
      "# a comment\n"
      "   \t# an indented comment\n"
      "\n"
      "  \t \r\n"
      "m v=1 1\r\n"
      "\r\n"
      "m v=oops 2\r\n"  // line 7
      "  m v=3 3\n"
      "m v=4 4";  // no line break at the end
  const Parsed parsed = parse("t:i64,v:f64", with_time("t"), text);
  EXPECT_EQ(parsed.outcome.rows, 3u);
  EXPECT_EQ(parsed.outcome.malformed, 1u);
  EXPECT_EQ(parsed.outcome.ignored, 0u);
  ASSERT_EQ(parsed.outcome.problems.size(), 1u);
  EXPECT_EQ(parsed.outcome.problems[0].line, 7u);
  ASSERT_EQ(parsed.rows.size(), 3u);
  EXPECT_EQ(parsed.rows[0], (Row{std::int64_t{1}, 1.0}));
  EXPECT_EQ(parsed.rows[1], (Row{std::int64_t{3}, 3.0}));
  EXPECT_EQ(parsed.rows[2], (Row{std::int64_t{4}, 4.0}));
  // Only comments and blanks: nothing anywhere.
  const Parsed none = parse("t:i64,v:f64", with_time("t"), "#x\n\n \r\n#");
  EXPECT_EQ(none.outcome.rows + none.outcome.malformed + none.outcome.ignored, 0u);
}

TEST(LineProtocol, SpacesBetweenAndAfterSections) {
  const Parsed parsed = parse("t:i64,v:f64,h:string", with_time("t"),
                              "m,h=a   v=1   7   \n"
                              "m,h=b v=2 \n");
  ASSERT_EQ(parsed.outcome.rows, 2u);
  EXPECT_EQ(parsed.rows[0], (Row{std::int64_t{7}, 1.0, std::string("a")}));
  EXPECT_EQ(parsed.rows[1], (Row{std::int64_t{0}, 2.0, std::string("b")}));
}

TEST(LineProtocol, MissingTimestampTakesNow) {
  const std::int64_t now = 1'700'000'000'123'456'789;
  for (const auto& [type, tick, want] : {
           std::tuple{"timestamp[ns]", kNs, now},
           std::tuple{"timestamp[us]", kS, now / 1000},
           std::tuple{"timestamp[ms]", kNs, now / 1'000'000},
           std::tuple{"timestamp[s]", kMs, now / 1'000'000'000},
           std::tuple{"i64", kNs, now},
           std::tuple{"i64", kMs, now / 1'000'000},
           std::tuple{"i64", kHour, now / kHour},
       }) {
    LineProtocolOptions options = with_time("t", tick);
    options.now_ns = now;
    const Row row = row_of(std::string("v:f64,t:") + type, options, "m v=1");
    ASSERT_EQ(row.size(), 2u);
    EXPECT_EQ(std::get<std::int64_t>(row[1]), want) << type << " tick " << tick;
  }
  // Before the epoch, rounded toward the past.
  LineProtocolOptions options = with_time("t", kS);
  options.now_ns = -1;
  EXPECT_EQ(std::get<std::int64_t>(row_of("v:f64,t:timestamp[ms]", options, "m v=1")[1]), -1);
  EXPECT_EQ(std::get<std::int64_t>(row_of("v:f64,t:i64", options, "m v=1")[1]), -1);
  // The now of one call.
  const Schema schema = sluice::parse_schema("v:f64,t:timestamp[s]");
  const LineProtocolParser parser(schema, options);
  BatchBuilder builder(schema);
  const LineOutcome outcome = parser.parse("m v=1\nm v=2 5", builder, 1, 42 * kS + 1);
  EXPECT_EQ(outcome.rows, 2u);
  const Rows rows = take_rows(builder);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(std::get<std::int64_t>(rows[0][1]), 42);
  EXPECT_EQ(std::get<std::int64_t>(rows[1][1]), 5);
}

TEST(LineProtocol, PrecisionsIntoEveryTimeColumn) {
  struct Case {
    std::int64_t tick;
    const char* timestamp;
    const char* column;
    std::int64_t want;
  };
  const Case cases[] = {
      {kNs, "1999999", "timestamp[ns]", 1999999},
      {kNs, "1999999", "timestamp[us]", 1999},
      {kNs, "1999999", "timestamp[ms]", 1},
      {kNs, "-1", "timestamp[ms]", -1},
      {kNs, "-1000001", "timestamp[ms]", -2},
      {kNs, "-1000000", "timestamp[ms]", -1},
      {kNs, "-9223372036854775808", "timestamp[ns]", std::numeric_limits<std::int64_t>::min()},
      {kNs, "1999999", "i64", 1999999},
      {kUs, "1500", "timestamp[ns]", 1500000},
      {kUs, "1500", "timestamp[ms]", 1},
      {kUs, "-1500", "timestamp[ms]", -2},
      {kUs, "-1500", "timestamp[s]", -1},
      {kUs, "-1500", "i64", -1500},
      {kMs, "1764694805250", "timestamp[ns]", 1764694805250000000},
      {kMs, "1764694805250", "timestamp[ms]", 1764694805250},
      {kMs, "1764694805250", "timestamp[s]", 1764694805},
      {kMs, "-1", "timestamp[s]", -1},
      {kMs, "-1", "timestamp[us]", -1000},
      {kS, "5", "timestamp[ns]", 5 * kS},
      {kS, "5", "timestamp[ms]", 5000},
      {kS, "5", "timestamp[s]", 5},
      {kS, "-5", "timestamp[s]", -5},
      {kS, "9223372037", "timestamp[s]", 9223372037},  // beyond i64 in ns, yet fits seconds
      {kS, "5", "i64", 5},
      {kMinute, "2", "timestamp[s]", 120},
      {kMinute, "2", "timestamp[ms]", 120000},
      {kMinute, "-2", "timestamp[ns]", -120 * kS},
      {kMinute, "2", "i64", 2},
      {kHour, "-1", "timestamp[s]", -3600},
      {kHour, "3", "timestamp[ms]", 3 * 3600 * 1000},
      {kHour, "3", "i64", 3},
  };
  for (const Case& c : cases) {
    const Row row = row_of(std::string("t:") + c.column + ",v:f64", with_time("t", c.tick),
                           std::string("m v=1 ") + c.timestamp);
    ASSERT_EQ(row.size(), 2u);
    EXPECT_EQ(std::get<std::int64_t>(row[0]), c.want)
        << c.timestamp << " ticks of " << c.tick << " ns into " << c.column;
  }
  // Out of range: of i64 as written, or of the column's unit once converted.
  EXPECT_EQ(problem_of("t:i64,v:f64", with_time("t"), "m v=1 9223372036854775808"),
            "timestamp out of range");
  EXPECT_EQ(problem_of("t:timestamp[ns],v:f64", with_time("t", kS), "m v=1 9223372037"),
            "timestamp out of range");
  EXPECT_EQ(problem_of("t:timestamp[ns],v:f64", with_time("t", kHour), "m v=1 -2562048"),
            "timestamp out of range");
  // The same hours fit a column of seconds.
  EXPECT_EQ(std::get<std::int64_t>(
                row_of("t:timestamp[s],v:f64", with_time("t", kHour), "m v=1 -2562048")[0]),
            -2562048LL * 3600);
}

TEST(LineProtocol, TagsFeedColumnsOfEveryType) {
  const Schema schema = sluice::parse_schema(
      "t:timestamp[ms],host:string,n:i32,u:u64,x:f64,ok:bool,at:timestamp[ms],v:f64");
  const Row row = row_of(schema, with_time("t"),
                         "m,host=a\\ b,n=-5,u=18446744073709551615,x=2.5e1,ok=TRUE,"
                         "at=2026-12-02T17:00:05Z,extra=zz v=1 1000000");
  ASSERT_EQ(row.size(), 8u);
  EXPECT_EQ(std::get<std::int64_t>(row[0]), 1);
  EXPECT_EQ(std::get<std::string>(row[1]), "a b");
  EXPECT_EQ(std::get<std::int64_t>(row[2]), -5);
  EXPECT_EQ(std::get<std::uint64_t>(row[3]), 18446744073709551615u);
  EXPECT_EQ(std::get<double>(row[4]), 25.0);
  EXPECT_EQ(std::get<bool>(row[5]), true);
  EXPECT_EQ(std::get<std::int64_t>(row[6]), 1796230805000);
  // A field beats a tag of the same name, wherever it comes.
  const Row both =
      row_of("t:i64,host:string,v:f64", with_time("t"), "m,host=tag v=1,host=\"field\"");
  EXPECT_EQ(std::get<std::string>(both[1]), "field");
  // A tag that does not read as its column's type.
  EXPECT_EQ(problem_of("t:i64,n:i32,v:f64", with_time("t"), "m,n=abc v=1"),
            "tag 'n': 'abc' cannot be read as i32 column 'n'");
  EXPECT_EQ(problem_of("t:i64,n:u32,v:f64", with_time("t"), "m,n=-1 v=1"),
            "tag 'n': column 'n' (u32): cannot store integer -1 (out of range)");
  EXPECT_EQ(problem_of("t:i64,n:u64,v:f64", with_time("t"), "m,n=18446744073709551616 v=1"),
            "tag 'n': '18446744073709551616' is out of range for u64 column 'n'");
  EXPECT_EQ(problem_of("t:i64,ok:bool,v:f64", with_time("t"), "m,ok=1 v=1"),
            "tag 'ok': '1' cannot be read as bool column 'ok'");
  EXPECT_EQ(problem_of("t:i64,x:f64", with_time("t"), "m,x=1e999 y=1"),
            "tag 'x': '1e999' is out of range for f64 column 'x'");
  EXPECT_EQ(problem_of("t:i64,at:timestamp[s],v:f64", with_time("t"), "m,at=noon v=1"),
            "tag 'at': 'noon' cannot be read as timestamp[s] column 'at'");
}

TEST(LineProtocol, FieldsMustFitTheirColumns) {
  const char* schema = "t:i64,x:f64,n:i64,u:u32,ok:bool,s:string,at:timestamp[ms]";
  const auto problem = [&](const std::string& fields) {
    return problem_of(schema, with_time("t"), "m " + fields);
  };
  const std::string good = "x=1,n=1i,u=1u,ok=f,s=\"s\",at=1i";
  EXPECT_EQ(problem(good + ",x=\"1\""), "field 'x': a string does not fit f64 column 'x'");
  EXPECT_EQ(problem(good + ",x=true"), "field 'x': a boolean does not fit f64 column 'x'");
  EXPECT_EQ(problem(good + ",ok=1i"), "field 'ok': an integer does not fit bool column 'ok'");
  EXPECT_EQ(problem(good + ",ok=1u"),
            "field 'ok': an unsigned integer does not fit bool column 'ok'");
  EXPECT_EQ(problem(good + ",ok=1"), "field 'ok': a float does not fit bool column 'ok'");
  EXPECT_EQ(problem(good + ",s=1i"), "field 's': an integer does not fit string column 's'");
  EXPECT_EQ(problem(good + ",s=t"), "field 's': a boolean does not fit string column 's'");
  EXPECT_EQ(problem(good + ",n=1.5"),
            "field 'n': column 'n' (i64): cannot store double 1.5 (not an integer)");
  EXPECT_EQ(problem(good + ",u=-1i"),
            "field 'u': column 'u' (u32): cannot store integer -1 (out of range)");
  EXPECT_EQ(problem(good + ",u=4294967296u"),
            "field 'u': column 'u' (u32): cannot store integer 4294967296 (out of range)");
  EXPECT_EQ(problem(good + ",n=9223372036854775808u"),
            "field 'n': column 'n' (i64): cannot store integer 9223372036854775808 (out of "
            "range)");
  EXPECT_EQ(problem(good + ",at=\"noon\""),
            "field 'at': 'noon' is not a time for timestamp[ms] column 'at'");
  // A string field into a timestamp column reads as a time.
  const Row row = row_of(schema, with_time("t"), "m " + good + ",at=\"2026-12-02T17:00:05.250Z\"");
  EXPECT_EQ(std::get<std::int64_t>(row[6]), 1796230805250);
  // A string column takes no tag-less number, however it is written.
  EXPECT_EQ(problem_of("t:i64,s:string", with_time("t"), "m s=1"),
            "field 's': a float does not fit string column 's'");
}

TEST(LineProtocol, MalformedLinesAreNumberedAndGoodOnesKept) {
  const std::string schema = "t:i64,v:f64,h:string";
  struct Bad {
    std::string line;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {"m", "no fields"},
      {"m ", "no fields"},
      {"m,h=a", "no fields"},
      {"m,h=a  ", "no fields"},
      {"m v=", "field 'v' has no value"},
      {"m v=,w=1", "field 'v' has no value"},
      {"m v", "field 'v' has no '='"},
      {"m v 1", "field 'v' has no '='"},
      {"m =1", "empty field key"},
      {"m v=1,", "empty field key"},
      {"m v=1,,w=2", "empty field key"},
      {"m v=abc", "field 'v': bad value 'abc' (not a number, boolean or quoted string)"},
      {"m v=1x", "field 'v': bad value '1x' (not a number, boolean or quoted string)"},
      {"m v=+1", "field 'v': bad value '+1' (not a number, boolean or quoted string)"},
      {"m v=nan", "field 'v': bad value 'nan' (not a number, boolean or quoted string)"},
      {"m v=-inf", "field 'v': bad value '-inf' (not a number, boolean or quoted string)"},
      {"m v=1e", "field 'v': bad value '1e' (not a number, boolean or quoted string)"},
      {"m v=0x10", "field 'v': bad value '0x10' (not a number, boolean or quoted string)"},
      {"m v=i", "field 'v': bad value 'i' (not a number, boolean or quoted string)"},
      {"m v=1.5i", "field 'v': bad value '1.5i' (not a number, boolean or quoted string)"},
      {"m v=-1u", "field 'v': bad value '-1u' (not a number, boolean or quoted string)"},
      {"m v=9223372036854775808i", "field 'v': an integer out of range: '9223372036854775808i'"},
      {"m v=18446744073709551616u",
       "field 'v': an unsigned integer out of range: '18446744073709551616u'"},
      {"m v=1e999", "field 'v': a float out of range: '1e999'"},
      {"m v=\"abc", "field 'v': unterminated string"},
      {"m v=\"abc\\\"", "field 'v': unterminated string"},
      {"m v=\"a\"b", "field 'v': unexpected 'b' after its string"},
      {"m v=1 abc", "bad timestamp 'abc'"},
      {"m v=1 1.5", "bad timestamp '1.5'"},
      {"m v=1 +1", "bad timestamp '+1'"},
      {"m v=1 1 2", "unexpected '2' after the timestamp"},
      {"m v=1 99999999999999999999", "timestamp out of range"},
      {",h=a v=1", "no measurement before ','"},
      {"m,=a v=1", "empty tag key"},
      {"m, v=1", "empty tag key"},
      {"m,h v=1", "tag 'h' has no '='"},
      {"m,h= v=1", "tag 'h' has no value"},
      {"m,h=a=b v=1", "tag 'h': unescaped '=' in its value"},
      {"m w=1", "no tag or field 'v'"},
      {"m,v=x w=1", "tag 'v': 'x' cannot be read as f64 column 'v'"},
      {std::string("m v=1\0", 6), "NUL byte at byte 6"},
      {std::string("m\0 v=1", 6), "NUL byte at byte 2"},
      {"\xff\xfe\x01", "no fields"},
      {"m v=1 \x01", "bad timestamp '\\x01'"},
      {"m v=\"" + std::string(100, 'x'),
       "field 'v': unterminated string"},  // no quoted excerpt: the key only
      {"m x=" + std::string(60, '7') + "q", "field 'x': bad value '" + std::string(40, '7') +
                                                "'... (not a number, boolean or quoted "
                                                "string)"},
      // Fields not in the schema are still checked.
      {"m v=1,unused=\"open", "field 'unused': unterminated string"},
      {"m v=1,unused=yes",
       "field 'unused': bad value 'yes' (not a number, boolean or quoted "
       "string)"},
  };
  // Good lines around every bad one; the body numbered from 100.
  std::string text;
  std::vector<std::uint64_t> bad_lines;
  std::uint64_t line = 100;
  for (std::size_t i = 0; i < bad.size(); ++i) {
    text +=
        "m,h=g" + std::to_string(i) + " v=" + std::to_string(i) + " " + std::to_string(i) + "\n";
    ++line;
    text += bad[i].line + "\n";
    bad_lines.push_back(line++);
  }
  text += "m,h=last v=-1 -1";
  LineProtocolOptions options = with_time("t");
  options.max_problems = bad.size();
  const Parsed parsed = parse(schema, options, text, 100);
  EXPECT_EQ(parsed.outcome.rows, bad.size() + 1);
  EXPECT_EQ(parsed.outcome.malformed, bad.size());
  ASSERT_EQ(parsed.outcome.problems.size(), bad.size());
  for (std::size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(parsed.outcome.problems[i].line, bad_lines[i]) << bad[i].line;
    EXPECT_EQ(parsed.outcome.problems[i].message, bad[i].message) << bad[i].line;
  }
  ASSERT_EQ(parsed.rows.size(), bad.size() + 1);
  for (std::size_t i = 0; i < bad.size(); ++i) {
    const auto n = static_cast<std::int64_t>(i);
    EXPECT_EQ(parsed.rows[i], (Row{n, static_cast<double>(n), "g" + std::to_string(i)}));
  }
  EXPECT_EQ(parsed.rows.back(), (Row{std::int64_t{-1}, -1.0, std::string("last")}));
}

TEST(LineProtocol, ProblemsAreCappedWhileMalformedKeepsCounting) {
  std::string text;
  for (int i = 0; i < 25; ++i) text += i % 5 == 4 ? "m v=1\n" : "m v=bad\n";
  LineProtocolOptions options = with_time("t");
  options.max_problems = 3;
  const Parsed parsed = parse("t:i64,v:f64", options, text, 7);
  EXPECT_EQ(parsed.outcome.rows, 5u);
  EXPECT_EQ(parsed.outcome.malformed, 20u);
  ASSERT_EQ(parsed.outcome.problems.size(), 3u);
  EXPECT_EQ(parsed.outcome.problems[0].line, 7u);
  EXPECT_EQ(parsed.outcome.problems[1].line, 8u);
  EXPECT_EQ(parsed.outcome.problems[2].line, 9u);
  options.max_problems = 0;
  const Parsed silent = parse("t:i64,v:f64", options, text);
  EXPECT_EQ(silent.outcome.malformed, 20u);
  EXPECT_TRUE(silent.outcome.problems.empty());
}

TEST(LineProtocol, LinesLongerThanTheLimitAreMalformed) {
  LineProtocolOptions options = with_time("t");
  options.max_line_bytes = 20;
  const std::string fits = "m v=1,w=\"" + std::string(10, 'x') + "\"";  // 20 bytes
  ASSERT_EQ(fits.size(), 20u);
  const std::string text = fits + "\n" + fits + "\r\n" + fits + "y\n" + fits + " \r\n";
  const Parsed parsed = parse("t:i64,v:f64", options, text);
  EXPECT_EQ(parsed.outcome.rows, 2u);
  EXPECT_EQ(parsed.outcome.malformed, 2u);
  ASSERT_EQ(parsed.outcome.problems.size(), 2u);
  EXPECT_EQ(parsed.outcome.problems[0].line, 3u);
  EXPECT_EQ(parsed.outcome.problems[0].message, "line longer than 20 bytes");
  EXPECT_EQ(parsed.outcome.problems[1].line, 4u);
  // A long line of another measurement is still too long.
  options.measurement = "other";
  EXPECT_EQ(parse("t:i64,v:f64", options, std::string(30, 'm') + " v=1").outcome.malformed, 1u);
}

TEST(LineProtocol, OtherMeasurementsAreIgnored) {
  LineProtocolOptions options = with_time("t");
  options.measurement = "cpu load";
  const Parsed parsed = parse("t:i64,v:f64", options,
                              "cpu\\ load v=1 1\n"
                              "mem v=2 2\n"
                              "cpu\\ load,host=a v=3 3\n"
                              "cpu\\ loads v=4 4\n"
                              "cpu v=5 5\n"
                              "mem this is no line protocol\n"
                              "cpu\\ load v=oops\n"
                              "mem v=1 1 trailing\n");
  EXPECT_EQ(parsed.outcome.rows, 2u);
  // A line of another measurement is ignored only when it is well formed.
  EXPECT_EQ(parsed.outcome.ignored, 3u);
  EXPECT_EQ(parsed.outcome.malformed, 3u);
  ASSERT_EQ(parsed.rows.size(), 2u);
  EXPECT_EQ(parsed.rows[1], (Row{std::int64_t{3}, 3.0}));
  // Without a measurement every line counts.
  const Parsed all = parse("t:i64,v:f64", with_time("t"), "a v=1\nb v=2\n");
  EXPECT_EQ(all.outcome.rows, 2u);
  EXPECT_EQ(all.outcome.ignored, 0u);
}

TEST(LineProtocol, RepeatedKeysLastWins) {
  const Row row = row_of("t:i64,v:f64,h:string", with_time("t"), "m,h=a,h=b v=1,v=2,v=3");
  EXPECT_EQ(row, (Row{std::int64_t{0}, 3.0, std::string("b")}));
  // The last one wins even when an earlier one would not fit.
  EXPECT_EQ(std::get<double>(row_of("t:i64,v:f64", with_time("t"), "m v=\"s\",v=2")[1]), 2.0);
}

TEST(LineProtocol, StringsAreInternedOnlyForGoodLines) {
  const Schema schema = sluice::parse_schema("t:timestamp[ns],host:string,s:string,v:f64");
  const LineProtocolParser parser(schema, with_time("t"));
  BatchBuilder builder(schema);
  const LineOutcome outcome = parser.parse(
      "m,host=a s=\"x\",v=1 1\n"
      "m,host=b s=\"y\",v=\"not a float\" 2\n"  // v does not fit
      "m,host=c s=\"y\",v=1 nope\n"             // bad timestamp
      "m,host=d s=\"y\"\n"                      // no v
      "m,host=e s=\"y\",v=1 9223372036854775808\n"
      "m,host=f v=1 3\n"  // no s
      "m,host=g\\ h s=\"y\",v=1.5i\n"
      "m,host=a s=\"z\",v=2 4\n",
      builder);
  EXPECT_EQ(outcome.rows, 2u);
  EXPECT_EQ(outcome.malformed, 6u);
  EXPECT_EQ(builder.dictionary(1)->size(), 1u);  // "a"
  EXPECT_EQ(builder.dictionary(2)->size(), 2u);  // "x", "z"
  const Rows rows = take_rows(builder);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1], (Row{std::int64_t{4}, std::string("a"), std::string("z"), 2.0}));
}

TEST(LineProtocol, RejectsBadSettings) {
  const Schema schema = sluice::parse_schema("t:timestamp[ms],n:i32,x:f64,v:f64");
  const auto code_of = [&](const LineProtocolOptions& options) {
    try {
      const LineProtocolParser parser(schema, options);
    } catch (const sluice::Error& e) {
      return e.code();
    }
    return sluice::ErrorCode::ok;
  };
  EXPECT_EQ(code_of(with_time("t")), sluice::ErrorCode::ok);
  EXPECT_EQ(code_of(with_time("missing")), sluice::ErrorCode::invalid_argument);
  EXPECT_EQ(code_of(with_time("")), sluice::ErrorCode::invalid_argument);
  EXPECT_EQ(code_of(with_time("n")), sluice::ErrorCode::invalid_argument);  // i32
  EXPECT_EQ(code_of(with_time("x")), sluice::ErrorCode::invalid_argument);  // f64
  EXPECT_EQ(code_of(with_time("t", 0)), sluice::ErrorCode::invalid_argument);
  EXPECT_EQ(code_of(with_time("t", -1000)), sluice::ErrorCode::invalid_argument);
  // A builder of another schema.
  const LineProtocolParser parser(schema, with_time("t"));
  BatchBuilder other(sluice::parse_schema("t:timestamp[ms],n:i32,x:f64"));
  try {
    parser.parse("m n=1i,x=1,v=1", other);
    ADD_FAILURE() << "no throw";
  } catch (const sluice::Error& e) {
    EXPECT_EQ(e.code(), sluice::ErrorCode::invalid_argument);
  }
}

// ---- Random points, written as line protocol by the test's own writer, read back. ----

/// Line protocol spellings of names and values.
std::string escape(std::string_view text, std::string_view specials) {
  std::string out;
  for (const char c : text) {
    if (specials.find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}
std::string escape_measurement(std::string_view text) { return escape(text, ", \\"); }
std::string escape_key(std::string_view text) { return escape(text, ",= \\"); }
std::string quote_string_field(std::string_view text) { return "\"" + escape(text, "\"\\") + "\""; }

/// Random text of the bytes line protocol must escape, and others. `name`: not empty.
std::string random_text(std::mt19937_64& rng, bool name) {
  static constexpr std::string_view kPieces[] = {
      "a", "b", "Z", "0", "7", " ", ",", "=", "\\", "\"", "#", "-", ".", "é", "\t", "'", "i",
  };
  std::string out;
  const std::size_t length = rng() % 9;
  for (std::size_t i = 0; i < length; ++i) out += kPieces[rng() % std::size(kPieces)];
  if (name && out.empty()) out += 'q';
  return out;
}

std::string float_text(double v) {
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

/// The settings a random round trip is run with: the time column's type and the precision.
struct TimeSetting {
  const char* type;
  std::int64_t tick;
};

/// What one random point should read as: one Value per column of `schema`, in order.
struct Body {
  std::string text;
  Rows want;
  std::uint64_t other_measurement = 0;
  std::uint64_t lines = 0;
};

constexpr std::string_view kMeasurement = "wea ther,m\\x=";

Body random_body(std::mt19937_64& rng, std::size_t points, const TimeSetting& time,
                 std::int64_t now_ns) {
  // Schema: host, s, t, f, i, u, b, n, region (see round_trip_schema()).
  Body body;
  const auto chance = [&](double p) { return std::uniform_real_distribution<double>()(rng) < p; };
  const auto next_line = [&](const std::string& line) {
    body.text += line;
    body.text += chance(0.2) ? "\r\n" : "\n";
    ++body.lines;
  };
  static constexpr std::string_view kBooleans[2][5] = {{"f", "F", "false", "False", "FALSE"},
                                                       {"t", "T", "true", "True", "TRUE"}};
  while (body.want.size() < points) {
    if (chance(0.05)) next_line(chance(0.5) ? "" : "  # " + random_text(rng, false));
    if (chance(0.15)) {
      next_line(escape_measurement(chance(0.5) ? "weather" : "other") + ",host=a v=1 " +
                std::to_string(rng() % 1000));
      ++body.other_measurement;
      continue;
    }
    const std::string host = random_text(rng, true);
    const std::string region = random_text(rng, true);
    const std::string s = random_text(rng, false);
    const auto n = static_cast<std::int32_t>(rng());
    const double f = chance(0.3) ? static_cast<double>(static_cast<std::int32_t>(rng()))
                                 : std::ldexp(std::uniform_real_distribution<double>(-1, 1)(rng),
                                              static_cast<int>(rng() % 2000) - 1000);
    const auto i = static_cast<std::int64_t>(rng());
    const std::uint64_t u = rng();
    const bool b = chance(0.5);
    const std::string_view b_spelling = kBooleans[b ? 1 : 0][rng() % 5];

    // Tags and fields, in random order, with others the schema lacks.
    std::vector<std::string> tags = {"host=" + escape_key(host), "region=" + escape_key(region),
                                     "n=" + std::to_string(n)};
    std::vector<std::string> fields = {
        "f=" + float_text(f), "i=" + std::to_string(i) + "i", "u=" + std::to_string(u) + "u",
        "b=" + std::string(b_spelling), "s=" + quote_string_field(s)};
    for (std::size_t k = rng() % 3; k > 0; --k) {
      tags.push_back(escape_key("x~" + random_text(rng, true)) + "=" +
                     escape_key(random_text(rng, true)));
    }
    for (std::size_t k = rng() % 3; k > 0; --k) {
      const std::string key = escape_key("y~" + random_text(rng, true)) + "=";
      switch (rng() % 4) {
        case 0:
          fields.push_back(key + quote_string_field(random_text(rng, false)));
          break;
        case 1:
          fields.push_back(key + std::to_string(static_cast<std::int64_t>(rng())) + "i");
          break;
        case 2:
          fields.push_back(key + float_text(std::uniform_real_distribution<double>()(rng)));
          break;
        default:
          fields.push_back(key + "F");
      }
    }
    std::shuffle(tags.begin(), tags.end(), rng);
    std::shuffle(fields.begin(), fields.end(), rng);

    std::string line = chance(0.1) ? " " : "";
    line += escape_measurement(kMeasurement);
    for (const std::string& tag : tags) line += "," + tag;
    line += chance(0.1) ? "  " : " ";
    for (std::size_t k = 0; k < fields.size(); ++k) line += (k ? "," : "") + fields[k];

    std::int64_t want_time = 0;
    const bool timed = chance(0.9);
    const bool timestamp_column = std::string_view(time.type) != "i64";
    if (timed) {
      // Ticks that fit the column once converted.
      const std::int64_t limit = std::numeric_limits<std::int64_t>::max() / time.tick / 1000;
      const std::int64_t ticks = std::uniform_int_distribution<std::int64_t>(-limit, limit)(rng);
      line += " " + std::to_string(ticks);
      if (timestamp_column) {
        const std::int64_t unit_ns = sluice::nanos_per_unit(sluice::parse_type(time.type).unit);
        const std::int64_t ns = ticks * time.tick;
        want_time = ns / unit_ns - (ns % unit_ns != 0 && ns < 0 ? 1 : 0);
      } else {
        want_time = ticks;
      }
    } else {
      const std::int64_t per =
          timestamp_column ? sluice::nanos_per_unit(sluice::parse_type(time.type).unit) : time.tick;
      want_time = now_ns / per - (now_ns % per != 0 && now_ns < 0 ? 1 : 0);
    }
    if (chance(0.1)) line += " ";
    next_line(line);
    body.want.push_back(Row{host, s, want_time, f, i, u, b, std::int64_t{n}, region});
  }
  return body;
}

Schema round_trip_schema(const char* time_type) {
  return sluice::parse_schema(std::string("host:string,s:string,t:") + time_type +
                              ",f:f64,i:i64,u:u64,b:bool,n:i32,region:string");
}

TEST(LineProtocol, RoundTripsRandomPoints) {
  const TimeSetting settings[] = {
      {"timestamp[ns]", kNs},   {"timestamp[ms]", kS}, {"timestamp[s]", kMs},
      {"timestamp[us]", kHour}, {"i64", kMs},
  };
  const std::int64_t now_ns = -1'234'567'891'234'567'891;
  for (const TimeSetting& time : settings) {
    const Schema schema = round_trip_schema(time.type);
    LineProtocolOptions options = with_time("t", time.tick);
    options.measurement = std::string(kMeasurement);
    options.now_ns = now_ns;
    const LineProtocolParser parser(schema, options);
    for (const std::size_t points : {0, 1, 7, 1000}) {
      for (const std::uint64_t seed : {1, 2, 3, 4}) {
        std::mt19937_64 rng(seed * 7919 + points);
        const Body body = random_body(rng, points, time, now_ns);
        const std::string where = std::string(time.type) + " tick " + std::to_string(time.tick) +
                                  " points " + std::to_string(points) + " seed " +
                                  std::to_string(seed);
        BatchBuilder builder(schema);
        const LineOutcome outcome = parser.parse(body.text, builder);
        ASSERT_EQ(outcome.malformed, 0u) << where << ": line " << outcome.problems[0].line << ": "
                                         << outcome.problems[0].message;
        EXPECT_EQ(outcome.rows, points) << where;
        EXPECT_EQ(outcome.ignored, body.other_measurement) << where;
        const Rows rows = take_rows(builder);
        ASSERT_EQ(rows.size(), body.want.size()) << where;
        for (std::size_t r = 0; r < rows.size(); ++r) {
          ASSERT_EQ(rows[r], body.want[r]) << where << " row " << r;
        }
      }
    }
  }
}

TEST(LineProtocol, PiecewiseParsingMatchesWholeParsing) {
  std::mt19937_64 rng(99);
  const TimeSetting time{"timestamp[ns]", kNs};
  const Body body = random_body(rng, 200, time, 0);
  // Break some lines so that there are problems to number.
  std::string text;
  std::size_t line_index = 0;
  std::vector<std::size_t> line_starts;  // of the edited text
  for (std::size_t pos = 0; pos < body.text.size();) {
    std::size_t end = body.text.find('\n', pos);
    if (end == std::string::npos) end = body.text.size();
    line_starts.push_back(text.size());
    std::string line = body.text.substr(pos, end - pos);
    if (line_index++ % 9 == 4) line.resize(line.size() / 2);
    text += line + "\n";
    pos = end + 1;
  }
  const Schema schema = round_trip_schema(time.type);
  LineProtocolOptions options = with_time("t");
  options.measurement = std::string(kMeasurement);
  options.max_problems = 1000;
  const LineProtocolParser parser(schema, options);
  BatchBuilder whole(schema);
  const LineOutcome all = parser.parse(text, whole);
  ASSERT_GT(all.malformed, 0u);
  const Rows all_rows = take_rows(whole);
  for (const std::size_t cuts : {1, 2, 5}) {
    BatchBuilder pieces(schema);
    LineOutcome merged;
    std::vector<std::size_t> cut_lines = {0};
    for (std::size_t k = 1; k <= cuts; ++k)
      cut_lines.push_back(line_starts.size() * k / (cuts + 1));
    cut_lines.push_back(line_starts.size());
    for (std::size_t k = 0; k + 1 < cut_lines.size(); ++k) {
      const std::size_t begin = line_starts[cut_lines[k]];
      const std::size_t end =
          cut_lines[k + 1] < line_starts.size() ? line_starts[cut_lines[k + 1]] : text.size();
      merged.merge(
          parser.parse(std::string_view(text).substr(begin, end - begin), pieces, cut_lines[k] + 1),
          options.max_problems);
    }
    EXPECT_EQ(merged.rows, all.rows);
    EXPECT_EQ(merged.malformed, all.malformed);
    EXPECT_EQ(merged.ignored, all.ignored);
    ASSERT_EQ(merged.problems.size(), all.problems.size());
    for (std::size_t p = 0; p < all.problems.size(); ++p) {
      EXPECT_EQ(merged.problems[p].line, all.problems[p].line);
      EXPECT_EQ(merged.problems[p].message, all.problems[p].message);
    }
    EXPECT_EQ(take_rows(pieces), all_rows);
  }
}

// ---- Random bytes and broken lines: counted, never a crash. ----

/// Lines of `text` that are neither blank nor comments, split as the parser splits them.
std::uint64_t counted_lines(std::string_view text) {
  std::uint64_t count = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::size_t first = line.find_first_not_of(" \t");
    if (first != std::string_view::npos && line[first] != '#') ++count;
  }
  return count;
}

TEST(LineProtocol, SurvivesRandomBytesAndBrokenLines) {
  const Schema schema = sluice::parse_schema(
      "t:timestamp[ms],host:string,n:i32,v:f64,ok:bool,s:string,at:timestamp[s],u:u64");
  static constexpr std::string_view kBytes = " ,=\"\\\n\r#.-+eEiutTfF0123456789mvns";
  std::uint64_t total_rows = 0;
  std::uint64_t total_malformed = 0;
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    std::mt19937_64 rng(seed);
    std::string text;
    const int kind = static_cast<int>(seed % 3);
    if (kind == 0) {  // random bytes, mostly the ones line protocol gives meaning to
      const std::size_t length = rng() % 400;
      for (std::size_t i = 0; i < length; ++i) {
        text += rng() % 3 == 0 ? static_cast<char>(rng() & 0xFF) : kBytes[rng() % kBytes.size()];
      }
    } else {  // valid lines truncated, or with bytes changed
      const std::string valid =
          "m,host=a\\ b,n=-5,at=2026-12-02 v=1.5,ok=T,s=\"q\\\"x y\",u=3u 1700000000000\n"
          "m,host=c n=7i,v=-1e3,ok=false,s=\"\",u=0u,at=\"2026-12-02T17:00:05Z\"\n";
      for (int piece = 0; piece < 20; ++piece) {
        std::string line = valid.substr(0, rng() % (valid.size() + 1));
        if (kind == 2) {
          for (int flips = 1 + static_cast<int>(rng() % 3); flips > 0 && !line.empty(); --flips) {
            line[rng() % line.size()] = static_cast<char>(rng() & 0xFF);
          }
        }
        text += line;
        if (rng() % 2) text += '\n';
      }
    }
    LineProtocolOptions options = with_time("t", seed % 2 ? kMs : kNs);
    options.max_problems = 5;
    options.max_line_bytes = seed % 5 == 0 ? 40 : 1 << 16;
    if (seed % 4 == 0) options.measurement = "m";
    const LineProtocolParser parser(schema, options);
    BatchBuilder builder(schema);
    const std::uint64_t first_line = seed % 7 + 1;
    const LineOutcome outcome = parser.parse(text, builder, first_line);
    const std::uint64_t lines = counted_lines(text);
    ASSERT_EQ(outcome.rows + outcome.malformed + outcome.ignored, lines) << "seed " << seed;
    ASSERT_EQ(builder.rows(), outcome.rows) << "seed " << seed;
    ASSERT_EQ(outcome.problems.size(), std::min<std::uint64_t>(outcome.malformed, 5));
    const auto physical_lines =
        static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    for (const auto& problem : outcome.problems) {
      EXPECT_GE(problem.line, first_line);
      EXPECT_LT(problem.line, first_line + physical_lines);
      EXPECT_FALSE(problem.message.empty());
    }
    // Every string column's dictionary holds only strings of rows.
    const sluice::Batch batch = builder.finish();
    for (const std::size_t c : {std::size_t{1}, std::size_t{5}}) {
      EXPECT_LE(batch.dictionary(c)->size(), batch.rows()) << "seed " << seed;
    }
    total_rows += outcome.rows;
    total_malformed += outcome.malformed;
  }
  // The inputs reached both outcomes.
  EXPECT_GT(total_rows, 50u);
  EXPECT_GT(total_malformed, 500u);
}

}  // namespace
