// Query compilation: name resolution, type checking and generation of typed expression programs.
#include "host/query_compiler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <variant>

#include "sluice/status.hpp"

namespace sluice::detail {
namespace {

/// Instructions one compiled expression may have: map steps that reuse a column several times
/// multiply its code, and this bounds it (and stays within ProgramRef::size).
inline constexpr std::size_t kMaxProgramLength = 4096;

void check_length(std::size_t instructions) {
  if (instructions > kMaxProgramLength)
    throw Error(ErrorCode::invalid_argument,
                "expression too long: it compiles to more than " +
                    std::to_string(kMaxProgramLength) +
                    " instructions (map steps that reuse a column several times multiply it)");
}

/// A boolean program (a condition) and its stack need.
struct Condition {
  std::vector<Instr> code;
  int depth = 1;
};

/// Code of one expression: postfix instructions, the type of its value, its stack need. An
/// expression that reads a broadcast input may be null (a lookup found no row): its code then
/// computes the value as if every lookup had found one (reading 0 where none did), `known`
/// says where every lookup did (there the value is exact), and a boolean carries where it is
/// true and where it is false, which three-valued logic needs beyond `known`.
struct Fragment {
  std::vector<Instr> code;
  VType type = VType::i64;
  Sem sem = Sem::integer;
  int depth = 1;
  int input = -1;  ///< read-column index when the fragment is exactly one column load
  DataType column_type;
  bool literal = false;              ///< a constant: `code` is one konst of `type`
  std::optional<Condition> known;    ///< absent: never null
  std::optional<Condition> truth;    ///< booleans that may be null: where the value is true
  std::optional<Condition> falsity;  ///< ... and where it is false
  /// A float that is NaN wherever it is not known (a float lookup reads NaN for a missing row,
  /// and float arithmetic keeps it), so an ordered comparison with it is false there.
  bool nan_unless_known = false;
  bool lookup_value = false;  ///< exactly one lookup: `column_type` is the value's type
};

Sem sem_of(TypeId id) {
  switch (id) {
    case TypeId::u32:
    case TypeId::u64:
      return Sem::unsigned_integer;
    case TypeId::f32:
    case TypeId::f64:
      return Sem::floating;
    case TypeId::boolean:
      return Sem::boolean;
    case TypeId::string:
      return Sem::string;
    default:
      return Sem::integer;
  }
}

bool numeric(Sem s) {
  return s == Sem::integer || s == Sem::unsigned_integer || s == Sem::floating;
}

const char* sem_name(Sem s) {
  switch (s) {
    case Sem::integer:
      return "integer";
    case Sem::unsigned_integer:
      return "unsigned integer";
    case Sem::floating:
      return "float";
    case Sem::boolean:
      return "bool";
    case Sem::string:
      return "string";
  }
  return "?";
}

std::string where(const ExprNode& node, const std::string& context) {
  std::string s = " in " + context;
  if (node.position >= 0) s += " at position " + std::to_string(node.position + 1);
  return s;
}

Instr make(Op op, VType type, VType out = VType::i64) {
  Instr ins;
  ins.op = op;
  ins.type = type;
  ins.out = out;
  return ins;
}

/// Appends a widening cast of f's value to `to` (i64 or f64); nothing when it already is.
void cast_to(Fragment& f, VType to) {
  if (f.type == to) return;
  if (f.literal) {  // fold the constant
    Instr& k = f.code.back();
    k.imm = cast_word(k.imm, f.type, to);
    k.type = to;
  } else {
    f.code.push_back(make(Op::cast, f.type, to));
  }
  f.type = to;
  f.input = -1;
  f.lookup_value = false;
}

Condition condition_of(const Fragment& f) { return {f.code, f.depth}; }

/// a op b for op logical_and or logical_or.
Condition combine(Condition a, const Condition& b, Op op) {
  check_length(a.code.size() + b.code.size() + 1);
  a.depth = std::max(a.depth, b.depth + 1);
  a.code.insert(a.code.end(), b.code.begin(), b.code.end());
  a.code.push_back(make(op, VType::boolean));
  return a;
}

Condition negate(Condition a) {
  a.code.push_back(make(Op::logical_not, VType::boolean));
  return a;
}

/// Whether two programs are the same instructions.
bool same_code(const std::vector<Instr>& a, const std::vector<Instr>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Instr& x, const Instr& y) {
    return x.op == y.op && x.type == y.type && x.out == y.out && x.column == y.column &&
           x.imm == y.imm;
  });
}

/// Where both conditions hold (one condition when they are the same; absent: always).
std::optional<Condition> both_known(const std::optional<Condition>& a,
                                    const std::optional<Condition>& b) {
  if (!a) return b;
  if (!b) return a;
  if (same_code(a->code, b->code)) return a;
  return combine(*a, *b, Op::logical_and);
}

/// Where both operands are known.
std::optional<Condition> known_of(const Fragment& a, const Fragment& b) {
  return both_known(a.known, b.known);
}

/// Where a boolean fragment is true (a filter keeps these rows) / false.
Condition truth_of(const Fragment& f) { return f.truth ? *f.truth : condition_of(f); }
Condition falsity_of(const Fragment& f) { return f.falsity ? *f.falsity : negate(condition_of(f)); }

/// Sets f's nullability from `known`: a boolean is true (false) where it is known and its value
/// is true (false).
void set_known(Fragment& f, std::optional<Condition> known) {
  f.known = std::move(known);
  f.truth.reset();
  f.falsity.reset();
  if (!f.known || f.sem != Sem::boolean) return;
  f.truth = combine(condition_of(f), *f.known, Op::logical_and);
  f.falsity = combine(negate(condition_of(f)), *f.known, Op::logical_and);
}

/// An ordered comparison or an == whose nullable operands are NaN wherever they are not known
/// is false there: it is true only where it is known, so its truth needs no lookup of whether
/// the rows exist (a filter such as `cpu > limits.max_cpu` looks up once).
void true_only_where_known(Fragment& f, const Fragment& a, const Fragment& b) {
  if (!f.truth || f.code.empty()) return;
  switch (f.code.back().op) {
    case Op::eq:
    case Op::lt:
    case Op::le:
    case Op::gt:
    case Op::ge:
    case Op::eq_k:
    case Op::lt_k:
    case Op::le_k:
    case Op::gt_k:
    case Op::ge_k:
      break;
    default:
      return;
  }
  if ((a.known && !a.nan_unless_known) || (b.known && !b.nan_unless_known)) return;
  f.truth = condition_of(f);
}

