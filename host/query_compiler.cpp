// Query compilation: name resolution, type checking and code generation for expression programs.
#include "host/query_compiler.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <sstream>
#include <variant>

#include "sluice/status.hpp"

namespace sluice::detail {
namespace {

/// Code of one expression: postfix instructions, its type, and its stack need.
struct Fragment {
  std::vector<Instr> code;
  Sem sem = Sem::integer;
  int depth = 1;
  int input = -1;  ///< read-column index when the fragment is exactly one column load
  DataType column_type;
};

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

/// Resolves names and generates code. Names in scope are input columns or mapped columns.
class ExprCompiler {
 public:
  ExprCompiler(const Schema& schema, StringDictionary& dictionary)
      : schema_(schema), dictionary_(dictionary) {
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
    switch (node.op) {
      case ExprOp::column:
        return lower_column(node, context);
      case ExprOp::literal:
        return lower_literal(node);
      case ExprOp::neg:
      case ExprOp::logical_not:
        return lower_unary(node, context);
      default:
        return lower_binary(node, context);
    }
  }

  Fragment lower_column(const ExprNode& node, const std::string& context) {
    if (std::find(visible_.begin(), visible_.end(), node.column) == visible_.end()) {
      std::string known;
      for (const std::string& n : visible_) known += (known.empty() ? "" : ", ") + n;
      throw Error(ErrorCode::unknown_column, "unknown column '" + node.column + "'" +
                                                 where(node, context) + " (columns: " + known +
                                                 ")");
    }
    if (auto it = mapped_.find(node.column); it != mapped_.end()) return it->second;
    const std::size_t index = schema_.index_of(node.column);
    const DataType type = schema_.field(index).type;
    Fragment f;
    f.input = read_index(index);
    f.column_type = type;
    f.sem = sem_of(type.id);
    Instr load;
    load.op = OpCode::load;
    load.type = column_type_of(type.id);
    load.column = static_cast<std::uint16_t>(f.input);
    f.code.push_back(load);
    return f;
  }

  Fragment lower_literal(const ExprNode& node) {
    Fragment f;
    Instr push;
    push.op = OpCode::push;
    if (const auto* i = std::get_if<std::int64_t>(&node.literal)) {
      push.literal = static_cast<std::uint64_t>(*i);
      f.sem = Sem::integer;
    } else if (const auto* d = std::get_if<double>(&node.literal)) {
      push.literal = double_bits(*d);
      f.sem = Sem::floating;
    } else if (const auto* b = std::get_if<bool>(&node.literal)) {
      push.literal = *b ? 1 : 0;
      f.sem = Sem::boolean;
    } else {
      push.literal = dictionary_.intern(std::get<std::string>(node.literal));
      f.sem = Sem::string;
    }
    f.code.push_back(push);
    return f;
  }

  static void append(Fragment& to, const Fragment& from) {
    to.code.insert(to.code.end(), from.code.begin(), from.code.end());
  }
  static void emit(Fragment& f, OpCode op) {
    Instr ins;
    ins.op = op;
    f.code.push_back(ins);
  }

  Fragment lower_unary(const ExprNode& node, const std::string& context) {
    Fragment a = lower(*node.args.at(0), context);
    Fragment f;
    f.code = a.code;
    f.depth = a.depth;
    if (node.op == ExprOp::logical_not) {
      if (a.sem != Sem::boolean)
        throw Error(ErrorCode::type_mismatch, std::string("'not' needs a bool, got ") +
                                                  sem_name(a.sem) + where(node, context));
      emit(f, OpCode::logical_not);
      f.sem = Sem::boolean;
      return f;
    }
    if (!numeric(a.sem))
      throw Error(ErrorCode::type_mismatch,
                  std::string("'-' needs a number, got ") + sem_name(a.sem) + where(node, context));
    f.sem = a.sem == Sem::floating ? Sem::floating : Sem::integer;
    emit(f, a.sem == Sem::floating ? OpCode::neg_f : OpCode::neg_i);
    return f;
  }

