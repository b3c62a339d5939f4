// CheckpointImage: what one checkpoint holds, as a job writes it and a resumed job reads it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace sluice::detail {

/// @brief The job's counters a checkpoint carries (CheckpointImage::counters, in this order).
enum JobCounter : std::size_t {
  kEventsIn,
  kEventsFiltered,
  kEventsLate,
  kEventsUnrepresentable,
  kEventsAggregated,
  kBatchesProcessed,
  kWindowsFired,
  kWindowUpdates,
  kEventsMalformed,
  kStringsReclaimed,
  kStringReclaims,
  kNextReclaim,
  kCheckpointsTaken,
  kJobCounters
};

/// @brief The contents of a checkpoint: what the job holds itself (whose job it is, the
/// sources' and sinks' positions, the dictionary, the counters) as fields, and what its parts
/// hold (the rows in ingest and in the forming round, the broadcast state, each worker's state)
/// as the words those parts wrote.
struct CheckpointImage {
  /// The schema, query and settings it belongs to, as text: a resumed job must match it.
  std::string fingerprint;
  std::vector<std::uint64_t> positions;  ///< per source
  std::uint64_t sink_position = 0;
  std::uint32_t code_limit = 0;  ///< the dictionary: its strings under their codes
  std::vector<std::uint32_t> codes;
  std::vector<std::string> strings;
  std::vector<std::uint64_t> counters;  ///< kJobCounters of them
  std::vector<std::uint64_t> per_worker_batches;
  std::vector<std::uint64_t> ingest;
  std::vector<std::uint64_t> dispatch;
  std::vector<std::uint64_t> broadcast;
  std::vector<std::vector<std::uint64_t>> workers;

  /// @brief Appends the image to `words` (a checkpoint file's body).
  void encode(std::vector<std::uint64_t>& words) const;
  /// @brief The image `words` hold. @throws Error(malformed_input) naming `path`.
  static CheckpointImage decode(std::span<const std::uint64_t> words, const std::string& path);
};

}  // namespace sluice::detail
