// The checks and translation of a parsed SQL script into a SqlPlan.
#include "host/sql/sql_plan.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "host/sql/sql_ast.hpp"
#include "host/sql/sql_lexer.hpp"
#include "sluice/status.hpp"

namespace sluice::sql {
namespace {

enum class SqlType : unsigned char { integer, floating, string, boolean, timestamp };

const char* type_name(SqlType t) {
  switch (t) {
    case SqlType::integer:
      return "an integer";
    case SqlType::floating:
      return "a float";
    case SqlType::string:
      return "a string";
    case SqlType::boolean:
      return "a boolean";
    case SqlType::timestamp:
      return "a timestamp";
  }
  return "?";
}

/// Numbers compare and compute with each other; a timestamp counts its unit.
bool numeric(SqlType t) { return t != SqlType::string && t != SqlType::boolean; }

SqlType sql_type_of(DataType d) {
  if (d.id == TypeId::timestamp) return SqlType::timestamp;
  if (d.id == TypeId::string) return SqlType::string;
  if (d.id == TypeId::boolean) return SqlType::boolean;
  return is_floating(d.id) ? SqlType::floating : SqlType::integer;
}

struct Typed {
  Expr expr;
  SqlType type = SqlType::integer;
};

using Literal = std::variant<std::int64_t, double, bool, std::string>;

/// A result column of the window query, as HAVING sees it.
struct ResultColumn {
  std::string name;
  SqlType type;
};

class Planner {
 public:
  Planner(std::string_view script, SqlCommand command) : script_(script), command_(command) {}

  SqlPlan plan(const SqlScript& parsed) {
    const SqlStatement* query = nullptr;
    for (const SqlStatement& s : parsed.statements) {
      if (s.kind == SqlStatement::Kind::create_table) {
        if (query != nullptr) fail(s.offset, "tables are created before the query that reads them");
        if (!tables_.emplace(s.create.name, &s.create).second)
          fail(s.create.offset, "table '" + s.create.name + "' is created twice");
        continue;
      }
      if (query != nullptr) fail(s.offset, "a script runs one query: this is its second");
      query = &s;
    }
    if (query == nullptr)
      fail(script_.size(), "the script has no query: add SELECT ... FROM TABLE(TUMBLE(...))");
    const SqlSelect& select = query->select;
    plan_.explain = query->explain;
    source(select.from);
    window(select.from);
    if (select.where) {
      const Typed where = lower(*select.where, rows());
      if (where.type != SqlType::boolean)
        fail(select.where->offset,
             std::string("WHERE needs a condition, got ") + type_name(where.type),
             ErrorCode::type_mismatch);
      plan_.where = where.expr;
    }
    group_by(select);
    for (const SqlSelectItem& item : select.items) select_item(item);
    if (plan_.aggregates.empty()) {
      if (select.group_by.empty())
        fail(select.offset,
             "the query needs GROUP BY or an aggregate (e.g. COUNT(*)): sluice sql runs "
             "window aggregations");
      // Grouping alone lists the groups: a count nobody sees keeps their windows.
      plan_.aggregates.push_back(count().as(unique_name("$groups")));
      taken_.push_back(plan_.aggregates.back().name);
    }
    if (select.having) {
      leaf_is_results_ = true;
      const Typed having = lower(*select.having, results());
      if (having.type != SqlType::boolean)
        fail(select.having->offset,
             std::string("HAVING needs a condition, got ") + type_name(having.type),
             ErrorCode::type_mismatch);
      plan_.having = having.expr;
    }
    if (!query->insert_into.empty()) sink(*query);
    return std::move(plan_);
  }

 private:
  [[noreturn]] void fail(std::size_t offset, const std::string& message,
                         ErrorCode code = ErrorCode::parse_error) const {
    error_at(script_, offset, message, code);
  }

  std::string text_of(const SqlExpr& e) const {
    return std::string(script_.substr(e.offset, e.end > e.offset ? e.end - e.offset : 0));
  }