  Fragment lower_binary(const ExprNode& node, const std::string& context) {
    Fragment a = lower(*node.args.at(0), context);
    Fragment b = lower(*node.args.at(1), context);
    Fragment f;
    f.depth = std::max(a.depth, b.depth + 1);
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
      append(f, a);
      append(f, b);
      emit(f, op == ExprOp::logical_and ? OpCode::logical_and : OpCode::logical_or);
      f.sem = Sem::boolean;
      return f;
    }
    if (a.sem == Sem::string || b.sem == Sem::string || a.sem == Sem::boolean ||
        b.sem == Sem::boolean) {
      // Strings compare by dictionary code (one dictionary per job), bools as 0/1: equality only.
      if (!equality || a.sem != b.sem)
        throw Error(ErrorCode::type_mismatch, "cannot apply '" + std::string(to_string(op)) +
                                                  "' to " + operands + where(node, context));
      append(f, a);
      append(f, b);
      emit(f, op == ExprOp::eq ? OpCode::eq_i : OpCode::ne_i);
      f.sem = Sem::boolean;
      return f;
    }
    const bool as_float = a.sem == Sem::floating || b.sem == Sem::floating || op == ExprOp::div;
    append(f, a);
    if (as_float && a.sem != Sem::floating) emit(f, OpCode::to_f64);
    append(f, b);
    if (as_float && b.sem != Sem::floating) emit(f, OpCode::to_f64);
    f.sem = equality || ordering ? Sem::boolean : (as_float ? Sem::floating : Sem::integer);
    emit(f, opcode(op, as_float));
    return f;
  }

  static OpCode opcode(ExprOp op, bool f) {
    switch (op) {
      case ExprOp::add:
        return f ? OpCode::add_f : OpCode::add_i;
      case ExprOp::sub:
        return f ? OpCode::sub_f : OpCode::sub_i;
      case ExprOp::mul:
        return f ? OpCode::mul_f : OpCode::mul_i;
      case ExprOp::div:
        return OpCode::div_f;
      case ExprOp::eq:
        return f ? OpCode::eq_f : OpCode::eq_i;
      case ExprOp::ne:
        return f ? OpCode::ne_f : OpCode::ne_i;
      case ExprOp::lt:
        return f ? OpCode::lt_f : OpCode::lt_i;
      case ExprOp::le:
        return f ? OpCode::le_f : OpCode::le_i;
      case ExprOp::gt:
        return f ? OpCode::gt_f : OpCode::gt_i;
      case ExprOp::ge:
        return f ? OpCode::ge_f : OpCode::ge_i;
      default:
        return OpCode::push;
    }
  }

