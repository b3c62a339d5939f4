// Drives a worker pipeline through the engine's real stages (ingest, dispatch, worker rounds,
// emission) on one thread, round by round: the device round tests of both executors use it.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "host/engine/dispatch.hpp"
#include "host/engine/emitter.hpp"
#include "host/engine/ingest.hpp"
#include "host/engine/worker.hpp"
#include "host/query_compiler.hpp"
#include "kernels/pipeline/worker_pipeline.hpp"
#include "sluice/sluice.hpp"
#include "transport/local_exchange.hpp"

namespace sluice::test {

inline Schema telemetry_schema() {
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

inline Columns make_columns(std::size_t n, std::uint32_t keys, std::mt19937_64& rng) {
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
/// with `pipeline`, the next round always queued (as a busy stream keeps it). `before_push`, if
/// given, is called with the ingest and the first row of each push, before it.
inline RoundsRun run_rounds(
    detail::WorkerPipeline& pipeline, const std::function<std::uint64_t()>& syncs,
    const detail::CompiledQuery& query, const Schema& schema, DictionaryPtr dict,
    const Columns& cols, std::size_t batch_rows,
    const std::function<void(detail::Ingest&, std::size_t)>& before_push = {}) {
  RoundsRun run;
  const std::size_t batches = (cols.ts.size() + batch_rows - 1) / batch_rows + 2;
  std::vector<std::size_t> widths;
  for (std::size_t c : query.read_columns) widths.push_back(type_width(schema.field(c).type.id));
  detail::MicroBatchPool pool(widths, batch_rows, batches + 4);
  detail::RoundQueue queue(batches + 4, 1);
  const auto never = [] { return false; };
  detail::Dispatcher dispatcher(std::chrono::steady_clock::duration::zero(),
                                detail::Balancer(BalancePolicy::round_robin, 1, {}, 1), {&queue},
                                never);
  dispatcher.set_early_fire(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(query.early_fire_every));
  detail::Ingest ingest(
      schema, query, dict, pool, batch_rows,
      [&](detail::BatchLease b) { dispatcher.add(std::move(b)); }, never);
  const Batch all =
      Batch::wrap(schema, {cols.ts.data(), cols.host.data(), cols.cpu.data(), cols.status.data()},
                  cols.ts.size(), {nullptr, dict, nullptr, nullptr});
  for (std::size_t at = 0; at < all.rows(); at += 777) {
    if (before_push) before_push(ingest, at);
    ingest.push(all.slice(at, std::min<std::size_t>(777, all.rows() - at)), 0);
  }
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

/// A dictionary holding "host-0" ... "host-<keys - 1>" (the codes of make_columns).
inline DictionaryPtr host_dictionary(std::uint32_t keys) {
  auto dict = std::make_shared<StringDictionary>();
  for (std::uint32_t k = 0; k < keys; ++k) dict->intern("host-" + std::to_string(k));
  return dict;
}

/// The telemetry query of the round tests: status and cpu filter, per host, `window`.
inline Query rounds_query(WindowSpec window, Duration lateness,
                          std::vector<AggregateSpec> aggregates) {
  Query query;
  query.filter(col("status") == lit(200) && col("cpu") > lit(10))
      .key_by({"host"})
      .event_time("ts", std::chrono::seconds(3))
      .allowed_lateness(lateness)
      .window(window)
      .aggregate(std::move(aggregates))
      .sink([](const Batch&) {});
  return query;
}

/// Final results of two runs agree: integers exactly, floats within 1e-9 relative.
inline void expect_same_finals(const Finals& got, const Finals& want) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [key, values] : want) {
    auto it = got.find(key);
    ASSERT_NE(it, got.end()) << "window " << std::get<0>(key);
    ASSERT_EQ(it->second.size(), values.size());
    for (std::size_t a = 0; a < values.size(); ++a) {
      if (const auto* d = std::get_if<double>(&values[a])) {
        EXPECT_NEAR(std::get<double>(it->second[a]), *d, 1e-9 * std::max(1.0, std::abs(*d)));
      } else {
        EXPECT_EQ(it->second[a], values[a]);
      }
    }
  }
}

}  // namespace sluice::test