/// The arithmetic type of a number: f64 for floats, i64 for integers.
VType arithmetic_type(Sem s) { return s == Sem::floating ? VType::f64 : VType::i64; }

Op compare_op(ExprOp op) {
  switch (op) {
    case ExprOp::eq:
      return Op::eq;
    case ExprOp::ne:
      return Op::ne;
    case ExprOp::lt:
      return Op::lt;
    case ExprOp::le:
      return Op::le;
    case ExprOp::gt:
      return Op::gt;
    default:
      return Op::ge;
  }
}

/// The comparison with the operands swapped (a < b == b > a).
Op mirrored(Op op) {
  switch (op) {
    case Op::lt:
      return Op::gt;
    case Op::le:
      return Op::ge;
    case Op::gt:
      return Op::lt;
    case Op::ge:
      return Op::le;
    default:
      return op;
  }
}

Op konst_form(Op op) {
  return static_cast<Op>(static_cast<int>(op) +
                         (static_cast<int>(Op::eq_k) - static_cast<int>(Op::eq)));
}

/// The literal's value as an exact i64, if it has one.
bool literal_integer(const Fragment& f, std::int64_t& v) {
  if (!f.literal || f.sem == Sem::floating) return false;
  v = static_cast<std::int64_t>(f.code.back().imm);
  return true;
}

double literal_double(const Fragment& f) {
  const Instr& k = f.code.back();
  return f.type == VType::f64 ? from_word<double>(k.imm)
                              : static_cast<double>(static_cast<std::int64_t>(k.imm));
}

/// Resolves names and generates code. Names in scope are input columns or mapped columns.
class ExprCompiler {
 public:
  /// @param patterns_allowed whether `like` may be compiled (its lookup tables follow the
  /// broadcast inputs' in the batches the programs read).
  ExprCompiler(const Schema& schema, const std::vector<BroadcastSpec>& broadcasts,
               StringDictionary& dictionary, bool patterns_allowed = true)
      : schema_(schema),
        broadcasts_(broadcasts),
        dictionary_(dictionary),
        patterns_allowed_(patterns_allowed) {
    for (std::size_t i = 0; i < schema.size(); ++i) visible_.push_back(schema.field(i).name);
  }

  /// Compiles `expr` in the current scope; `context` names the step for messages.
  Fragment compile(const Expr& expr, const std::string& context) {
    Fragment f = lower(expr.node(), context);
    if (f.depth > kMaxStackDepth)
      throw Error(ErrorCode::invalid_argument,
                  "expression too deep" + std::string(" in ") + context + ": " + expr.to_string());
    return f;
  }
  /// Compiles a reference to a visible column (for keys, time and projections).
  Fragment column(const std::string& name, const std::string& context) {
    ExprNode node;
    node.op = ExprOp::column;
    node.column = name;
    return lower(node, context);
  }
  /// The top-level conjuncts of a boolean expression (a and b and c: three of them).
  void conjuncts(const ExprNode& node, const std::string& context, std::vector<Fragment>& out) {
    if (node.op == ExprOp::logical_and) {
      conjuncts(*node.args.at(0), context, out);
      conjuncts(*node.args.at(1), context, out);
      return;
    }
    out.push_back(condition(node, context));
  }
  /// A boolean expression as a condition: true where it is true, false where it is false or
  /// null (a filter keeps the rows where it is true).
  Fragment condition(const ExprNode& node, const std::string& context) {
    Fragment f = lower(node, context);
    if (f.sem != Sem::boolean)
      throw Error(ErrorCode::type_mismatch, context + " must be a bool, got " + sem_name(f.sem));
    if (f.known) {
      Condition truth = truth_of(f);
      f.code = std::move(truth.code);
      f.depth = truth.depth;
      f.known.reset();
      f.truth.reset();
      f.falsity.reset();
    }
    if (f.depth > kMaxStackDepth)
      throw Error(ErrorCode::invalid_argument, "expression too deep in " + context);
    return f;
  }
  /// The condition under which a value used as a key, aggregate input, output or event time
  /// exists (lookups found rows): a filter conjunct, added once per distinct condition.
  void require_known(const Fragment& f, std::vector<Fragment>& conjuncts) {
    if (!f.known) return;
    Fragment c;
    c.code = f.known->code;
    c.depth = f.known->depth;
    c.sem = Sem::boolean;
    c.type = VType::boolean;
    for (const Fragment& have : conjuncts)
      if (same_code(have.code, c.code)) return;
    if (c.depth > kMaxStackDepth)
      throw Error(ErrorCode::invalid_argument, "broadcast lookups too deep");
    conjuncts.push_back(std::move(c));
  }

  void define(const std::string& name, Fragment f) {
    mapped_[name] = std::move(f);
    if (std::find(visible_.begin(), visible_.end(), name) == visible_.end())
      visible_.push_back(name);
  }
  void project(const std::vector<std::string>& names, const std::string& context) {
    std::map<std::string, Fragment> kept;
    for (const std::string& name : names) kept[name] = column(name, context);
    mapped_ = std::move(kept);
    visible_ = names;
  }
  const std::vector<std::string>& visible() const { return visible_; }
  const std::vector<std::size_t>& read_columns() const { return read_; }
  /// The codes of the string literals compiled so far.
  const std::vector<std::uint32_t>& string_constants() const { return constants_; }
  /// The distinct LIKE patterns compiled so far: pattern i is lookup table
  /// broadcasts.size() + i.
  const std::vector<std::string>& patterns() const { return patterns_; }

 private:
  int read_index(std::size_t schema_column) {
    auto it = std::find(read_.begin(), read_.end(), schema_column);
    if (it != read_.end()) return static_cast<int>(it - read_.begin());
    if (read_.size() >= static_cast<std::size_t>(kMaxInputColumns))
      throw Error(ErrorCode::invalid_argument,
                  "a query may read at most " + std::to_string(kMaxInputColumns) + " columns");
    read_.push_back(schema_column);
    return static_cast<int>(read_.size() - 1);
  }