  const SqlCreateTable& table(const std::string& name, std::size_t offset) const {
    const auto it = tables_.find(name);
    if (it != tables_.end()) return *it->second;
    std::string known;
    for (const auto& [n, t] : tables_) known += (known.empty() ? "" : ", ") + n;
    fail(offset,
         "unknown table '" + name + "' (" +
             (known.empty() ? std::string("no CREATE TABLE comes before the query")
                            : "tables: " + known) +
             ")",
         ErrorCode::unknown_column);
  }

  void source(const SqlFrom& from) {
    const SqlCreateTable& t = table(from.table, from.table_offset);
    source_ = &t;
    alias_ = from.alias;
    const SqlConnector c = table_connector(script_, t, false, command_);
    plan_.table = t.name;
    plan_.input_kind = c.kind;
    plan_.input = c.path;
    plan_.fail_on_malformed = c.ignore_parse_errors.has_value() && !*c.ignore_parse_errors;
    plan_.input_kafka = c.kafka;
    plan_.measurement = c.measurement;
    std::vector<Field> fields;
    for (const SqlColumnDef& col : t.columns) fields.push_back({col.name, col.type});
    plan_.schema = Schema(std::move(fields));
    if (!t.watermark_column)
      fail(from.window != SqlFrom::Window::none ? from.time_offset : from.table_offset,
           "table '" + t.name +
               "' has no WATERMARK: declare its event time, e.g. WATERMARK FOR ts AS ts - "
               "INTERVAL '2' SECOND");
    const auto at = plan_.schema.find(*t.watermark_column);
    if (!at)
      fail(t.watermark_offset, "unknown column '" + *t.watermark_column + "' in WATERMARK",
           ErrorCode::unknown_column);
    const DataType type = plan_.schema.field(*at).type;
    if (type.id != TypeId::timestamp && !is_integral(type.id))
      fail(t.watermark_offset,
           "the event time '" + *t.watermark_column + "' must be a TIMESTAMP or an integer",
           ErrorCode::type_mismatch);
    const bool line_protocol = c.kind == SqlConnector::Kind::serve ||
                               (c.kind == SqlConnector::Kind::kafka && c.kafka.format == "line");
    if (line_protocol && type.id != TypeId::timestamp && type.id != TypeId::i64)
      fail(t.watermark_offset,
           "the event time '" + *t.watermark_column +
               "' of line protocol must be a TIMESTAMP or a BIGINT (the point's timestamp)",
           ErrorCode::type_mismatch);
    plan_.time_column = *t.watermark_column;
    plan_.max_delay = t.watermark_delay;
    metadata_columns(t, c);
    if (t.watermark_delay.count() % bound_unit_ns() != 0)
      fail(t.watermark_offset,
           "the watermark delay is not a whole number of the event time's unit (" +
               std::to_string(bound_unit_ns()) + " ns)",
           ErrorCode::invalid_argument);
  }

  /// METADATA columns: a Kafka source's event time may be its messages' timestamp.
  void metadata_columns(const SqlCreateTable& t, const SqlConnector& c) {
    for (const SqlColumnDef& col : t.columns) {
      if (col.metadata.empty()) continue;
      if (c.kind != SqlConnector::Kind::kafka)
        fail(col.metadata_offset, "METADATA comes with Kafka messages: a 'kafka' table's");
      if (col.metadata != "timestamp")
        fail(col.metadata_offset,
             "unknown metadata '" + col.metadata + "' (a Kafka message's: 'timestamp')");
      if (col.name != plan_.time_column)
        fail(col.metadata_offset,
             "the message timestamp can only be the event time (the "
             "WATERMARK column, '" +
                 plan_.time_column + "')");
      if (c.kafka.format == "csv")
        fail(col.metadata_offset,
             "the event time of 'csv' values is their own column: METADATA FROM 'timestamp' "
             "needs 'format' = 'json' or 'line'");
      plan_.message_time = true;
    }
  }

