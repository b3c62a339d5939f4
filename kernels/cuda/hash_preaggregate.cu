// CUDA fast path of reduce_partials: kernels and launchers of the shared- and global-memory
// hash pre-aggregation and of the key ordering that follows it.
#include "kernels/cuda/hash_preaggregate.cuh"

#include <thrust/count.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/sequence.h>
#include <thrust/sort.h>
#include <cub/block/block_scan.cuh>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "kernels/cuda/state_atomics.cuh"
#include "kernels/ops/hash.hpp"
#include "kernels/ops/window_assign.hpp"

namespace sluice::detail {
namespace {

constexpr std::uint32_t kEmpty = 0xffffffffu;   // slot owner of an empty slot
constexpr std::uint32_t kNoSlot = 0xfffffffeu;  // lanes without a slot (no real slot has it)
constexpr int kBlock = 256;
constexpr std::size_t kBlockTileRows = 4096;
constexpr std::size_t kMaxTableRows = std::size_t{1} << 30;
constexpr std::size_t kBlockProbes = 32;  // a row probing more shared slots passes through

using BlockScan = cub::BlockScan<std::uint32_t, kBlock>;
// Dynamic shared memory of a block: the default 48 KiB less the kernels' static shared memory.
constexpr std::size_t kSharedBudget =
    48 * 1024 - sizeof(BlockScan::TempStorage) - sizeof(unsigned long long) - 256;

/// Slots of a block's shared-memory table: a power of two fitting the budget.
std::uint32_t block_slots(int state_count) {
  const std::size_t per_slot = sizeof(std::uint32_t) + sizeof(std::uint64_t) * state_count;
  std::uint32_t slots = 2048;
  while (slots > 32 && slots * per_slot > kSharedBudget) slots /= 2;
  return slots;
}

__device__ inline std::uint64_t group_hash(const PartialsView& v, std::size_t i) {
  return fmix64(v.hash[i] ^
                fmix64(static_cast<std::uint64_t>(v.pane[i]) * 0x9e3779b97f4a7c15ULL + v.cut[i]));
}

/// Copies row r's hash, key words, pane and cut to row `at` of `out`.
__device__ inline void copy_group_fields(const PartialsView& in, std::size_t r,
                                         const PartialsView& out, std::size_t at) {
  out.hash[at] = in.hash[r];
  for (int j = 0; j < in.key_words; ++j) out.keys[j * out.stride + at] = in.key(j, r);
  out.pane[at] = in.pane[r];
  out.cut[at] = in.cut[r];
}

/// Finds or claims row i's group slot in an open-addressing table of `mask + 1` slots whose
/// owners are row indices of `in`; gives up (kNoSlot) after `max_probes` slots.
template <bool kGlobal>
__device__ inline std::uint32_t find_or_claim(const PartialsView& in, std::size_t i,
                                              std::uint32_t* owners, std::size_t mask,
                                              std::size_t max_probes) {
  const std::uint64_t h = group_hash(in, i);
  for (std::size_t probe = 0; probe < max_probes; ++probe) {
    const std::size_t p = (h + probe) & mask;
    std::uint32_t owner = kGlobal ? __ldcg(owners + p) : owners[p];
    if (owner == kEmpty) {
      owner = atomicCAS(owners + p, kEmpty, static_cast<std::uint32_t>(i));
      if (owner == kEmpty) return static_cast<std::uint32_t>(p);
    }
    if (in.same_group(owner, i)) return static_cast<std::uint32_t>(p);
  }
  return kNoSlot;
}

/// Folds the lane's row into `slot` (kNoSlot: nothing) with warp-aggregated atomics.
/// @pre All 32 lanes call it.
__device__ inline void merge_into_slot(const PartialsView& in, std::size_t i, bool has_row,
                                       std::uint32_t slot, const StateSpec& spec,
                                       std::uint64_t* states, std::size_t stride) {
  const unsigned group = warp_slot_group(slot);
  for (int s = 0; s < spec.count; ++s) {
    std::uint64_t v = has_row ? in.state(s, i) : 0;
    if (warp_fold(group, spec.ops[s], v) && slot != kNoSlot)
      atomic_state_merge(spec.ops[s], states + s * stride + slot, v);
  }
}

/// Block-wide: writes the occupied slots among this pass's `kBlock` slots as output rows at
/// positions reserved with one atomic per block (CUB block scan of the occupancy flags).
/// @return the row position of this thread's slot (valid when occupied).
__device__ inline unsigned long long reserve_block_rows(bool occupied,
                                                        BlockScan::TempStorage& scan_storage,
                                                        unsigned long long& block_base,
                                                        unsigned long long* counter) {
  std::uint32_t offset = 0;
  std::uint32_t total = 0;
  BlockScan(scan_storage).ExclusiveSum(occupied ? 1u : 0u, offset, total);
  if (threadIdx.x == 0) block_base = total > 0 ? atomicAdd(counter, total) : 0;
  __syncthreads();
  return block_base + offset;
}

__global__ void __launch_bounds__(kBlock)
    block_preaggregate_kernel(PartialsView in, StateSpec spec, std::uint32_t slots,
                              PartialsView out, unsigned long long* counter) {
  extern __shared__ unsigned long long shared_words[];
  __shared__ BlockScan::TempStorage scan_storage;
  __shared__ unsigned long long block_base;
  auto* states = reinterpret_cast<std::uint64_t*>(shared_words);
  auto* owners = reinterpret_cast<std::uint32_t*>(shared_words + spec.count * slots);
  for (std::uint32_t k = threadIdx.x; k < slots; k += kBlock) {
    owners[k] = kEmpty;
    for (int s = 0; s < spec.count; ++s) states[s * slots + k] = state_init(spec.ops[s]);
  }
  __syncthreads();

  const std::size_t begin = static_cast<std::size_t>(blockIdx.x) * kBlockTileRows;
  const std::size_t end = begin + kBlockTileRows < in.size ? begin + kBlockTileRows : in.size;
  for (std::size_t base = begin; base < end; base += kBlock) {  // uniform across the block
    const std::size_t i = base + threadIdx.x;
    const bool valid = i < end && in.cut[i] != kLateCut;
    const std::uint32_t slot =
        valid ? find_or_claim<false>(in, i, owners, slots - 1, kBlockProbes) : kNoSlot;
    const bool spill = valid && slot == kNoSlot;
    merge_into_slot(in, i, valid && !spill, slot, spec, states, slots);
    // A row that found no free slot passes through as its own group row.
    const unsigned long long at = warp_reserve(spill, counter);
    if (spill) {
      copy_group_fields(in, i, out, at);
      for (int s = 0; s < spec.count; ++s) out.states[s * out.stride + at] = in.state(s, i);
    }
  }
  __syncthreads();

  for (std::uint32_t first = 0; first < slots; first += kBlock) {
    const std::uint32_t k = first + threadIdx.x;
    const std::uint32_t owner = k < slots ? owners[k] : kEmpty;
    const bool occupied = owner != kEmpty;
    const unsigned long long at = reserve_block_rows(occupied, scan_storage, block_base, counter);
    if (occupied) {
      copy_group_fields(in, owner, out, at);
      for (int s = 0; s < spec.count; ++s) out.states[s * out.stride + at] = states[s * slots + k];
    }
    __syncthreads();  // scan_storage and block_base are reused
  }
}

struct TableRef {
  std::uint32_t* owners;
  std::uint64_t* states;
  std::size_t capacity;  // of the allocation: the stride of the state columns
};

__global__ void __launch_bounds__(kBlock)
    hash_insert_kernel(PartialsView in, StateSpec spec, TableRef table, std::size_t mask) {
  const std::size_t lane = threadIdx.x & 31u;
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * kBlock;
  // Whole warps step together so that the warp intrinsics see all 32 lanes.
  for (std::size_t base = static_cast<std::size_t>(blockIdx.x) * kBlock + threadIdx.x - lane;
       base < in.size; base += stride) {
    const std::size_t i = base + lane;
    const bool valid = i < in.size && in.cut[i] != kLateCut;
    // The table has at least twice as many slots as rows: a free slot always exists.
    const std::uint32_t slot =
        valid ? find_or_claim<true>(in, i, table.owners, mask, mask + 1) : kNoSlot;
    merge_into_slot(in, i, valid, slot, spec, table.states, table.capacity);
  }
}

__global__ void __launch_bounds__(kBlock)
    hash_compact_kernel(PartialsView in, StateSpec spec, TableRef table, std::size_t used,
                        PartialsView out, unsigned long long* counter) {
  __shared__ BlockScan::TempStorage scan_storage;
  __shared__ unsigned long long block_base;
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * kBlock;
  for (std::size_t base = static_cast<std::size_t>(blockIdx.x) * kBlock; base < used;
       base += stride) {  // uniform across the block
    const std::size_t k = base + threadIdx.x;
    const std::uint32_t owner = k < used ? table.owners[k] : kEmpty;
    const bool occupied = owner != kEmpty;
    const unsigned long long at = reserve_block_rows(occupied, scan_storage, block_base, counter);
    if (occupied) {
      copy_group_fields(in, owner, out, at);
      // Reading a slot also resets it: the table is clean for the next call.
      for (int s = 0; s < spec.count; ++s) {
        std::uint64_t& word = table.states[s * table.capacity + k];
        out.states[s * out.stride + at] = word;
        word = state_init(spec.ops[s]);
      }
      table.owners[k] = kEmpty;
    }
    __syncthreads();  // scan_storage and block_base are reused
  }
}

struct InitStates {
  std::uint64_t* states;
  std::size_t capacity;
  StateSpec spec;
  __device__ void operator()(std::size_t k) const {
    for (int s = 0; s < spec.count; ++s) states[s * capacity + k] = state_init(spec.ops[s]);
  }
};

struct GatherRow {
  PartialsView in;
  PartialsView out;
  const std::uint32_t* order;
  __device__ void operator()(std::size_t i) const {
    const std::uint32_t r = order[i];
    copy_group_fields(in, r, out, i);
    for (int s = 0; s < in.state_words; ++s) out.states[s * out.stride + i] = in.state(s, r);
  }
};

struct SharesHashWithAnotherKey {
  PartialsView v;
  __device__ bool operator()(std::size_t i) const {
    return i > 0 && v.hash[i] == v.hash[i - 1] && !v.same_key(i - 1, i);
  }
};

bool same_ops(const StateSpec& a, const StateSpec& b) {
  if (a.count != b.count) return false;
  for (int s = 0; s < a.count; ++s)
    if (a.ops[s] != b.ops[s]) return false;
  return true;
}

int grid_for(const CudaExec& exec, std::size_t items) {
  const std::size_t wanted = (items + kBlock - 1) / kBlock;
  const auto most = static_cast<std::size_t>(exec.multiprocessors()) * 8;
  return static_cast<int>(std::max<std::size_t>(1, std::min(wanted, most)));
}

std::size_t read_count(CudaExec& exec, unsigned long long* counter) {
  return static_cast<std::size_t>(exec.read(counter));
}

}  // namespace

CudaPreaggregation parse_cuda_preaggregation(const char* text) {
  if (text == nullptr) return CudaPreaggregation::automatic;
  if (std::strcmp(text, "block") == 0) return CudaPreaggregation::block_then_hash;
  if (std::strcmp(text, "hash") == 0) return CudaPreaggregation::hash;
  if (std::strcmp(text, "sort") == 0) return CudaPreaggregation::sort;
  return CudaPreaggregation::automatic;
}

std::size_t block_preaggregate(CudaExec& exec, PartialsView in, const StateSpec& states,
                               Partials<CudaExec>& out, unsigned long long* counter) {
  const std::uint32_t slots = block_slots(states.count);
  out.resize_discard(in.size);
  if (in.size == 0) return slots;
  exec.fill_bytes(counter, 0, sizeof(unsigned long long));
  const std::size_t shared = slots * (sizeof(std::uint32_t) + sizeof(std::uint64_t) * states.count);
  const auto blocks = static_cast<unsigned>((in.size + kBlockTileRows - 1) / kBlockTileRows);
  block_preaggregate_kernel<<<blocks, kBlock, shared, exec.stream()>>>(in, states, slots,
                                                                       out.view(), counter);
  SLUICE_CHECK_LAUNCH("block_preaggregate_kernel");
  out.set_size(read_count(exec, counter));
  return slots;
}

void hash_aggregate(CudaExec& exec, PartialsView in, const StateSpec& states,
                    Partials<CudaExec>& out, HashAggregateTable& table,
                    unsigned long long* counter) {
  out.resize_discard(in.size);
  if (in.size == 0) return;
  std::size_t used = 1024;
  while (used < 2 * in.size) used *= 2;
  if (used > table.capacity || !same_ops(table.spec, states)) {
    const std::size_t capacity = std::max(used, table.capacity);
    table.capacity = 0;  // until the table is initialized again (allocation may throw)
    table.owners.resize_discard(capacity);
    table.states.resize_discard(capacity * static_cast<std::size_t>(states.count));
    exec.fill_bytes(table.owners.data(), 0xff, capacity * sizeof(std::uint32_t));
    exec.for_each_index(capacity, InitStates{table.states.data(), capacity, states});
    table.capacity = capacity;
    table.spec = states;
  }
  const TableRef ref{table.owners.data(), table.states.data(), table.capacity};
  exec.fill_bytes(counter, 0, sizeof(unsigned long long));
  hash_insert_kernel<<<grid_for(exec, in.size), kBlock, 0, exec.stream()>>>(in, states, ref,
                                                                            used - 1);
  SLUICE_CHECK_LAUNCH("hash_insert_kernel");
  hash_compact_kernel<<<grid_for(exec, used), kBlock, 0, exec.stream()>>>(in, states, ref, used,
                                                                          out.view(), counter);
  SLUICE_CHECK_LAUNCH("hash_compact_kernel");
  out.set_size(read_count(exec, counter));
}

void order_by_key(CudaExec& exec, PartialsView groups, const StateSpec& states,
                  Partials<CudaExec>& out, OrderScratch& scratch,
                  ReduceScratch<CudaExec>& reduce_scratch) {
  const std::size_t m = groups.size;
  out.resize_discard(m);
  if (m == 0) return;
  auto policy = exec.policy();
  scratch.hashes.resize_discard(m);
  scratch.order.resize_discard(m);
  exec.copy_within(scratch.hashes.data(), groups.hash, m * sizeof(std::uint64_t));
  thrust::sequence(policy, scratch.order.data(), scratch.order.data() + m);
  // Integer keys: Thrust's CUDA system sorts them with CUB's radix sort.
  thrust::sort_by_key(policy, scratch.hashes.data(), scratch.hashes.data() + m,
                      scratch.order.data());
  const PartialsView o = out.view();
  exec.for_each_index(m, GatherRow{groups, o, scratch.order.data()});
  const thrust::counting_iterator<std::size_t> first(0);
  const auto collisions = thrust::count_if(policy, first, first + m, SharesHashWithAnotherKey{o});
  // Two keys with one hash may interleave: the portable order keeps equal keys together.
  if (collisions > 0) reduce_partials(exec, groups, states, out, reduce_scratch);
}

CudaPreaggregator::CudaPreaggregator(CudaExec& exec)
    : mode_(parse_cuda_preaggregation(std::getenv("SLUICE_CUDA_PREAGG"))),
      counter_(exec, 1),
      table_(exec),
      order_(exec),
      reduce_(exec),
      exec_(&exec) {}

void CudaPreaggregator::operator()(CudaExec& exec, PartialsView events, const StateSpec& states,
                                   Partials<CudaExec>& out) {
  if (tiles_.key_words() != events.key_words || tiles_.state_words() != events.state_words ||
      !bound_) {
    tiles_ = Partials<CudaExec>(*exec_, events.key_words, events.state_words);
    groups_ = Partials<CudaExec>(*exec_, events.key_words, events.state_words);
    bound_ = true;
  }
  CudaPreaggregation path = mode_;
  if (path == CudaPreaggregation::automatic) {
    const std::size_t few = block_slots(states.count) / 4;
    path = first_ || last_groups_ <= few ? CudaPreaggregation::block_then_hash
                                         : CudaPreaggregation::hash;
  }
  if (events.size > kMaxTableRows) path = CudaPreaggregation::sort;
  if (path == CudaPreaggregation::sort) {
    reduce_partials(exec, events, states, out, reduce_);
  } else {
    PartialsView input = events;
    if (path == CudaPreaggregation::block_then_hash) {
      block_preaggregate(exec, events, states, tiles_, counter_.data());
      input = tiles_.view();
    }
    hash_aggregate(exec, input, states, groups_, table_, counter_.data());
    order_by_key(exec, groups_.view(), states, out, order_, reduce_);
  }
  last_groups_ = out.size();
  last_path_ = path;
  first_ = false;
}

}  // namespace sluice::detail
