// Expr: building expression trees (col, lit, operators) and their readable text.
#include "sluice/expr.hpp"

#include <algorithm>
#include <charconv>
#include <type_traits>
#include <utility>

#include "sluice/status.hpp"

namespace sluice {
namespace {

// Nodes are built in place on the heap: moving a stack ExprNode (its variant holds a string)
// trips GCC 12's -Wmaybe-uninitialized false positive.
template <class T>
Expr make_literal(T value) {
  auto node = std::make_shared<ExprNode>();
  node->op = ExprOp::literal;
  node->literal = std::move(value);
  return Expr(std::move(node));
}

Expr make_op(ExprOp op, std::initializer_list<const Expr*> operands) {
  auto node = std::make_shared<ExprNode>();
  node->op = op;
  for (const Expr* e : operands) {
    if (!e->valid()) {
      throw Error(ErrorCode::invalid_argument, "expression operand is empty (default Expr)");
    }
    node->depth = std::max(node->depth, e->node().depth + 1);
    if (node->depth > kMaxExpressionDepth)
      throw Error(ErrorCode::invalid_argument,
                  std::string("expression nested deeper than ") +
                      std::to_string(kMaxExpressionDepth) + " levels (operator " + to_string(op) +
                      "); build it flatter, e.g. sum a long list in halves");
    // Expr exposes its node only by reference, so the operand's root is copied; that copy is
    // shallow (the operand's own children stay shared).
    node->args.push_back(std::make_shared<const ExprNode>(e->node()));
  }
  return Expr(std::move(node));
}

}  // namespace

const char* to_string(ExprOp op) noexcept {
  switch (op) {
    case ExprOp::neg:
      return "-";
    case ExprOp::logical_not:
      return "not";
    case ExprOp::add:
      return "+";
    case ExprOp::sub:
      return "-";
    case ExprOp::mul:
      return "*";
    case ExprOp::div:
      return "/";
    case ExprOp::eq:
      return "==";
    case ExprOp::ne:
      return "!=";
    case ExprOp::lt:
      return "<";
    case ExprOp::le:
      return "<=";
    case ExprOp::gt:
      return ">";
    case ExprOp::ge:
      return ">=";
    case ExprOp::logical_and:
      return "and";
    case ExprOp::logical_or:
      return "or";
    case ExprOp::like:
      return "like";
    case ExprOp::column:
    case ExprOp::literal:
      break;
  }
  return "?";
}

namespace {

std::string double_text(double v) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), v);
  std::string text(buffer, result.ptr);
  // Keep a float literal recognisable as one ("2.0", not "2").
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

std::string literal_text(const ExprNode& node) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          return double_text(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          const char quote = v.find('\'') == std::string::npos ? '\'' : '"';
          return quote + v + quote;
        } else {
          return std::to_string(v);
        }
      },
      node.literal);
}

// `budget` bounds the recursion for trees built by hand without their depths.
void append_text(const ExprNode& node, std::string& out, int budget = kMaxExpressionDepth) {
  if (budget <= 0) {
    out += "...";
    return;
  }
  switch (node.op) {
    case ExprOp::column:
      out += node.column;
      return;
    case ExprOp::literal:
      out += literal_text(node);
      return;
    case ExprOp::neg:
    case ExprOp::logical_not:
      out += '(';
      out += to_string(node.op);
      if (node.op == ExprOp::logical_not) out += ' ';
      if (!node.args.empty() && node.args[0]) append_text(*node.args[0], out, budget - 1);
      out += ')';
      return;
    default:
      out += '(';
      if (node.args.size() > 0 && node.args[0]) append_text(*node.args[0], out, budget - 1);
      out += ' ';
      out += to_string(node.op);
      out += ' ';
      if (node.args.size() > 1 && node.args[1]) append_text(*node.args[1], out, budget - 1);
      out += ')';
      return;
  }
}

}  // namespace

std::string Expr::to_string() const {
  if (!node_) return {};
  std::string out;
  append_text(*node_, out);
  return out;
}

Expr col(std::string name) {
  if (name.empty()) throw Error(ErrorCode::invalid_argument, "col(): empty column name");
  auto node = std::make_shared<ExprNode>();
  node->op = ExprOp::column;
  node->column = std::move(name);
  return Expr(std::move(node));
}

Expr lit(std::int64_t v) { return make_literal(v); }
Expr lit(double v) { return make_literal(v); }
Expr lit(bool v) { return make_literal(v); }
Expr lit(std::string v) { return make_literal(std::move(v)); }

Expr operator-(const Expr& a) { return make_op(ExprOp::neg, {&a}); }
Expr operator!(const Expr& a) { return make_op(ExprOp::logical_not, {&a}); }
Expr operator+(const Expr& a, const Expr& b) { return make_op(ExprOp::add, {&a, &b}); }
Expr operator-(const Expr& a, const Expr& b) { return make_op(ExprOp::sub, {&a, &b}); }
Expr operator*(const Expr& a, const Expr& b) { return make_op(ExprOp::mul, {&a, &b}); }
Expr operator/(const Expr& a, const Expr& b) { return make_op(ExprOp::div, {&a, &b}); }
Expr operator==(const Expr& a, const Expr& b) { return make_op(ExprOp::eq, {&a, &b}); }
Expr operator!=(const Expr& a, const Expr& b) { return make_op(ExprOp::ne, {&a, &b}); }
Expr operator<(const Expr& a, const Expr& b) { return make_op(ExprOp::lt, {&a, &b}); }
Expr operator<=(const Expr& a, const Expr& b) { return make_op(ExprOp::le, {&a, &b}); }
Expr operator>(const Expr& a, const Expr& b) { return make_op(ExprOp::gt, {&a, &b}); }
Expr operator>=(const Expr& a, const Expr& b) { return make_op(ExprOp::ge, {&a, &b}); }
Expr operator&&(const Expr& a, const Expr& b) { return make_op(ExprOp::logical_and, {&a, &b}); }
Expr operator||(const Expr& a, const Expr& b) { return make_op(ExprOp::logical_or, {&a, &b}); }

Expr like(const Expr& text, std::string pattern) {
  const Expr p = lit(std::move(pattern));
  return make_op(ExprOp::like, {&text, &p});
}

}  // namespace sluice
