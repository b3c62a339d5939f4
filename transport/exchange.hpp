// Exchange: the collectives workers (ranks) use to trade partials and agree on time.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace sluice::detail {

class RowTranslator;

/// @brief Where a worker's packed partials lie: `rows` rows of `row_words` 64-bit words, in the
/// memory of `device` (-1: host memory). Valid in its process until that worker's next round.
struct OutboxView {
  const std::uint64_t* data = nullptr;
  int device = -1;
  std::uint32_t row_words = 0;
};

/// @brief One part of an outbox sent to one destination: rows [first_row, first_row + rows).
/// Plain data: what an exchange between processes serializes.
struct PartDescriptor {
  std::uint64_t first_row = 0;
  std::uint64_t rows = 0;
};

/// @brief A part received from `source`, with the outbox it lies in (for an in-process exchange;
/// an exchange between processes copies the rows into its own buffer and describes that).
struct ReceivedPart {
  int source = 0;
  PartDescriptor part;
  OutboxView outbox;
};

/// @brief Collectives among `size()` ranks. Every rank calls each collective in the same order.
/// A rank that fails calls abort(); every rank then blocked in (or later entering) a
/// collective throws Error naming the failed rank, so no rank hangs.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual int size() const = 0;
  /// @brief Sends parts[d] of `outbox` to rank d; fills `received` (cleared first) with what
  /// every rank sent to `rank`, in rank order. Rows that cross processes go through
  /// `translator` (null: they are plain words); every rank passes the same kind.
  virtual void all_to_all(int rank, std::span<const PartDescriptor> parts, OutboxView outbox,
                          std::vector<ReceivedPart>& received, RowTranslator* translator) = 0;
  /// @brief Minimum of `value` over all ranks.
  virtual std::int64_t all_reduce_min(int rank, std::int64_t value) = 0;
  /// @brief Waits for every rank.
  virtual void barrier(int rank) = 0;
  /// @brief Marks the exchange failed by `rank`; wakes every waiting rank.
  virtual void abort(int rank, const std::string& why) = 0;
  /// @brief Bytes sent to other processes so far (0 when every rank is in this process).
  virtual std::uint64_t bytes_sent() const { return 0; }
};

}  // namespace sluice::detail
