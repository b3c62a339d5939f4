// parse_expression: a recursive-descent parser from expression text to an Expr tree.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "expr_parser.hpp"
#include "sluice/expr.hpp"
#include "sluice/status.hpp"

namespace sluice {
namespace {

using NodePtr = std::shared_ptr<ExprNode>;

enum class TokenKind : std::uint8_t {
  end,
  integer,
  real,
  string,
  identifier,
  kw_and,
  kw_or,
  kw_not,
  kw_like,
  kw_true,
  kw_false,
  symbol,  // an operator or parenthesis; `text` says which
};

struct Token {
  TokenKind kind = TokenKind::end;
  std::size_t offset = 0;  // 0-based offset of the first character
  std::string_view text;   // as written (for strings: the content between the quotes)
};

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool equals_lower(std::string_view word, std::string_view lower) {
  if (word.size() != lower.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(word[i])) != lower[i]) return false;
  }
  return true;
}

class Parser {
 public:
  Parser(std::string_view text, std::size_t begin, std::size_t end, std::string_view label)
      : text_(text), end_(end), label_(label), pos_(begin) {
    advance();
  }

  Expr parse() {
    NodePtr root = parse_or();
    if (token_.kind != TokenKind::end) fail(token_.offset, "unexpected " + describe(token_));
    return Expr(std::move(root));
  }

 private:
  [[noreturn]] void fail(std::size_t offset, const std::string& what) const {
    throw Error(ErrorCode::parse_error, std::string(label_) + " at position " +
                                            std::to_string(offset + 1) + ": " + what + ": '" +
                                            excerpt(offset) + "'");
  }

  // The text, or for a long one the part around `offset` ("..." where cut).
  std::string excerpt(std::size_t offset) const {
    constexpr std::size_t kAround = 60;
    if (text_.size() <= 2 * kAround) return std::string(text_);
    const std::size_t from = offset > kAround ? offset - kAround : 0;
    const std::size_t to = std::min(text_.size(), offset + kAround);
    return (from > 0 ? "..." : "") + std::string(text_.substr(from, to - from)) +
           (to < text_.size() ? "..." : "");
  }

  std::string describe(const Token& t) const {
    if (t.kind == TokenKind::end) return "end of text";
    if (t.kind == TokenKind::string) return "string " + std::string(lexeme(t));
    return "'" + std::string(t.text) + "'";
  }

  // The token as written, quotes included.
  std::string_view lexeme(const Token& t) const {
    if (t.kind == TokenKind::string) return text_.substr(t.offset, t.text.size() + 2);
    return t.text;
  }

  bool is_symbol(std::string_view s) const {
    return token_.kind == TokenKind::symbol && token_.text == s;
  }

  // --- lexer ---