  void window(const SqlFrom& from) {
    windowed_ = from.window != SqlFrom::Window::none;
    if (!windowed_) {
      plan_.window = WindowSpec::global();
      return;
    }
    if (from.time_column != plan_.time_column)
      fail(from.time_offset, "DESCRIPTOR(" + from.time_column + ") must name the column of " +
                                 "table '" + plan_.table + "''s WATERMARK, '" + plan_.time_column +
                                 "'");
    const std::vector<SqlInterval>& iv = from.intervals;
    const char* name = from.window == SqlFrom::Window::tumble ? "TUMBLE"
                       : from.window == SqlFrom::Window::hop  ? "HOP"
                                                              : "CUMULATE";
    const std::size_t needed = from.window == SqlFrom::Window::tumble ? 1 : 2;
    if (iv.size() < needed || iv.size() > needed + 1)
      fail(iv.empty() ? from.offset : iv.back().offset,
           std::string(name) + " takes " +
               (needed == 1                           ? "a size"
                : from.window == SqlFrom::Window::hop ? "a slide and a size"
                                                      : "a step and a maximum size") +
               ", and optionally an offset: " +
               (needed == 1 ? "TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)"
                            : std::string(name) +
                                  "(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '10' "
                                  "SECOND)"));
    // Each interval checked where it is written: positive (the offset: not negative), a whole
    // number of the event time's units.
    const std::int64_t unit = bound_unit_ns();
    for (std::size_t i = 0; i < iv.size(); ++i) {
      const bool is_offset = i == needed;
      if (iv[i].value.count() < (is_offset ? 0 : 1))
        fail(iv[i].offset,
             std::string("a window ") + (is_offset ? "offset" : "length") + " must be " +
                 (is_offset ? "0 or more" : "positive"),
             ErrorCode::invalid_argument);
      if (iv[i].value.count() % unit != 0)
        fail(iv[i].offset,
             "not a whole number of the event time's unit (" + std::to_string(unit) + " ns)",
             ErrorCode::invalid_argument);
    }
    if (from.window == SqlFrom::Window::cumulate && iv[1].value.count() % iv[0].value.count() != 0)
      fail(iv[1].offset, "CUMULATE's size must be a whole number of its steps",
           ErrorCode::invalid_argument);
    const Duration offset = iv.size() > needed ? iv.back().value : Duration{0};
    try {
      switch (from.window) {
        case SqlFrom::Window::tumble:
          plan_.window = WindowSpec::tumbling(iv[0].value, offset);
          break;
        case SqlFrom::Window::hop:
          plan_.window = WindowSpec::sliding(iv[1].value, iv[0].value, offset);
          break;
        case SqlFrom::Window::cumulate:
          plan_.window = WindowSpec::cumulate(iv[1].value, iv[0].value, offset);
          break;
        case SqlFrom::Window::none:
          break;
      }
    } catch (const Error& e) {
      if (e.code() != ErrorCode::invalid_argument) throw;
      fail(iv.size() > needed ? iv.back().offset : iv[0].offset, e.what(),
           ErrorCode::invalid_argument);
    }
  }

  void group_by(const SqlSelect& select) {
    bool start = false, end = false;
    for (const SqlExprPtr& g : select.group_by) {
      if (g->kind != SqlExpr::Kind::column)
        fail(g->offset, "GROUP BY takes columns: window_start, window_end and the table's");
      check_qualifier(*g);
      if (g->name == "window_start" || g->name == "window_end") {
        if (!windowed_)
          fail(g->offset, g->name + " comes from a window function: FROM TABLE(TUMBLE(...))",
               ErrorCode::unknown_column);
        (g->name == "window_start" ? start : end) = true;
        continue;
      }
      table_column(*g);
      if (std::find(plan_.keys.begin(), plan_.keys.end(), g->name) != plan_.keys.end())
        fail(g->offset, "'" + g->name + "' is in GROUP BY twice");
      if (g->name == "update")
        fail(g->offset,
             "a column named 'update' cannot be grouped by: the output's last column has that "
             "name",
             ErrorCode::invalid_argument);
      plan_.keys.push_back(g->name);
    }
    if (windowed_ && (!start || !end))
      fail(select.group_by.empty() ? select.offset : select.group_by_offset,
           "a window aggregation groups by the window: GROUP BY window_start, window_end[, "
           "columns]");
    taken_ = {"window_start", "window_end", "update"};
    taken_.insert(taken_.end(), plan_.keys.begin(), plan_.keys.end());
  }

