// CommitTracker: which consumed Kafka offsets may be committed, given the windows fired so far.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <utility>
#include <vector>

namespace sluice::kafka {

/// @brief When the rows of a message have reached the sinks.
struct CommitRule {
  enum class Kind : std::uint8_t {
    after_horizon,  ///< once the fired watermark passes the message's event times + `horizon`
    at_end,         ///< only when the job has finished (a global window)
  };
  Kind kind = Kind::after_horizon;
  /// In the time column's unit: every window holding an event of time t ends by t + horizon
  /// (the window's size: a tumbling, sliding or cumulating window holds t only if it starts at
  /// or before t).
  std::int64_t horizon = 0;
};

/// @brief Tracks, per partition, the messages pushed and not yet committed, as chunks in push
/// order (a chunk: the offset after its last message and the largest event time of its rows),
/// and says how far each partition may be committed: up to the first chunk some window of
/// which has not fired. So a committed offset never runs ahead of an unwritten window, even
/// with disorder across chunks. Not thread-safe.
class CommitTracker {
 public:
  explicit CommitTracker(CommitRule rule) : rule_(rule) {}

  /// @brief Records the chunk of `partition` that ends before `next_offset`, whose rows' largest
  /// event time is `max_time` (INT64_MIN: no rows, e.g. every message malformed).
  /// @pre next_offset grows per partition.
  void record(std::int32_t partition, std::int64_t next_offset, std::int64_t max_time);

  /// @brief The partitions whose committable offset moved now that every window ending at or
  /// before `fired_watermark` reached the sinks (and every recorded chunk was processed), each
  /// with the offset to commit (the next to read); their chunks are dropped.
  std::vector<std::pair<std::int32_t, std::int64_t>> advance(std::int64_t fired_watermark);

  /// @brief After the job finished: every recorded chunk is out. Returns each partition's last
  /// offset recorded and not yet returned, and forgets every chunk.
  std::vector<std::pair<std::int32_t, std::int64_t>> drain();

  /// @brief Forgets `partition` (revoked: another consumer reads it on from what was committed).
  void forget(std::int32_t partition) { pending_.erase(partition); }

  /// @brief Chunks recorded and not yet committable.
  std::size_t pending_chunks() const noexcept;

 private:
  struct Chunk {
    std::int64_t next_offset;
    std::int64_t max_time;
  };
  CommitRule rule_;
  std::map<std::int32_t, std::deque<Chunk>> pending_;
};

}  // namespace sluice::kafka
