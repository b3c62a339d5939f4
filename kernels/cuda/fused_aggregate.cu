// The CUDA fused fold: per-block shared-memory group tables in front of the round's GroupTable.
#include "kernels/cuda/fused_aggregate.cuh"

#include <cstdlib>
#include <string>

#include "kernels/cuda/state_atomics.cuh"
#include "kernels/exec/cuda_check.cuh"
#include "sluice/status.hpp"

namespace sluice::detail {
namespace {

constexpr int kFoldBlock = 512;
/// Shared memory a block table may take; two such blocks fit an SM of sm_80 and later.
constexpr std::size_t kBlockTableBudget = 96 * 1024;
/// Probes in a block table before the event goes to the group table instead.
constexpr std::uint64_t kBlockTableProbes = 16;

/// Words per slot of a block table: slot word, key hash, keys, pane, states; then the cut.
std::size_t block_slot_bytes(int key_words, int state_words) {
  return sizeof(std::uint64_t) * (3 + static_cast<std::size_t>(key_words + state_words)) +
         sizeof(std::uint32_t);
}

struct FoldArgs {
  GroupTableRef table;
  InputColumns in;
  ProgramSetView programs;
  AggregationSpec spec;
  BatchWindowing windowing;
  std::size_t rows = 0;
  std::size_t rows_per_block = 0;  ///< a multiple of kFoldBlock
  std::uint64_t block_slots = 0;   ///< 0: no block table (the global path)
  AggregationCounters* counters;
  std::uint32_t* late_rows;
};

/// The block table laid out in dynamic shared memory (see block_slot_bytes).
__device__ GroupTableRef block_table(const FoldArgs& a, unsigned long long* shared) {
  const std::uint64_t n = a.block_slots;
  GroupTableRef t;
  t.index = OpenAddressingRef<>{reinterpret_cast<std::uint64_t*>(shared), n - 1};
  t.key_hash = t.index.slots + n;
  t.keys = t.key_hash + n;
  t.pane = reinterpret_cast<std::int64_t*>(t.keys + n * a.spec.key_words);
  t.states = reinterpret_cast<std::uint64_t*>(t.pane + n);
  t.cut = reinterpret_cast<std::uint32_t*>(t.states + n * a.spec.states.count);
  t.key_words = a.spec.key_words;
  t.state_words = a.spec.states.count;
  return t;
}

/// Every block takes rows [blockIdx.x * rows_per_block, +rows_per_block) in tiles of one row
/// per thread (coalesced reads). The loop trip count is the same for all threads of a block,
/// so whole warps take part in the warp-wide steps.
/// The group's slot in the round's group table; the slots the warp claims are listed with one
/// atomic per warp instead of one per claim (a table filling with new groups would otherwise
/// serialize on its claim counter).
/// @pre All 32 lanes of the warp call it; `want` says which look a group up.
__device__ std::uint64_t warp_find_or_claim(const FoldArgs& a, bool want, std::uint64_t key_hash,
                                            const std::uint64_t* key, std::int64_t pane,
                                            std::uint32_t cut) {
  bool fresh = false;
  std::uint64_t slot = kNoGroupSlot;
  if (want)
    slot = a.table.find_or_claim_unlisted(key_hash, key, pane, cut, a.table.capacity(), fresh);
  const unsigned long long at = warp_reserve(fresh, a.table.claimed_count);
  if (fresh) a.table.claimed[at] = static_cast<std::uint32_t>(slot);
  return slot;
}

template <bool kBlockTable>
__global__ void __launch_bounds__(kFoldBlock) fold_events_kernel(FoldArgs a) {
  extern __shared__ unsigned long long shared_words[];
  GroupTableRef local;
  if constexpr (kBlockTable) {
    local = block_table(a, shared_words);
    for (std::uint64_t p = threadIdx.x; p < a.block_slots; p += blockDim.x) {
      local.index.slots[p] = kEmptySlot;
      for (int s = 0; s < a.spec.states.count; ++s)
        *local.state(s, p) = state_init(a.spec.states.ops[s]);
    }
    __syncthreads();
  }
  const std::size_t begin = static_cast<std::size_t>(blockIdx.x) * a.rows_per_block;
  const std::size_t end = begin + a.rows_per_block < a.rows ? begin + a.rows_per_block : a.rows;
  unsigned kept = 0;
  EventFields e;
  for (std::size_t tile = begin; tile < end; tile += blockDim.x) {
    const std::size_t i = tile + threadIdx.x;
    bool passed = false;
    if (i < end && event_passes(a.spec, a.programs, a.in, i)) {
      evaluate_event(a.spec, a.programs, a.in, i, a.windowing, e);
      passed = e.cut != kUnrepresentableCut;  // else dropped, not kept
      kept += passed ? 1u : 0u;
    }
    const bool late = passed && e.cut == kLateCut;
    const unsigned long long at = warp_reserve(late, &a.counters->late);
    if (late) a.late_rows[at] = static_cast<std::uint32_t>(i);
    const bool live = passed && !late;

    std::uint64_t slot = kNoGroupSlot;
    bool in_block = false;
    if constexpr (kBlockTable) {
      if (live) {
        slot = local.find_or_claim_within<cuda::thread_scope_block>(e.key_hash, e.keys, e.pane,
                                                                    e.cut, kBlockTableProbes);
        in_block = slot != kNoGroupSlot;
      }
    }
    const std::uint64_t global_slot =
        warp_find_or_claim(a, live && !in_block, e.key_hash, e.keys, e.pane, e.cut);
    if (live && !in_block) slot = global_slot;
    // Lanes on one slot fold their values first: one atomic per slot and warp.
    const std::uint64_t target = live ? (slot << 1) | (in_block ? 1u : 0u) : ~std::uint64_t{0};
    const unsigned group = __match_any_sync(kFullWarp, target);
    for (int s = 0; s < a.spec.states.count; ++s) {
      const StateOp op = a.spec.states.ops[s];
      if (state_is_pair(op)) {  // first/last: the time and value fold and combine together
        std::uint64_t t = live ? event_state_value(a.spec.states, e, s) : 0;
        std::uint64_t x = live ? event_state_value(a.spec.states, e, s + 1) : 0;
        const bool leader = warp_fold_pair(group, op, t, x);
        if (live && leader) {
          if (in_block)
            atomic_pair_combine<cuda::thread_scope_block>(
                op, local.state(s, slot), local.state(s + 1, slot), local.state(s + 2, slot), t, x);
          else
            atomic_pair_combine(op, a.table.state(s, slot), a.table.state(s + 1, slot),
                                a.table.state(s + 2, slot), t, x);
        }
        s += kPairWords - 1;
        continue;
      }
      if (state_is_wide(op)) {  // integer sum: both words fold and combine together
        std::uint64_t lo = live ? event_state_value(a.spec.states, e, s) : 0;
        std::uint64_t hi = live ? event_state_value(a.spec.states, e, s + 1) : 0;
        const bool leader = warp_fold_wide(group, lo, hi);
        if (live && leader) {
          if (in_block)
            atomic_wide_add<cuda::thread_scope_block>(local.state(s, slot),
                                                      local.state(s + 1, slot), lo, hi);
          else
            atomic_wide_add(a.table.state(s, slot), a.table.state(s + 1, slot), lo, hi);
        }
        s += kWideWords - 1;
        continue;
      }
      std::uint64_t v = live ? event_state_value(a.spec.states, e, s) : 0;
      const bool leader = warp_fold(group, op, v);
      if (!live || !leader) continue;
      if (in_block)
        atomic_state_combine<cuda::thread_scope_block>(op, local.state(s, slot), v);
      else
        atomic_state_combine(op, a.table.state(s, slot), v);
    }
  }
  const unsigned warp_kept = warp_sum(kept);
  if ((threadIdx.x & 31u) == 0 && warp_kept > 0) atomicAdd(&a.counters->kept, warp_kept);

  if constexpr (kBlockTable) {
    __syncthreads();
    std::uint64_t key[kMaxKeyWords];
    // The same trip count for every thread: whole warps list their claims together.
    for (std::uint64_t base = 0; base < a.block_slots; base += blockDim.x) {
      const std::uint64_t p = base + threadIdx.x;
      const bool held = p < a.block_slots && local.index.slots[p] != kEmptySlot;
      if (held)
        for (int j = 0; j < local.key_words; ++j) key[j] = local.keys[j * a.block_slots + p];
      const std::uint64_t g = warp_find_or_claim(a, held, held ? local.key_hash[p] : 0, key,
                                                 held ? local.pane[p] : 0, held ? local.cut[p] : 0);
      if (!held) continue;
      atomic_combine_states(
          a.spec.states, [&](int s) { return a.table.state(s, g); },
          [&](int s) { return *local.state(s, p); });
    }
  }
}

/// Launch shape of the block path on one device, found once.
struct BlockPathShape {
  int device = -1;
  int blocks_per_sm = 0;
  std::size_t slots = 0;
  int key_words = -1;
  int state_words = -1;
};

BlockPathShape block_path_shape(CudaExec& exec, int key_words, int state_words) {
  thread_local BlockPathShape shape;
  if (shape.device == exec.device() && shape.key_words == key_words &&
      shape.state_words == state_words)
    return shape;
  int optin = 0;
  SLUICE_CUDA_TRY(
      cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, exec.device()));
  const std::size_t budget = static_cast<std::size_t>(optin) < kBlockTableBudget
                                 ? static_cast<std::size_t>(optin)
                                 : kBlockTableBudget;
  shape.slots = block_table_slots(key_words, state_words, budget);
  shape.blocks_per_sm = 0;
  if (shape.slots > 0) {
    const int bytes = static_cast<int>(shape.slots * block_slot_bytes(key_words, state_words));
    SLUICE_CUDA_TRY(cudaFuncSetAttribute(fold_events_kernel<true>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
    SLUICE_CUDA_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
        &shape.blocks_per_sm, fold_events_kernel<true>, kFoldBlock, bytes));
  }
  shape.device = exec.device();
  shape.key_words = key_words;
  shape.state_words = state_words;
  return shape;
}

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

}  // namespace

