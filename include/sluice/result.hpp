// What a job emits: window results, projected rows of stateless queries and late events.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "sluice/batch.hpp"
#include "sluice/value.hpp"

namespace sluice {

/// @brief One aggregated (window, key) row. `keys` follow Query::key_by, `values` the
/// aggregates in order (count as int64; sum/min/max as int64 for integral inputs, double
/// otherwise; avg as double). `update` is true when the window had already fired when this
/// row was emitted (a late event within the allowed lateness changed it); a newer row for the
/// same window and key supersedes an older one.
struct WindowResult {
  std::int64_t window_start = 0;
  std::int64_t window_end = 0;
  std::vector<Value> keys;
  std::vector<Value> values;
  bool update = false;
};

/// @brief Receives the windows fired at one watermark step, ordered by window start then keys.
/// Called from one engine thread at a time.
using ResultSink = std::function<void(std::span<const WindowResult>)>;
/// @brief Receives the output rows of a stateless (filter/map/project) query.
using RowSink = std::function<void(const Batch&)>;
/// @brief Receives late events (older than their windows' end plus the allowed lateness):
/// the columns the query reads, in input schema order.
using LateSink = std::function<void(const Batch&)>;

}  // namespace sluice
