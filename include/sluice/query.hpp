// Query: the builder of a streaming query (filter, map/project, key_by, window, aggregate, sinks).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sluice/aggregate.hpp"
#include "sluice/duration.hpp"
#include "sluice/expr.hpp"
#include "sluice/result.hpp"
#include "sluice/schema.hpp"
#include "sluice/trigger.hpp"
#include "sluice/value.hpp"
#include "sluice/window.hpp"

namespace sluice {

/// @brief How keyed partials are spread over workers: by key hash (default); by key, where
/// the first key column's integer value modulo the workers names the owner (so a key column
/// such as "partition" places keys explicitly); or by ranges of the first key column
/// (`boundaries` ascending; destination i takes keys in [boundaries[i-1], boundaries[i]); the
/// last takes the rest; keys must be numeric).
struct PartitionSpec {
  enum class Kind : std::uint8_t { hash, key, range };
  Kind kind = Kind::hash;
  std::vector<Value> boundaries;
};

/// @brief A broadcast input (Flink's broadcast state): a small table that every worker and rank
/// sees in full, keyed by `key`, updated while the job runs (Job::push_broadcast) and read by
/// the query's expressions as `name.column`, looked up by the event's column named `key`.
struct BroadcastSpec {
  std::string name;
  Schema schema;
  std::string key;
};

/// @brief A streaming query, built step by step. Steps apply in order: a filter sees the
/// columns defined before it; key_by, aggregates and the time column may use mapped columns.
/// Two shapes: windowed aggregation (window + aggregate, optionally key_by) or stateless
/// (filter/map/project only, rows go to the row sink).
class Query {
 public:
  /// @brief Keeps rows where `predicate` (a boolean expression) is true. Several filters AND.
  Query& filter(Expr predicate);
  /// @brief Adds (or replaces) a computed column `name` = `value`.
  Query& map(std::string name, Expr value);
  /// @brief Keeps only the named columns, in that order, for later steps and the row output.
  Query& project(std::vector<std::string> columns);
  /// @brief Groups by these columns (exact values; strings by value).
  Query& key_by(std::vector<std::string> columns);
  /// @brief Sets the event-time column (a timestamp or integer column) and the watermark delay.
  Query& event_time(std::string column, Duration max_out_of_orderness = Duration{0});
  /// @brief Events whose window ended at most this long before the watermark still update and
  /// re-emit it.
  Query& allowed_lateness(Duration lateness);
  Query& window(WindowSpec spec);
  /// @brief Early firings besides the final one at the watermark (TriggerSpec).
  /// @throws Error(invalid_argument) for an `every` trigger without a positive interval, a
  /// `count` trigger of 0 or an `on` trigger without a condition.
  Query& trigger(TriggerSpec spec);
  Query& aggregate(std::vector<AggregateSpec> aggregates);
  /// @brief Keeps the fired rows of a windowed query where `condition` (a boolean expression
  /// over the result columns: window_start, window_end, the keys and the aggregates' result
  /// names) is true: SQL's HAVING. Several conditions AND. A re-emitted window's row that no
  /// longer passes is left out; the row emitted before stands (no retraction).
  Query& having(Expr condition);
  /// @brief Where results go: result batches of fired windows (windowed queries) or output
  /// rows (stateless queries). See BatchSink.
  Query& sink(BatchSink sink);
  /// @brief Results as rows (windowed queries): the row adapter, for samples and tests.
  Query& sink(ResultSink sink);
  Query& late_sink(LateSink sink);
  /// @brief Declares a broadcast input `name` with `schema`, keyed by its column `key` (an
  /// integer or string column). Expressions read its columns as `name.column`, looked up by
  /// the event's column of the same name as `key` (in scope at that step). An event whose key
  /// has no row sees null: comparisons with null are null, `and`/`or`/`not` follow SQL's
  /// three-valued logic, and a filter keeps only rows where it is true. Keys, aggregate inputs,
  /// stateless outputs and the event time that read a broadcast column keep only events whose
  /// lookups found a row (an inner lookup join). At most 4 per query.
  /// @throws Error(invalid_argument) on a bad name, an unknown key column or a duplicate.
  Query& broadcast(std::string name, Schema schema, std::string key);

  struct Step {
    enum class Kind { filter, map, project } kind;
    Expr expr;
    std::string name;
    std::vector<std::string> columns;
  };
  const std::vector<Step>& steps() const { return steps_; }
  const std::vector<std::string>& keys() const { return keys_; }
  const std::optional<std::string>& time_column() const { return time_column_; }
  Duration max_out_of_orderness() const { return max_delay_; }
  Duration lateness() const { return lateness_; }
  const std::optional<WindowSpec>& window_spec() const { return window_; }
  const TriggerSpec& trigger_spec() const { return trigger_; }
  const std::vector<AggregateSpec>& aggregates() const { return aggregates_; }
  /// @brief The having() conditions, ANDed; absent when none.
  const std::optional<Expr>& having_condition() const { return having_; }
  const BatchSink& batch_sink() const { return batch_sink_; }
  const ResultSink& result_sink() const { return result_sink_; }
  const LateSink& late_events_sink() const { return late_sink_; }
  const std::vector<BroadcastSpec>& broadcasts() const { return broadcasts_; }
  bool is_windowed() const { return window_.has_value() || !aggregates_.empty(); }

 private:
  std::vector<Step> steps_;
  std::vector<std::string> keys_;
  std::optional<std::string> time_column_;
  Duration max_delay_{0};
  Duration lateness_{0};
  std::optional<WindowSpec> window_;
  TriggerSpec trigger_;
  std::vector<AggregateSpec> aggregates_;
  std::optional<Expr> having_;
  BatchSink batch_sink_;
  ResultSink result_sink_;
  LateSink late_sink_;
  std::vector<BroadcastSpec> broadcasts_;
};

}  // namespace sluice
