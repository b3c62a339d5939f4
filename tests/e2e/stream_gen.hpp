// The end-to-end event type, its schema and column form, and random out-of-order generators.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "sluice/batch.hpp"
#include "sluice/dictionary.hpp"
#include "sluice/schema.hpp"
#include "sluice/value.hpp"

namespace sluice::e2e {

/// @brief One event of the test stream; the fields follow event_schema() in order.
struct Event {
  std::int64_t ts = 0;      ///< event time, ms
  std::string host;         ///< string key, Zipf-skewed
  std::int64_t region = 0;  ///< integer key (i64), the same Zipf rank as host
  std::int32_t zone = 0;    ///< small integer (i32), uniform
  double cpu = 0;           ///< f64 measure
  std::int32_t status = 0;  ///< i32 measure (200, 404, 500)
};

/// Column indices of event_schema().
inline constexpr std::size_t kTs = 0, kHost = 1, kRegion = 2, kZone = 3, kCpu = 4, kStatus = 5;

/// @brief ts:timestamp[ms], host:string, region:i64, zone:i32, cpu:f64, status:i32.
inline Schema event_schema() {
  return Schema({{"ts", DataType::timestamp(TimeUnit::ms)},
                 {"host", TypeId::string},
                 {"region", TypeId::i64},
                 {"zone", TypeId::i32},
                 {"cpu", TypeId::f64},
                 {"status", TypeId::i32}});
}

/// @brief The event as Values in schema order (what push_row takes and Batch::at returns).
inline std::vector<Value> event_row(const Event& e) {
  return {Value(e.ts),     Value(e.host),
          Value(e.region), Value(std::int64_t{e.zone}),
          Value(e.cpu),    Value(std::int64_t{e.status})};
}

/// @brief The events as caller-owned column arrays (strings as codes of `dictionary`), for
/// Batch::wrap.
struct EventColumns {
  std::vector<std::int64_t> ts;
  std::vector<std::uint32_t> host;
  std::vector<std::int64_t> region;
  std::vector<std::int32_t> zone;
  std::vector<double> cpu;
  std::vector<std::int32_t> status;
  DictionaryPtr dictionary;

  /// @brief Encodes `events` with `dict` (a fresh dictionary when null).
  static EventColumns from(const std::vector<Event>& events, DictionaryPtr dict = nullptr) {
    EventColumns c;
    c.dictionary = dict ? std::move(dict) : std::make_shared<StringDictionary>();
    for (const Event& e : events) {
      c.ts.push_back(e.ts);
      c.host.push_back(c.dictionary->intern(e.host));
      c.region.push_back(e.region);
      c.zone.push_back(e.zone);
      c.cpu.push_back(e.cpu);
      c.status.push_back(e.status);
    }
    return c;
  }
  /// @brief Overwrites every array with values no event has (a batch still reading them sees
  /// the difference).
  void scribble() {
    std::fill(ts.begin(), ts.end(), 0);
    std::fill(host.begin(), host.end(), 0);
    std::fill(region.begin(), region.end(), -1);
    std::fill(zone.begin(), zone.end(), -1);
    std::fill(cpu.begin(), cpu.end(), -1.0);
    std::fill(status.begin(), status.end(), 0);
  }
  /// @brief A Batch borrowing these arrays (rows [0, size)).
  Batch wrap() const {
    return Batch::wrap(
        event_schema(),
        {ts.data(), host.data(), region.data(), zone.data(), cpu.data(), status.data()}, ts.size(),
        {nullptr, dictionary, nullptr, nullptr, nullptr, nullptr});
  }
};

/// @brief Samples ranks 0..n-1 with P(k) proportional to 1 / (k + 1)^s (s = 0: uniform).
class ZipfSampler {
 public:
  ZipfSampler(std::size_t n, double s) : cdf_(n) {
    double total = 0;
    for (std::size_t k = 0; k < n; ++k) {
      total += 1.0 / std::pow(static_cast<double>(k + 1), s);
      cdf_[k] = total;
    }
    for (double& c : cdf_) c /= total;
  }
  template <class Rng>
  std::size_t operator()(Rng& rng) const {
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
    return std::min<std::size_t>(static_cast<std::size_t>(it - cdf_.begin()), cdf_.size() - 1);
  }

 private:
  std::vector<double> cdf_;
};

/// @brief Shape of a generated stream.
struct StreamOptions {
  std::size_t events = 10000;
  std::size_t keys = 50;                   ///< distinct host/region values
  double zipf = 1.1;                       ///< key skew exponent (0 = uniform)
  std::int64_t start = 1'700'000'000'000;  ///< first event time, ms
  double step = 10;                        ///< mean ms between consecutive events
  std::int64_t jitter = 500;               ///< each time moves uniformly in [-jitter, +jitter] ms
  double late_fraction = 0.01;             ///< events moved far into the past
  std::int64_t late_distance = 60'000;     ///< ... by a uniform amount in [1, this] ms
  int zones = 5;
  std::uint64_t seed = 1;
};

/// @brief Times increasing with jitter, a fraction far in the past, Zipf-skewed keys.
/// Region r's host is "host-<r>"; cpu is uniform in [0, 100); status is mostly 200.
inline std::vector<Event> generate(const StreamOptions& o) {
  std::mt19937_64 rng(o.seed);
  const ZipfSampler zipf(std::max<std::size_t>(o.keys, 1), o.zipf);
  std::uniform_int_distribution<std::int64_t> jitter(-o.jitter, o.jitter);
  std::uniform_int_distribution<std::int64_t> far(1, std::max<std::int64_t>(o.late_distance, 1));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<int> zone(0, std::max(o.zones, 1) - 1);
  std::vector<Event> events;
  events.reserve(o.events);
  for (std::size_t i = 0; i < o.events; ++i) {
    Event e;
    e.ts = o.start + static_cast<std::int64_t>(static_cast<double>(i) * o.step) + jitter(rng);
    if (unit(rng) < o.late_fraction) e.ts -= far(rng);
    const std::size_t rank = zipf(rng);
    e.region = static_cast<std::int64_t>(rank);
    e.host = "host-" + std::to_string(rank);
    e.zone = zone(rng);
    e.cpu = 100.0 * unit(rng);
    const double s = unit(rng);
    e.status = s < 0.8 ? 200 : (s < 0.9 ? 404 : 500);
    events.push_back(std::move(e));
  }
  return events;
}

}  // namespace sluice::e2e
