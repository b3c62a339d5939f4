// CUDA fast path of reduce_partials: hash pre-aggregation in shared, then global, memory.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/exec/buffer.hpp"
#include "kernels/exec/cuda_exec.cuh"
#include "kernels/partials.hpp"
#include "kernels/reduce_partials.hpp"
#include "kernels/state_spec.hpp"

namespace sluice::detail {

/// @brief Which algorithm CudaPreaggregator uses. `automatic` takes block_then_hash while the
/// previous batch had few groups and hash otherwise; the others force one (benchmarks, tests).
enum class CudaPreaggregation : std::uint8_t {
  automatic,
  block_then_hash,  ///< per-block shared-memory tables, then the global table over their rows
  hash,             ///< the global table over the events
  sort,             ///< the portable operator, reduce_partials
};

/// @brief Parses "auto", "block", "hash" or "sort"; anything else is `automatic`.
CudaPreaggregation parse_cuda_preaggregation(const char* text);

/// @brief Scratch of the global hash table: slot owners (a row index, or empty) and one column
/// per state. Between calls every slot is empty and every state holds its identity, so a call
/// touches only the slots its rows use (the compaction resets them).
struct HashAggregateTable {
  explicit HashAggregateTable(CudaExec& exec) : owners(exec), states(exec) {}
  Buffer<std::uint32_t, CudaExec> owners;
  Buffer<std::uint64_t, CudaExec> states;  ///< state s of slot p at states[s * capacity + p]
  std::size_t capacity = 0;
  StateSpec spec;  ///< the identities `states` holds
};

/// @brief Folds `in` into per-block shared-memory tables: each block of kBlockTileRows rows
/// writes one row per (key, pane, cut) group it saw, and rows that find no free slot pass
/// through unchanged. Late rows are dropped. The result has the groups of `in`, merged only
/// within blocks: reduce_partials over it equals reduce_partials over `in` (float sums up to
/// association order). Output order is unspecified.
/// @param out resized to at most in.size rows. @param counter one word of device scratch.
/// @return the number of shared-memory slots per block (for the caller's choice of path).
std::size_t block_preaggregate(CudaExec& exec, PartialsView in, const StateSpec& states,
                               Partials<CudaExec>& out, unsigned long long* counter);

/// @brief Merges the rows of `in` with equal (key, pane, cut) through a global hash table with
/// warp-aggregated atomic state merges; late rows are dropped; output order is unspecified
/// (reduce_partials' groups, unordered).
void hash_aggregate(CudaExec& exec, PartialsView in, const StateSpec& states,
                    Partials<CudaExec>& out, HashAggregateTable& table,
                    unsigned long long* counter);

/// @brief Scratch of order_by_key.
struct OrderScratch {
  explicit OrderScratch(CudaExec& exec) : hashes(exec), order(exec), flag(exec) {}
  Buffer<std::uint64_t, CudaExec> hashes;
  Buffer<std::uint32_t, CudaExec> order;
  Buffer<std::uint32_t, CudaExec> flag;
};

/// @brief Copies `groups` (one row per (key, pane, cut)) into `out` with rows of equal keys
/// adjacent, as KeyTable::find_or_insert needs: a radix sort by key hash, and, only if two
/// different keys share a hash, the portable reduce_partials order instead.
void order_by_key(CudaExec& exec, PartialsView groups, const StateSpec& states,
                  Partials<CudaExec>& out, OrderScratch& scratch,
                  ReduceScratch<CudaExec>& reduce_scratch);

/// @brief The CUDA executor's pre-aggregation (agrees with reduce_partials, the portable
/// operator: same groups and states, float sums up to association order; rows of equal keys
/// adjacent but otherwise in another order). Chooses its path per batch: few groups in the
/// previous batch → block_preaggregate then hash_aggregate; many → hash_aggregate alone; both
/// end with order_by_key. SLUICE_CUDA_PREAGG=auto|block|hash|sort overrides the choice.
class CudaPreaggregator {
 public:
  explicit CudaPreaggregator(CudaExec& exec);
  void operator()(CudaExec& exec, PartialsView events, const StateSpec& states,
                  Partials<CudaExec>& out);
  CudaPreaggregation mode() const noexcept { return mode_; }
  void set_mode(CudaPreaggregation mode) noexcept { mode_ = mode; }
  /// @brief The path the last call took (never `automatic`).
  CudaPreaggregation last_path() const noexcept { return last_path_; }

 private:
  CudaPreaggregation mode_;
  CudaPreaggregation last_path_ = CudaPreaggregation::sort;
  std::size_t last_groups_ = 0;
  bool first_ = true;
  Buffer<unsigned long long, CudaExec> counter_;
  Partials<CudaExec> tiles_;
  Partials<CudaExec> groups_;
  HashAggregateTable table_;
  OrderScratch order_;
  ReduceScratch<CudaExec> reduce_;
  CudaExec* exec_;
  bool bound_ = false;
};

}  // namespace sluice::detail