  Fragment lower(const ExprNode& node, const std::string& context) {
    // Trees from the parser and the operators are at most kMaxExpressionDepth deep; this
    // bounds the recursion for one built by hand.
    struct Nested {
      int& depth;
      explicit Nested(int& d) : depth(++d) {}
      ~Nested() { --depth; }
    } nested(lowering_);
    if (lowering_ > kMaxExpressionDepth)
      throw Error(ErrorCode::invalid_argument, "expression nested deeper than " +
                                                   std::to_string(kMaxExpressionDepth) +
                                                   " levels in " + context);
    switch (node.op) {
      case ExprOp::column:
        return lower_column(node, context);
      case ExprOp::literal:
        return lower_literal(node);
      case ExprOp::neg:
      case ExprOp::logical_not:
        return lower_unary(node, context);
      case ExprOp::like:
        return lower_like(node, context);
      default:
        return lower_binary(node, context);
    }
  }

  Fragment lower_column(const ExprNode& node, const std::string& context) {
    if (std::find(visible_.begin(), visible_.end(), node.column) == visible_.end()) {
      if (const std::size_t dot = node.column.find('.'); dot != std::string::npos) {
        const std::string table = node.column.substr(0, dot);
        for (std::size_t t = 0; t < broadcasts_.size(); ++t)
          if (broadcasts_[t].name == table)
            return lower_lookup(node, static_cast<int>(t), node.column.substr(dot + 1), context);
      }
      std::string known;
      for (const std::string& n : visible_) known += (known.empty() ? "" : ", ") + n;
      std::string tables;
      for (const BroadcastSpec& b : broadcasts_) tables += (tables.empty() ? "" : ", ") + b.name;
      throw Error(ErrorCode::unknown_column,
                  "unknown column '" + node.column + "'" + where(node, context) +
                      " (columns: " + known +
                      (tables.empty() ? std::string() : "; broadcast inputs: " + tables) + ")");
    }
    if (auto it = mapped_.find(node.column); it != mapped_.end()) return it->second;
    const std::size_t index = schema_.index_of(node.column);
    const DataType type = schema_.field(index).type;
    Fragment f;
    f.input = read_index(index);
    f.column_type = type;
    f.sem = sem_of(type.id);
    f.type = value_type_of(column_type_of(type.id));
    Instr load = make(Op::load, f.type);
    load.column = static_cast<std::uint16_t>(f.input);
    f.code.push_back(load);
    // u64 values are integers of 64 bits in expressions: the same word, read as i64.
    if (f.type == VType::u64) f.type = VType::i64;
    return f;
  }

  /// name.column of broadcast `table`: the event's key column, then one lookup.
  Fragment lower_lookup(const ExprNode& node, int table, const std::string& column,
                        const std::string& context) {
    const BroadcastSpec& spec = broadcasts_[static_cast<std::size_t>(table)];
    if (spec.schema.size() > static_cast<std::size_t>(kMaxLookupColumns))
      throw Error(ErrorCode::invalid_argument,
                  "broadcast '" + spec.name + "' has " + std::to_string(spec.schema.size()) +
                      " columns; at most " + std::to_string(kMaxLookupColumns) + " can be read");
    const std::optional<std::size_t> index = spec.schema.find(column);
    if (!index) {
      std::string known;
      for (const Field& f : spec.schema.fields()) known += (known.empty() ? "" : ", ") + f.name;
      throw Error(ErrorCode::unknown_column, "broadcast '" + spec.name + "' has no column '" +
                                                 column + "'" + where(node, context) +
                                                 " (its columns: " + known + ")");
    }
    if (std::find(visible_.begin(), visible_.end(), spec.key) == visible_.end())
      throw Error(ErrorCode::unknown_column,
                  "broadcast '" + spec.name + "' is looked up by the events' column '" + spec.key +
                      "', which is not in scope" + where(node, context));
    Fragment key = lower_column(node_for(spec.key, node.position), context);
    const Sem table_key = sem_of(spec.schema.field(spec.schema.index_of(spec.key)).type.id);
    const bool strings = table_key == Sem::string;
    if (strings ? key.sem != Sem::string
                : key.sem != Sem::integer && key.sem != Sem::unsigned_integer)
      throw Error(ErrorCode::type_mismatch, "broadcast '" + spec.name + "' is keyed by " +
                                                sem_name(table_key) +
                                                " values, but the events' column '" + spec.key +
                                                "' is " + sem_name(key.sem) + where(node, context));
    if (!strings) cast_to(key, VType::i64);
    const DataType type = spec.schema.field(*index).type;
    Fragment f;
    f.sem = sem_of(type.id);
    f.type = value_type_of(column_type_of(type.id));
    if (f.type == VType::u64) f.type = VType::i64;
    f.column_type = type;
    f.depth = key.depth;
    f.code = key.code;
    Instr lookup = make(Op::lookup, key.type, f.type);
    lookup.imm = lookup_immediate(table, static_cast<std::uint32_t>(*index));
    f.code.push_back(lookup);
    Condition found{key.code, key.depth};
    Instr has_row = make(Op::lookup, key.type, VType::boolean);
    has_row.imm = lookup_immediate(table, kLookupFound);
    found.code.push_back(has_row);
    Fragment found_fragment;
    found_fragment.known = std::move(found);
    set_known(f, known_of(key, found_fragment));
    f.nan_unless_known = !key.known && (f.type == VType::f64 || f.type == VType::f32);
    f.lookup_value = true;
    return f;
  }