  const Schema& schema_;
  StringDictionary& dictionary_;
  std::vector<std::string> visible_;
  std::map<std::string, Fragment> mapped_;
  std::vector<std::size_t> read_;
};

/// Appends a program to the plan and returns its index.
int add_program(PipelinePlan& plan, const Fragment& f) {
  ProgramRef ref;
  ref.begin = static_cast<std::uint32_t>(plan.code.size());
  ref.size = static_cast<std::uint16_t>(f.code.size());
  ref.kind = f.sem == Sem::floating ? ValueKind::f64
                                    : (f.sem == Sem::boolean ? ValueKind::boolean : ValueKind::i64);
  plan.code.insert(plan.code.end(), f.code.begin(), f.code.end());
  plan.programs.push_back(ref);
  return static_cast<int>(plan.programs.size() - 1);
}

Fragment as_float(Fragment f) {
  if (f.sem != Sem::floating) {
    Instr ins;
    ins.op = OpCode::to_f64;
    f.code.push_back(ins);
    f.sem = Sem::floating;
    f.input = -1;
  }
  return f;
}

DataType output_type(const Fragment& f) {
  if (f.input >= 0) return f.column_type;
  switch (f.sem) {
    case Sem::floating:
      return TypeId::f64;
    case Sem::boolean:
      return TypeId::boolean;
    case Sem::unsigned_integer:
      return TypeId::u64;
    default:
      return TypeId::i64;
  }
}

std::uint64_t boundary_word(const Value& v, bool as_double, std::size_t i) {
  if (const auto* d = std::get_if<double>(&v)) {
    if (as_double) return double_bits(*d);
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
  return as_double ? double_bits(static_cast<double>(x)) : static_cast<std::uint64_t>(x);
}

}  // namespace

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
  ExprCompiler compiler(schema, dictionary);
  std::vector<Fragment> filters;
  int step_no = 0;
  for (const Query::Step& step : query.steps()) {
    ++step_no;
    const std::string context = "step " + std::to_string(step_no);
    switch (step.kind) {
      case Query::Step::Kind::filter: {
        Fragment f = compiler.compile(step.expr, "filter (" + context + ")");
        if (f.sem != Sem::boolean)
          throw Error(ErrorCode::type_mismatch, "filter (" + context + ") must be a bool, got " +
                                                    sem_name(f.sem) + ": " + step.expr.to_string());
        filters.push_back(std::move(f));
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
  // Several filters are one conjunction, evaluated in one program.
  Fragment filter;
  for (std::size_t i = 0; i < filters.size(); ++i) {
    if (i == 0) {
      filter = filters[0];
      continue;
    }
    filter.depth = std::max(filter.depth, filters[i].depth + 1);
    filter.code.insert(filter.code.end(), filters[i].code.begin(), filters[i].code.end());
    Instr ins;
    ins.op = OpCode::logical_and;
    filter.code.push_back(ins);
  }

  out.result_sink = query.result_sink();
  out.row_sink = query.row_sink();
  out.late_sink = query.late_events_sink();
  out.windowed = query.is_windowed();

  if (!out.windowed) {
    if (!query.keys().empty())
      throw Error(ErrorCode::invalid_argument, "key_by needs a window and aggregates");
    plan.projection.first_output = 0;
    for (const std::string& name : compiler.visible()) {
      Fragment f = compiler.column(name, "output");
      out.outputs.push_back({name, output_type(f)});
      add_program(plan, f);
    }
    plan.projection.num_outputs = static_cast<int>(plan.programs.size());
  } else {
    if (query.aggregates().empty())
      throw Error(ErrorCode::invalid_argument, "a windowed query needs at least one aggregate");
    const WindowSpec window = query.window_spec().value_or(WindowSpec::global());
    const bool global = window.kind == WindowSpec::Kind::global;
    // Output 0: event time.
    Fragment time;
    if (query.time_column()) {
      time = compiler.column(*query.time_column(), "event time");
      if (time.input < 0 || (time.sem != Sem::integer && time.sem != Sem::unsigned_integer))
        throw Error(ErrorCode::type_mismatch, "event time column '" + *query.time_column() +
                                                  "' must be a timestamp or integer input column");
      out.time_input = time.input;
      out.time_unit =
          time.column_type.id == TypeId::timestamp ? time.column_type.unit : TimeUnit::ms;
    } else if (!global) {
      throw Error(ErrorCode::invalid_argument, "a time window needs event_time(column)");
    } else {
      Instr zero;
      zero.op = OpCode::push;
      time.code.push_back(zero);
    }
    plan.time_output = add_program(plan, time);
    // Outputs 1..K: keys.
    plan.projection.key_begin = 1;
    for (const std::string& key : query.keys()) {
      Fragment f = compiler.column(key, "key_by");
      out.key_names.push_back(key);
      out.key_sems.push_back(f.sem);
      add_program(plan, f);
    }
    plan.key_words = static_cast<int>(query.keys().size());
    plan.projection.key_end = 1 + plan.key_words;
    // State columns and their inputs.
    StateSpec& states = plan.states;
    auto add_state = [&](StateOp op, int input) {
      if (states.count >= kMaxStates)
        throw Error(ErrorCode::invalid_argument, "too many aggregates");
      states.ops[states.count] = op;
      states.inputs[states.count] = static_cast<std::int16_t>(input);
      return states.count++;
    };
    for (const AggregateSpec& agg : query.aggregates()) {
      AggregateOutput a;
      a.name = agg.name;
      a.kind = agg.kind;
      if (agg.kind == AggKind::count) {
        a.state = add_state(StateOp::sum_i64, -1);
        a.integral = true;
        out.aggregates.push_back(a);
        continue;
      }
      if (!agg.input)
        throw Error(ErrorCode::invalid_argument, "aggregate '" + agg.name + "' needs an input");
      Fragment in = compiler.compile(*agg.input, "aggregate '" + agg.name + "'");
      if (!numeric(in.sem))
        throw Error(ErrorCode::type_mismatch,
                    "aggregate '" + agg.name + "' needs a number, got " + sem_name(in.sem));
      const bool integral = in.sem != Sem::floating && agg.kind != AggKind::avg;
      if (!integral) in = as_float(in);
      const int input = add_program(plan, in);
      a.integral = integral;
      switch (agg.kind) {
        case AggKind::sum:
          a.state = add_state(integral ? StateOp::sum_i64 : StateOp::sum_f64, input);
          break;
        case AggKind::min:
          a.state = add_state(integral ? StateOp::min_i64 : StateOp::min_f64, input);
          break;
        case AggKind::max:
          a.state = add_state(integral ? StateOp::max_i64 : StateOp::max_f64, input);
          break;
        case AggKind::avg:
          a.state = add_state(StateOp::sum_f64, input);
          a.count_state = add_state(StateOp::sum_i64, -1);
          break;
        case AggKind::count:
          break;
      }
      out.aggregates.push_back(a);
    }
    plan.projection.num_outputs = static_cast<int>(plan.programs.size());
    // Geometry in time units.
    PaneSpec& panes = plan.panes;
    panes.global = global;
    const TimeUnit unit = out.time_unit;
    out.max_delay = to_time_units(query.max_out_of_orderness(), unit, "max out-of-orderness");
    panes.lateness = to_time_units(query.lateness(), unit, "allowed lateness");
    if (out.max_delay < 0 || panes.lateness < 0)
      throw Error(ErrorCode::invalid_argument, "delays must not be negative");
    if (!global) {
      panes.size = to_time_units(window.size, unit, "window size");
      panes.slide =
          to_time_units(window.kind == WindowSpec::Kind::sliding ? window.slide : window.size, unit,
                        "window slide");
      panes.offset = to_time_units(window.offset, unit, "window offset");
      if (panes.size <= 0 || panes.slide <= 0)
        throw Error(ErrorCode::invalid_argument, "window size and slide must be positive");
      panes.pane = std::gcd(panes.size, panes.slide);
      panes.offset %= panes.slide;
    }
    // Partitioning across workers.
    plan.partitioner.parts = workers;
    if (partition.kind == PartitionSpec::Kind::key) {
      if (plan.key_words == 0 ||
          (out.key_sems[0] != Sem::integer && out.key_sems[0] != Sem::unsigned_integer))
        throw Error(ErrorCode::invalid_argument,
                    "key partitioning needs an integer first key (key_by)");
      plan.partitioner.kind = Partitioner::Kind::key;
    }
    if (partition.kind == PartitionSpec::Kind::range) {
      if (plan.key_words == 0)
        throw Error(ErrorCode::invalid_argument, "range partitioning needs key_by");
      const Sem first = out.key_sems[0];
      if (!numeric(first))
        throw Error(ErrorCode::invalid_argument, "range partitioning needs a numeric first key, '" +
                                                     out.key_names[0] + "' is " + sem_name(first));
      if (partition.boundaries.size() + 1 != static_cast<std::size_t>(workers))
        throw Error(ErrorCode::invalid_argument,
                    "range partitioning over " + std::to_string(workers) + " workers needs " +
                        std::to_string(workers - 1) + " boundaries, got " +
                        std::to_string(partition.boundaries.size()));
      if (partition.boundaries.size() > static_cast<std::size_t>(kMaxRangeBoundaries))
        throw Error(ErrorCode::invalid_argument, "too many range boundaries");
      plan.partitioner.kind = Partitioner::Kind::range;
      plan.partitioner.range_as_double = first == Sem::floating;
      plan.partitioner.num_boundaries = static_cast<int>(partition.boundaries.size());
      for (std::size_t i = 0; i < partition.boundaries.size(); ++i) {
        plan.partitioner.boundaries[i] =
            boundary_word(partition.boundaries[i], plan.partitioner.range_as_double, i);
        if (i > 0 && (plan.partitioner.range_as_double
                          ? bits_double(plan.partitioner.boundaries[i]) <=
                                bits_double(plan.partitioner.boundaries[i - 1])
                          : static_cast<std::int64_t>(plan.partitioner.boundaries[i]) <=
                                static_cast<std::int64_t>(plan.partitioner.boundaries[i - 1])))
          throw Error(ErrorCode::invalid_argument, "range boundaries must be strictly ascending");
      }
    }
  }
  if (!filters.empty()) plan.projection.filter = add_program(plan, filter);
  plan.windowed = out.windowed;
  // Batches carry the read columns in schema order: renumber the loads accordingly.
  const std::vector<std::size_t>& first_use = compiler.read_columns();
  out.read_columns = first_use;
  std::sort(out.read_columns.begin(), out.read_columns.end());
  std::vector<std::uint16_t> position(first_use.size());
  for (std::size_t i = 0; i < first_use.size(); ++i)
    position[i] = static_cast<std::uint16_t>(
        std::find(out.read_columns.begin(), out.read_columns.end(), first_use[i]) -
        out.read_columns.begin());
  for (Instr& ins : plan.code)
    if (ins.op == OpCode::load) ins.column = position[ins.column];
  if (out.time_input >= 0) out.time_input = position[static_cast<std::size_t>(out.time_input)];
  for (std::size_t c : out.read_columns)
    plan.input_types.push_back(column_type_of(schema.field(c).type.id));
  return out;
}

}  // namespace sluice::detail
