// Recursive-descent parser of SQL scripts into the syntax tree of sql_ast.hpp.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "host/sql/sql_ast.hpp"
#include "host/sql/sql_lexer.hpp"
#include "sluice/status.hpp"

namespace sluice::sql {
namespace {

/// How deep parentheses and operators may nest: the parser recurses per level.
constexpr int kMaxNesting = 200;

class Parser {
 public:
  explicit Parser(std::string_view script) : script_(script), tokens_(tokenize(script)) {}

  SqlScript script() {
    SqlScript out;
    for (;;) {
      while (accept_symbol(";")) {
      }
      if (peek().kind == Token::Kind::end) break;
      out.statements.push_back(statement());
      if (peek().kind != Token::Kind::end && !peek().is_symbol(";"))
        fail(peek(),
             "expected ';' or the end of the script after the statement, got " + describe(peek()));
    }
    if (out.statements.empty()) error_at(script_, 0, "the script holds no statement");
    return out;
  }

 private:
  // --- tokens --------------------------------------------------------------------------------
  const Token& peek(std::size_t ahead = 0) const {
    return tokens_[std::min(at_ + ahead, tokens_.size() - 1)];
  }
  const Token& next() {
    const Token& t = tokens_[at_];
    if (at_ + 1 < tokens_.size()) ++at_;
    return t;
  }
  bool accept_word(std::string_view upper) {
    if (!peek().is_word(upper)) return false;
    next();
    return true;
  }
  bool accept_symbol(std::string_view s) {
    if (!peek().is_symbol(s)) return false;
    next();
    return true;
  }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Token::Kind::end:
        return "the end of the script";
      case Token::Kind::string:
        return "'" + t.text + "'";
      case Token::Kind::quoted:
        return "`" + t.text + "`";
      default:
        return "'" + t.text + "'";
    }
  }
  [[noreturn]] void fail(const Token& t, const std::string& message) const {
    error_at(script_, t.offset, message);
  }
  const Token& expect_word(std::string_view upper) {
    if (!peek().is_word(upper))
      fail(peek(), "expected " + std::string(upper) + ", got " + describe(peek()));
    return next();
  }
  const Token& expect_symbol(std::string_view s) {
    if (!peek().is_symbol(s))
      fail(peek(), "expected '" + std::string(s) + "', got " + describe(peek()));
    return next();
  }
  /// An identifier: a word that is not reserved here, or a quoted one.
  const Token& identifier(std::string_view what) {
    const Token& t = peek();
    if (t.kind == Token::Kind::quoted || (t.kind == Token::Kind::word && !reserved(t)))
      return next();
    fail(t, "expected " + std::string(what) + ", got " + describe(t) +
                (t.kind == Token::Kind::word ? " (a keyword: quote it as `" + t.text + "`)" : ""));
  }
  static bool reserved(const Token& t) {
    constexpr std::string_view kReserved[] = {
        "SELECT", "FROM", "WHERE", "GROUP",   "BY",       "HAVING",   "AND",       "OR",
        "NOT",    "AS",   "IN",    "BETWEEN", "LIKE",     "TABLE",    "CREATE",    "WITH",
        "INSERT", "INTO", "ON",    "ORDER",   "LIMIT",    "UNION",    "JOIN",      "EXPLAIN",
        "NULL",   "IS",   "TRUE",  "FALSE",   "INTERVAL", "DISTINCT", "WATERMARK", "FOR"};
    for (const std::string_view w : kReserved)
      if (t.is_word(w)) return true;
    return false;
  }

  // --- statements ----------------------------------------------------------------------------
  SqlStatement statement() {
    SqlStatement s;
    s.offset = peek().offset;
    if (accept_word("CREATE")) {
      s.kind = SqlStatement::Kind::create_table;
      s.create = create_table();
      return s;
    }
    s.kind = SqlStatement::Kind::select;
    if (accept_word("EXPLAIN")) {
      s.explain = true;
      if (accept_word("PLAN")) expect_word("FOR");
    }
    if (peek().is_word("INSERT")) {
      next();
      expect_word("INTO");
      s.insert_offset = peek().offset;
      s.insert_into = identifier("a table name").text;
    }
    if (!peek().is_word("SELECT"))
      fail(peek(),
           "expected CREATE TABLE, SELECT, INSERT INTO or EXPLAIN, got " + describe(peek()));
    s.select = select();
    return s;
  }

