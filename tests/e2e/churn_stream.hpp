// A stream whose string keys churn: each 1 s window has hosts of its own, so a job that kept
// every string it saw would grow without bound; its query and brute-force reference.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace sluice::e2e::churn {

inline constexpr std::int64_t kWindowMs = 1000;
inline constexpr std::int64_t kStart = 1'700'000'000'000;

/// The start of the 1 s window (aligned to kStart) that holds `ts`.
inline std::int64_t window_of(std::int64_t ts) {
  const std::int64_t d = ts - kStart;
  return kStart + (d >= 0 ? d / kWindowMs : -((-d + kWindowMs - 1) / kWindowMs)) * kWindowMs;
}

/// `windows` windows of 1 s; in each, `per_window` events over `keys` hosts that exist in that
/// window only ("w<window>-<k>"), plus the hosts "steady" (every window) and "skip" (filtered
/// out by the queries below). Times move forward with up to 180 ms of disorder.
inline std::vector<Event> churning_stream(int windows, int per_window, int keys,
                                          std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> key(0, keys + 1);
  std::uniform_int_distribution<std::int64_t> jitter(-90, 90);
  std::uniform_int_distribution<int> zone(0, 9);
  std::vector<Event> events;
  for (int w = 0; w < windows; ++w)
    for (int i = 0; i < per_window; ++i) {
      Event e;
      const std::int64_t base = kStart + w * kWindowMs + i * kWindowMs / per_window;
      e.ts = std::max<std::int64_t>(kStart, base + jitter(rng));
      const int k = key(rng);
      e.host = k == keys       ? std::string("steady")
               : k == keys + 1 ? std::string("skip")
                               : "w" + std::to_string(w) + "-" + std::to_string(k);
      e.zone = zone(rng);
      e.status = 200;
      events.push_back(std::move(e));
    }
  return events;
}

using Cell = std::pair<std::int64_t, std::int64_t>;  // count, sum(zone)
using WindowKey = std::tuple<std::int64_t, std::string>;

/// What the job must emit: per (window start, host) the count and the sum of zone of the events
/// not filtered out (the stream's disorder, 180 ms, is within the watermark's 200 ms: none is
/// late).
inline std::map<WindowKey, Cell> reference(const std::vector<Event>& events) {
  std::map<WindowKey, Cell> out;
  for (const Event& e : events) {
    if (e.host == "skip") continue;
    Cell& c = out[{window_of(e.ts), e.host}];
    ++c.first;
    c.second += e.zone;
  }
  return out;
}

/// Counts and sums zone per host in tumbling 1 s windows, "skip" filtered out (a string literal
/// the job must keep).
inline Query churn_query() {
  Query q;
  q.filter(col("host") != lit("skip"))
      .key_by({"host"})
      .event_time("ts", std::chrono::milliseconds(200))
      .window(WindowSpec::tumbling(std::chrono::seconds(1)))
      .aggregate({count(), sum(col("zone"))});
  return q;
}

/// The last value emitted per (window, host).
inline std::map<WindowKey, Cell> final_windows(const RunResult& r) {
  std::map<WindowKey, Cell> out;
  for (const auto& call : r.calls)
    for (const WindowResult& w : call)
      out[{w.window_start, std::get<std::string>(w.keys.at(0))}] = {
          std::get<std::int64_t>(w.values.at(0)), std::get<std::int64_t>(w.values.at(1))};
  return out;
}

}  // namespace sluice::e2e::churn
