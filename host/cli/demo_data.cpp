// Generation of the demo's telemetry stream and its columnar batches.
#include "host/cli/demo_data.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>

namespace sluice::cli {
namespace {

constexpr int kHosts = 64;
constexpr std::array<const char*, 3> kRegions = {"eu-west", "us-east", "ap-south"};
constexpr std::int64_t kEpochMs = 1'700'000'000'000;  // 2023-11-14 22:13:20 UTC, 10 s aligned

// splitmix64: fast and good enough for synthetic data; std::mt19937 would dominate the demo.
struct Random {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  std::int64_t below(std::int64_t n) { return static_cast<std::int64_t>(next() % n); }
};

float host_cpu(int host, Random& random) {
  const double base = 15.0 + (host * 37) % 70;  // each host has its own typical load
  const double noise = (random.unit() - 0.5) * 30.0;
  const double spike = random.below(100) == 0 ? 40.0 : 0.0;
  return static_cast<float>(std::clamp(base + noise + spike, 0.0, 100.0));
}

std::int32_t http_status(Random& random) {
  const std::int64_t r = random.below(100);
  return r < 94 ? 200 : r < 97 ? 500 : 404;
}

}  // namespace

Schema telemetry_schema() {
  return Schema({{"ts", DataType::timestamp(TimeUnit::ms)},
                 {"host", TypeId::string},
                 {"region", TypeId::string},
                 {"cpu", TypeId::f32},
                 {"status", TypeId::i32}});
}

TelemetryColumns generate_telemetry(std::size_t events, StringDictionary& hosts,
                                    StringDictionary& regions, std::uint64_t seed) {
  std::array<std::uint32_t, kHosts> host_code{};
  std::array<std::uint32_t, kHosts> region_code{};
  for (int h = 0; h < kHosts; ++h) {
    char name[16];
    std::snprintf(name, sizeof(name), "host-%03d", h);
    host_code[h] = hosts.intern(name);
    region_code[h] = regions.intern(kRegions[h % kRegions.size()]);
  }
  TelemetryColumns c;
  c.ts.resize(events);
  c.host.resize(events);
  c.region.resize(events);
  c.cpu.resize(events);
  c.status.resize(events);
  Random random{seed};
  for (std::size_t i = 0; i < events; ++i) {
    const int h = static_cast<int>(random.below(kHosts));
    const bool delayed = random.below(10) == 0;  // one event in ten arrives late
    const std::int64_t jitter = delayed ? random.below(kDemoMaxJitterMs + 1) : 0;
    c.ts[i] = kEpochMs + static_cast<std::int64_t>(i / 2) - jitter;
    c.host[i] = host_code[h];
    c.region[i] = region_code[h];
    c.cpu[i] = host_cpu(h, random);
    c.status[i] = http_status(random);
  }
  return c;
}

Batch telemetry_batch(const TelemetryColumns& columns, std::size_t begin, std::size_t count,
                      const std::vector<DictionaryPtr>& dictionaries) {
  return Batch::wrap(
      telemetry_schema(),
      {columns.ts.data() + begin, columns.host.data() + begin, columns.region.data() + begin,
       columns.cpu.data() + begin, columns.status.data() + begin},
      count, dictionaries);
}

}  // namespace sluice::cli