  void check_qualifier(const SqlExpr& e) const {
    if (e.qualifier.empty() || e.qualifier == plan_.table || e.qualifier == alias_) return;
    fail(e.offset,
         "unknown table '" + e.qualifier + "' (the query reads '" + plan_.table + "'" +
             (alias_.empty() ? std::string() : " as '" + alias_ + "'") + ")",
         ErrorCode::unknown_column);
  }

  /// A column of the source table: its type. @throws naming the columns there are.
  SqlType table_column(const SqlExpr& e) const {
    check_qualifier(e);
    if (const auto at = plan_.schema.find(e.name)) return sql_type_of(plan_.schema.field(*at).type);
    std::string known;
    for (const Field& f : plan_.schema.fields()) known += (known.empty() ? "" : ", ") + f.name;
    fail(e.offset,
         "unknown column '" + e.name + "' (table '" + plan_.table + "' has " + known + ")",
         ErrorCode::unknown_column);
  }

  /// Nanoseconds in one unit of the event time (a timestamp's unit; ms for integers).
  std::int64_t bound_unit_ns() const {
    const DataType t = plan_.schema.field(*plan_.schema.find(plan_.time_column)).type;
    return nanos_per_unit(t.id == TypeId::timestamp ? t.unit : TimeUnit::ms);
  }

  SqlType bound_type() const {
    return sql_type_of(plan_.schema.field(*plan_.schema.find(plan_.time_column)).type);
  }

  // --- aggregates ----------------------------------------------------------------------------
  std::string unique_name(std::string name) const {
    const auto taken = [&](const std::string& n) {
      return std::find(taken_.begin(), taken_.end(), n) != taken_.end();
    };
    if (!taken(name)) return name;
    for (int i = 2;; ++i)
      if (!taken(name + "#" + std::to_string(i))) return name + "#" + std::to_string(i);
  }

  static bool is_aggregate(const std::string& fn) {
    return fn == "COUNT" || fn == "SUM" || fn == "MIN" || fn == "MAX" || fn == "AVG" ||
           fn == "FIRST_VALUE" || fn == "LAST_VALUE" || fn == "FIRST" || fn == "LAST";
  }

  /// The aggregate a call names (added if new, named `name` or by its text): its index.
  std::size_t aggregate(const SqlExpr& call, const std::string& name) {
    if (!is_aggregate(call.name))
      fail(call.offset,
           "unknown aggregate " + call.name +
               " (aggregates: COUNT, SUM, MIN, MAX, AVG, FIRST_VALUE, LAST_VALUE)",
           ErrorCode::invalid_argument);
    if (call.distinct)
      fail(call.offset, call.name + "(DISTINCT ...) is not supported", ErrorCode::invalid_argument);
    AggregateSpec spec;
    SqlType input = SqlType::integer;
    if (call.name == "COUNT") {
      if (!call.star && call.args.size() != 1)
        fail(call.offset, "COUNT takes * or one argument", ErrorCode::invalid_argument);
      // COUNT(x) counts the rows where x is not null: every row (columns hold no nulls).
      if (!call.star) lower(*call.args[0], rows());
      spec = count();
    } else {
      if (call.star || call.args.size() != 1)
        fail(call.offset, call.name + " takes one argument", ErrorCode::invalid_argument);
      const Typed in = lower(*call.args[0], rows());
      if (!numeric(in.type))
        fail(call.args[0]->offset, call.name + " needs a number, got " + type_name(in.type),
             ErrorCode::type_mismatch);
      input = in.type;
      if (call.name == "SUM") spec = sum(in.expr);
      if (call.name == "MIN") spec = min(in.expr);
      if (call.name == "MAX") spec = max(in.expr);
      if (call.name == "AVG") spec = avg(in.expr);
      if (call.name == "FIRST_VALUE" || call.name == "FIRST") spec = first(in.expr);
      if (call.name == "LAST_VALUE" || call.name == "LAST") spec = last(in.expr);
    }
    const std::string identity = std::to_string(static_cast<int>(spec.kind)) + ":" +
                                 (spec.input ? spec.input->to_string() : "*");
    for (std::size_t i = 0; i < identities_.size(); ++i)
      if (identities_[i] == identity) return i;
    spec.name = unique_name(name.empty() ? text_of(call) : name);
    taken_.push_back(spec.name);
    identities_.push_back(identity);
    const bool floating = spec.kind == AggKind::avg || input == SqlType::floating;
    aggregate_types_.push_back(spec.kind == AggKind::count ? SqlType::integer
                               : floating                  ? SqlType::floating
                                                           : SqlType::integer);
    plan_.aggregates.push_back(std::move(spec));
    return plan_.aggregates.size() - 1;
  }