  /// text like 'pattern': a lookup of the text's code in the set of codes whose strings match
  /// (a table the job keeps as its dictionary grows), found or not.
  Fragment lower_like(const ExprNode& node, const std::string& context) {
    if (!patterns_allowed_)
      throw Error(ErrorCode::invalid_argument, "'like' is not supported" + where(node, context));
    Fragment text = lower(*node.args.at(0), context);
    const ExprNode& pattern = *node.args.at(1);
    if (text.sem != Sem::string)
      throw Error(ErrorCode::type_mismatch, std::string("'like' needs a string, got ") +
                                                sem_name(text.sem) + where(node, context));
    if (pattern.op != ExprOp::literal || !std::holds_alternative<std::string>(pattern.literal))
      throw Error(ErrorCode::type_mismatch,
                  "'like' needs a 'pattern' string literal" + where(node, context));
    const std::string& p = std::get<std::string>(pattern.literal);
    auto it = std::find(patterns_.begin(), patterns_.end(), p);
    if (it == patterns_.end()) {
      if (broadcasts_.size() + patterns_.size() >= static_cast<std::size_t>(kMaxLookupTables))
        throw Error(ErrorCode::invalid_argument,
                    "too many lookups" + where(node, context) + ": broadcast inputs and distinct " +
                        "'like' patterns together are at most " + std::to_string(kMaxLookupTables) +
                        " per query");
      patterns_.push_back(p);
      it = patterns_.end() - 1;
    }
    const int table = static_cast<int>(broadcasts_.size() + (it - patterns_.begin()));
    Fragment f;
    f.sem = Sem::boolean;
    f.type = VType::boolean;
    f.depth = text.depth;
    f.code = text.code;
    Instr lookup = make(Op::lookup, VType::u32, VType::boolean);
    lookup.imm = lookup_immediate(table, kLookupFound);
    f.code.push_back(lookup);
    set_known(f, text.known);  // a broadcast string may be unknown: so is its match
    return f;
  }

  static ExprNode node_for(const std::string& column, int position) {
    ExprNode n;
    n.op = ExprOp::column;
    n.column = column;
    n.position = position;
    return n;
  }

  Fragment lower_literal(const ExprNode& node) {
    Fragment f;
    f.literal = true;
    Instr k = make(Op::konst, VType::i64);
    if (const auto* i = std::get_if<std::int64_t>(&node.literal)) {
      k.imm = static_cast<std::uint64_t>(*i);
      f.sem = Sem::integer;
    } else if (const auto* d = std::get_if<double>(&node.literal)) {
      k.type = VType::f64;
      k.imm = to_word(*d);
      f.sem = Sem::floating;
    } else if (const auto* b = std::get_if<bool>(&node.literal)) {
      k.type = VType::boolean;
      k.imm = *b ? 1 : 0;
      f.sem = Sem::boolean;
    } else {
      k.type = VType::u32;
      k.imm = dictionary_.intern(std::get<std::string>(node.literal));
      constants_.push_back(static_cast<std::uint32_t>(k.imm));
      f.sem = Sem::string;
    }
    f.type = k.type;
    f.code.push_back(k);
    return f;
  }

  static void append(Fragment& to, const Fragment& from) {
    check_length(to.code.size() + from.code.size() + 1);
    to.code.insert(to.code.end(), from.code.begin(), from.code.end());
  }

  Fragment lower_unary(const ExprNode& node, const std::string& context) {
    Fragment f = lower(*node.args.at(0), context);
    f.input = -1;
    f.lookup_value = false;
    if (node.op == ExprOp::logical_not) {
      if (f.sem != Sem::boolean)
        throw Error(ErrorCode::type_mismatch, std::string("'not' needs a bool, got ") +
                                                  sem_name(f.sem) + where(node, context));
      std::optional<Condition> truth, falsity;
      if (f.known) {
        truth = falsity_of(f);
        falsity = truth_of(f);
      }
      f.code.push_back(make(Op::logical_not, VType::boolean));
      f.literal = false;
      f.truth = std::move(truth);
      f.falsity = std::move(falsity);
      return f;
    }
    if (!numeric(f.sem))
      throw Error(ErrorCode::type_mismatch,
                  std::string("'-' needs a number, got ") + sem_name(f.sem) + where(node, context));
    cast_to(f, arithmetic_type(f.sem));
    f.sem = f.sem == Sem::floating ? Sem::floating : Sem::integer;
    f.code.push_back(make(Op::neg, f.type));
    f.literal = false;
    return f;
  }

  /// a op literal with a single typed instruction where that is exact; false otherwise.
  static bool compare_with_literal(const Fragment& a, const Fragment& lit, Op op,
                                   Fragment& result) {
    if (!lit.literal || a.literal || !numeric(a.sem) || !numeric(lit.sem)) return false;
    std::int64_t iv = 0;
    const bool integer_literal = literal_integer(lit, iv);
    Fragment out = a;
    out.literal = false;
    out.input = -1;
    out.lookup_value = false;
    out.sem = Sem::boolean;
    Instr cmp = make(konst_form(op), a.type);
    if (a.type == VType::i32 || a.type == VType::u32) {
      const bool fits =
          integer_literal &&
          (a.type == VType::i32 ? iv >= INT32_MIN && iv <= INT32_MAX
                                : iv >= 0 && iv <= static_cast<std::int64_t>(UINT32_MAX));
      if (!fits) return false;
      cmp.imm = a.type == VType::i32 ? to_word(static_cast<std::int32_t>(iv))
                                     : to_word(static_cast<std::uint32_t>(iv));
    } else if (a.type == VType::i64) {
      if (!integer_literal) return false;
      cmp.imm = static_cast<std::uint64_t>(iv);
    } else if (a.type == VType::f64) {
      cmp.imm = to_word(literal_double(lit));
    } else if (a.type == VType::f32) {
      // x op c for a float x and a double c, as one float comparison with a float constant:
      // with lo < c < hi the floats around an inexact c, x < c is x < hi, x > c is x > lo, ...
      const double c = literal_double(lit);
      const float f = static_cast<float>(c);
      float k = f;
      if (static_cast<double>(f) != c) {
        const bool below = static_cast<double>(f) < c;
        const float lo = below ? f : std::nextafter(f, -std::numeric_limits<float>::infinity());
        const float hi = below ? std::nextafter(f, std::numeric_limits<float>::infinity()) : f;
        switch (op) {
          case Op::eq:
          case Op::ne: {  // never equal: the constant answer, without evaluating x
            out.code.clear();
            Instr answer = make(Op::konst, VType::boolean);
            answer.imm = op == Op::ne ? 1 : 0;
            out.code.push_back(answer);
            out.type = VType::boolean;
            out.depth = 1;
            out.literal = true;
            result = std::move(out);
            return true;
          }
          case Op::lt:
          case Op::ge:
            k = hi;
            break;
          default:  // le, gt
            k = lo;
            break;
        }
      }
      cmp.imm = to_word(k);
    } else {
      return false;
    }
    out.code.push_back(cmp);
    out.type = VType::boolean;
    result = std::move(out);
    return true;
  }