  SqlCreateTable create_table() {
    SqlCreateTable t;
    expect_word("TABLE");
    if (accept_word("IF")) {
      expect_word("NOT");
      expect_word("EXISTS");
    }
    t.offset = peek().offset;
    t.name = identifier("a table name").text;
    expect_symbol("(");
    do {
      if (peek().is_word("WATERMARK")) {
        watermark(t);
        continue;
      }
      if (peek().is_word("PRIMARY") || peek().is_word("CONSTRAINT"))
        fail(peek(), "constraints are not supported (a stream has no primary key here)");
      SqlColumnDef c;
      c.offset = peek().offset;
      c.name = identifier("a column name").text;
      for (const SqlColumnDef& have : t.columns)
        if (have.name == c.name)
          error_at(script_, c.offset, "column '" + c.name + "' is defined twice");
      c.type = type();
      if (accept_word("NOT")) expect_word("NULL");
      if (peek().is_word("METADATA")) {
        c.metadata_offset = next().offset;
        if (accept_word("FROM")) {
          const std::size_t key_offset = peek().offset;
          c.metadata = string_literal("a metadata key in quotes, e.g. 'timestamp'");
          if (c.metadata.empty()) error_at(script_, key_offset, "the metadata key is empty");
        } else {
          c.metadata = c.name;
        }
        accept_word("VIRTUAL");
      }
      t.columns.push_back(std::move(c));
    } while (accept_symbol(","));
    expect_symbol(")");
    if (t.columns.empty()) fail(peek(), "a table needs columns");
    if (peek().is_word("WITH")) {
      t.options_offset = next().offset;
      expect_symbol("(");
      do {
        SqlOption o;
        o.key_offset = peek().offset;
        o.key = string_literal("an option name in quotes, e.g. 'connector'");
        expect_symbol("=");
        o.value_offset = peek().offset;
        o.value = string_literal("an option value in quotes");
        for (const SqlOption& have : t.options)
          if (have.key == o.key)
            error_at(script_, o.key_offset, "option '" + o.key + "' is given twice");
        t.options.push_back(std::move(o));
      } while (accept_symbol(","));
      expect_symbol(")");
    }
    return t;
  }

  std::string string_literal(std::string_view what) {
    if (peek().kind != Token::Kind::string)
      fail(peek(), "expected " + std::string(what) + ", got " + describe(peek()));
    return next().text;
  }

  void watermark(SqlCreateTable& t) {
    const Token& w = next();
    if (t.watermark_column) fail(w, "a table takes one WATERMARK");
    expect_word("FOR");
    t.watermark_offset = peek().offset;
    const std::string column = identifier("the event-time column").text;
    expect_word("AS");
    const Token& same = peek();
    if (identifier("the event-time column").text != column)
      fail(same, "the watermark must be '" + column + "' or '" + column +
                     " - INTERVAL ...' (the event time less the largest delay)");
    if (accept_symbol("-")) t.watermark_delay = interval().value;
    t.watermark_column = column;
  }

