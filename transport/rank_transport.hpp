// RankTransport: the messages between the processes (ranks) of a job, below the Exchange.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace sluice::detail {

/// @brief Point-to-point traffic among `size()` ranks, each a process (or, for tests, a thread)
/// with its own memory. One thread of a rank calls the collectives at a time; abort() may come
/// from any thread. Every rank calls the collectives in the same order. A collective that a
/// peer cannot complete (it failed and called abort(), it was lost, or it sent nothing for the
/// transport's timeout) throws Error(ErrorCode::peer_failure) naming that rank; once one has
/// thrown, every later collective throws the same.
class RankTransport {
 public:
  virtual ~RankTransport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// @brief "MPI", "in-process": for messages.
  virtual const char* name() const = 0;
  /// @brief How long a collective waits for a silent peer (zero: for ever).
  virtual std::chrono::milliseconds peer_timeout() const = 0;
  /// @brief Sends bytes [offsets[q], offsets[q + 1]) of `send` to rank q (offsets has size() + 1
  /// entries; the part for this rank is ignored) and receives what every other rank sent here:
  /// rank p's bytes land in `received` at [received_offsets[p], received_offsets[p + 1]) (both
  /// resized; this rank's part is empty). Allocation-free once `received` has grown.
  virtual void all_to_all(std::span<const std::byte> send, std::span<const std::size_t> offsets,
                          std::vector<std::byte>& received,
                          std::vector<std::size_t>& received_offsets) = 0;
  /// @brief Minimum of `value` over all ranks.
  virtual std::int64_t all_reduce_min(std::int64_t value) = 0;
  /// @brief Sum of `values` (element-wise, the same length on every rank) over all ranks.
  virtual void all_reduce_sum(std::span<std::uint64_t> values) = 0;
  /// @brief Not a collective: throws Error(peer_failure) if a peer's abort has arrived (for a
  /// rank waiting on other traffic, e.g. NCCL's, that a failed peer will never complete).
  virtual void check_peers() = 0;
  /// @brief Collective: a transport over the same ranks whose messages never mix with this
  /// one's (one per job, so that jobs running at once do not meet in each other's collectives).
  virtual std::shared_ptr<RankTransport> duplicate() = 0;
  /// @brief Tells every other rank that this one failed (`why`), so that their collectives throw
  /// naming it; returns without waiting for them. Later collectives here throw too.
  virtual void abort(const std::string& why) noexcept = 0;
};

/// @brief Rewrites rows of 64-bit words that cross from one rank to another into the terms of
/// the receiver (e.g. string codes of the sender's dictionary into the receiver's). Called by
/// one thread at a time, in the order of the collectives, on both sides.
class RowTranslator {
 public:
  virtual ~RowTranslator() = default;
  /// @brief Appends to `out` what rank `to` needs to read `rows` (row_words words each).
  virtual void describe(int to, std::span<const std::uint64_t> rows, std::uint32_t row_words,
                        std::vector<std::byte>& out) = 0;
  /// @brief Reads what rank `from`'s describe() wrote and rewrites `rows` in place.
  /// @throws Error when the description is malformed or does not cover the rows.
  virtual void translate(int from, std::span<const std::byte> description,
                         std::span<std::uint64_t> rows, std::uint32_t row_words) = 0;
};

}  // namespace sluice::detail
