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
#include "host/engine/dispatch.hpp"
#include "host/engine/emitter.hpp"
#include "host/engine/ingest.hpp"
#include "host/engine/worker.hpp"
#include "host/query_compiler.hpp"
#include "kernels/filter_project.inl"
#include "kernels/partition.inl"
#include "kernels/pipeline/pipeline.inl"
#include "kernels/table/window_state.inl"
#include "sluice/sluice.hpp"
#include "transport/local_exchange.hpp"

namespace sluice {
namespace {

using namespace std::chrono_literals;

Schema telemetry_schema() {
  return Schema({{"ts", DataType::timestamp(TimeUnit::ms)},
                 {"host", TypeId::string},
                 {"cpu", TypeId::f32},
                 {"status", TypeId::i32}});
}

struct Columns {
  std::vector<std::int64_t> ts;
  std::vector<std::uint32_t> host;
  std::vector<float> cpu;
  std::vector<std::int32_t> status;
};

Columns make_columns(std::size_t n, std::uint32_t keys, std::mt19937_64& rng) {
  Columns c;
  for (std::size_t i = 0; i < n; ++i) {
    // 1 event per ms, up to 3 s out of order; one in 500 a minute late (past the lateness).
    std::int64_t t =
        1'000'000 + static_cast<std::int64_t>(i) - static_cast<std::int64_t>(rng() % 3000);
    if (rng() % 500 == 0) t -= 60'000;
    c.ts.push_back(t);
    c.host.push_back(static_cast<std::uint32_t>(rng() % keys));
    c.cpu.push_back(static_cast<float>(rng() % 10000) / 100.0f);
    c.status.push_back(rng() % 10 == 0 ? 500 : 200);
  }
  return c;
}

using Finals =
    std::map<std::tuple<std::int64_t, std::int64_t, std::vector<Value>>, std::vector<Value>>;

struct RoundsRun {
  Finals finals;
  std::size_t rows = 0;
  std::uint64_t late = 0;
  std::vector<std::uint64_t> syncs_per_round;
};

/// Pushes `cols` through Ingest and Dispatcher into one worker's queue, then runs every round
/// with `pipeline`, the next round always queued (as a busy stream keeps it).
RoundsRun run_rounds(detail::WorkerPipeline& pipeline, const std::function<std::uint64_t()>& syncs,
                     const detail::CompiledQuery& query, const Schema& schema, DictionaryPtr dict,
                     const Columns& cols, std::size_t batch_rows) {
  RoundsRun run;
  const std::size_t batches = (cols.ts.size() + batch_rows - 1) / batch_rows + 2;
  std::vector<std::size_t> widths;
  for (std::size_t c : query.read_columns) widths.push_back(type_width(schema.field(c).type.id));
  detail::MicroBatchPool pool(widths, batch_rows, batches + 4);
  detail::RoundQueue queue(batches + 4, 1);
  const auto never = [] { return false; };
  detail::Dispatcher dispatcher(query.plan.aggregation.panes, true, query.max_delay,
                                std::chrono::steady_clock::duration::zero(),
                                detail::Balancer(BalancePolicy::round_robin, 1, {}, 1), {&queue},
                                never);
  detail::Ingest ingest(
      schema, query, dict, pool, batch_rows,
      [&](detail::BatchLease b) { dispatcher.add(std::move(b)); }, never);
  const Batch all =
      Batch::wrap(schema, {cols.ts.data(), cols.host.data(), cols.cpu.data(), cols.status.data()},
                  cols.ts.size(), {nullptr, dict, nullptr, nullptr});
  for (std::size_t at = 0; at < all.rows(); at += 777)
    ingest.push(all.slice(at, std::min<std::size_t>(777, all.rows() - at)), 0);
  ingest.seal();
  dispatcher.dispatch(false);
  dispatcher.dispatch(true);

  detail::LocalExchange exchange(1);
  detail::EmitCounters emitted;
  detail::WorkCounters work;
  std::vector<Field> read;
  for (std::size_t c : query.read_columns) read.push_back(schema.field(c));
  detail::CompiledQuery q = query;
  const std::size_t keys = q.keys.size();
  q.result_sink = [&](const Batch& b) {
    for (const WindowResult& r : window_results(b, keys))
      run.finals[{r.window_start, r.window_end, r.keys}] = r.values;
    run.rows += b.rows();
  };
  q.late_sink = [&](const Batch& b) { run.late += b.rows(); };
  detail::Emitter emitter(q, Schema(read), dict, 1, true, emitted);
  detail::Worker worker(0, 1, q, pipeline, queue, exchange, emitter, work);
  pipeline.reserve(batch_rows);
  for (;;) {
    detail::RoundPart* part = queue.front(never);
    const bool final = part->final;
    const std::uint64_t before = syncs();
    worker.run_round(*part);
    run.syncs_per_round.push_back(syncs() - before);
    queue.pop();
    if (final) break;
  }
  EXPECT_EQ(work.late.load(), run.late);
  return run;
}

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
  auto dict = std::make_shared<StringDictionary>();
  for (std::uint32_t k = 0; k < c.keys; ++k) dict->intern("host-" + std::to_string(k));
  Query query;
  query.filter(col("status") == lit(200) && col("cpu") > lit(10))
      .key_by({"host"})
      .event_time("ts", 3s)
      .allowed_lateness(c.lateness)
      .window(c.window)
      .aggregate({count(), sum(col("cpu")), max(col("cpu")), avg(col("cpu"))})
      .sink([](const Batch&) {});
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
  ASSERT_EQ(on_device.finals.size(), on_host.finals.size());
  for (const auto& [key, values] : on_host.finals) {
    auto it = on_device.finals.find(key);
    ASSERT_NE(it, on_device.finals.end());
    ASSERT_EQ(it->second.size(), values.size());
    for (std::size_t a = 0; a < values.size(); ++a) {
      if (const auto* d = std::get_if<double>(&values[a])) {
        EXPECT_NEAR(std::get<double>(it->second[a]), *d, 1e-9 * std::max(1.0, std::abs(*d)));
      } else {
        EXPECT_EQ(it->second[a], values[a]);
      }
    }
  }
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
