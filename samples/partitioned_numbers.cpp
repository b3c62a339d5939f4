// Sample: numbers 1..1000 in 4 partitions; keep the even ones, double them, sum per partition.
#include <cstdint>
#include <cstdio>
#include <map>
#include <span>
#include <vector>

#include "sluice/sluice.hpp"

int main() {
  using namespace sluice;
  constexpr std::int64_t kLast = 1000;
  constexpr std::int64_t kPartitions = 4;

  // Expressions have no modulo, so the partition and the parity are columns of the input.
  const Schema schema({{"n", TypeId::i64}, {"partition", TypeId::i32}, {"even", TypeId::boolean}});

  struct Totals {
    std::int64_t sum = 0;
    std::int64_t count = 0;
  };
  std::map<std::int64_t, Totals> got;  // written by the sink, read after finish()

  Query query;
  query.filter(col("even"))
      .map("doubled", col("n") * lit(2))
      .key_by({"partition"})
      .window(WindowSpec::global())
      .aggregate({sum(col("doubled")).as("sum"), count()})
      .sink([&got](std::span<const WindowResult> results) {
        for (const WindowResult& r : results)
          got[std::get<std::int64_t>(r.keys[0])] = {std::get<std::int64_t>(r.values[0]),
                                                    std::get<std::int64_t>(r.values[1])};
      });

  EngineConfig config;
  config.workers = 4;
  config.partition.kind = PartitionSpec::Kind::key;  // partition p is owned by worker p
  try {
    const Engine engine(config);
    std::printf("backend: %s (%s), %d workers\n", to_string(engine.backend()),
                engine.backend_reason().c_str(), engine.config().workers);
    Job job = engine.start(schema, query);
    for (std::int64_t n = 1; n <= kLast; ++n)
      job.push_row({Value(n), Value(n % kPartitions), Value(n % 2 == 0)});
    job.finish();
  } catch (const Error& e) {
    std::fprintf(stderr, "partitioned_numbers: %s: %s\n", to_string(e.code()), e.what());
    return 1;
  }

  // The same computation, directly.
  std::map<std::int64_t, Totals> want;
  for (std::int64_t n = 1; n <= kLast; ++n) {
    if (n % 2 != 0) continue;
    want[n % kPartitions].sum += 2 * n;
    want[n % kPartitions].count += 1;
  }

  bool ok = got.size() == want.size();
  for (std::int64_t p = 0; p < kPartitions; ++p) {
    const auto g = got.find(p);
    const auto w = want.find(p);
    if (w == want.end()) {
      std::printf("partition %lld: no even numbers%s\n", static_cast<long long>(p),
                  g == got.end() ? "" : "  WRONG: the job emitted a row");
      ok = ok && g == got.end();
      continue;
    }
    const bool match =
        g != got.end() && g->second.sum == w->second.sum && g->second.count == w->second.count;
    std::printf("partition %lld: sum(doubled) = %lld, count = %lld%s\n", static_cast<long long>(p),
                static_cast<long long>(g == got.end() ? 0 : g->second.sum),
                static_cast<long long>(g == got.end() ? 0 : g->second.count),
                match ? "" : "  WRONG");
    if (!match)
      std::printf("  expected sum %lld, count %lld\n", static_cast<long long>(w->second.sum),
                  static_cast<long long>(w->second.count));
    ok = ok && match;
  }
  std::printf("%s\n", ok ? "OK: matches the direct computation" : "MISMATCH");
  return ok ? 0 : 1;
}