  Fragment lower_binary(const ExprNode& node, const std::string& context) {
    Fragment a = lower(*node.args.at(0), context);
    Fragment b = lower(*node.args.at(1), context);
    Fragment f;
    const ExprOp op = node.op;
    const bool logic = op == ExprOp::logical_and || op == ExprOp::logical_or;
    const bool equality = op == ExprOp::eq || op == ExprOp::ne;
    const bool ordering =
        op == ExprOp::lt || op == ExprOp::le || op == ExprOp::gt || op == ExprOp::ge;
    const std::string operands = std::string(sem_name(a.sem)) + " and " + sem_name(b.sem);
    if (logic) {
      if (a.sem != Sem::boolean || b.sem != Sem::boolean)
        throw Error(ErrorCode::type_mismatch,
                    "'and'/'or' need bools, got " + operands + where(node, context));
      f.depth = std::max(a.depth, b.depth + 1);
      append(f, a);
      append(f, b);
      f.code.push_back(
          make(op == ExprOp::logical_and ? Op::logical_and : Op::logical_or, VType::boolean));
      f.sem = Sem::boolean;
      f.type = VType::boolean;
      f.known = known_of(a, b);
      if (f.known) {  // three-valued logic: false and null is false, true or null is true
        const bool conj = op == ExprOp::logical_and;
        f.truth = conj ? combine(truth_of(a), truth_of(b), Op::logical_and)
                       : combine(truth_of(a), truth_of(b), Op::logical_or);
        f.falsity = conj ? combine(falsity_of(a), falsity_of(b), Op::logical_or)
                         : combine(falsity_of(a), falsity_of(b), Op::logical_and);
      }
      return f;
    }
    if (a.sem == Sem::string || b.sem == Sem::string || a.sem == Sem::boolean ||
        b.sem == Sem::boolean) {
      // Strings compare by dictionary code (one dictionary per job), bools as 0/1: equality only.
      if (!equality || a.sem != b.sem)
        throw Error(ErrorCode::type_mismatch, "cannot apply '" + std::string(to_string(op)) +
                                                  "' to " + operands + where(node, context));
      const VType t = a.sem == Sem::string ? VType::u32 : VType::boolean;
      if (b.literal && !a.literal) {
        f = a;
        f.code.push_back(make(konst_form(compare_op(op)), t));
        f.code.back().imm = b.code.back().imm;
      } else {
        f.depth = std::max(a.depth, b.depth + 1);
        append(f, a);
        append(f, b);
        f.code.push_back(make(compare_op(op), t));
      }
      f.input = -1;
      f.lookup_value = false;
      f.literal = false;
      f.sem = Sem::boolean;
      f.type = VType::boolean;
      // A boolean is decided where it is true or false, which three-valued logic makes wider
      // than where its lookups found rows (null or true is true).
      const auto decided = [](const Fragment& x) -> std::optional<Condition> {
        if (!x.truth) return x.known;
        return combine(*x.truth, *x.falsity, Op::logical_or);
      };
      set_known(f, both_known(decided(a), decided(b)));
      return f;
    }
    if (!numeric(a.sem) || !numeric(b.sem))
      throw Error(ErrorCode::type_mismatch, "cannot apply '" + std::string(to_string(op)) +
                                                "' to " + operands + where(node, context));
    if (equality || ordering) {
      const Op cmp = compare_op(op);
      if (compare_with_literal(a, b, cmp, f) || compare_with_literal(b, a, mirrored(cmp), f)) {
        set_known(f, known_of(a, b));
        f.nan_unless_known = false;
        true_only_where_known(f, a, b);
        return f;
      }
      // Both sides in one type: native for equal 32-bit types and f32, else i64 or f64.
      VType t;
      if (a.type == b.type && a.type != VType::boolean && !a.literal && !b.literal &&
          (a.type == VType::i32 || a.type == VType::u32 || a.type == VType::f32)) {
        t = a.type;
      } else {
        t = a.sem == Sem::floating || b.sem == Sem::floating ? VType::f64 : VType::i64;
        cast_to(a, t);
        cast_to(b, t);
      }
      f.depth = std::max(a.depth, b.depth + 1);
      append(f, a);
      append(f, b);
      f.code.push_back(make(cmp, t));
      f.sem = Sem::boolean;
      f.type = VType::boolean;
      set_known(f, known_of(a, b));
      true_only_where_known(f, a, b);
      return f;
    }
    const bool as_float = a.sem == Sem::floating || b.sem == Sem::floating || op == ExprOp::div;
    const VType t = as_float ? VType::f64 : VType::i64;
    cast_to(a, t);
    cast_to(b, t);
    f.depth = std::max(a.depth, b.depth + 1);
    append(f, a);
    append(f, b);
    Op arith = Op::add;
    switch (op) {
      case ExprOp::sub:
        arith = Op::sub;
        break;
      case ExprOp::mul:
        arith = Op::mul;
        break;
      case ExprOp::div:
        arith = Op::div;
        break;
      default:
        break;
    }
    f.code.push_back(make(arith, t));
    f.sem = as_float ? Sem::floating : Sem::integer;
    f.type = t;
    set_known(f, known_of(a, b));
    // NaN op x is NaN: a float result is NaN wherever an operand that may be unknown is.
    f.nan_unless_known =
        f.known && as_float && (!a.known || a.nan_unless_known) && (!b.known || b.nan_unless_known);
    return f;
  }

  const Schema& schema_;
  const std::vector<BroadcastSpec>& broadcasts_;
  StringDictionary& dictionary_;
  bool patterns_allowed_ = true;
  std::vector<std::uint32_t> constants_;  // codes of the string literals
  std::vector<std::string> patterns_;     // distinct LIKE patterns
  int lowering_ = 0;                      // depth of lower()'s recursion
  std::vector<std::string> visible_;
  std::map<std::string, Fragment> mapped_;
  std::vector<std::size_t> read_;
};

/// Appends a program to the plan and returns its index.
int add_program(PipelinePlan& plan, const Fragment& f) {
  check_length(f.code.size());
  ProgramRef ref;
  ref.begin = static_cast<std::uint32_t>(plan.code.size());
  ref.size = static_cast<std::uint16_t>(f.code.size());
  ref.result = f.type;
  plan.code.insert(plan.code.end(), f.code.begin(), f.code.end());
  plan.programs.push_back(ref);
  return static_cast<int>(plan.programs.size() - 1);
}