  void select_item(const SqlSelectItem& item) {
    const SqlExpr& e = *item.expr;
    const std::string shown =
        item.alias.empty() ? (e.kind == SqlExpr::Kind::column ? e.name : text_of(e)) : item.alias;
    if (shown == "update")
      fail(item.alias.empty() ? e.offset : item.alias_offset,
           "an output column cannot be named 'update': the output's last column has that name",
           ErrorCode::invalid_argument);
    if (e.kind == SqlExpr::Kind::column) {
      check_qualifier(e);
      if (e.name == "window_start" || e.name == "window_end") {
        if (!windowed_)
          fail(e.offset, e.name + " comes from a window function: FROM TABLE(TUMBLE(...))",
               ErrorCode::unknown_column);
        plan_.outputs.push_back({e.name, shown});
        return;
      }
      if (e.name == "window_time")
        fail(e.offset, "window_time is not supported: select window_end",
             ErrorCode::unknown_column);
      table_column(e);
      if (std::find(plan_.keys.begin(), plan_.keys.end(), e.name) == plan_.keys.end())
        fail(e.offset, "column '" + e.name + "' is neither in GROUP BY nor inside an aggregate",
             ErrorCode::invalid_argument);
      plan_.outputs.push_back({e.name, shown});
      return;
    }
    if (e.kind == SqlExpr::Kind::call) {
      const std::size_t a = aggregate(e, item.alias);
      plan_.outputs.push_back({plan_.aggregates[a].name, shown});
      if (!item.alias.empty()) aliases_[item.alias] = a;
      return;
    }
    fail(e.offset,
         "a select item is window_start, window_end, a GROUP BY column or an aggregate such as "
         "AVG(cpu) (expressions over them are not supported)",
         ErrorCode::invalid_argument);
  }

  void sink(const SqlStatement& query) {
    const SqlCreateTable& t = table(query.insert_into, query.insert_offset);
    if (&t == source_) fail(query.insert_offset, "a query cannot write the table it reads");
    const SqlConnector c = table_connector(script_, t, true, command_);
    for (const SqlColumnDef& col : t.columns)
      if (!col.metadata.empty())
        fail(col.metadata_offset,
             "a sink's columns are the query's: METADATA is read, not written");
    if (c.kind == SqlConnector::Kind::kafka) {
      plan_.output_kafka = c.kafka;
    } else {
      if (c.path == "-")
        fail(query.insert_offset,
             "a sink's path is a file: without INSERT INTO "
             "the windows go to --output (default stdout)");
      plan_.output = c.path;
      plan_.output_format = c.format;
    }
    const SqlColumnDef* last = t.columns.empty() ? nullptr : &t.columns.back();
    plan_.sink_update_column = t.columns.size() == plan_.outputs.size() + 1 &&
                               last->name == "update" && last->type.id == TypeId::boolean;
    if (t.columns.size() != plan_.outputs.size() && !plan_.sink_update_column)
      fail(query.insert_offset, "table '" + t.name + "' has " + std::to_string(t.columns.size()) +
                                    " columns; the query selects " +
                                    std::to_string(plan_.outputs.size()) +
                                    " (and a last column `update BOOLEAN` may mark re-emitted "
                                    "windows)");
    for (std::size_t i = 0; i < plan_.outputs.size(); ++i)
      plan_.outputs[i].name = t.columns[i].name;
  }

