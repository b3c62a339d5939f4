// Operator template: reduce_partials (sort by group, then one reduce_by_key per state column).
#pragma once

#include <thrust/copy.h>
#include <thrust/count.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/discard_iterator.h>
#include <thrust/iterator/permutation_iterator.h>
#include <thrust/reduce.h>
#include <thrust/scan.h>
#include <thrust/sequence.h>
#include <thrust/sort.h>

#include "kernels/ops/window_assign.hpp"
#include "kernels/reduce_partials.hpp"

namespace sluice::detail {

/// Orders rows by (late last, hash, key words, pane, cut, position): a total order, so the
/// result does not depend on the sort algorithm.
struct PartialRowLess {
  PartialsView v;
  SLUICE_HD bool operator()(std::uint32_t a, std::uint32_t b) const {
    const bool late_a = v.cut[a] == kLateCut;
    const bool late_b = v.cut[b] == kLateCut;
    if (late_a != late_b) return late_b;
    if (v.hash[a] != v.hash[b]) return v.hash[a] < v.hash[b];
    for (int j = 0; j < v.key_words; ++j) {
      const std::uint64_t ka = v.key(j, a);
      const std::uint64_t kb = v.key(j, b);
      if (ka != kb) return ka < kb;
    }
    if (v.pane[a] != v.pane[b]) return v.pane[a] < v.pane[b];
    if (v.cut[a] != v.cut[b]) return v.cut[a] < v.cut[b];
    return a < b;
  }
};

struct MarkGroupHeads {
  PartialsView v;
  const std::uint32_t* order;
  std::uint32_t* head;
  SLUICE_HD void operator()(std::size_t i) const {
    head[i] = (i == 0 || !v.same_group(order[i - 1], order[i])) ? 1u : 0u;
  }
};

struct CopyGroupRow {
  PartialsView in;
  PartialsView out;
  const std::uint32_t* order;
  const std::uint32_t* starts;
  SLUICE_HD void operator()(std::size_t g) const {
    const std::uint32_t r = order[starts[g]];
    out.hash[g] = in.hash[r];
    for (int j = 0; j < in.key_words; ++j) out.keys[j * out.stride + g] = in.key(j, r);
    out.pane[g] = in.pane[r];
    out.cut[g] = in.cut[r];
  }
};

struct IsNonZero {
  SLUICE_HD bool operator()(std::uint32_t x) const { return x != 0; }
};

struct EqualIds {
  SLUICE_HD bool operator()(std::uint32_t a, std::uint32_t b) const { return a == b; }
};

struct IsLateRow {
  SLUICE_HD bool operator()(std::uint32_t cut) const { return cut == kLateCut; }
};

template <class Exec>
void reduce_partials(Exec& exec, PartialsView in, const StateSpec& states, Partials<Exec>& out,
                     ReduceScratch<Exec>& scratch) {
  const std::size_t late = in.size == 0
                               ? 0
                               : static_cast<std::size_t>(thrust::count_if(
                                     exec.policy(), in.cut, in.cut + in.size, IsLateRow{}));
  const std::size_t n = in.size - late;
  if (n == 0) {
    out.resize_discard(0);
    return;
  }
  auto policy = exec.policy();
  scratch.order.resize_discard(in.size);
  scratch.group.resize_discard(n);
  std::uint32_t* order = scratch.order.data();
  std::uint32_t* group = scratch.group.data();
  thrust::sequence(policy, order, order + in.size);
  thrust::sort(policy, order, order + in.size, PartialRowLess{in});

  exec.for_each_index(n, MarkGroupHeads{in, order, group});
  scratch.starts.resize_discard(n);
  std::uint32_t* starts = scratch.starts.data();
  const thrust::counting_iterator<std::uint32_t> first(0);
  std::uint32_t* starts_end = thrust::copy_if(policy, first, first + n, group, starts, IsNonZero{});
  const auto groups = static_cast<std::size_t>(starts_end - starts);
  // Group ids: inclusive scan of the head flags (1-based), used as reduce_by_key keys.
  thrust::inclusive_scan(policy, group, group + n, group);

  out.resize_discard(groups);
  PartialsView o = out.view();
  exec.for_each_index(groups, CopyGroupRow{in, o, order, starts});
  for (int s = 0; s < states.count; ++s) {
    auto values = thrust::make_permutation_iterator(in.states + s * in.stride, order);
    thrust::reduce_by_key(policy, group, group + n, values, thrust::make_discard_iterator(),
                          o.states + s * o.stride, EqualIds{}, StateMerge{states.ops[s]});
  }
}

#define SLUICE_INSTANTIATE_REDUCE_PARTIALS(Exec)                                              \
  template void reduce_partials<Exec>(Exec&, PartialsView, const StateSpec&, Partials<Exec>&, \
                                      ReduceScratch<Exec>&);

}  // namespace sluice::detail
