// What a job emits: result batches of fired windows, output rows of stateless queries, late
// events; and a row adapter for convenience.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "sluice/batch.hpp"
#include "sluice/value.hpp"

namespace sluice {

/// @brief Receives batches. For a windowed query, each call carries the windows fired at one
/// watermark step as a result batch: columns window_start, window_end (timestamps of the time
/// column's unit, or i64), one column per key (strings as codes of the job's dictionary, which
/// the batch carries), one per aggregate (count: i64; sum, min, max: i64 for integer inputs,
/// f64 otherwise; avg: f64) and `update` (bool: the window had already been emitted and a late
/// event changed it; a newer row for the same window and key supersedes an older one). Rows
/// are ordered by window start (then end: cumulating windows share starts), then by the key
/// columns (numbers by value, strings by their dictionary code, i.e. the order the job first
/// saw them) unless EngineConfig::ordered_results is off. For a stateless query, each call carries
/// the output rows of one input batch. The batch and its columns are valid only during the call
/// (the engine reuses the memory): copy what must outlive it. Called from one engine thread at a
/// time.
using BatchSink = std::function<void(const Batch&)>;
/// @brief The sink of a stateless (filter/map/project) query: a BatchSink.
using RowSink = BatchSink;
/// @brief Receives late events (older than their windows' end plus the allowed lateness):
/// the columns the query reads, in input schema order. As for BatchSink, the batch is valid
/// only during the call; called from one engine thread at a time.
using LateSink = std::function<void(const Batch&)>;

/// @brief One aggregated (window, key) row: the row form of a result batch, for samples and
/// tests (it allocates per row; sinks on the hot path read the columns). `keys` follow
/// Query::key_by, `values` the aggregates in order.
struct WindowResult {
  std::int64_t window_start = 0;
  std::int64_t window_end = 0;
  std::vector<Value> keys;
  std::vector<Value> values;
  bool update = false;
};

/// @brief Receives the rows of each result batch (the row adapter of BatchSink).
using ResultSink = std::function<void(std::span<const WindowResult>)>;

/// @brief The rows of a result batch with `key_columns` key columns (strings decoded).
/// @throws Error(invalid_argument) when the batch is not a result batch of that shape.
std::vector<WindowResult> window_results(const Batch& results, std::size_t key_columns);

}  // namespace sluice
