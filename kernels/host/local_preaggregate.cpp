// Host fast path of reduce_partials: per-thread open-addressing tables of groups.
#include "kernels/host/local_preaggregate.hpp"

#include <omp.h>

#include <algorithm>

#include "kernels/ops/hash.hpp"
#include "kernels/ops/window_assign.hpp"

namespace sluice::detail {

/// One thread's groups: slots hold a group index (-1 empty); group g's representative row is
/// rows[g] and its states are states[g * S .. g * S + S).
struct LocalGroupTable {
  std::vector<std::int32_t> slots;
  std::vector<std::uint32_t> rows;
  std::vector<std::uint64_t> states;

  void reset(std::size_t expected_groups) {
    std::size_t capacity = 1024;
    while (capacity < expected_groups * 2) capacity *= 2;
    if (slots.size() != capacity)
      slots.assign(capacity, -1);
    else
      std::fill(slots.begin(), slots.end(), -1);
    rows.clear();
    states.clear();
  }
  static std::uint64_t slot_hash(const PartialsView& v, std::size_t i) {
    return v.hash[i] ^
           fmix64(static_cast<std::uint64_t>(v.pane[i]) * 0x9e3779b97f4a7c15ULL + v.cut[i]);
  }
  void grow(const PartialsView& v) {
    slots.assign(slots.size() * 2, -1);
    const std::size_t mask = slots.size() - 1;
    for (std::size_t g = 0; g < rows.size(); ++g) {
      std::size_t p = slot_hash(v, rows[g]) & mask;
      while (slots[p] >= 0) p = (p + 1) & mask;
      slots[p] = static_cast<std::int32_t>(g);
    }
  }
  void add(const PartialsView& v, const StateSpec& spec, std::size_t i) {
    if (rows.size() * 2 >= slots.size()) grow(v);
    const std::size_t mask = slots.size() - 1;
    for (std::size_t p = slot_hash(v, i) & mask;; p = (p + 1) & mask) {
      const std::int32_t g = slots[p];
      if (g < 0) {
        slots[p] = static_cast<std::int32_t>(rows.size());
        rows.push_back(static_cast<std::uint32_t>(i));
        for (int s = 0; s < spec.count; ++s) states.push_back(v.state(s, i));
        return;
      }
      if (v.same_group(rows[static_cast<std::size_t>(g)], i)) {
        std::uint64_t* acc = states.data() + static_cast<std::size_t>(g) * spec.count;
        for (int s = 0; s < spec.count; ++s)
          acc[s] = state_merge(spec.ops[s], acc[s], v.state(s, i));
        return;
      }
    }
  }
};

LocalPreaggregateScratch::LocalPreaggregateScratch(HostExec& exec)
    : gathered_(exec, 0, 0), reduce_(exec) {}
LocalPreaggregateScratch::~LocalPreaggregateScratch() = default;

void local_preaggregate(HostExec& exec, PartialsView in, const StateSpec& spec,
                        Partials<HostExec>& out, LocalPreaggregateScratch& scratch) {
  const int threads = std::max(1, omp_get_max_threads());
  while (scratch.tables_.size() < static_cast<std::size_t>(threads))
    scratch.tables_.push_back(std::make_unique<LocalGroupTable>());
  if (scratch.gathered_.key_words() != in.key_words ||
      scratch.gathered_.state_words() != in.state_words)
    scratch.gathered_ = Partials<HostExec>(exec, in.key_words, in.state_words);

  const std::size_t n = in.size;
  int used = threads;
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int team = omp_get_num_threads();
#pragma omp single
    used = team;
    LocalGroupTable& table = *scratch.tables_[static_cast<std::size_t>(t)];
    const std::size_t begin = n * static_cast<std::size_t>(t) / static_cast<std::size_t>(team);
    const std::size_t end = n * static_cast<std::size_t>(t + 1) / static_cast<std::size_t>(team);
    table.reset(std::min<std::size_t>(end - begin, table.rows.capacity()));
    for (std::size_t i = begin; i < end; ++i)
      if (in.cut[i] != kLateCut) table.add(in, spec, i);
  }
  std::vector<std::size_t> offset(static_cast<std::size_t>(used) + 1, 0);
  for (int t = 0; t < used; ++t) offset[t + 1] = offset[t] + scratch.tables_[t]->rows.size();
  scratch.gathered_.resize_discard(offset[used]);
  const PartialsView g = scratch.gathered_.view();
#pragma omp parallel for num_threads(used) schedule(static, 1)
  for (int t = 0; t < used; ++t) {
    const LocalGroupTable& table = *scratch.tables_[t];
    for (std::size_t j = 0; j < table.rows.size(); ++j) {
      const std::size_t r = table.rows[j];
      const std::size_t o = offset[t] + j;
      g.hash[o] = in.hash[r];
      for (int k = 0; k < in.key_words; ++k) g.keys[k * g.stride + o] = in.key(k, r);
      g.pane[o] = in.pane[r];
      g.cut[o] = in.cut[r];
      for (int s = 0; s < spec.count; ++s)
        g.states[s * g.stride + o] = table.states[j * static_cast<std::size_t>(spec.count) + s];
    }
  }
  reduce_partials(exec, g, spec, out, scratch.reduce_);
}

}  // namespace sluice::detail
