// Query compilation: a Query checked against a Schema and lowered to a PipelinePlan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernels/pipeline.hpp"
#include "sluice/dictionary.hpp"
#include "sluice/query.hpp"
#include "sluice/schema.hpp"

namespace sluice::detail {

/// Semantic type of a compiled expression (its ValueKind plus what the words mean).
enum class Sem : std::uint8_t { integer, unsigned_integer, floating, boolean, string };

/// @brief How one aggregate's result is read from the state columns.
struct AggregateOutput {
  std::string name;
  AggKind kind = AggKind::count;
  int state = 0;         ///< state column (sum for avg)
  int count_state = -1;  ///< avg: the count column
  bool integral = false;
};

/// @brief One output column of a stateless query.
struct OutputColumn {
  std::string name;
  DataType type;
};

/// @brief A query ready to run: the executor-neutral plan plus what the host needs to feed it
/// and to decode its results.
struct CompiledQuery {
  PipelinePlan plan;
  std::vector<std::size_t> read_columns;  ///< schema indices of plan.input_types
  bool windowed = false;
  int time_input = -1;  ///< index into read_columns of the event-time column, or -1
  TimeUnit time_unit = TimeUnit::ms;
  std::int64_t max_delay = 0;  ///< watermark delay, in time units
  std::vector<std::string> key_names;
  std::vector<Sem> key_sems;
  std::vector<AggregateOutput> aggregates;
  std::vector<OutputColumn> outputs;  ///< stateless queries
  ResultSink result_sink;
  RowSink row_sink;
  LateSink late_sink;
};

/// @brief Checks `query` against `schema` and compiles it for `workers` workers.
/// String literals are interned into `dictionary` (the job's dictionary of every string column).
/// @throws Error(unknown_column | type_mismatch | invalid_argument) naming the place.
CompiledQuery compile_query(const Schema& schema, const Query& query, StringDictionary& dictionary,
                            int workers, const PartitionSpec& partition);

/// @brief Converts a duration to whole time units. @throws Error(invalid_argument) unless exact.
std::int64_t to_time_units(Duration d, TimeUnit unit, const char* what);

}  // namespace sluice::detail
