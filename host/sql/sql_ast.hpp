// The syntax tree of a SQL script: CREATE TABLE, SELECT (optionally EXPLAIN or INSERT INTO).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/duration.hpp"
#include "sluice/types.hpp"

namespace sluice::sql {

struct SqlExpr;
using SqlExprPtr = std::shared_ptr<const SqlExpr>;

/// @brief One node of a SQL expression: its text is script[offset, end); `op_offset` is where
/// its operator (or function name, or the leaf itself) is, for messages.
struct SqlExpr {
  enum class Kind : unsigned char {
    column,   ///< `name` (a qualifier such as t.host is kept in `qualifier`)
    integer,  ///< `integer`
    decimal,  ///< `decimal`
    string,   ///< `text`
    boolean,  ///< `boolean`
    unary,    ///< `op` "-" or "NOT" of args[0]
    binary,   ///< args[0] `op` args[1]: + - * / = <> < <= > >= AND OR
    between,  ///< args[0] [NOT] BETWEEN args[1] AND args[2]
    in_list,  ///< args[0] [NOT] IN (args[1], ...)
    like,     ///< args[0] [NOT] LIKE args[1]
    call,     ///< `name` (upper case) of args; COUNT(*) has `star`
  };
  Kind kind = Kind::integer;
  std::size_t offset = 0;
  std::size_t op_offset = 0;
  std::size_t end = 0;
  int depth = 1;  ///< of the tree below and including this node
  std::string name;
  std::string qualifier;
  std::string op;
  std::int64_t integer = 0;
  double decimal = 0;
  std::string text;
  bool boolean = false;
  bool negated = false;   ///< NOT BETWEEN, NOT IN, NOT LIKE
  bool star = false;      ///< COUNT(*)
  bool distinct = false;  ///< COUNT(DISTINCT x)
  std::vector<SqlExprPtr> args;
};

/// @brief An INTERVAL literal, e.g. INTERVAL '10' SECOND.
struct SqlInterval {
  Duration value{0};
  std::size_t offset = 0;
};

struct SqlColumnDef {
  std::string name;
  DataType type;
  std::size_t offset = 0;
  /// METADATA [FROM 'key'] [VIRTUAL]: the column is read from the message's metadata `key`
  /// (the column's name without FROM); empty: from the row.
  std::string metadata;
  std::size_t metadata_offset = 0;
};

struct SqlOption {
  std::string key;
  std::string value;
  std::size_t key_offset = 0;
  std::size_t value_offset = 0;
};

/// @brief CREATE TABLE name (columns, WATERMARK FOR col AS col [- INTERVAL]) WITH (options).
struct SqlCreateTable {
  std::string name;
  std::size_t offset = 0;
  std::vector<SqlColumnDef> columns;
  std::optional<std::string> watermark_column;
  std::size_t watermark_offset = 0;
  Duration watermark_delay{0};
  std::vector<SqlOption> options;
  std::size_t options_offset = 0;  ///< of WITH
};

/// @brief FROM TABLE(TUMBLE|HOP|CUMULATE(TABLE t, DESCRIPTOR(col), intervals...)), or FROM t.
struct SqlFrom {
  enum class Window : unsigned char { none, tumble, hop, cumulate } window = Window::none;
  std::string table;
  std::size_t table_offset = 0;
  std::string time_column;
  std::size_t time_offset = 0;
  std::vector<SqlInterval> intervals;  ///< as written: TUMBLE size[, offset]; HOP slide, size[,
                                       ///< offset]; CUMULATE step, size[, offset]
  std::size_t offset = 0;              ///< of the window function's name
  std::string alias;
};

struct SqlSelectItem {
  SqlExprPtr expr;
  std::string alias;  ///< empty: none
  std::size_t alias_offset = 0;
};

struct SqlSelect {
  std::size_t offset = 0;
  std::vector<SqlSelectItem> items;
  SqlFrom from;
  SqlExprPtr where;
  std::vector<SqlExprPtr> group_by;
  std::size_t group_by_offset = 0;  ///< of GROUP (0: no GROUP BY)
  SqlExprPtr having;
};

/// @brief One statement: a table definition, or a query (with EXPLAIN, or INSERT INTO a table).
struct SqlStatement {
  enum class Kind : unsigned char { create_table, select } kind = Kind::select;
  std::size_t offset = 0;
  SqlCreateTable create;
  SqlSelect select;
  bool explain = false;
  std::string insert_into;  ///< empty: none
  std::size_t insert_offset = 0;
};

/// @brief The statements of a script, in order.
struct SqlScript {
  std::vector<SqlStatement> statements;
};

/// @brief Parses a script of statements separated by semicolons.
/// @throws Error(parse_error) naming line and column, with the line and a caret.
SqlScript parse_sql(std::string_view script);

}  // namespace sluice::sql
