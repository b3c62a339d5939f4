// The demo's synthetic telemetry stream: columnar arrays of host metrics with out-of-order time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sluice/batch.hpp"
#include "sluice/dictionary.hpp"
#include "sluice/schema.hpp"

namespace sluice::cli {

/// @brief Generated events, one array per column of telemetry_schema(); strings as the codes of
/// the dictionaries given to generate_telemetry().
struct TelemetryColumns {
  std::vector<std::int64_t> ts;  ///< ms since the epoch; increasing, some up to 3 s late
  std::vector<std::uint32_t> host;
  std::vector<std::uint32_t> region;
  std::vector<float> cpu;            ///< 0..100
  std::vector<std::int32_t> status;  ///< mostly 200, some 500 and 404

  std::size_t size() const noexcept { return ts.size(); }
};

/// @brief Most events arrive this much out of order at worst.
inline constexpr std::int64_t kDemoMaxJitterMs = 3000;

/// @brief "ts:timestamp[ms],host:string,region:string,cpu:f32,status:i32".
Schema telemetry_schema();

/// @brief `events` events from 64 hosts ("host-000".."host-063") in three regions (fixed per
/// host), one every 0.5 ms of event time; deterministic for a given `seed`.
/// @param hosts, regions the dictionaries of the host and region columns.
TelemetryColumns generate_telemetry(std::size_t events, StringDictionary& hosts,
                                    StringDictionary& regions, std::uint64_t seed);

/// @brief Rows [begin, begin + count) of `columns` as a Batch of telemetry_schema() that
/// borrows the arrays (no copy); `dictionaries` as for Batch::wrap.
Batch telemetry_batch(const TelemetryColumns& columns, std::size_t begin, std::size_t count,
                      const std::vector<DictionaryPtr>& dictionaries);

}  // namespace sluice::cli