DataType output_type(const Fragment& f) {
  if (f.input >= 0 || f.lookup_value) return f.column_type;
  switch (f.type) {
    case VType::f64:
      return TypeId::f64;
    case VType::f32:
      return TypeId::f32;
    case VType::boolean:
      return TypeId::boolean;
    case VType::i32:
      return TypeId::i32;
    case VType::u32:
      return f.sem == Sem::string ? TypeId::string : TypeId::u32;
    default:
      return f.sem == Sem::unsigned_integer ? TypeId::u64 : TypeId::i64;
  }
}

std::uint64_t boundary_word(const Value& v, bool as_double, std::size_t i) {
  if (const auto* d = std::get_if<double>(&v)) {
    if (as_double) return to_word(*d);
    if (*d != static_cast<double>(static_cast<std::int64_t>(*d)))
      throw Error(ErrorCode::invalid_argument, "range boundary " + std::to_string(i + 1) +
                                                   " must be an integer for an integer key");
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(*d));
  }
  std::int64_t x = 0;
  if (const auto* s = std::get_if<std::int64_t>(&v))
    x = *s;
  else if (const auto* u = std::get_if<std::uint64_t>(&v))
    x = static_cast<std::int64_t>(*u);
  else
    throw Error(ErrorCode::invalid_argument,
                "range boundary " + std::to_string(i + 1) + " must be a number");
  return as_double ? to_word(static_cast<double>(x)) : static_cast<std::uint64_t>(x);
}

/// Programs beyond kMaxInputPrograms conjuncts are folded into the last one.
void add_conjuncts(PipelinePlan& plan, std::vector<Fragment> conjuncts, int& begin, int& count) {
  while (conjuncts.size() > static_cast<std::size_t>(kMaxInputPrograms)) {
    // The folded chain first, then the next conjunct: the depth stays that of the deepest + 1.
    Fragment chain = std::move(conjuncts.back());
    conjuncts.pop_back();
    Fragment& into = conjuncts.back();
    chain.depth = std::max(chain.depth, into.depth + 1);
    chain.code.insert(chain.code.end(), into.code.begin(), into.code.end());
    chain.code.push_back(make(Op::logical_and, VType::boolean));
    into = std::move(chain);
  }
  for (const Fragment& f : conjuncts)
    if (f.depth > kMaxStackDepth) throw Error(ErrorCode::invalid_argument, "filter too deep");
  begin = static_cast<int>(plan.programs.size());
  for (const Fragment& f : conjuncts) add_program(plan, f);
  count = static_cast<int>(conjuncts.size());
}

void check_partitioning(const CompiledQuery& out, PipelinePlan& plan, int workers,
                        const PartitionSpec& partition) {
  plan.partitioner.parts = workers;
  const int key_words = plan.aggregation.key_words;
  if (partition.kind == PartitionSpec::Kind::key) {
    if (key_words == 0 ||
        (out.keys[0].sem != Sem::integer && out.keys[0].sem != Sem::unsigned_integer))
      throw Error(ErrorCode::invalid_argument,
                  "key partitioning needs an integer first key (key_by)");
    plan.partitioner.kind = Partitioner::Kind::key;
  }
  if (partition.kind == PartitionSpec::Kind::range) {
    if (key_words == 0) throw Error(ErrorCode::invalid_argument, "range partitioning needs key_by");
    const Sem first = out.keys[0].sem;
    if (!numeric(first))
      throw Error(ErrorCode::invalid_argument, "range partitioning needs a numeric first key, '" +
                                                   out.keys[0].name + "' is " + sem_name(first));
    if (partition.boundaries.size() + 1 != static_cast<std::size_t>(workers))
      throw Error(ErrorCode::invalid_argument,
                  "range partitioning over " + std::to_string(workers) + " workers needs " +
                      std::to_string(workers - 1) + " boundaries, got " +
                      std::to_string(partition.boundaries.size()));
    if (partition.boundaries.size() > static_cast<std::size_t>(kMaxRangeBoundaries))
      throw Error(ErrorCode::invalid_argument, "too many range boundaries");
    Partitioner& p = plan.partitioner;
    p.kind = Partitioner::Kind::range;
    p.range_as_double = first == Sem::floating;
    p.num_boundaries = static_cast<int>(partition.boundaries.size());
    for (std::size_t i = 0; i < partition.boundaries.size(); ++i) {
      p.boundaries[i] = boundary_word(partition.boundaries[i], p.range_as_double, i);
      if (i > 0 && (p.range_as_double ? from_word<double>(p.boundaries[i]) <=
                                            from_word<double>(p.boundaries[i - 1])
                                      : static_cast<std::int64_t>(p.boundaries[i]) <=
                                            static_cast<std::int64_t>(p.boundaries[i - 1])))
        throw Error(ErrorCode::invalid_argument, "range boundaries must be strictly ascending");
    }
  }
}

/// The sink schema of a windowed query: window_start, window_end, keys, aggregates, update.
Schema result_schema_of(const CompiledQuery& q) {
  const DataType bound =
      q.time_is_timestamp ? DataType::timestamp(q.time_unit) : DataType(TypeId::i64);
  std::vector<Field> fields{{"window_start", bound}, {"window_end", bound}};
  for (const KeyColumn& k : q.keys) fields.push_back({k.name, k.type});
  for (const AggregateOutput& a : q.aggregates)
    fields.push_back({a.name, a.float_result ? DataType(TypeId::f64) : DataType(TypeId::i64)});
  fields.push_back({"update", TypeId::boolean});
  for (std::size_t i = 0; i < fields.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (fields[i].name == fields[j].name)
        throw Error(ErrorCode::invalid_argument,
                    "result column '" + fields[i].name +
                        "' appears twice (keys, aggregates, window_start, window_end and update "
                        "name the result columns; rename an aggregate with .as(...))");
  return Schema(std::move(fields));
}

}  // namespace

ColumnType column_type_of(TypeId id) {
  switch (id) {
    case TypeId::i32:
      return ColumnType::i32;
    case TypeId::i64:
      return ColumnType::i64;
    case TypeId::u32:
      return ColumnType::u32;
    case TypeId::u64:
      return ColumnType::u64;
    case TypeId::f32:
      return ColumnType::f32;
    case TypeId::f64:
      return ColumnType::f64;
    case TypeId::boolean:
      return ColumnType::boolean;
    case TypeId::timestamp:
      return ColumnType::timestamp;
    case TypeId::string:
      return ColumnType::string;
  }
  return ColumnType::i64;
}

