// Tests of the aggregate factories and parse_aggregates.
#include <gtest/gtest.h>

#include "expect_error.hpp"
#include "sluice/aggregate.hpp"

namespace sluice {
namespace {

using test::contains;
using test::error_message;

TEST(Aggregate, FactoriesNameResults) {
  EXPECT_EQ(count().name, "count");
  EXPECT_EQ(count().kind, AggKind::count);
  EXPECT_FALSE(count().input.has_value());
  EXPECT_EQ(sum(col("cpu")).name, "sum(cpu)");
  EXPECT_EQ(min(col("cpu")).name, "min(cpu)");
  EXPECT_EQ(max(col("cpu")).name, "max(cpu)");
  EXPECT_EQ(avg(col("cpu")).name, "avg(cpu)");
  EXPECT_EQ(avg(col("cpu")).kind, AggKind::avg);
  EXPECT_EQ(max(col("cpu") * lit(2)).name, "max((cpu * 2))");
  ASSERT_TRUE(sum(col("cpu")).input.has_value());
  EXPECT_EQ(sum(col("cpu")).input->to_string(), "cpu");
}

TEST(Aggregate, Rename) {
  const AggregateSpec a = avg(col("cpu")).as("mean_cpu");
  EXPECT_EQ(a.name, "mean_cpu");
  EXPECT_EQ(a.kind, AggKind::avg);
  EXPECT_EQ(a.input->to_string(), "cpu");
  error_message([] { count().as(""); }, ErrorCode::invalid_argument);
  error_message([] { sum(Expr()); }, ErrorCode::invalid_argument);
}

TEST(AggregateParse, List) {
  const auto specs = parse_aggregates("count, sum(cpu),max(cpu * 2) ,avg( mem ),min(x),count()");
  ASSERT_EQ(specs.size(), 6u);
  EXPECT_EQ(specs[0].kind, AggKind::count);
  EXPECT_EQ(specs[0].name, "count");
  EXPECT_FALSE(specs[0].input.has_value());
  EXPECT_EQ(specs[1].kind, AggKind::sum);
  EXPECT_EQ(specs[1].name, "sum(cpu)");
  EXPECT_EQ(specs[1].input->to_string(), "cpu");
  EXPECT_EQ(specs[2].kind, AggKind::max);
  EXPECT_EQ(specs[2].name, "max(cpu * 2)");
  EXPECT_EQ(specs[2].input->to_string(), "(cpu * 2)");
  EXPECT_EQ(specs[3].kind, AggKind::avg);
  EXPECT_EQ(specs[3].name, "avg( mem )");
  EXPECT_EQ(specs[4].kind, AggKind::min);
  EXPECT_EQ(specs[5].kind, AggKind::count);
  EXPECT_EQ(specs[5].name, "count()");
  EXPECT_FALSE(specs[5].input.has_value());
}

TEST(AggregateParse, CommasInsideParenthesesAndStrings) {
  const auto specs = parse_aggregates("sum((a + b) * (c - d)),max(host == 'a,b'),count");
  ASSERT_EQ(specs.size(), 3u);
  EXPECT_EQ(specs[0].name, "sum((a + b) * (c - d))");
  EXPECT_EQ(specs[1].name, "max(host == 'a,b')");
  EXPECT_EQ(specs[2].name, "count");
}

TEST(AggregateParse, AsNamesTheResult) {
  const auto specs = parse_aggregates("count as n, max(cpu * 2) AS peak_2,sum(x)   as  s");
  ASSERT_EQ(specs.size(), 3u);
  EXPECT_EQ(specs[0].kind, AggKind::count);
  EXPECT_EQ(specs[0].name, "n");
  EXPECT_EQ(specs[1].name, "peak_2");
  EXPECT_EQ(specs[1].input->to_string(), "(cpu * 2)");
  EXPECT_EQ(specs[2].name, "s");
  // Only a trailing " as NAME" names: inside the parentheses it is the expression's (an error).
  error_message([] { parse_aggregates("avg(a as b)"); }, ErrorCode::parse_error);
  EXPECT_TRUE(contains(error_message([] { parse_aggregates("sum(x) as"); }, ErrorCode::parse_error),
                       "unexpected text after ')'"));
  EXPECT_TRUE(
      contains(error_message([] { parse_aggregates("sum(x) as 2x"); }, ErrorCode::parse_error),
               "unexpected text after ')'"));
}

TEST(AggregateParse, FunctionNamesAreCaseInsensitive) {
  const auto specs = parse_aggregates("COUNT,Sum(cpu)");
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].kind, AggKind::count);
  EXPECT_EQ(specs[1].kind, AggKind::sum);
  EXPECT_EQ(specs[1].name, "Sum(cpu)");
}

TEST(AggregateParse, UnknownFunctionNamesItAndItsPosition) {
  const std::string message =
      error_message([] { parse_aggregates("count, median(cpu)"); }, ErrorCode::parse_error);
  EXPECT_TRUE(contains(message, "'median'"));
  EXPECT_TRUE(contains(message, "position 8"));
  EXPECT_TRUE(contains(message, "'count, median(cpu)'"));
}

TEST(AggregateParse, ExpressionPositionsAreInTheWholeList) {
  //                                     0123456789012345
  const auto specs = parse_aggregates("count, max(cpu)");
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[1].input->node().position, 11);

  const std::string message =
      error_message([] { parse_aggregates("count, max(cpu > )"); }, ErrorCode::parse_error);
  EXPECT_EQ(message,
            "bad aggregate 'max(cpu > )' at position 18: expected an operand: "
            "'count, max(cpu > )'");
}

TEST(AggregateParse, Errors) {
  struct Case {
    const char* text;
    const char* position;
    const char* what;
  };
  const Case cases[] = {
      {"", "position 1", "empty aggregate"},
      {"count,", "position 7", "empty aggregate"},
      {"count,,sum(x)", "position 7", "empty aggregate"},
      {"sum", "position 4", "sum needs an argument"},
      {"sum()", "position 5", "sum needs an argument"},
      {"sum cpu", "position 5", "expected '('"},
      {"sum(cpu", "position 8", "missing ')'"},
      {"sum(cpu))", "position 9", "unbalanced ')'"},
      {"sum(cpu) x", "position 10", "unexpected text after ')'"},
      {"count(cpu)", "position 7", "count takes no argument"},
      {"max(cpu >)", "position 10", "expected an operand"},
      {"max(1 < a < 2)", "position 11", "chained"},
      {"(cpu)", "position 1", "expected an aggregate function name"},
      {"max(host == 'x)", "position 13", "unterminated string"},
  };
  for (const Case& c : cases) {
    const std::string message =
        error_message([&] { parse_aggregates(c.text); }, ErrorCode::parse_error);
    EXPECT_TRUE(contains(message, c.position)) << c.text;
    EXPECT_TRUE(contains(message, c.what)) << c.text;
  }
}

}  // namespace
}  // namespace sluice