  // --- expressions ---------------------------------------------------------------------------
  /// Resolves a column or a function call where an expression names one.
  using Leaf = std::function<Typed(const SqlExpr&)>;

  Leaf rows() {
    return [this](const SqlExpr& e) -> Typed {
      if (e.kind == SqlExpr::Kind::call) {
        if (is_aggregate(e.name))
          fail(e.offset,
               "an aggregate cannot be used here (rows are filtered before they are "
               "aggregated: use HAVING)",
               ErrorCode::invalid_argument);
        fail(e.offset, "unknown function " + e.name, ErrorCode::invalid_argument);
      }
      if (e.name == "window_start" || e.name == "window_end")
        fail(e.offset, e.name + " is known after aggregation: compare it in HAVING",
             ErrorCode::invalid_argument);
      const SqlType type = table_column(e);
      return {column_expr(e.name, e.offset), type};
    };
  }

  Leaf results() {
    return [this](const SqlExpr& e) -> Typed {
      if (e.kind == SqlExpr::Kind::call) {
        const std::size_t a = aggregate(e, "");
        return {column_expr(plan_.aggregates[a].name, e.offset), aggregate_types_[a]};
      }
      check_qualifier(e);
      if (windowed_ && (e.name == "window_start" || e.name == "window_end"))
        return {column_expr(e.name, e.offset), bound_type()};
      if (std::find(plan_.keys.begin(), plan_.keys.end(), e.name) != plan_.keys.end())
        return {column_expr(e.name, e.offset), table_column(e)};
      if (e.qualifier.empty()) {
        if (const auto it = aliases_.find(e.name); it != aliases_.end())
          return {column_expr(plan_.aggregates[it->second].name, e.offset),
                  aggregate_types_[it->second]};
      }
      table_column(e);  // unknown columns are named as such
      fail(e.offset,
           "column '" + e.name + "' in HAVING is neither in GROUP BY nor inside an aggregate",
           ErrorCode::invalid_argument);
    };
  }

  static Expr node_expr(ExprOp op, std::vector<Expr> args, std::size_t position) {
    auto n = std::make_shared<ExprNode>();
    n->op = op;
    n->position = static_cast<int>(position);
    for (const Expr& a : args) {
      n->depth = std::max(n->depth, a.node().depth + 1);
      n->args.push_back(std::make_shared<const ExprNode>(a.node()));
    }
    return Expr(std::move(n));
  }
  static Expr column_expr(const std::string& name, std::size_t position) {
    auto n = std::make_shared<ExprNode>();
    n->op = ExprOp::column;
    n->column = name;
    n->position = static_cast<int>(position);
    return Expr(std::move(n));
  }
  static Expr literal_expr(Literal value, std::size_t position) {
    auto n = std::make_shared<ExprNode>();
    n->op = ExprOp::literal;
    n->literal = std::move(value);
    n->position = static_cast<int>(position);
    return Expr(std::move(n));
  }

  Typed combine(ExprOp op, const Typed& a, const Typed& b, std::size_t position) const {
    Typed out{node_expr(op, {a.expr, b.expr}, position), SqlType::boolean};
    if (out.expr.node().depth > kMaxExpressionDepth)
      fail(position, "expression nested too deep", ErrorCode::invalid_argument);
    return out;
  }

  /// a op b for = <> < <= > >=, with the engine's rules: numbers with numbers; strings and
  /// booleans with their own type, by = and <> only.
  Typed compare(ExprOp op, const Typed& a, const Typed& b, std::size_t position,
                const std::string& text) const {
    const bool equality = op == ExprOp::eq || op == ExprOp::ne;
    const bool ok = (numeric(a.type) && numeric(b.type)) || (equality && a.type == b.type);
    if (!ok)
      fail(position,
           "cannot compare " + std::string(type_name(a.type)) + " with " + type_name(b.type) +
               " by '" + text + "'" +
               (a.type == b.type ? " (strings and booleans compare by = and <> only)" : ""),
           ErrorCode::type_mismatch);
    return combine(op, a, b, position);
  }