std::int64_t to_time_units(Duration d, TimeUnit unit, const char* what) {
  const std::int64_t per = nanos_per_unit(unit);
  if (d.count() % per != 0)
    throw Error(ErrorCode::invalid_argument, std::string(what) + " " + to_string(d) +
                                                 " is not a whole number of " + to_string(unit));
  return d.count() / per;
}

CompiledQuery compile_query(const Schema& schema, const Query& query, StringDictionary& dictionary,
                            int workers, const PartitionSpec& partition) {
  CompiledQuery out;
  PipelinePlan& plan = out.plan;
  ExprCompiler compiler(schema, query.broadcasts(), dictionary);
  std::vector<Fragment> conjuncts;
  int step_no = 0;
  for (const Query::Step& step : query.steps()) {
    ++step_no;
    const std::string context = "step " + std::to_string(step_no);
    switch (step.kind) {
      case Query::Step::Kind::filter: {
        try {
          compiler.conjuncts(step.expr.node(), "filter (" + context + ")", conjuncts);
        } catch (const Error& e) {
          if (e.code() != ErrorCode::type_mismatch) throw;
          throw Error(ErrorCode::type_mismatch,
                      std::string(e.what()) + ": " + step.expr.to_string());
        }
        break;
      }
      case Query::Step::Kind::map:
        compiler.define(step.name, compiler.compile(step.expr, "map '" + step.name + "'"));
        break;
      case Query::Step::Kind::project:
        compiler.project(step.columns, "project (" + context + ")");
        break;
    }
  }

  out.result_sink = query.batch_sink();
  out.row_result_sink = query.result_sink();
  out.late_sink = query.late_events_sink();
  out.broadcasts = query.broadcasts();
  out.windowed = query.is_windowed();
  const TriggerSpec& trigger = query.trigger_spec();
  if (trigger.kind != TriggerSpec::Kind::watermark && !out.windowed)
    throw Error(ErrorCode::invalid_argument,
                "a trigger needs a windowed query (window and aggregates): rows of a query "
                "without windows are emitted as they pass");
  if (trigger.kind == TriggerSpec::Kind::every) out.early_fire_every = trigger.interval;
  plan.windowed = out.windowed;

  if (!out.windowed) {
    if (!query.keys().empty())
      throw Error(ErrorCode::invalid_argument, "key_by needs a window and aggregates");
    std::vector<Fragment> outputs;
    for (const std::string& name : compiler.visible()) {
      Fragment f = compiler.column(name, "output");
      compiler.require_known(f, conjuncts);
      out.outputs.push_back({name, output_type(f)});
      outputs.push_back(std::move(f));
    }
    add_conjuncts(plan, std::move(conjuncts), plan.filter_begin, plan.filter_count);
    plan.outputs_begin = static_cast<int>(plan.programs.size());
    for (const Fragment& f : outputs) add_program(plan, f);
    plan.outputs_count = static_cast<int>(out.outputs.size());
  } else {
    AggregationSpec& agg = plan.aggregation;
    if (query.aggregates().empty())
      throw Error(ErrorCode::invalid_argument, "a windowed query needs at least one aggregate");
    const WindowSpec window = query.window_spec().value_or(WindowSpec::global());
    const bool global = window.kind == WindowSpec::Kind::global;
    // Event time.
    std::optional<Fragment> event_time;  // as an i64 program, for first/last
    if (query.time_column()) {
      Fragment time = compiler.column(*query.time_column(), "event time");
      if (time.input < 0 || (time.sem != Sem::integer && time.sem != Sem::unsigned_integer))
        throw Error(ErrorCode::type_mismatch, "event time column '" + *query.time_column() +
                                                  "' must be a timestamp or integer input column");
      out.time_input = time.input;
      out.time_is_timestamp = time.column_type.id == TypeId::timestamp;
      out.time_unit = out.time_is_timestamp ? time.column_type.unit : TimeUnit::ms;
      cast_to(time, VType::i64);
      agg.time_program = add_program(plan, time);
      event_time = time;
    } else if (!global) {
      throw Error(ErrorCode::invalid_argument, "a time window needs event_time(column)");
    }
    // Keys.
    if (query.keys().size() > static_cast<std::size_t>(kMaxKeyWords))
      throw Error(ErrorCode::invalid_argument,
                  "a query may group by at most " + std::to_string(kMaxKeyWords) + " columns");
    agg.keys_begin = static_cast<int>(plan.programs.size());
    for (const std::string& key : query.keys()) {
      Fragment f = compiler.column(key, "key_by");
      compiler.require_known(f, conjuncts);
      if (f.sem == Sem::string) agg.string_key_mask |= 1U << out.keys.size();
      out.keys.push_back({key, output_type(f), f.sem});
      add_program(plan, f);
    }
    agg.key_words = static_cast<int>(query.keys().size());
    // States and their inputs, from the aggregate catalogue.
    std::vector<Fragment> inputs;
    // The input program computing `f` (equal inputs share one).
    const auto input_of = [&](Fragment f) {
      for (std::size_t j = 0; j < inputs.size(); ++j)
        if (same_code(inputs[j].code, f.code)) return static_cast<int>(j);
      if (inputs.size() >= static_cast<std::size_t>(kMaxInputPrograms))
        throw Error(ErrorCode::invalid_argument, "too many aggregate inputs");
      inputs.push_back(std::move(f));
      return static_cast<int>(inputs.size() - 1);
    };
    StateSpec& states = agg.states;
    for (const AggregateSpec& spec : query.aggregates()) {
      AggregateOutput a;
      a.name = spec.name;
      a.kind = spec.kind;
      int input = -1;
      bool float_input = false;
      if (spec.kind != AggKind::count) {
        if (!spec.input)
          throw Error(ErrorCode::invalid_argument, "aggregate '" + spec.name + "' needs an input");
        Fragment in = compiler.compile(*spec.input, "aggregate '" + spec.name + "'");
        compiler.require_known(in, conjuncts);
        if (!numeric(in.sem))
          throw Error(ErrorCode::type_mismatch,
                      "aggregate '" + spec.name + "' needs a number, got " + sem_name(in.sem));
        float_input = in.sem == Sem::floating || spec.kind == AggKind::avg;
        cast_to(in, float_input ? VType::f64 : VType::i64);
        input = input_of(std::move(in));
      }
      int time_input = -1;
      if (spec.kind == AggKind::first || spec.kind == AggKind::last) {
        if (!event_time)
          throw Error(ErrorCode::invalid_argument,
                      "aggregate '" + spec.name + "' is by event time: the query needs event_time");
        time_input = input_of(*event_time);
      }
      const AggregateShape shape = aggregate_shape(spec.kind, float_input);
      a.state = states.count;
      a.float_result = shape.float_result;
      for (int s = 0; s < shape.states; ++s) {
        if (states.count >= kMaxStates)
          throw Error(ErrorCode::invalid_argument, "too many aggregates");
        states.ops[states.count] = shape.ops[s];
        states.inputs[states.count] = static_cast<std::int16_t>(shape.time_input[s]  ? time_input
                                                                : shape.has_input[s] ? input
                                                                                     : -1);
        ++states.count;
      }
      out.aggregates.push_back(a);
    }
    // An event-driven trigger counts its events in a state: every event (count:N: the count
    // aggregate's state, when there is one), or those where its condition holds (on:EXPR,
    // fires at each), in a state of its own that no result reads.
    if (trigger.kind == TriggerSpec::Kind::count)
      for (const AggregateOutput& a : out.aggregates)
        if (a.kind == AggKind::count) {
          agg.trigger.state = a.state;
          agg.trigger.every = trigger.events;
          break;
        }
    if ((trigger.kind == TriggerSpec::Kind::count && !agg.trigger.active()) ||
        trigger.kind == TriggerSpec::Kind::on) {
      int input = -1;
      if (trigger.kind == TriggerSpec::Kind::on) {
        Fragment c = compiler.condition(trigger.condition->node(), "trigger condition");
        cast_to(c, VType::i64);
        input = input_of(std::move(c));
      }
      if (states.count >= kMaxStates)
        throw Error(ErrorCode::invalid_argument, "too many aggregates");
      states.ops[states.count] = StateOp::sum_i64;
      states.inputs[states.count] = static_cast<std::int16_t>(input);
      agg.trigger.state = states.count++;
      agg.trigger.every = trigger.kind == TriggerSpec::Kind::count ? trigger.events : 1;
    }
    agg.inputs_begin = static_cast<int>(plan.programs.size());
    for (const Fragment& f : inputs) add_program(plan, f);
    agg.inputs = static_cast<int>(inputs.size());
    add_conjuncts(plan, std::move(conjuncts), agg.conjuncts_begin, agg.conjuncts);
    // Geometry in time units.
    const TimeUnit unit = out.time_unit;
    out.max_delay = to_time_units(query.max_out_of_orderness(), unit, "max out-of-orderness");
    const std::int64_t lateness = to_time_units(query.lateness(), unit, "allowed lateness");
    if (out.max_delay < 0 || lateness < 0)
      throw Error(ErrorCode::invalid_argument, "delays must not be negative");
    if (global) {
      agg.panes = PaneSpec::make_global(lateness);
    } else {
      const std::int64_t size = to_time_units(window.size, unit, "window size");
      // Sliding windows and cumulating ones (whose slide is the step) have a slide of their own.
      const bool own_slide =
          window.kind == WindowSpec::Kind::sliding || window.kind == WindowSpec::Kind::cumulate;
      const std::int64_t slide =
          to_time_units(own_slide ? window.slide : window.size, unit, "window slide");
      const std::int64_t offset = to_time_units(window.offset, unit, "window offset");
      if (size <= 0 || slide <= 0)
        throw Error(ErrorCode::invalid_argument, "window size and slide must be positive");
      agg.panes = window.kind == WindowSpec::Kind::cumulate
                      ? PaneSpec::make_cumulate(size, slide, offset, lateness)
                      : PaneSpec::make(size, slide, offset, lateness);
    }
    if (event_time && !agg.panes.bound_times(out.max_delay))
      throw Error(ErrorCode::invalid_argument,
                  "the window, allowed lateness and out-of-orderness are too large for 64-bit "
                  "event times in " +
                      std::string(to_string(unit)));
    check_partitioning(out, plan, workers, partition);
    out.result_schema = result_schema_of(out);
  }
  std::vector<std::uint32_t> having_constants;
  if (const std::optional<Expr>& having = query.having_condition()) {
    if (!out.windowed)
      throw Error(ErrorCode::invalid_argument, "having needs a windowed query (its result rows)");
    // Fired rows carry no lookup tables: no broadcast columns and no `like` over them. (The
    // compiler keeps a reference to the broadcast list: a named one, alive while it works.)
    const std::vector<BroadcastSpec> no_broadcasts;
    ExprCompiler results(out.result_schema, no_broadcasts, dictionary, false);
    Fragment f = results.condition(having->node(), "having");
    out.having_code = std::move(f.code);
    check_length(out.having_code.size());
    out.having_columns = results.read_columns();
    having_constants = results.string_constants();
  }
  // Batches carry the read columns in schema order: renumber the loads accordingly.
  out.patterns = compiler.patterns();
  out.string_constants = compiler.string_constants();
  out.string_constants.insert(out.string_constants.end(), having_constants.begin(),
                              having_constants.end());
  const std::vector<std::size_t>& first_use = compiler.read_columns();
  out.read_columns = first_use;
  std::sort(out.read_columns.begin(), out.read_columns.end());
  std::vector<std::uint16_t> position(first_use.size());
  for (std::size_t i = 0; i < first_use.size(); ++i)
    position[i] = static_cast<std::uint16_t>(
        std::find(out.read_columns.begin(), out.read_columns.end(), first_use[i]) -
        out.read_columns.begin());
  for (Instr& ins : plan.code)
    if (ins.op == Op::load) ins.column = position[ins.column];
  if (out.time_input >= 0) out.time_input = position[static_cast<std::size_t>(out.time_input)];
  plan.time_column = out.time_input;
  for (std::size_t c : out.read_columns)
    plan.input_types.push_back(column_type_of(schema.field(c).type.id));
  return out;
}

}  // namespace sluice::detail
