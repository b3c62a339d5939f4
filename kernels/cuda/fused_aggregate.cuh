// The CUDA fast path of the fused per-batch operator: events fold into per-block tables in
// shared memory, which then fold into the round's GroupTable; groups the block cannot hold go
// to the GroupTable directly. Agrees with the portable pass (GroupTable::add_events).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/exec/cuda_exec.cuh"
#include "kernels/pipeline/round_groups.hpp"
#include "kernels/table/group_table.hpp"

namespace sluice::detail {

/// @brief How a batch's events reach the round's group table on CUDA.
enum class CudaFoldPath : std::uint8_t {
  block,     ///< per-block shared-memory tables first (many events per group)
  global,    ///< one event per thread straight into the group table (few events per group)
  portable,  ///< GroupTable::add_events, the reference the other two are tested against
};

/// @brief Shared-memory slots of a block table for the given group shape within `budget`
/// bytes: a power of two, 0 when not even 32 fit.
std::size_t block_table_slots(int key_words, int state_words, std::size_t budget);

/// @brief Folds `rows` events of `in` into `table` by `path` (see GroupTable::add_events for
/// the counters and late rows; late rows are appended in no particular order).
/// @pre As for GroupTable::add_events.
void fold_events_cuda(CudaExec& exec, GroupTable<CudaExec>& table, const InputColumns& in,
                      std::size_t rows, ProgramSetView programs, const AggregationSpec& spec,
                      std::int64_t wm_before, AggregationCounters* counters,
                      std::uint32_t* late_rows, CudaFoldPath path);

/// @brief The path SLUICE_CUDA_PREAGG names (auto, block, global, portable); `auto` (also
/// when unset) yields no fixed path.
/// @throws Error(invalid_argument) for any other value.
bool fixed_cuda_fold_path(CudaFoldPath& path);

/// @brief The path for a round after one of `rows` events in `groups` groups: block tables pay a
/// flush per block, worth it from a few events per group on.
inline CudaFoldPath cuda_fold_path_after(std::size_t rows, std::size_t groups) {
  constexpr std::size_t kEventsPerGroupForBlocks = 4;
  return groups * kEventsPerGroupForBlocks <= rows ? CudaFoldPath::block : CudaFoldPath::global;
}

/// The CUDA executor's EventFolder: the block path while the rounds have several events per
/// group, the global path otherwise (decided from the previous round's group count), unless
/// SLUICE_CUDA_PREAGG fixes one.
template <>
struct EventFolder<CudaExec> {
  explicit EventFolder(CudaExec& exec) : exec_(&exec), fixed_(fixed_cuda_fold_path(path_)) {}

  void operator()(GroupTable<CudaExec>& table, const InputColumns& in, std::size_t rows,
                  ProgramSetView programs, const AggregationSpec& spec, std::int64_t wm_before,
                  AggregationCounters* counters, std::uint32_t* late_rows) {
    fold_events_cuda(*exec_, table, in, rows, programs, spec, wm_before, counters, late_rows,
                     path_);
    round_rows_ += rows;
  }

  void observe_groups(std::size_t groups) {
    if (!fixed_ && round_rows_ > 0) path_ = cuda_fold_path_after(round_rows_, groups);
    round_rows_ = 0;
  }

  CudaFoldPath path() const { return path_; }

 private:
  CudaExec* exec_;
  CudaFoldPath path_ = CudaFoldPath::block;
  bool fixed_;
  std::size_t round_rows_ = 0;
};

}  // namespace sluice::detail
