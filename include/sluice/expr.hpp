// Expression trees over columns: references, literals, arithmetic, comparisons, LIKE and logic.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sluice {

/// Operators of expression nodes.
enum class ExprOp : std::uint8_t {
  column,
  literal,  // leaves
  neg,
  logical_not,  // unary
  add,
  sub,
  mul,
  div,  // arithmetic
  eq,
  ne,
  lt,
  le,
  gt,
  ge,  // comparison
  logical_and,
  logical_or,  // logic
  like,        // a string against a LIKE pattern (a string literal)
};

/// @brief The operator's text ("+", "==", "and", "not"); "?" for column and literal.
const char* to_string(ExprOp op) noexcept;

/// @brief How deep an expression tree may be (a leaf is 1 deep, `a + b` 2): parse_expression and
/// the operators below refuse deeper ones, so that nothing walking a tree (the compiler, the
/// text, the destructor) recurses further. A flat chain `a + b + c + ...` is as deep as it has
/// operators.
inline constexpr int kMaxExpressionDepth = 256;

/// @brief One node of an immutable expression tree.
struct ExprNode {
  ExprOp op = ExprOp::literal;
  std::string column;                                             ///< for ExprOp::column
  std::variant<std::int64_t, double, bool, std::string> literal;  ///< for ExprOp::literal
  std::vector<std::shared_ptr<const ExprNode>> args;              ///< operands
  int position = -1;  ///< offset in the source text, when parsed
  int depth = 1;      ///< depth of the tree below and including this node
};

/// @brief A value-semantic handle to an expression tree. Build with col(), lit() and the
/// operators below, or parse_expression(); a tree built by hand must hold its nodes' depths and
/// be at most kMaxExpressionDepth deep.
class Expr {
 public:
  Expr() = default;
  explicit Expr(std::shared_ptr<const ExprNode> node) : node_(std::move(node)) {}
  const ExprNode& node() const { return *node_; }
  bool valid() const noexcept { return node_ != nullptr; }
  /// @brief Readable form, fully parenthesized ("((cpu > 50) and (status == 200))").
  std::string to_string() const;

 private:
  std::shared_ptr<const ExprNode> node_;
};

Expr col(std::string name);
Expr lit(std::int64_t v);
inline Expr lit(int v) { return lit(static_cast<std::int64_t>(v)); }
Expr lit(double v);
Expr lit(bool v);
Expr lit(std::string v);
inline Expr lit(const char* v) { return lit(std::string(v)); }

/// @throws Error(invalid_argument) when the result would be deeper than kMaxExpressionDepth.
Expr operator-(const Expr& a);
Expr operator!(const Expr& a);
Expr operator+(const Expr& a, const Expr& b);
Expr operator-(const Expr& a, const Expr& b);
Expr operator*(const Expr& a, const Expr& b);
Expr operator/(const Expr& a, const Expr& b);
Expr operator==(const Expr& a, const Expr& b);
Expr operator!=(const Expr& a, const Expr& b);
Expr operator<(const Expr& a, const Expr& b);
Expr operator<=(const Expr& a, const Expr& b);
Expr operator>(const Expr& a, const Expr& b);
Expr operator>=(const Expr& a, const Expr& b);
Expr operator&&(const Expr& a, const Expr& b);
Expr operator||(const Expr& a, const Expr& b);

/// @brief Whether string `text` matches `pattern` as SQL's LIKE does: '%' stands for any run of
/// characters, '_' for one (a UTF-8 code point), any other character for itself (case
/// matters; no escape). The
/// pattern is applied to each distinct string once, as the job's dictionary grows, not per
/// event. @throws Error(invalid_argument) when the result would be too deep.
Expr like(const Expr& text, std::string pattern);

/// @brief Parses an expression: column names (a broadcast input's as name.column),
/// integer/float/'string'/"string" literals,
/// true/false, + - * /, == != < <= > >=, `like 'pattern'`, and/or/not (also && || !),
/// parentheses.
/// @throws Error(parse_error) whose message gives the 1-based position and the text (also for
/// an expression nested deeper than kMaxExpressionDepth).
Expr parse_expression(std::string_view text);

}  // namespace sluice