std::size_t block_table_slots(int key_words, int state_words, std::size_t budget) {
  const std::size_t per_slot = block_slot_bytes(key_words, state_words);
  std::size_t slots = 32;
  if (slots * per_slot > budget) return 0;
  while (2 * slots * per_slot <= budget) slots *= 2;
  return slots;
}

void fold_events_cuda(CudaExec& exec, GroupTable<CudaExec>& table, const InputColumns& in,
                      std::size_t rows, ProgramSetView programs, const AggregationSpec& spec,
                      std::int64_t wm_before, AggregationCounters* counters,
                      std::uint32_t* late_rows, CudaFoldPath path) {
  if (rows == 0) return;
  if (path == CudaFoldPath::portable) {
    table.add_events(in, rows, programs, spec, wm_before, counters, late_rows);
    return;
  }
  FoldArgs a;
  a.table = table.ref();
  a.in = in;
  a.programs = programs;
  a.spec = spec;
  a.windowing = batch_windowing(spec.panes, wm_before);
  a.rows = rows;
  a.counters = counters;
  a.late_rows = late_rows;
  const std::size_t sms = static_cast<std::size_t>(exec.multiprocessors());
  if (path == CudaFoldPath::block) {
    const BlockPathShape shape = block_path_shape(exec, spec.key_words, spec.states.count);
    if (shape.blocks_per_sm > 0) {
      // One wave of persistent blocks, each over a contiguous range (its events are close in
      // time, so they share few panes).
      const std::size_t blocks = sms * static_cast<std::size_t>(shape.blocks_per_sm);
      a.rows_per_block = round_up((rows + blocks - 1) / blocks, kFoldBlock);
      a.block_slots = shape.slots;
      const std::size_t grid = (rows + a.rows_per_block - 1) / a.rows_per_block;
      const std::size_t bytes = shape.slots * block_slot_bytes(spec.key_words, spec.states.count);
      fold_events_kernel<true>
          <<<static_cast<unsigned>(grid), kFoldBlock, bytes, exec.stream()>>>(a);
      SLUICE_CHECK_LAUNCH("fold_events_kernel<block>");
      return;
    }
  }
  // Global path: a few tiles per block, enough blocks to fill the device several times.
  const std::size_t tiles = (rows + kFoldBlock - 1) / kFoldBlock;
  const std::size_t max_blocks = sms * 16;
  const std::size_t tiles_per_block = (tiles + max_blocks - 1) / max_blocks;
  a.rows_per_block = tiles_per_block * kFoldBlock;
  const std::size_t grid = (rows + a.rows_per_block - 1) / a.rows_per_block;
  fold_events_kernel<false><<<static_cast<unsigned>(grid), kFoldBlock, 0, exec.stream()>>>(a);
  SLUICE_CHECK_LAUNCH("fold_events_kernel<global>");
}

bool fixed_cuda_fold_path(CudaFoldPath& path) {
  const char* value = std::getenv("SLUICE_CUDA_PREAGG");
  if (value == nullptr) return false;
  const std::string v(value);
  if (v.empty() || v == "auto") return false;
  if (v == "block")
    path = CudaFoldPath::block;
  else if (v == "global")
    path = CudaFoldPath::global;
  else if (v == "portable")
    path = CudaFoldPath::portable;
  else
    throw Error(ErrorCode::invalid_argument,
                "SLUICE_CUDA_PREAGG=" + v + ": expected auto, block, global or portable");
  return true;
}

}  // namespace sluice::detail