  /// A column type, e.g. TIMESTAMP(3), BIGINT, STRING.
  DataType type() {
    const Token& t = peek();
    if (t.kind != Token::Kind::word) fail(t, "expected a column type, got " + describe(t));
    next();
    const auto precision = [&](int fallback) {
      if (!accept_symbol("(")) return fallback;
      const Token& p = peek();
      if (p.kind != Token::Kind::integer) fail(p, "expected a precision (a number)");
      next();
      expect_symbol(")");
      return std::stoi(p.text.size() > 3 ? "999" : p.text);
    };
    if (t.is_word("TIMESTAMP") || t.is_word("TIMESTAMP_LTZ")) {
      const Token& at = peek();
      const int p = precision(t.is_word("TIMESTAMP") ? 6 : 6);
      if (p < 0 || p > 9) fail(at, "a timestamp's precision is 0 to 9 (fraction digits)");
      if (accept_word("WITH")) {
        accept_word("LOCAL");
        expect_word("TIME");
        expect_word("ZONE");
      } else if (accept_word("WITHOUT")) {
        expect_word("TIME");
        expect_word("ZONE");
      }
      const TimeUnit unit = p == 0   ? TimeUnit::s
                            : p <= 3 ? TimeUnit::ms
                            : p <= 6 ? TimeUnit::us
                                     : TimeUnit::ns;
      return DataType::timestamp(unit);
    }
    if (t.is_word("BIGINT")) return TypeId::i64;
    if (t.is_word("INT") || t.is_word("INTEGER") || t.is_word("SMALLINT") || t.is_word("TINYINT"))
      return TypeId::i32;
    if (t.is_word("FLOAT") || t.is_word("REAL")) return TypeId::f32;
    if (t.is_word("DOUBLE")) {
      accept_word("PRECISION");
      return TypeId::f64;
    }
    if (t.is_word("BOOLEAN") || t.is_word("BOOL")) return TypeId::boolean;
    if (t.is_word("STRING") || t.is_word("VARCHAR") || t.is_word("CHAR")) {
      precision(0);
      return TypeId::string;
    }
    fail(t, "unknown column type " + describe(t) +
                " (types: TIMESTAMP(p), BIGINT, INT, FLOAT, DOUBLE, BOOLEAN, STRING)");
  }

  /// INTERVAL 'n' UNIT (also INTERVAL n UNIT); n may have a fraction.
  SqlInterval interval() {
    SqlInterval out;
    out.offset = peek().offset;
    expect_word("INTERVAL");
    const Token& amount = peek();
    if (amount.kind != Token::Kind::string && amount.kind != Token::Kind::integer &&
        amount.kind != Token::Kind::decimal)
      fail(amount, "expected an amount such as '10', got " + describe(amount));
    next();
    const Token& unit = peek();
    std::int64_t ns = 0;
    if (unit.is_word("MILLISECOND") || unit.is_word("MILLISECONDS")) {
      ns = 1'000'000;
    } else if (unit.is_word("SECOND") || unit.is_word("SECONDS")) {
      ns = 1'000'000'000;
    } else if (unit.is_word("MINUTE") || unit.is_word("MINUTES")) {
      ns = 60'000'000'000;
    } else if (unit.is_word("HOUR") || unit.is_word("HOURS")) {
      ns = 3'600'000'000'000;
    } else if (unit.is_word("DAY") || unit.is_word("DAYS")) {
      ns = 86'400'000'000'000;
    } else {
      fail(unit,
           "expected a unit: MILLISECOND, SECOND, MINUTE, HOUR or DAY, got " + describe(unit));
    }
    next();
    out.value = Duration(scaled(amount, ns));
    return out;
  }

