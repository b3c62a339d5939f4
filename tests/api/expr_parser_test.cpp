// Tests of parse_expression (precedence, literals, positions, errors) and Expr builders.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "expect_error.hpp"
#include "sluice/expr.hpp"

namespace sluice {
namespace {

using test::contains;
using test::error_message;

std::string parsed(std::string_view text) { return parse_expression(text).to_string(); }

TEST(ExprBuilders, ToString) {
  EXPECT_EQ(col("cpu").to_string(), "cpu");
  EXPECT_EQ(lit(5).to_string(), "5");
  EXPECT_EQ(lit(std::int64_t{-7}).to_string(), "-7");
  EXPECT_EQ(lit(2.5).to_string(), "2.5");
  EXPECT_EQ(lit(2.0).to_string(), "2.0");
  EXPECT_EQ(lit(true).to_string(), "true");
  EXPECT_EQ(lit("web").to_string(), "'web'");
  EXPECT_EQ(((col("cpu") > lit(50)) && (col("status") == lit(200))).to_string(),
            "((cpu > 50) and (status == 200))");
  EXPECT_EQ((-col("x")).to_string(), "(-x)");
  EXPECT_EQ((!col("ok")).to_string(), "(not ok)");
  EXPECT_EQ((col("a") + col("b") * lit(2)).to_string(), "(a + (b * 2))");
  EXPECT_EQ((col("a") - col("b") / col("c")).to_string(), "(a - (b / c))");
  EXPECT_EQ((col("a") != lit(1) || col("a") <= lit(0) || col("a") >= lit(9)).to_string(),
            "(((a != 1) or (a <= 0)) or (a >= 9))");
  EXPECT_EQ((col("a") < lit(1)).to_string(), "(a < 1)");
  EXPECT_EQ(Expr().to_string(), "");
}

TEST(ExprBuilders, TreeShape) {
  const Expr e = col("cpu") * lit(2);
  EXPECT_EQ(e.node().op, ExprOp::mul);
  ASSERT_EQ(e.node().args.size(), 2u);
  EXPECT_EQ(e.node().args[0]->op, ExprOp::column);
  EXPECT_EQ(e.node().args[0]->column, "cpu");
  EXPECT_EQ(e.node().args[1]->op, ExprOp::literal);
  EXPECT_EQ(std::get<std::int64_t>(e.node().args[1]->literal), 2);
  EXPECT_EQ(e.node().position, -1);
}

TEST(ExprBuilders, Errors) {
  error_message([] { col(""); }, ErrorCode::invalid_argument);
  error_message([] { (void)(col("a") + Expr()); }, ErrorCode::invalid_argument);
}

TEST(ExprParser, Precedence) {
  EXPECT_EQ(parsed("a + b * c"), "(a + (b * c))");
  EXPECT_EQ(parsed("(a + b) * c"), "((a + b) * c)");
  EXPECT_EQ(parsed("a - b - c"), "((a - b) - c)");
  EXPECT_EQ(parsed("a / b * c"), "((a / b) * c)");
  EXPECT_EQ(parsed("a or b and c"), "(a or (b and c))");
  EXPECT_EQ(parsed("a and b or c"), "((a and b) or c)");
  EXPECT_EQ(parsed("not a == b"), "(not (a == b))");
  EXPECT_EQ(parsed("not a and b"), "((not a) and b)");
  EXPECT_EQ(parsed("!!a"), "(not (not a))");
  EXPECT_EQ(parsed("a + 1 > b * 2"), "((a + 1) > (b * 2))");
  EXPECT_EQ(parsed("-a * b"), "((-a) * b)");
  EXPECT_EQ(parsed("- -a"), "(-(-a))");
  EXPECT_EQ(parsed("cpu > 50 && status == 200 || host != 'x'"),
            "(((cpu > 50) and (status == 200)) or (host != 'x'))");
  EXPECT_EQ(parsed("((cpu))"), "cpu");
}

TEST(ExprParser, ComparisonOperators) {
  EXPECT_EQ(parse_expression("a == 1").node().op, ExprOp::eq);
  EXPECT_EQ(parse_expression("a != 1").node().op, ExprOp::ne);
  EXPECT_EQ(parse_expression("a < 1").node().op, ExprOp::lt);
  EXPECT_EQ(parse_expression("a <= 1").node().op, ExprOp::le);
  EXPECT_EQ(parse_expression("a > 1").node().op, ExprOp::gt);
  EXPECT_EQ(parse_expression("a >= 1").node().op, ExprOp::ge);
  EXPECT_EQ(parse_expression("a AND b").node().op, ExprOp::logical_and);
  EXPECT_EQ(parse_expression("a Or b").node().op, ExprOp::logical_or);
  EXPECT_EQ(parse_expression("NOT a").node().op, ExprOp::logical_not);
}

TEST(ExprParser, Literals) {
  const auto literal = [](std::string_view text) { return parse_expression(text).node().literal; };
  EXPECT_EQ(std::get<std::int64_t>(literal("42")), 42);
  EXPECT_EQ(std::get<std::int64_t>(literal("9223372036854775807")), INT64_MAX);
  EXPECT_EQ(std::get<double>(literal("2.5")), 2.5);
  EXPECT_EQ(std::get<double>(literal(".5")), 0.5);
  EXPECT_EQ(std::get<double>(literal("3.")), 3.0);
  EXPECT_EQ(std::get<double>(literal("1e3")), 1000.0);
  EXPECT_EQ(std::get<double>(literal("1.5E-2")), 0.015);
  EXPECT_EQ(std::get<std::string>(literal("'web-1'")), "web-1");
  EXPECT_EQ(std::get<std::string>(literal("\"it's\"")), "it's");
  EXPECT_EQ(std::get<std::string>(literal("''")), "");
  EXPECT_TRUE(std::get<bool>(literal("true")));
  EXPECT_FALSE(std::get<bool>(literal("FALSE")));
  EXPECT_EQ(parse_expression("x").node().op, ExprOp::column);
  EXPECT_EQ(parse_expression("_x9").node().column, "_x9");
  EXPECT_EQ(parse_expression("truex").node().column, "truex");
  EXPECT_EQ(parsed("-5"), "(-5)");
  EXPECT_EQ(parsed("\"it's\""), "\"it's\"");
}

TEST(ExprParser, Positions) {
  //                                0123456789012345
  const Expr e = parse_expression("cpu > 5 and  ok");
  EXPECT_EQ(e.node().op, ExprOp::logical_and);
  EXPECT_EQ(e.node().position, 8);
  const ExprNode& cmp = *e.node().args[0];
  EXPECT_EQ(cmp.position, 4);
  EXPECT_EQ(cmp.args[0]->position, 0);
  EXPECT_EQ(cmp.args[1]->position, 6);
  EXPECT_EQ(e.node().args[1]->position, 13);
  EXPECT_EQ(parse_expression("  -x").node().position, 2);
  EXPECT_EQ(parse_expression("  -x").node().args[0]->position, 3);
}

TEST(ExprParser, ErrorMessageFormat) {
  const std::string message =
      error_message([] { parse_expression("cpu > > 5"); }, ErrorCode::parse_error);
  EXPECT_EQ(message, "bad expression at position 7: expected an operand: 'cpu > > 5'");
}

TEST(ExprParser, ErrorsGivePositionAndText) {
  struct Case {
    const char* text;
    int position;  // 1-based
    const char* what;
  };
  const Case cases[] = {
      {"", 1, "expected an operand"},
      {"   ", 4, "expected an operand"},
      {"cpu >", 6, "expected an operand"},
      {"(a + b", 7, "expected ')' to close '(' at position 1"},
      {"a + b)", 6, "unexpected ')'"},
      {"cpu 5", 5, "unexpected '5'"},
      {"a = 1", 3, "'=='"},
      {"a & b", 3, "'&&'"},
      {"a | b", 3, "'||'"},
      {"a # b", 3, "unexpected character '#'"},
      {"host == 'web", 9, "unterminated string"},
      {"1 < a < 3", 7, "chained"},
      {"12abc", 1, "bad number '12abc'"},
      {"1e+", 1, "bad number"},
      {"1.2.3", 1, "bad number '1.2.3'"},
      {"9223372036854775808", 1, "out of range"},
      {"1e999", 1, "out of range"},
      {"a * ()", 6, "expected an operand"},
      {"a and or b", 7, "expected an operand"},
      {"not", 4, "expected an operand"},
  };
  for (const Case& c : cases) {
    const std::string message =
        error_message([&] { parse_expression(c.text); }, ErrorCode::parse_error);
    const std::string prefix = "bad expression at position " + std::to_string(c.position) + ":";
    EXPECT_TRUE(contains(message, prefix)) << c.text;
    EXPECT_TRUE(contains(message, c.what)) << c.text;
    EXPECT_TRUE(contains(message, std::string("'") + c.text + "'")) << c.text;
  }
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// Deep expressions are refused with a clear error instead of overflowing the stack: nesting by
// parentheses, not and unary minus, and long flat chains, from text and from the operators.
TEST(ExprDepth, DeepTextIsAParseErrorNamingThePosition) {
  const auto refused = [](const std::string& text, std::size_t position, const char* why) {
    const std::string m = error_message([&] { parse_expression(text); }, ErrorCode::parse_error);
    EXPECT_TRUE(contains(m, why)) << m.substr(0, 200);
    EXPECT_TRUE(contains(m, "at position " + std::to_string(position))) << m.substr(0, 200);
  };
  // The parser's own nesting (parentheses, not, unary minus) stops at 512 levels, twice the
  // tree's depth: what to_string prints of a tree at the limit parses again.
  const char* nested = "parentheses and unary operators nested deeper than 512 levels";
  const char* deep = "expression nested deeper than 256 levels";
  refused(std::string(100000, '(') + "a" + std::string(100000, ')'), 513, nested);
  std::string nots;
  for (int i = 0; i < 5000; ++i) nots += "not ";
  refused(nots + "ok", 513 * 4 - 3, nested);
  refused(std::string(3000, '-') + "x", 513, nested);
  // 300 unary minuses nest within the parser's bound; the tree they build is 301 deep: refused
  // at the minus whose node would be the 257th level (built innermost first).
  refused(std::string(300, '-') + "x", 300 - 256 + 1, deep);
  std::string chain = "a";
  for (int i = 0; i < 5000; ++i) chain += " + a";
  refused(chain, 256 * 4 - 1, deep);  // the '+' that makes the tree 257 deep
  std::string mixed;
  for (int i = 0; i < 2000; ++i) mixed += "(a * -";
  refused(mixed + "b" + std::string(2000, ')'), 256 * 6 + 1, nested);  // 513th: a '('
}

TEST(ExprDepth, WhatToStringPrintsOfATreeAtTheLimitParsesAgain) {
  // Unary operators print in parentheses of their own: a chain of them at the depth limit
  // nests twice as deep in text, and must still read back.
  for (const char* op : {"-", "not "}) {
    std::string text = "x";
    for (int i = 1; i < kMaxExpressionDepth; ++i) text = op + text;
    const Expr e = parse_expression(text);
    EXPECT_EQ(e.node().depth, kMaxExpressionDepth);
    EXPECT_EQ(parse_expression(e.to_string()).to_string(), e.to_string()) << op;
  }
  // Found by fuzzing: a subtraction chain beside a long chain of negations.
  const std::string found = "1-3-3-3-1-3-3" + std::string(150, '-') + "3";
  const Expr e = parse_expression(found);
  EXPECT_EQ(parse_expression(e.to_string()).to_string(), e.to_string());
}

TEST(ExprDepth, TheLimitItselfParsesCompilesAndPrints) {
  std::string chain = "a";
  for (int i = 0; i < kMaxExpressionDepth - 1; ++i) chain += " + a";
  const Expr e = parse_expression(chain);
  EXPECT_EQ(e.node().depth, kMaxExpressionDepth);
  EXPECT_EQ(e.to_string().size(), chain.size() + 2 * (kMaxExpressionDepth - 1));
  const std::string nested =
      std::string(kMaxExpressionDepth, '(') + "a" + std::string(kMaxExpressionDepth, ')');
  EXPECT_EQ(parse_expression(nested).to_string(), "a");
}

TEST(ExprDepth, OperatorsRefuseTreesDeeperThanTheLimit) {
  Expr e = col("a");
  for (int i = 1; i < kMaxExpressionDepth; ++i) e = e + col("a");
  EXPECT_EQ(e.node().depth, kMaxExpressionDepth);
  EXPECT_TRUE(contains(error_message([&] { e = e * lit(2); }, ErrorCode::invalid_argument),
                       "nested deeper than 256 levels (operator *)"));
  EXPECT_TRUE(
      contains(error_message([&] { e = !(e > lit(1)); }, ErrorCode::invalid_argument), "deeper"));
  EXPECT_EQ(e.node().depth, kMaxExpressionDepth) << "a refused operator leaves its operand";
  // Depths combine as the deeper operand's plus one.
  EXPECT_EQ((col("x") + (col("y") * (col("z") - lit(1)))).node().depth, 4);
}

}  // namespace
}  // namespace sluice
