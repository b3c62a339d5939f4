// CommitTracker: a prefix of each partition's chunks becomes committable as windows fire.
#include "host/kafka/commit_tracker.hpp"

#include <limits>

namespace sluice::kafka {

void CommitTracker::record(std::int32_t partition, std::int64_t next_offset,
                           std::int64_t max_time) {
  std::deque<Chunk>& chunks = pending_[partition];
  // Chunks without rows hold nothing back; merged into the one before, they keep the deque short.
  if (!chunks.empty() && max_time == std::numeric_limits<std::int64_t>::min()) {
    chunks.back().next_offset = next_offset;
    return;
  }
  chunks.push_back({next_offset, max_time});
}

std::vector<std::pair<std::int32_t, std::int64_t>> CommitTracker::advance(
    std::int64_t fired_watermark) {
  std::vector<std::pair<std::int32_t, std::int64_t>> moved;
  if (rule_.kind == CommitRule::Kind::at_end) return moved;
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  for (auto& [partition, chunks] : pending_) {
    std::int64_t commit = -1;
    while (!chunks.empty()) {
      const Chunk& c = chunks.front();
      // Every window of the chunk's rows ends by max_time + horizon; it has fired once the
      // watermark reached that end. Beyond the 64-bit range nothing fires before the end.
      const bool empty = c.max_time == kMin;
      const bool fits = c.max_time <= std::numeric_limits<std::int64_t>::max() - rule_.horizon;
      if (!empty && (!fits || c.max_time + rule_.horizon > fired_watermark)) break;
      commit = c.next_offset;
      chunks.pop_front();
    }
    if (commit >= 0) moved.emplace_back(partition, commit);
  }
  return moved;
}

std::vector<std::pair<std::int32_t, std::int64_t>> CommitTracker::drain() {
  std::vector<std::pair<std::int32_t, std::int64_t>> all;
  for (const auto& [partition, chunks] : pending_)
    if (!chunks.empty()) all.emplace_back(partition, chunks.back().next_offset);
  pending_.clear();
  return all;
}

std::size_t CommitTracker::pending_chunks() const noexcept {
  std::size_t n = 0;
  for (const auto& [partition, chunks] : pending_) n += chunks.size();
  return n;
}

}  // namespace sluice::kafka
