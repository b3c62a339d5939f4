// Query compilation: a Query checked against a Schema and lowered to a PipelinePlan.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernels/pipeline/plan.hpp"
#include "sluice/dictionary.hpp"
#include "sluice/query.hpp"
#include "sluice/schema.hpp"

namespace sluice::detail {

/// Semantic type of a compiled expression (what its value words mean to the user).
enum class Sem : std::uint8_t { integer, unsigned_integer, floating, boolean, string };

/// @brief One aggregate's result column: its name, kind, first state column and result type.
struct AggregateOutput {
  std::string name;
  AggKind kind = AggKind::count;
  int state = 0;  ///< first state column (avg: the sum, then the count)
  bool float_result = false;
};

/// @brief One output column of a stateless query.
struct OutputColumn {
  std::string name;
  DataType type;
};

/// @brief One key column of a windowed query.
struct KeyColumn {
  std::string name;
  DataType type;  ///< of the key's values (strings: codes of the job's dictionary)
  Sem sem = Sem::integer;
};

/// @brief A query ready to run: the executor-neutral plan plus what the host needs to feed it
/// and to write its results.
struct CompiledQuery {
  PipelinePlan plan;
  std::vector<std::size_t> read_columns;  ///< schema indices of plan.input_types
  bool windowed = false;
  int time_input = -1;  ///< index into read_columns of the event-time column, or -1
  TimeUnit time_unit = TimeUnit::ms;
  bool time_is_timestamp = false;  ///< the time column is a timestamp (else an integer)
  std::int64_t max_delay = 0;      ///< watermark delay, in time units
  std::vector<KeyColumn> keys;
  std::vector<AggregateOutput> aggregates;
  std::vector<OutputColumn> outputs;  ///< stateless queries
  Schema result_schema;               ///< what a windowed query's sink receives
  BatchSink result_sink;
  ResultSink row_result_sink;  ///< the row adapter's sink, when the query used one
  LateSink late_sink;
  /// Processing time between early firings of the open windows (0: the watermark only).
  std::chrono::nanoseconds early_fire_every{0};
  /// The query's broadcast inputs: table t of the programs' lookups is broadcasts[t].
  std::vector<BroadcastSpec> broadcasts;
  /// Its distinct LIKE patterns: table broadcasts.size() + i holds the codes of the strings
  /// that match patterns[i].
  std::vector<std::string> patterns;
  /// HAVING: a program over the result columns `having_columns` (indices into result_schema,
  /// its loads numbered in that order), yielding whether a fired row is kept; empty: all are.
  std::vector<Instr> having_code;
  std::vector<std::size_t> having_columns;
  /// Codes of the string literals the programs compare with (they stay in the dictionary).
  std::vector<std::uint32_t> string_constants;
};

/// @brief Checks `query` against `schema` and compiles it for `workers` workers.
/// String literals are interned into `dictionary` (the job's dictionary of every string column).
/// @throws Error(unknown_column | type_mismatch | invalid_argument) naming the place.
CompiledQuery compile_query(const Schema& schema, const Query& query, StringDictionary& dictionary,
                            int workers, const PartitionSpec& partition);

/// @brief Converts a duration to whole time units. @throws Error(invalid_argument) unless exact.
std::int64_t to_time_units(Duration d, TimeUnit unit, const char* what);

/// @brief The column type of a data type.
ColumnType column_type_of(TypeId id);

}  // namespace sluice::detail
