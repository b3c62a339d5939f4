// Host fast path of reduce_partials: per-thread hash aggregation, then the portable reduction.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/exec/host_exec.hpp"
#include "kernels/partials.hpp"
#include "kernels/reduce_partials.hpp"
#include "kernels/state_spec.hpp"

namespace sluice::detail {

struct LocalGroupTable;

/// @brief Scratch of local_preaggregate, reused across batches (one table per thread).
class LocalPreaggregateScratch {
 public:
  explicit LocalPreaggregateScratch(HostExec& exec);
  ~LocalPreaggregateScratch();
  LocalPreaggregateScratch(const LocalPreaggregateScratch&) = delete;
  LocalPreaggregateScratch& operator=(const LocalPreaggregateScratch&) = delete;

 private:
  friend void local_preaggregate(HostExec&, PartialsView, const StateSpec&, Partials<HostExec>&,
                                 LocalPreaggregateScratch&);
  std::vector<std::unique_ptr<LocalGroupTable>> tables_;
  Partials<HostExec> gathered_;
  ReduceScratch<HostExec> reduce_;
};

/// @brief Same contract and result as reduce_partials (portable operator it must agree with):
/// groups `in` by (key words, pane, cut), drops late rows, merges states, output ordered by
/// (hash, key words, pane, cut). Each OpenMP thread first folds its contiguous share of the
/// rows into its own hash table, so the sort runs over groups instead of events; float sums
/// may differ from reduce_partials' in the last bits (another association order).
void local_preaggregate(HostExec& exec, PartialsView in, const StateSpec& states,
                        Partials<HostExec>& out, LocalPreaggregateScratch& scratch);

}  // namespace sluice::detail