  /// The amount's decimal text times `unit` nanoseconds, exactly.
  std::int64_t scaled(const Token& amount, std::int64_t unit) const {
    const std::string& s = amount.text;
    const auto bad = [&](const std::string& why) -> std::int64_t {
      error_at(script_, amount.offset + (amount.kind == Token::Kind::string ? 1 : 0),
               "bad interval amount '" + s + "': " + why);
    };
    std::size_t i = 0;
    std::int64_t whole = 0;
    bool digits = false;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      digits = true;
      if (__builtin_mul_overflow(whole, 10, &whole) ||
          __builtin_add_overflow(whole, s[i] - '0', &whole))
        return bad("too large");
    }
    std::int64_t total = 0;
    if (__builtin_mul_overflow(whole, unit, &total)) return bad("too large");
    if (i < s.size() && s[i] == '.') {
      std::int64_t place = unit;
      for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
        digits = true;
        const int d = s[i] - '0';
        if (place % 10 != 0) {
          if (d != 0) return bad("finer than a nanosecond");
          continue;
        }
        place /= 10;
        if (__builtin_add_overflow(total, d * place, &total)) return bad("too large");
      }
    }
    if (!digits || i != s.size()) return bad("expected digits, with an optional fraction");
    return total;
  }

  SqlSelect select() {
    SqlSelect s;
    s.offset = expect_word("SELECT").offset;
    if (peek().is_word("DISTINCT")) fail(peek(), "SELECT DISTINCT is not supported");
    do {
      SqlSelectItem item;
      if (peek().is_symbol("*"))
        fail(peek(), "SELECT * is not supported: name the window bounds, keys and aggregates");
      item.expr = expr();
      if (accept_word("AS")) {
        item.alias_offset = peek().offset;
        item.alias = identifier("a column alias").text;
      } else if (peek().kind == Token::Kind::quoted ||
                 (peek().kind == Token::Kind::word && !reserved(peek()))) {
        // An alias without AS; one followed by neither ',' nor FROM is more likely a misspelt
        // keyword ("FORM") than a name.
        const Token& alias = next();
        if (!peek().is_symbol(",") && !peek().is_word("FROM"))
          fail(alias, "expected FROM, got " + describe(alias));
        item.alias_offset = alias.offset;
        item.alias = alias.text;
      }
      s.items.push_back(std::move(item));
    } while (accept_symbol(","));
    expect_word("FROM");
    s.from = from();
    if (accept_word("WHERE")) s.where = expr();
    if (peek().is_word("GROUP")) {
      s.group_by_offset = next().offset;
      expect_word("BY");
      do {
        s.group_by.push_back(expr());
      } while (accept_symbol(","));
    }
    if (accept_word("HAVING")) s.having = expr();
    if (peek().is_word("ORDER") || peek().is_word("LIMIT"))
      fail(peek(), std::string(peek().is_word("ORDER") ? "ORDER BY" : "LIMIT") +
                       " is not supported on a stream: windows are written as they close, "
                       "in order of window, then key");
    if (peek().is_word("JOIN") || peek().is_symbol(","))
      fail(peek(), "joins are not supported: a query reads one table");
    return s;
  }

  SqlFrom from() {
    SqlFrom f;
    if (accept_word("TABLE")) {
      expect_symbol("(");
      const Token& fn = peek();
      f.offset = fn.offset;
      if (fn.is_word("TUMBLE")) {
        f.window = SqlFrom::Window::tumble;
      } else if (fn.is_word("HOP")) {
        f.window = SqlFrom::Window::hop;
      } else if (fn.is_word("CUMULATE")) {
        f.window = SqlFrom::Window::cumulate;
      } else {
        fail(fn, "expected a window function: TUMBLE, HOP or CUMULATE, got " + describe(fn));
      }
      next();
      expect_symbol("(");
      expect_word("TABLE");
      f.table_offset = peek().offset;
      f.table = identifier("a table name").text;
      expect_symbol(",");
      expect_word("DESCRIPTOR");
      expect_symbol("(");
      f.time_offset = peek().offset;
      f.time_column = identifier("the event-time column").text;
      expect_symbol(")");
      while (accept_symbol(",")) f.intervals.push_back(interval());
      expect_symbol(")");
      expect_symbol(")");
    } else {
      f.table_offset = peek().offset;
      f.table = identifier("a table name, or TABLE(TUMBLE(...))").text;
    }
    if (accept_word("AS") || peek().kind == Token::Kind::quoted ||
        (peek().kind == Token::Kind::word && !reserved(peek())))
      f.alias = identifier("a table alias").text;
    return f;
  }

  // --- expressions ---------------------------------------------------------------------------
  /// The node, with its depth; one nested deeper than kMaxNesting is an error (so that a long
  /// chain `a OR b OR ...`, built without recursion, is refused before anything recurses
  /// over it).
  SqlExprPtr node(SqlExpr e) {
    e.depth = 1;
    for (const SqlExprPtr& a : e.args) e.depth = std::max(e.depth, a->depth + 1);
    if (e.depth > kMaxNesting)
      error_at(script_, e.op_offset,
               "expression nested deeper than " + std::to_string(kMaxNesting) +
                   " levels (a chain of operators counts one level each)");
    return std::make_shared<const SqlExpr>(std::move(e));
  }

  /// The value of a number token; out of the range of a double is an error.
  double number(const Token& t) const {
    double v = 0;
    const auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
    if (ec != std::errc() || end != t.text.data() + t.text.size())
      fail(t, "number out of range: " + t.text);
    return v;
  }

  SqlExprPtr binary(std::string op, const Token& at, SqlExprPtr a, SqlExprPtr b) {
    SqlExpr e;
    e.kind = SqlExpr::Kind::binary;
    e.op = std::move(op);
    e.offset = a->offset;
    e.op_offset = at.offset;
    e.end = b->end;
    e.args = {std::move(a), std::move(b)};
    return node(std::move(e));
  }

  struct Nest {
    int& depth;
    Nest(int& d, const Parser& p) : depth(d) {
      if (++depth > kMaxNesting)
        p.fail(p.peek(),
               "expression nested deeper than " + std::to_string(kMaxNesting) + " levels");
    }
    ~Nest() { --depth; }
  };

  SqlExprPtr expr() {
    const Nest nest(depth_, *this);
    SqlExprPtr left = conjunction();
    while (peek().is_word("OR")) {
      const Token& op = next();
      left = binary("OR", op, left, conjunction());
    }
    return left;
  }
  SqlExprPtr conjunction() {
    SqlExprPtr left = negation();
    while (peek().is_word("AND")) {
      const Token& op = next();
      left = binary("AND", op, left, negation());
    }
    return left;
  }
  SqlExprPtr negation() {
    if (peek().is_word("NOT")) {
      const Nest nest(depth_, *this);
      const Token& op = next();
      SqlExprPtr arg = negation();
      SqlExpr e;
      e.kind = SqlExpr::Kind::unary;
      e.op = "NOT";
      e.offset = op.offset;
      e.op_offset = op.offset;
      e.end = arg->end;
      e.args = {std::move(arg)};
      return node(std::move(e));
    }
    return predicate();
  }
  SqlExprPtr predicate() {
    SqlExprPtr left = additive();
    constexpr std::string_view kCompare[] = {"=", "<>", "!=", "<", "<=", ">", ">="};
    for (const std::string_view c : kCompare) {
      if (peek().is_symbol(c)) {
        const Token& op = next();
        return binary(c == "!=" ? "<>" : std::string(c), op, left, additive());
      }
    }
    const Token& at = peek();
    bool negated = false;
    if (at.is_word("NOT") &&
        (peek(1).is_word("BETWEEN") || peek(1).is_word("IN") || peek(1).is_word("LIKE"))) {
      next();
      negated = true;
    }
    SqlExpr e;
    e.offset = left->offset;
    e.op_offset = at.offset;
    e.negated = negated;
    e.args = {left};
    if (accept_word("BETWEEN")) {
      e.kind = SqlExpr::Kind::between;
      e.args.push_back(additive());
      expect_word("AND");
      e.args.push_back(additive());
    } else if (accept_word("IN")) {
      e.kind = SqlExpr::Kind::in_list;
      expect_symbol("(");
      if (peek().is_word("SELECT")) fail(peek(), "IN (SELECT ...) is not supported");
      do {
        e.args.push_back(additive());
      } while (accept_symbol(","));
      e.end = expect_symbol(")").offset + 1;
      return node(std::move(e));
    } else if (accept_word("LIKE")) {
      e.kind = SqlExpr::Kind::like;
      e.args.push_back(additive());
      if (peek().is_word("ESCAPE")) fail(peek(), "LIKE ... ESCAPE is not supported");
    } else {
      if (negated) fail(peek(), "expected BETWEEN, IN or LIKE after NOT");
      if (at.is_word("IS")) fail(at, "IS [NOT] NULL is not supported: input columns hold no nulls");
      return left;
    }
    e.end = e.args.back()->end;
    return node(std::move(e));
  }
  SqlExprPtr additive() {
    SqlExprPtr left = multiplicative();
    while (peek().is_symbol("+") || peek().is_symbol("-")) {
      const Token& op = next();
      left = binary(op.text, op, left, multiplicative());
    }
    return left;
  }
  SqlExprPtr multiplicative() {
    SqlExprPtr left = unary();
    while (peek().is_symbol("*") || peek().is_symbol("/")) {
      const Token& op = next();
      left = binary(op.text, op, left, unary());
    }
    return left;
  }
  SqlExprPtr unary() {
    if (peek().is_symbol("-") || peek().is_symbol("+")) {
      const Nest nest(depth_, *this);
      const Token& op = next();
      SqlExprPtr arg = unary();
      if (op.text == "+") return arg;
      SqlExpr e;
      e.kind = SqlExpr::Kind::unary;
      e.op = "-";
      e.offset = op.offset;
      e.op_offset = op.offset;
      e.end = arg->end;
      e.args = {std::move(arg)};
      return node(std::move(e));
    }
    return primary();
  }
  SqlExprPtr primary() {
    const Token& t = peek();
    SqlExpr e;
    e.offset = t.offset;
    e.op_offset = t.offset;
    if (t.kind == Token::Kind::integer) {
      next();
      e.kind = SqlExpr::Kind::integer;
      const auto [end, ec] =
          std::from_chars(t.text.data(), t.text.data() + t.text.size(), e.integer);
      if (ec != std::errc() || end != t.text.data() + t.text.size()) {
        e.kind = SqlExpr::Kind::decimal;  // beyond 64 bits: a double, as DuckDB reads it
        e.decimal = number(t);
      }
      e.end = t.offset + t.text.size();
      return node(std::move(e));
    }
    if (t.kind == Token::Kind::decimal) {
      next();
      e.kind = SqlExpr::Kind::decimal;
      e.decimal = number(t);
      e.end = t.offset + t.text.size();
      return node(std::move(e));
    }
    if (t.kind == Token::Kind::string) {
      next();
      e.kind = SqlExpr::Kind::string;
      e.text = t.text;
      e.end = next_offset();
      return node(std::move(e));
    }
    if (t.is_word("TRUE") || t.is_word("FALSE")) {
      next();
      e.kind = SqlExpr::Kind::boolean;
      e.boolean = t.is_word("TRUE");
      e.end = t.offset + t.text.size();
      return node(std::move(e));
    }
    if (t.is_symbol("(")) {
      next();
      if (peek().is_word("SELECT")) fail(peek(), "subqueries are not supported");
      SqlExprPtr inner = expr();
      const Token& close = expect_symbol(")");
      // The parentheses widen the node's text; its operator keeps its place for messages.
      SqlExpr copy = *inner;
      copy.offset = t.offset;
      copy.end = close.offset + 1;
      return node(std::move(copy));
    }
    if (t.is_word("NULL")) fail(t, "NULL is not supported: input columns hold no nulls");
    if (t.is_word("INTERVAL")) fail(t, "an INTERVAL belongs in a window function or WATERMARK");
    if (t.is_word("CAST") || t.is_word("CASE"))
      fail(t, std::string(t.is_word("CAST") ? "CAST" : "CASE") + " is not supported");
    const Token& name = identifier("an expression");
    if (name.kind == Token::Kind::word && peek().is_symbol("(")) {
      next();
      e.kind = SqlExpr::Kind::call;
      for (const char c : name.text)
        e.name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (peek().is_symbol("*")) {
        next();
        e.star = true;
      } else if (!peek().is_symbol(")")) {
        if (accept_word("DISTINCT")) e.distinct = true;
        do {
          e.args.push_back(expr());
        } while (accept_symbol(","));
      }
      e.end = expect_symbol(")").offset + 1;
      return node(std::move(e));
    }
    e.kind = SqlExpr::Kind::column;
    e.name = name.text;
    if (accept_symbol(".")) {
      e.qualifier = e.name;
      e.name = identifier("a column name").text;
    }
    e.end = next_offset();
    return node(std::move(e));
  }
  /// One past the last character of the token just taken.
  std::size_t next_offset() const {
    const Token& last = tokens_[at_ > 0 ? at_ - 1 : 0];
    std::size_t end = last.offset;
    // Quoted tokens hold their text unquoted: find the end by scanning the script.
    if (last.kind == Token::Kind::string || last.kind == Token::Kind::quoted) {
      const char q = script_[end];
      for (++end; end < script_.size(); ++end) {
        if (script_[end] == q) {
          if (end + 1 < script_.size() && script_[end + 1] == q) {
            ++end;
            continue;
          }
          return end + 1;
        }
      }
      return end;
    }
    return end + last.text.size();
  }

  std::string_view script_;
  std::vector<Token> tokens_;
  std::size_t at_ = 0;
  int depth_ = 0;
};

}  // namespace

SqlScript parse_sql(std::string_view script) { return Parser(script).script(); }

}  // namespace sluice::sql