  void advance() {
    while (pos_ < end_ && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    token_ = Token{TokenKind::end, pos_, {}};
    if (pos_ >= end_) return;
    const std::size_t start = pos_;
    const char c = text_[pos_];
    if (is_digit(c) || (c == '.' && pos_ + 1 < end_ && is_digit(text_[pos_ + 1]))) {
      lex_number(start);
    } else if (is_ident_start(c)) {
      while (pos_ < end_ && is_ident_char(text_[pos_])) ++pos_;
      // A qualified name (a broadcast input's column: limits.max_cpu) is one identifier.
      const bool qualified =
          pos_ + 1 < end_ && text_[pos_] == '.' && is_ident_start(text_[pos_ + 1]);
      if (qualified) {
        pos_ += 2;
        while (pos_ < end_ && is_ident_char(text_[pos_])) ++pos_;
      }
      const std::string_view word = text_.substr(start, pos_ - start);
      TokenKind kind = TokenKind::identifier;
      if (equals_lower(word, "and"))
        kind = TokenKind::kw_and;
      else if (equals_lower(word, "or"))
        kind = TokenKind::kw_or;
      else if (equals_lower(word, "not"))
        kind = TokenKind::kw_not;
      else if (equals_lower(word, "like"))
        kind = TokenKind::kw_like;
      else if (equals_lower(word, "true"))
        kind = TokenKind::kw_true;
      else if (equals_lower(word, "false"))
        kind = TokenKind::kw_false;
      token_ = Token{kind, start, word};
    } else if (c == '\'' || c == '"') {
      const std::size_t close = text_.find(c, start + 1);
      if (close == std::string_view::npos || close >= end_) fail(start, "unterminated string");
      token_ = Token{TokenKind::string, start, text_.substr(start + 1, close - start - 1)};
      pos_ = close + 1;
    } else {
      lex_symbol(start);
    }
  }

  void lex_number(std::size_t start) {
    bool real = false;
    while (pos_ < end_ && is_digit(text_[pos_])) ++pos_;
    if (pos_ < end_ && text_[pos_] == '.') {
      real = true;
      ++pos_;
      while (pos_ < end_ && is_digit(text_[pos_])) ++pos_;
    }
    if (pos_ < end_ && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      real = true;
      ++pos_;
      if (pos_ < end_ && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (pos_ >= end_ || !is_digit(text_[pos_])) {
        fail(start, "bad number '" + std::string(text_.substr(start, pos_ - start)) + "'");
      }
      while (pos_ < end_ && is_digit(text_[pos_])) ++pos_;
    }
    if (pos_ < end_ && (is_ident_char(text_[pos_]) || text_[pos_] == '.')) {
      std::size_t stop = pos_;
      while (stop < end_ && (is_ident_char(text_[stop]) || text_[stop] == '.')) ++stop;
      fail(start, "bad number '" + std::string(text_.substr(start, stop - start)) + "'");
    }
    token_ = Token{real ? TokenKind::real : TokenKind::integer, start,
                   text_.substr(start, pos_ - start)};
  }

  void lex_symbol(std::size_t start) {
    static constexpr std::string_view kTwoChar[] = {"==", "!=", "<=", ">=", "&&", "||"};
    for (std::string_view s : kTwoChar) {
      if (start + 2 <= end_ && text_.substr(start, 2) == s) {
        token_ = Token{TokenKind::symbol, start, text_.substr(start, 2)};
        pos_ += 2;
        return;
      }
    }
    const char c = text_[start];
    switch (c) {
      case '+':
      case '-':
      case '*':
      case '/':
      case '<':
      case '>':
      case '!':
      case '(':
      case ')':
        token_ = Token{TokenKind::symbol, start, text_.substr(start, 1)};
        pos_ += 1;
        return;
      case '=':
        fail(start, "unexpected '=' (use '==' to compare)");
      case '&':
        fail(start, "unexpected '&' (use '&&' or 'and')");
      case '|':
        fail(start, "unexpected '|' (use '||' or 'or')");
      default:
        break;
    }
    fail(start, "unexpected character '" + std::string(1, c) + "'");
  }

  // --- grammar, lowest precedence first ---

  NodePtr make(ExprOp op, std::size_t offset, std::vector<NodePtr> operands) const {
    auto node = std::make_shared<ExprNode>();
    node->op = op;
    node->position = static_cast<int>(offset);
    for (NodePtr& operand : operands) {
      node->depth = std::max(node->depth, operand->depth + 1);
      node->args.push_back(std::move(operand));
    }
    if (node->depth > kMaxExpressionDepth) too_deep(offset);
    return node;
  }

  [[noreturn]] void too_deep(std::size_t offset) const {
    fail(offset,
         "expression nested deeper than " + std::to_string(kMaxExpressionDepth) + " levels");
  }

  // Counts the nesting of the parser's own recursion (parentheses, not, unary minus), which
  // builds no deeper node for parentheses: refused past twice kMaxExpressionDepth, as deep as
  // the text of a tree at the limit nests (to_string puts a unary operator and its operand in
  // parentheses of their own).
  static constexpr int kMaxNesting = 2 * kMaxExpressionDepth;
  class Nested {
   public:
    Nested(Parser& p, std::size_t offset) : p_(p) {
      if (++p_.nesting_ > kMaxNesting)
        p_.fail(offset, "parentheses and unary operators nested deeper than " +
                            std::to_string(kMaxNesting) + " levels");
    }
    ~Nested() { --p_.nesting_; }
    Nested(const Nested&) = delete;
    Nested& operator=(const Nested&) = delete;

   private:
    Parser& p_;
  };

  NodePtr parse_or() {
    NodePtr left = parse_and();
    while (token_.kind == TokenKind::kw_or || is_symbol("||")) {
      const std::size_t at = token_.offset;
      advance();
      left = make(ExprOp::logical_or, at, {std::move(left), parse_and()});
    }
    return left;
  }

  NodePtr parse_and() {
    NodePtr left = parse_not();
    while (token_.kind == TokenKind::kw_and || is_symbol("&&")) {
      const std::size_t at = token_.offset;
      advance();
      left = make(ExprOp::logical_and, at, {std::move(left), parse_not()});
    }
    return left;
  }

  NodePtr parse_not() {
    if (token_.kind == TokenKind::kw_not || is_symbol("!")) {
      const std::size_t at = token_.offset;
      const Nested nested(*this, at);
      advance();
      return make(ExprOp::logical_not, at, {parse_not()});
    }
    return parse_comparison();
  }

  std::optional<ExprOp> comparison_op() const {
    if (token_.kind != TokenKind::symbol) return std::nullopt;
    if (token_.text == "==") return ExprOp::eq;
    if (token_.text == "!=") return ExprOp::ne;
    if (token_.text == "<") return ExprOp::lt;
    if (token_.text == "<=") return ExprOp::le;
    if (token_.text == ">") return ExprOp::gt;
    if (token_.text == ">=") return ExprOp::ge;
    return std::nullopt;
  }

  NodePtr parse_comparison() {
    NodePtr left = parse_additive();
    if (token_.kind == TokenKind::kw_like) {
      // text like 'pattern': the pattern is a string literal.
      const std::size_t at = token_.offset;
      advance();
      if (token_.kind != TokenKind::string) fail(token_.offset, "'like' needs a 'pattern' string");
      NodePtr pattern = literal(token_.offset);
      pattern->literal = std::string(token_.text);
      advance();
      NodePtr result = make(ExprOp::like, at, {std::move(left), std::move(pattern)});
      if (comparison_op() || token_.kind == TokenKind::kw_like)
        fail(token_.offset, "comparisons cannot be chained (use 'and')");
      return result;
    }
    const std::optional<ExprOp> op = comparison_op();
    if (!op) return left;
    const std::size_t at = token_.offset;
    advance();
    NodePtr result = make(*op, at, {std::move(left), parse_additive()});
    if (comparison_op()) {
      fail(token_.offset, "comparisons cannot be chained (use 'and')");
    }
    return result;
  }

  NodePtr parse_additive() {
    NodePtr left = parse_multiplicative();
    while (is_symbol("+") || is_symbol("-")) {
      const ExprOp op = token_.text == "+" ? ExprOp::add : ExprOp::sub;
      const std::size_t at = token_.offset;
      advance();
      left = make(op, at, {std::move(left), parse_multiplicative()});
    }
    return left;
  }

  NodePtr parse_multiplicative() {
    NodePtr left = parse_unary();
    while (is_symbol("*") || is_symbol("/")) {
      const ExprOp op = token_.text == "*" ? ExprOp::mul : ExprOp::div;
      const std::size_t at = token_.offset;
      advance();
      left = make(op, at, {std::move(left), parse_unary()});
    }
    return left;
  }

  NodePtr parse_unary() {
    if (is_symbol("-")) {
      const std::size_t at = token_.offset;
      const Nested nested(*this, at);
      advance();
      return make(ExprOp::neg, at, {parse_unary()});
    }
    return parse_primary();
  }

  NodePtr literal(std::size_t offset) {
    auto node = std::make_shared<ExprNode>();
    node->op = ExprOp::literal;
    node->position = static_cast<int>(offset);
    return node;
  }

  NodePtr parse_primary() {
    const Token t = token_;
    switch (t.kind) {
      case TokenKind::integer: {
        std::int64_t v = 0;
        const auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        if (ec != std::errc() || end != t.text.data() + t.text.size()) {
          fail(t.offset, "integer " + describe(t) + " out of range");
        }
        NodePtr node = literal(t.offset);
        node->literal = v;
        advance();
        return node;
      }
      case TokenKind::real: {
        double v = 0;
        const auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        if (ec != std::errc() || end != t.text.data() + t.text.size()) {
          fail(t.offset, "number " + describe(t) + " out of range");
        }
        NodePtr node = literal(t.offset);
        node->literal = v;
        advance();
        return node;
      }
      case TokenKind::string: {
        NodePtr node = literal(t.offset);
        node->literal = std::string(t.text);
        advance();
        return node;
      }
      case TokenKind::kw_true:
      case TokenKind::kw_false: {
        NodePtr node = literal(t.offset);
        node->literal = t.kind == TokenKind::kw_true;
        advance();
        return node;
      }
      case TokenKind::identifier: {
        auto node = std::make_shared<ExprNode>();
        node->op = ExprOp::column;
        node->column = std::string(t.text);
        node->position = static_cast<int>(t.offset);
        advance();
        return node;
      }
      case TokenKind::symbol:
        if (t.text == "(") {
          const Nested nested(*this, t.offset);
          advance();
          NodePtr inner = parse_or();
          if (!is_symbol(")")) {
            fail(token_.offset, "expected ')' to close '(' at position " +
                                    std::to_string(t.offset + 1) + ", found " + describe(token_));
          }
          advance();
          return inner;
        }
        break;
      default:
        break;
    }
    fail(t.offset, "expected an operand");
  }

  std::string_view text_;  // the whole text; only [pos_, end_) is parsed
  std::size_t end_;
  std::string_view label_;
  std::size_t pos_;
  Token token_;
  int nesting_ = 0;
};

}  // namespace

namespace detail {

Expr parse_expression_in(std::string_view text, std::size_t begin, std::size_t end,
                         std::string_view label) {
  return Parser(text, begin, std::min(end, text.size()), label).parse();
}

}  // namespace detail

Expr parse_expression(std::string_view text) {
  return detail::parse_expression_in(text, 0, text.size(), "bad expression");
}

}  // namespace sluice