  Typed lower(const SqlExpr& e, const Leaf& leaf) {
    switch (e.kind) {
      case SqlExpr::Kind::column:
      case SqlExpr::Kind::call:
        return leaf(e);
      case SqlExpr::Kind::integer:
        return {literal_expr(e.integer, e.offset), SqlType::integer};
      case SqlExpr::Kind::decimal:
        return {literal_expr(e.decimal, e.offset), SqlType::floating};
      case SqlExpr::Kind::string:
        return {literal_expr(e.text, e.offset), SqlType::string};
      case SqlExpr::Kind::boolean:
        return {literal_expr(e.boolean, e.offset), SqlType::boolean};
      case SqlExpr::Kind::unary: {
        const Typed a = lower(*e.args[0], leaf);
        if (e.op == "NOT") {
          if (a.type != SqlType::boolean)
            fail(e.op_offset, std::string("NOT needs a condition, got ") + type_name(a.type),
                 ErrorCode::type_mismatch);
          return {node_expr(ExprOp::logical_not, {a.expr}, e.op_offset), SqlType::boolean};
        }
        if (!numeric(a.type))
          fail(e.op_offset, std::string("'-' needs a number, got ") + type_name(a.type),
               ErrorCode::type_mismatch);
        return {node_expr(ExprOp::neg, {a.expr}, e.op_offset),
                a.type == SqlType::floating ? SqlType::floating : SqlType::integer};
      }
      case SqlExpr::Kind::binary:
        return lower_binary(e, leaf);
      case SqlExpr::Kind::between: {
        // a BETWEEN lo AND hi is lo <= a AND a <= hi.
        const Typed a = lower(*e.args[0], leaf);
        const Typed lo = lower(*e.args[1], leaf);
        const Typed hi = lower(*e.args[2], leaf);
        for (const Typed* t : {&a, &lo, &hi})
          if (!numeric(t->type))
            fail(e.op_offset, std::string("BETWEEN needs numbers, got ") + type_name(t->type),
                 ErrorCode::type_mismatch);
        Typed in = combine(ExprOp::logical_and, compare(ExprOp::ge, a, lo, e.op_offset, ">="),
                           compare(ExprOp::le, a, hi, e.op_offset, "<="), e.op_offset);
        if (e.negated) in.expr = node_expr(ExprOp::logical_not, {in.expr}, e.op_offset);
        return in;
      }
      case SqlExpr::Kind::in_list: {
        // a IN (x, y, ...) is a = x OR a = y ...: a balanced tree keeps it shallow.
        const Typed a = lower(*e.args[0], leaf);
        std::vector<Typed> tests;
        for (std::size_t i = 1; i < e.args.size(); ++i)
          tests.push_back(compare(ExprOp::eq, a, lower(*e.args[i], leaf), e.args[i]->offset, "IN"));
        while (tests.size() > 1) {
          std::vector<Typed> paired;
          for (std::size_t i = 0; i + 1 < tests.size(); i += 2)
            paired.push_back(combine(ExprOp::logical_or, tests[i], tests[i + 1], e.op_offset));
          if (tests.size() % 2 == 1) paired.push_back(tests.back());
          tests = std::move(paired);
        }
        Typed in = tests.front();
        if (e.negated) in.expr = node_expr(ExprOp::logical_not, {in.expr}, e.op_offset);
        return in;
      }
      case SqlExpr::Kind::like: {
        const Typed text = lower(*e.args[0], leaf);
        if (text.type != SqlType::string)
          fail(e.args[0]->offset, std::string("LIKE needs a string, got ") + type_name(text.type),
               ErrorCode::type_mismatch);
        const SqlExpr& pattern = *e.args[1];
        if (pattern.kind != SqlExpr::Kind::string)
          fail(pattern.offset, "LIKE needs a 'pattern' string", ErrorCode::type_mismatch);
        if (leaf_is_results_)
          fail(e.op_offset, "LIKE is not supported in HAVING: use it in WHERE",
               ErrorCode::invalid_argument);
        if (std::find(patterns_.begin(), patterns_.end(), pattern.text) == patterns_.end()) {
          if (patterns_.size() >= kMaxPatterns)
            fail(
                pattern.offset,
                "a query takes at most " + std::to_string(kMaxPatterns) + " distinct LIKE patterns",
                ErrorCode::invalid_argument);
          patterns_.push_back(pattern.text);
        }
        Typed out{node_expr(ExprOp::like, {text.expr, literal_expr(pattern.text, pattern.offset)},
                            e.op_offset),
                  SqlType::boolean};
        if (e.negated) out.expr = node_expr(ExprOp::logical_not, {out.expr}, e.op_offset);
        return out;
      }
    }
    fail(e.offset, "unsupported expression");
  }

