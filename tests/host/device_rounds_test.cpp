// The device round protocol on the host: the pipeline instantiated with CountingExec takes
// CudaExec's path (staging, portable stages, copy-out) and must give the results of the host
// pipeline, with at most one host synchronization per round in steady state.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "counting_exec.hpp"
#include "host/query_compiler.hpp"
#include "kernels/filter_project.inl"
#include "kernels/partition.inl"
#include "kernels/pipeline/pipeline.inl"
#include "kernels/table/window_state.inl"
#include "rounds_driver.hpp"
#include "sluice/sluice.hpp"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using test::Columns;
using test::host_dictionary;
using test::make_columns;
using test::rounds_query;
using test::RoundsRun;
using test::run_rounds;
using test::telemetry_schema;

struct Case {
  const char* name;
  WindowSpec window;
  Duration lateness;
  std::uint32_t keys;
};

class DeviceRounds : public ::testing::TestWithParam<Case> {};

TEST_P(DeviceRounds, SameResultsAsTheHostPipelineWithOneSyncPerRound) {
  const Case c = GetParam();
  std::mt19937_64 rng(c.keys * 7 + 1);
  const Schema schema = telemetry_schema();
  const Columns cols = make_columns(150'000, c.keys, rng);
  const DictionaryPtr dict = host_dictionary(c.keys);
  const Query query = rounds_query(c.window, c.lateness,
                                   {count(), sum(col("cpu")), max(col("cpu")), avg(col("cpu"))});
  const detail::CompiledQuery compiled =
      detail::compile_query(schema, query, *dict, 1, PartitionSpec{});

  detail::PipelineImpl<test::CountingExec> device(compiled.plan);
  const RoundsRun on_device = run_rounds(
      device, [&] { return device.executor().syncs; }, compiled, schema, dict, cols, 10'000);
  const std::unique_ptr<detail::WorkerPipeline> host = detail::make_host_pipeline(compiled.plan);
  const RoundsRun on_host = run_rounds(
      *host, [] { return std::uint64_t{0}; }, compiled, schema, dict, cols, 10'000);

  EXPECT_EQ(on_device.rows, on_host.rows);
  EXPECT_EQ(on_device.late, on_host.late);
  EXPECT_GT(on_host.late, 0u);
  test::expect_same_finals(on_device.finals, on_host.finals);
  // Steady state: every round but the first (warm-up: tables grow) and the last (its rows are
  // collected at once) waits for the device once; a round whose batch has late events reads
  // their rows back once more.
  const std::vector<std::uint64_t>& syncs = on_device.syncs_per_round;
  ASSERT_GT(syncs.size(), 3u);
  std::size_t over = 0;
  for (std::size_t r = 1; r + 1 < syncs.size(); ++r) over += syncs[r] > 2 ? 1 : 0;
  EXPECT_EQ(over, 0u);
  for (std::size_t r = 1; r + 1 < syncs.size(); ++r) EXPECT_GE(syncs[r], 1u) << "round " << r;
}

INSTANTIATE_TEST_SUITE_P(Windows, DeviceRounds,
                         ::testing::Values(Case{"tumbling", WindowSpec::tumbling(10s), 0s, 100},
                                           Case{"tumbling_late", WindowSpec::tumbling(10s), 20s,
                                                5000},
                                           Case{"sliding", WindowSpec::sliding(10s, 2s), 4s, 300}),
                         [](const auto& info) { return std::string(info.param.name); });

/// Broadcast lookups on the device's path: each new version of the tables is copied to the
/// executor's memory and read by the portable fold, with the results of the host pipeline.
TEST(DeviceRounds, BroadcastLookupsReadTheVersionOfEachBatch) {
  std::mt19937_64 rng(5);
  const Schema schema = telemetry_schema();
  const Columns cols = make_columns(60'000, 40, rng);
  const DictionaryPtr dict = host_dictionary(40);
  const Schema limits({{"host", TypeId::string}, {"max_cpu", TypeId::f64}, {"w", TypeId::i64}});
  Query query = rounds_query(WindowSpec::tumbling(5s), 0s, {count(), sum(col("L.w"))});
  query.broadcast("L", limits, "host").filter(col("cpu") > col("L.max_cpu"));
  const detail::CompiledQuery compiled =
      detail::compile_query(schema, query, *dict, 1, PartitionSpec{});
  // A new version every 9 000 rows: hosts come and go, thresholds and weights change.
  const auto updates = [&](detail::BroadcastState& state) {
    return [&state](detail::Ingest& ingest, std::size_t at) {
      if (at % 9000 >= 777) return;
      BatchBuilder b(
          Schema({{"host", TypeId::string}, {"max_cpu", TypeId::f64}, {"w", TypeId::i64}}));
      for (std::uint32_t h = static_cast<std::uint32_t>(at / 9000) % 3; h < 40; h += 3) {
        b.append_row({Value("host-" + std::to_string(h)),
                      Value(static_cast<double>((h * 7 + at) % 90)),
                      Value(static_cast<std::int64_t>(h + at / 9000))});
      }
      ingest.seal();
      state.apply("L", b.finish());
      ingest.set_lookups(state.snapshot());
    };
  };
  detail::BroadcastState device_state(compiled.broadcasts, compiled.patterns, dict);
  detail::PipelineImpl<test::CountingExec> device(compiled.plan);
  const RoundsRun on_device = run_rounds(
      device, [&] { return device.executor().syncs; }, compiled, schema, dict, cols, 2'000,
      updates(device_state));
  detail::BroadcastState host_state(compiled.broadcasts, compiled.patterns, dict);
  const std::unique_ptr<detail::WorkerPipeline> host = detail::make_host_pipeline(compiled.plan);
  const RoundsRun on_host = run_rounds(
      *host, [] { return std::uint64_t{0}; }, compiled, schema, dict, cols, 2'000,
      updates(host_state));
  EXPECT_GT(on_host.rows, 0u);
  EXPECT_EQ(on_device.rows, on_host.rows);
  test::expect_same_finals(on_device.finals, on_host.finals);
}

/// `query` over 40 000 telemetry events of 50 hosts in rounds of 2 000, on the device's path
/// (the portable fold, merge and fire on CountingExec) and on the host pipeline: the same rows
/// and final values. Returns the host's run for the caller's own checks.
RoundsRun expect_device_path_matches_host(const Query& query, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const Schema schema = telemetry_schema();
  const Columns cols = make_columns(40'000, 50, rng);
  const DictionaryPtr dict = host_dictionary(50);
  const detail::CompiledQuery compiled =
      detail::compile_query(schema, query, *dict, 1, PartitionSpec{});
  detail::PipelineImpl<test::CountingExec> device(compiled.plan);
  const RoundsRun on_device = run_rounds(
      device, [&] { return device.executor().syncs; }, compiled, schema, dict, cols, 2'000);
  const std::unique_ptr<detail::WorkerPipeline> host = detail::make_host_pipeline(compiled.plan);
  RoundsRun on_host = run_rounds(
      *host, [] { return std::uint64_t{0}; }, compiled, schema, dict, cols, 2'000);
  EXPECT_EQ(on_device.rows, on_host.rows);
  test::expect_same_finals(on_device.finals, on_host.finals);
  return on_host;
}

/// Early firings on the device's path (the portable fire, tumbling and sliding): the rows and
/// final values of the host pipeline, with update rows in every round.
TEST(DeviceRounds, EarlyFiringsMatchTheHostPipeline) {
  for (const WindowSpec window : {WindowSpec::tumbling(5s), WindowSpec::sliding(6s, 2s)}) {
    Query query = rounds_query(window, 1s, {count(), max(col("cpu"))});
    query.trigger(TriggerSpec::every(1ns));
    const RoundsRun on_host = expect_device_path_matches_host(query, 9);
    EXPECT_GT(on_host.rows, 2 * on_host.finals.size()) << "early rows in every round";
  }
}

/// Count and on triggers on the device's path (the portable merge's requests and fire): the
/// rows and final values of the host pipeline (its one-thread-per-partition merge).
TEST(DeviceRounds, EventTriggersMatchTheHostPipeline) {
  for (const char* trigger : {"count:7", "on:cpu > 80"})
    for (const WindowSpec window : {WindowSpec::tumbling(5s), WindowSpec::sliding(6s, 2s)}) {
      SCOPED_TRACE(trigger);
      Query query = rounds_query(window, 1s, {count(), max(col("cpu"))});
      query.trigger(parse_trigger(trigger));
      const RoundsRun on_host = expect_device_path_matches_host(query, 13);
      EXPECT_GT(on_host.rows, on_host.finals.size() + 100) << "early rows";
    }
}

/// first/last on the device's path (the portable fold's atomic pair combines, the merge and
/// the sliding fire): the final values of the host pipeline, whose fold is per thread.
TEST(DeviceRounds, FirstAndLastMatchTheHostPipeline) {
  for (const WindowSpec window : {WindowSpec::tumbling(5s), WindowSpec::sliding(6s, 2s)}) {
    const Query query = rounds_query(
        window, 1s, {first(col("cpu")), last(col("cpu")), count(), last(col("status"))});
    EXPECT_GT(expect_device_path_matches_host(query, 17).finals.size(), 100u);
  }
}

/// Without late events every steady round synchronizes exactly once.
TEST(DeviceRounds, ExactlyOneSyncPerSteadyRound) {
  std::mt19937_64 rng(5);
  const Schema schema = telemetry_schema();
  Columns cols = make_columns(100000, 50, rng);
  for (std::size_t i = 0; i < cols.ts.size(); ++i)
    cols.ts[i] = 1'000'000 + static_cast<std::int64_t>(i);  // in order: nothing late
  auto dict = std::make_shared<StringDictionary>();
  for (int k = 0; k < 50; ++k) dict->intern("host-" + std::to_string(k));
  Query query;
  query.key_by({"host"})
      .event_time("ts", 1s)
      .window(WindowSpec::tumbling(5s))
      .aggregate({count(), max(col("cpu"))})
      .sink([](const Batch&) {});
  const detail::CompiledQuery compiled =
      detail::compile_query(schema, query, *dict, 1, PartitionSpec{});
  detail::PipelineImpl<test::CountingExec> device(compiled.plan);
  const RoundsRun run = run_rounds(
      device, [&] { return device.executor().syncs; }, compiled, schema, dict, cols, 4096);
  ASSERT_GT(run.syncs_per_round.size(), 10u);
  for (std::size_t r = 1; r + 1 < run.syncs_per_round.size(); ++r)
    EXPECT_EQ(run.syncs_per_round[r], 1u) << "round " << r;
}

}  // namespace
}  // namespace sluice
