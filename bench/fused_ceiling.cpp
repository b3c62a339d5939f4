// The hand-fused telemetry loop: selection vectors, per-thread tables of live panes, fire and
// erase per batch. Deliberately specific to the one query (constants, types, one key column).
#include "bench/fused_ceiling.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

namespace sluice::bench {
namespace {

constexpr std::int64_t kWindowMs = 10'000;
constexpr std::size_t kBlock = 1024;

struct Group {
  std::int64_t pane;  // -1 marks an empty slot (event times are positive)
  std::uint32_t host;
  std::uint32_t count;
  double sum;
  double max;
};

std::uint64_t slot_hash(std::uint32_t host, std::int64_t pane) {
  std::uint64_t h = (static_cast<std::uint64_t>(pane) << 32) ^ host;
  h *= 0x9e3779b97f4a7c15ULL;
  return h ^ (h >> 31);
}

/// One thread's open-addressing table of live (host, pane) groups.
struct Table {
  std::vector<Group> slots;
  std::size_t mask = 0;
  std::size_t used = 0;

  explicit Table(std::size_t capacity) { reset(capacity); }
  void reset(std::size_t capacity) {
    slots.assign(capacity, Group{-1, 0, 0, 0, 0});
    mask = capacity - 1;
    used = 0;
  }
  Group& find_or_insert(std::uint32_t host, std::int64_t pane) {
    for (std::size_t p = slot_hash(host, pane) & mask;; p = (p + 1) & mask) {
      Group& g = slots[p];
      if (g.pane == pane && g.host == host) return g;
      if (g.pane == -1) {
        g = Group{pane, host, 0, 0, -1e300};
        ++used;
        return g;
      }
    }
  }
  void grow() {
    std::vector<Group> old;
    old.swap(slots);
    reset(old.size() * 2);
    for (const Group& g : old)
      if (g.pane != -1) find_or_insert(g.host, g.pane) = g;
  }
};

}  // namespace

CeilingResult run_fused_ceiling(const TelemetryData& data, std::size_t batch_rows) {
  const int team = std::max(1, omp_get_max_threads());
  std::vector<Table> tables(static_cast<std::size_t>(team), Table(1 << 12));
  // Result columns of each fire (the engine's sink gets the same columns).
  std::vector<std::int64_t> out_start, out_end;
  std::vector<std::uint32_t> out_host;
  std::vector<std::int64_t> out_count;
  std::vector<double> out_sum, out_max;
  Table merge(1 << 12);
  CeilingResult r;
  const std::size_t n = data.size();
  const auto t0 = std::chrono::steady_clock::now();
  std::int64_t max_time = INT64_MIN;
  for (std::size_t begin = 0; begin < n; begin += batch_rows) {
    const std::size_t end = std::min(n, begin + batch_rows);
    std::int64_t batch_max = INT64_MIN;
    std::uint64_t passed = 0;
#pragma omp parallel num_threads(team) reduction(max : batch_max) reduction(+ : passed)
    {
      const int t = omp_get_thread_num();
      const int nt = omp_get_num_threads();
      Table& table = tables[static_cast<std::size_t>(t)];
      const std::size_t lo = begin + (end - begin) * static_cast<std::size_t>(t) / nt;
      const std::size_t hi = begin + (end - begin) * static_cast<std::size_t>(t + 1) / nt;
      std::uint32_t sel[kBlock];
      for (std::size_t b = lo; b < hi; b += kBlock) {
        const std::size_t m = std::min(kBlock, hi - b);
        std::size_t k = 0;
        for (std::size_t i = 0; i < m; ++i) {
          sel[k] = static_cast<std::uint32_t>(b + i);
          k += (data.status[b + i] == 200) & (data.cpu[b + i] > 10.0f);
        }
        for (std::size_t i = 0; i < m; ++i) batch_max = std::max(batch_max, data.ts[b + i]);
        passed += k;
        if (table.used + k > table.mask / 2) table.grow();
        for (std::size_t j = 0; j < k; ++j) {
          const std::uint32_t i = sel[j];
          Group& g = table.find_or_insert(data.host[i], data.ts[i] / kWindowMs);
          const double cpu = data.cpu[i];
          ++g.count;
          g.sum += cpu;
          g.max = cpu > g.max ? cpu : g.max;
        }
      }
    }
    r.passed += passed;
    max_time = std::max(max_time, batch_max);
    const std::int64_t wm = end == n ? INT64_MAX : max_time - kMaxDelayMs;
    // Fire: groups of panes whose window ended by the watermark, combined across threads, then
    // erased (the tables keep only live panes).
    merge.reset(merge.slots.size());
    for (Table& table : tables) {
      std::vector<Group> live;
      for (const Group& g : table.slots) {
        if (g.pane == -1) continue;
        if (wm != INT64_MAX && (g.pane + 1) * kWindowMs > wm) {
          live.push_back(g);
          continue;
        }
        if (merge.used * 2 > merge.mask) merge.grow();
        Group& m = merge.find_or_insert(g.host, g.pane);
        m.count += g.count;
        m.sum += g.sum;
        m.max = std::max(m.max, g.max);
      }
      table.reset(table.slots.size());
      for (const Group& g : live) table.find_or_insert(g.host, g.pane) = g;
    }
    out_start.clear();
    out_end.clear();
    out_host.clear();
    out_count.clear();
    out_sum.clear();
    out_max.clear();
    for (const Group& g : merge.slots) {
      if (g.pane == -1) continue;
      out_start.push_back(g.pane * kWindowMs);
      out_end.push_back((g.pane + 1) * kWindowMs);
      out_host.push_back(g.host);
      out_count.push_back(g.count);
      out_sum.push_back(g.sum);
      out_max.push_back(g.max);
    }
    r.result_rows += out_count.size();
    for (std::int64_t c : out_count) r.count_sum += static_cast<std::uint64_t>(c);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace sluice::bench