  Typed lower_binary(const SqlExpr& e, const Leaf& leaf) {
    const Typed a = lower(*e.args[0], leaf);
    const Typed b = lower(*e.args[1], leaf);
    const std::string& op = e.op;
    if (op == "AND" || op == "OR") {
      if (a.type != SqlType::boolean || b.type != SqlType::boolean)
        fail(e.op_offset,
             op + " needs conditions, got " + type_name(a.type) + " and " + type_name(b.type),
             ErrorCode::type_mismatch);
      return combine(op == "AND" ? ExprOp::logical_and : ExprOp::logical_or, a, b, e.op_offset);
    }
    const std::pair<const char*, ExprOp> compares[] = {{"=", ExprOp::eq}, {"<>", ExprOp::ne},
                                                       {"<", ExprOp::lt}, {"<=", ExprOp::le},
                                                       {">", ExprOp::gt}, {">=", ExprOp::ge}};
    for (const auto& [text, cmp] : compares)
      if (op == text) return compare(cmp, a, b, e.op_offset, op);
    if (!numeric(a.type) || !numeric(b.type))
      fail(e.op_offset,
           "'" + op + "' needs numbers, got " + type_name(a.type) + " and " + type_name(b.type),
           ErrorCode::type_mismatch);
    const ExprOp arith = op == "+"   ? ExprOp::add
                         : op == "-" ? ExprOp::sub
                         : op == "*" ? ExprOp::mul
                                     : ExprOp::div;
    // Flink divides integers as integers (7 / 2 = 3); the engine divides as floats. Rather
    // than a silently different answer, the script says which it means.
    if (arith == ExprOp::div && a.type != SqlType::floating && b.type != SqlType::floating)
      fail(e.op_offset,
           "'/' of two integers: Flink would truncate, Sluice divides as floats; write a float "
           "operand (e.g. x / 100.0) for the float quotient",
           ErrorCode::type_mismatch);
    Typed out = combine(arith, a, b, e.op_offset);
    out.type = a.type == SqlType::floating || b.type == SqlType::floating || arith == ExprOp::div
                   ? SqlType::floating
                   : SqlType::integer;
    return out;
  }

  std::string_view script_;
  SqlCommand command_;
  std::map<std::string, const SqlCreateTable*> tables_;
  const SqlCreateTable* source_ = nullptr;
  std::string alias_;
  bool windowed_ = false;
  bool leaf_is_results_ = false;  // lowering HAVING
  SqlPlan plan_;
  std::vector<std::string> taken_;       // result column names in use
  std::vector<std::string> identities_;  // of plan_.aggregates: kind and input
  std::vector<SqlType> aggregate_types_;
  std::map<std::string, std::size_t> aliases_;  // select aliases of aggregates
  /// The engine's lookup tables (8) serve LIKE patterns and broadcast inputs (a script has none).
  static constexpr std::size_t kMaxPatterns = 8;
  std::vector<std::string> patterns_;  // distinct LIKE patterns
};

}  // namespace

SqlPlan plan_sql(std::string_view script, SqlCommand command) {
  const SqlScript parsed = parse_sql(script);
  return Planner(script, command).plan(parsed);
}

}  // namespace sluice::sql
