// End-to-end harness: runs a query through an Engine, collects sink output, compares it.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "reference.hpp"
#include "sluice/sluice.hpp"
#include "stream_gen.hpp"

namespace sluice::e2e {

/// @brief How the harness feeds events to a job.
enum class PushMode {
  builder,              ///< Job::make_builder() and push(Batch), random chunk sizes
  rows,                 ///< Job::push_row, one row at a time
  mixed,                ///< push_row and push(Batch) alternating in runs
  foreign_dictionary,   ///< a BatchBuilder with its own (differently ordered) dictionaries
  wrap,                 ///< Batch::wrap of caller arrays (own dictionary), pushed as slices
  wrap_job_dictionary,  ///< Batch::wrap of caller arrays encoded with the job's dictionary
};

inline const char* mode_name(PushMode m) {
  switch (m) {
    case PushMode::builder:
      return "builder";
    case PushMode::rows:
      return "rows";
    case PushMode::mixed:
      return "mixed";
    case PushMode::foreign_dictionary:
      return "foreign_dictionary";
    case PushMode::wrap:
      return "wrap";
    case PushMode::wrap_job_dictionary:
      return "wrap_job_dictionary";
  }
  return "?";
}

/// @brief The backend of the suite: CPU unless SLUICE_E2E_BACKEND says "gpu" or "auto".
inline Backend test_backend() {
  const char* env = std::getenv("SLUICE_E2E_BACKEND");
  const std::string_view v = env ? env : "cpu";
  if (v == "gpu") return Backend::gpu;
  if (v == "auto") return Backend::automatic;
  return Backend::cpu;
}

/// @brief Why the GPU cannot be used here ("" when one works); asked once per process.
inline const std::string& gpu_unavailable_reason() {
  static const std::string reason = [] {
    std::string why;
    if (Engine::gpu_available(&why)) return std::string();
    return why.empty() ? std::string("no usable GPU") : why;
  }();
  return reason;
}

/// @brief Skips the calling test, with the reason, when no GPU works.
#define SLUICE_SKIP_WITHOUT_GPU()                                                 \
  do {                                                                            \
    if (const std::string& sluice_why_ = ::sluice::e2e::gpu_unavailable_reason(); \
        !sluice_why_.empty())                                                     \
      GTEST_SKIP() << "no usable GPU: " << sluice_why_;                           \
  } while (0)

/// @brief In a run with SLUICE_E2E_BACKEND=gpu and no working GPU, skips every test (with the
/// reason) before its body runs. A listener rather than a global Environment: a skip in
/// Environment::SetUp runs no test at all, and CTest would count each of them as passed.
class GpuBackendGate : public ::testing::EmptyTestEventListener {
 public:
  void OnTestStart(const ::testing::TestInfo&) override {
    if (test_backend() != Backend::gpu) return;
    if (const std::string& why = gpu_unavailable_reason(); !why.empty())
      GTEST_SKIP() << "SLUICE_E2E_BACKEND=gpu, but no usable GPU: " << why;
  }
};

namespace detail_harness {
inline const bool kGpuBackendGateInstalled = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new GpuBackendGate);
  return true;
}();
}  // namespace detail_harness

/// @brief OpenMP threads per CPU worker: SLUICE_E2E_THREADS, or 1. One thread keeps the suite
/// fast on a loaded machine (OpenMP barriers stall when their threads lose their cores); tests
/// that exercise threads inside a worker set EngineConfig::threads themselves.
inline int test_threads() {
  const char* env = std::getenv("SLUICE_E2E_THREADS");
  return env ? std::atoi(env) : 1;
}

/// @brief A deterministic configuration: batches seal on size only (the timeout is an hour).
inline EngineConfig make_config(int workers, std::size_t batch_rows) {
  EngineConfig c;
  c.backend = test_backend();
  c.workers = workers;
  c.batch_rows = batch_rows;
  c.batch_timeout = std::chrono::hours(1);
  c.threads = test_threads();
  return c;
}

/// @brief What the sinks of one job received.
struct RunResult {
  std::vector<std::vector<WindowResult>> calls;  ///< result batches in order, as rows
  std::vector<Batch> late;                       ///< LateSink batches in order
  std::vector<Batch> rows;                       ///< RowSink batches in order
  std::vector<std::string> order_errors;         ///< result batches out of the promised order
  Metrics metrics;
};

/// @brief Why a result batch is not ordered by window (start, then end), then keys (numbers by
/// value, strings by dictionary code), or "" when it is.
inline std::string result_order_error(const Batch& b, std::size_t keys) {
  const auto start = b.values<std::int64_t>(0);
  const auto end = b.values<std::int64_t>(1);
  const auto compare = [&](std::size_t c, std::size_t i, std::size_t j) -> int {
    const ColumnView v = b.column(c);
    if (v.type.id == TypeId::string) {
      const auto codes = b.values<std::uint32_t>(c);
      return codes[i] < codes[j] ? -1 : (codes[i] > codes[j] ? 1 : 0);
    }
    const Value x = b.at(i, c), y = b.at(j, c);
    return x < y ? -1 : (y < x ? 1 : 0);
  };
  for (std::size_t i = 1; i < b.rows(); ++i) {
    if (start[i - 1] < start[i] || (start[i - 1] == start[i] && end[i - 1] < end[i])) continue;
    if (start[i - 1] > start[i] || end[i - 1] > end[i])
      return "row " + std::to_string(i) + ": window " + std::to_string(start[i]) + " after " +
             std::to_string(start[i - 1]);
    int order = 0;
    for (std::size_t k = 0; k < keys && order == 0; ++k) order = compare(2 + k, i - 1, i);
    if (order >= 0)
      return "row " + std::to_string(i) + " of window " + std::to_string(start[i]) +
             ": keys not ascending";
  }
  return {};
}

namespace detail_harness {

inline void set_event(BatchBuilder& b, const Event& e) {
  b.set_int(kTs, e.ts);
  b.set_string(kHost, e.host);
  b.set_int(kRegion, e.region);
  b.set_int(kZone, e.zone);
  b.set_double(kCpu, e.cpu);
  b.set_int(kStatus, e.status);
  b.end_row();
}

/// Pushes `events` through builder `b` in chunks of random sizes in [1, max_chunk].
inline void push_built(Job& job, BatchBuilder& b, const std::vector<Event>& events,
                       std::size_t begin, std::size_t end, std::mt19937_64& rng,
                       std::size_t max_chunk) {
  std::uniform_int_distribution<std::size_t> chunk(1, std::max<std::size_t>(max_chunk, 1));
  std::size_t target = chunk(rng);
  for (std::size_t i = begin; i < end; ++i) {
    set_event(b, events[i]);
    if (b.rows() >= target) {
      job.push(b.finish());
      target = chunk(rng);
    }
  }
  if (b.rows() > 0) job.push(b.finish());
}

inline void push_slices(Job& job, const Batch& all, std::mt19937_64& rng, std::size_t max_chunk) {
  std::uniform_int_distribution<std::size_t> chunk(1, std::max<std::size_t>(max_chunk, 1));
  for (std::size_t i = 0; i < all.rows();) {
    const std::size_t take = std::min(all.rows() - i, chunk(rng));
    job.push(all.slice(i, take));
    i += take;
  }
}

}  // namespace detail_harness

/// @brief Pushes `events` into a started job by `mode` (chunk sizes drawn from `seed`).
inline void push_events(Job& job, const std::vector<Event>& events, PushMode mode,
                        std::uint64_t seed, std::size_t max_chunk) {
  using namespace detail_harness;
  std::mt19937_64 rng(seed);
  switch (mode) {
    case PushMode::builder: {
      BatchBuilder b = job.make_builder();
      push_built(job, b, events, 0, events.size(), rng, max_chunk);
      break;
    }
    case PushMode::rows:
      for (const Event& e : events) {
        const std::vector<Value> row = event_row(e);
        job.push_row(row);
      }
      break;
    case PushMode::mixed: {
      BatchBuilder b = job.make_builder();
      std::uniform_int_distribution<std::size_t> run(1, std::max<std::size_t>(max_chunk, 1));
      bool as_rows = true;
      for (std::size_t i = 0; i < events.size();) {
        const std::size_t end = std::min(events.size(), i + run(rng));
        if (as_rows) {
          for (; i < end; ++i) job.push_row(event_row(events[i]));
        } else {
          push_built(job, b, events, i, end, rng, max_chunk);
          i = end;
        }
        as_rows = !as_rows;
      }
      break;
    }
    case PushMode::foreign_dictionary: {
      // Its own dictionary, with decoys and the hosts in reverse order, so codes differ from
      // the job's.
      auto dict = std::make_shared<StringDictionary>();
      dict->intern("decoy-a");
      std::vector<std::string> hosts;
      for (const Event& e : events) hosts.push_back(e.host);
      std::sort(hosts.begin(), hosts.end());
      hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
      for (std::size_t i = hosts.size(); i-- > hosts.size() / 2;) dict->intern(hosts[i]);
      dict->intern("decoy-b");
      BatchBuilder b(event_schema(), {nullptr, dict, nullptr, nullptr, nullptr, nullptr});
      push_built(job, b, events, 0, events.size(), rng, max_chunk);
      break;
    }
    case PushMode::wrap:
    case PushMode::wrap_job_dictionary: {
      DictionaryPtr dict;
      if (mode == PushMode::wrap_job_dictionary) {
        dict = job.make_builder().dictionary(kHost);
      } else {
        dict = std::make_shared<StringDictionary>();
        dict->intern("decoy");
      }
      const EventColumns columns = EventColumns::from(events, dict);
      push_slices(job, columns.wrap(), rng, max_chunk);
      // Batches of the job's dictionary are read in place: the arrays live until flush().
      job.flush();
      break;
    }
  }
}

/// @brief `query` with sinks that record into `result` (under `mutex`): the windows (and
/// whether each result batch keeps the promised order) or the rows, and the late events.
inline Query with_sinks(Query query, const std::shared_ptr<RunResult>& result,
                        const std::shared_ptr<std::mutex>& mutex) {
  if (query.is_windowed()) {
    const std::size_t keys = query.keys().size();
    query.sink(BatchSink([result, mutex, keys](const Batch& b) {
      std::lock_guard lock(*mutex);
      if (std::string why = result_order_error(b, keys); !why.empty())
        result->order_errors.push_back("call " + std::to_string(result->calls.size()) + ": " + why);
      result->calls.push_back(window_results(b, keys));
    }));
  } else {
    query.sink(RowSink([result, mutex](const Batch& b) {
      std::lock_guard lock(*mutex);
      result->rows.push_back(b.copy());
    }));
  }
  query.late_sink([result, mutex](const Batch& b) {
    std::lock_guard lock(*mutex);
    result->late.push_back(b.copy());
  });
  return query;
}

/// @brief Starts `query` (sinks added here) on an engine with `config`, pushes `events` by
/// `mode` and finishes. Push chunks are random in [1, max_chunk] (default 2.5 batches).
inline RunResult run_job(const EngineConfig& config, Query query, const std::vector<Event>& events,
                         PushMode mode = PushMode::builder, std::uint64_t seed = 1,
                         std::size_t max_chunk = 0) {
  auto result = std::make_shared<RunResult>();
  auto mutex = std::make_shared<std::mutex>();
  query = with_sinks(std::move(query), result, mutex);
  Engine engine(config);
  Job job = engine.start(event_schema(), query);
  if (max_chunk == 0) max_chunk = config.batch_rows * 5 / 2;
  push_events(job, events, mode, seed, max_chunk);
  job.finish();
  result->metrics = job.metrics();
  std::lock_guard lock(*mutex);
  return std::move(*result);
}

// ---------------------------------------------------------------------------------------------
// Comparisons.

/// @brief Equal type and value; doubles within 1e-9 relative.
inline ::testing::AssertionResult same_value(const Value& got, const Value& want) {
  if (got.index() != want.index())
    return ::testing::AssertionFailure()
           << "type differs: got " << to_string(got) << " (alternative " << got.index()
           << "), want " << to_string(want) << " (alternative " << want.index() << ")";
  if (const auto* d = std::get_if<double>(&want)) {
    const double g = std::get<double>(got);
    const double tol = 1e-9 * std::max({1.0, std::fabs(g), std::fabs(*d)});
    if (std::fabs(g - *d) <= tol) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "got " << to_string(got) << ", want " << to_string(want);
  }
  if (got == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << to_string(got) << ", want " << to_string(want);
}

inline std::string describe(std::int64_t start, std::int64_t end, const std::vector<Value>& keys) {
  std::string s = "window [" + std::to_string(start) + ", " + std::to_string(end) + ") keys (";
  for (std::size_t i = 0; i < keys.size(); ++i) s += (i ? ", " : "") + to_string(keys[i]);
  return s + ")";
}

inline ::testing::AssertionResult same_values(const std::vector<Value>& got,
                                              const std::vector<Value>& want) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << got.size() << " values, want " << want.size();
  for (std::size_t i = 0; i < got.size(); ++i)
    if (auto r = same_value(got[i], want[i]); !r) return r << " (value " << i << ")";
  return ::testing::AssertionSuccess();
}

/// @brief The last emitted values of each (window, keys), over all calls.
inline std::map<WindowKey, std::vector<Value>> final_values(
    const std::vector<std::vector<WindowResult>>& calls) {
  std::map<WindowKey, std::vector<Value>> out;
  for (const auto& call : calls)
    for (const WindowResult& r : call) out[{r.window_start, r.window_end, r.keys}] = r.values;
  return out;
}

/// @brief Final values per (window, keys) equal the reference (at most 10 differences shown).
inline void expect_finals(const std::map<WindowKey, std::vector<Value>>& got,
                          const std::map<WindowKey, std::vector<Value>>& want) {
  EXPECT_EQ(got.size(), want.size()) << "number of (window, key) results";
  int shown = 0;
  for (const auto& [key, values] : want) {
    if (shown >= 10) break;
    auto it = got.find(key);
    if (it == got.end()) {
      ADD_FAILURE() << "missing " << describe(std::get<0>(key), std::get<1>(key), std::get<2>(key));
      ++shown;
      continue;
    }
    if (auto r = same_values(it->second, values); !r) {
      ADD_FAILURE() << describe(std::get<0>(key), std::get<1>(key), std::get<2>(key)) << ": "
                    << r.message();
      ++shown;
    }
  }
  for (const auto& [key, values] : got) {
    if (shown >= 10) break;
    if (!want.count(key)) {
      ADD_FAILURE() << "unexpected "
                    << describe(std::get<0>(key), std::get<1>(key), std::get<2>(key));
      ++shown;
    }
  }
}

/// @brief Each call is ordered by window start (run_job also checks the keys' order on the
/// result batches themselves: strings order by dictionary code, which rows no longer show).
inline void expect_sorted_calls(const RunResult& run) {
  for (const std::string& e : run.order_errors) ADD_FAILURE() << e;
  const auto& calls = run.calls;
  for (std::size_t c = 0; c < calls.size(); ++c) {
    EXPECT_FALSE(calls[c].empty()) << "call " << c << " is empty";
    for (std::size_t i = 1; i < calls[c].size(); ++i) {
      const WindowResult& a = calls[c][i - 1];
      const WindowResult& b = calls[c][i];
      if (a.window_start > b.window_start) {
        ADD_FAILURE() << "call " << c << " row " << i
                      << " out of order: " << describe(a.window_start, a.window_end, a.keys)
                      << " then " << describe(b.window_start, b.window_end, b.keys);
        return;
      }
    }
  }
}

/// @brief A call's rows ordered as the reference orders them: by window (start, then end), then
/// key values.
inline std::vector<WindowResult> by_key_values(std::vector<WindowResult> rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const WindowResult& a, const WindowResult& b) {
    if (a.window_start != b.window_start) return a.window_start < b.window_start;
    if (a.window_end != b.window_end) return a.window_end < b.window_end;
    return a.keys < b.keys;
  });
  return rows;
}

/// @brief The calls equal the reference's expected emissions row by row (update flags too).
inline void expect_calls(const std::vector<std::vector<WindowResult>>& got,
                         const std::vector<std::vector<RefRow>>& want) {
  ASSERT_EQ(got.size(), want.size()) << "number of ResultSink calls";
  int shown = 0;
  for (std::size_t c = 0; c < got.size() && shown < 10; ++c) {
    const std::vector<WindowResult> rows = by_key_values(got[c]);
    if (rows.size() != want[c].size()) {
      ADD_FAILURE() << "call " << c << ": " << got[c].size() << " rows, want " << want[c].size();
      ++shown;
      continue;
    }
    for (std::size_t i = 0; i < rows.size() && shown < 10; ++i) {
      const WindowResult& g = rows[i];
      const RefRow& w = want[c][i];
      const std::string where = "call " + std::to_string(c) + " row " + std::to_string(i) + ": ";
      if (g.window_start != w.start || g.window_end != w.end || g.keys != w.keys) {
        ADD_FAILURE() << where << "got " << describe(g.window_start, g.window_end, g.keys)
                      << ", want " << describe(w.start, w.end, w.keys);
        ++shown;
        continue;
      }
      if (g.update != w.update) {
        ADD_FAILURE() << where << describe(w.start, w.end, w.keys) << " update " << g.update
                      << ", want " << w.update;
        ++shown;
      }
      if (auto r = same_values(g.values, w.values); !r) {
        ADD_FAILURE() << where << describe(w.start, w.end, w.keys) << ": " << r.message();
        ++shown;
      }
    }
  }
}

/// @brief Rows of sink batches as Values, each row ordered by `names` (looked up by name).
inline std::vector<std::vector<Value>> rows_by_name(const std::vector<Batch>& batches,
                                                    const std::vector<std::string>& names) {
  std::vector<std::vector<Value>> rows;
  for (const Batch& b : batches) {
    std::vector<std::size_t> cols;
    for (const std::string& n : names) {
      const auto c = b.schema().find(n);
      if (!c) {
        ADD_FAILURE() << "batch has no column '" << n << "': " << b.schema().to_string();
        return rows;
      }
      cols.push_back(*c);
    }
    for (std::size_t r = 0; r < b.rows(); ++r) {
      std::vector<Value> row;
      for (std::size_t c : cols) row.push_back(b.at(r, c));
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

/// @brief `names` of event_schema() as Values of each indexed event.
inline std::vector<std::vector<Value>> event_rows(const std::vector<Event>& events,
                                                  const std::vector<std::size_t>& indices,
                                                  const std::vector<std::string>& names) {
  const Schema schema = event_schema();
  std::vector<std::vector<Value>> rows;
  for (std::size_t i : indices) {
    const std::vector<Value> all = event_row(events[i]);
    std::vector<Value> row;
    for (const std::string& n : names) row.push_back(all[schema.index_of(n)]);
    rows.push_back(std::move(row));
  }
  return rows;
}

/// @brief The late sink received exactly the reference's late events, columns `names` (the
/// columns the query reads, by name); in push order when `ordered`, as a multiset otherwise.
inline void expect_late_rows(const RunResult& run, const std::vector<Event>& events,
                             const RefResult& ref, const std::vector<std::string>& names,
                             bool ordered) {
  EXPECT_EQ(run.metrics.events_late, ref.late.size());
  auto got = rows_by_name(run.late, names);
  auto want = event_rows(events, ref.late, names);
  std::size_t delivered = 0;
  for (const Batch& b : run.late) {
    delivered += b.rows();
    EXPECT_EQ(b.num_columns(), names.size()) << "late batch schema " << b.schema().to_string();
  }
  EXPECT_EQ(delivered, ref.late.size()) << "late rows delivered";
  if (!ordered) {
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
  }
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (auto r = same_values(got[i], want[i]); !r) {
      ADD_FAILURE() << "late row " << i << ": " << r.message();
      return;
    }
  }
}

/// @brief Metrics that follow from the reference: events in, filtered, late, batches, rows
/// fired (equal to what the sink got) and updates.
inline void expect_metrics(const RunResult& run, std::size_t events, const RefResult& ref) {
  const Metrics& m = run.metrics;
  EXPECT_EQ(m.events_in, events);
  EXPECT_EQ(m.events_filtered, ref.filtered);
  EXPECT_EQ(m.events_late, ref.late.size());
  EXPECT_EQ(m.batches, ref.batches);
  std::uint64_t rows = 0, updates = 0;
  for (const auto& call : run.calls)
    for (const WindowResult& r : call) {
      ++rows;
      updates += r.update ? 1 : 0;
    }
  EXPECT_EQ(m.windows_fired, rows);
  EXPECT_EQ(m.window_updates, updates);
  std::uint64_t per_worker = 0;
  for (std::uint64_t b : m.batches_per_worker) per_worker += b;
  EXPECT_EQ(per_worker, m.batches);
}

/// @brief Everything at once for a windowed run: sorted calls, final values, the exact calls
/// (rounds of the engine's worker count), late events and metrics.
inline void expect_matches(const RunResult& run, const std::vector<Event>& events,
                           const RefResult& ref, const std::vector<std::string>& read_columns,
                           bool late_in_order) {
  expect_sorted_calls(run);
  expect_finals(final_values(run.calls), ref.finals);
  expect_calls(run.calls, ref.calls);
  expect_late_rows(run, events, ref, read_columns, late_in_order);
  expect_metrics(run, events.size(), ref);
}

/// @brief A windowed query and what the reference needs to know of it.
struct Case {
  Query query;  ///< without sinks
  RefQuery ref;
  std::vector<std::string> read_columns;  ///< the columns the query reads, in schema order
};

/// @brief Runs `c` on an engine with `config` and checks everything against the reference of
/// its workers and batch size. @return the reference, for further checks.
inline RefResult run_and_check(const Case& c, const std::vector<Event>& events,
                               const EngineConfig& config, PushMode mode = PushMode::builder,
                               RunResult* run_out = nullptr) {
  const RefResult ref = reference(events, c.ref, config.batch_rows, config.workers);
  const RunResult run = run_job(config, c.query, events, mode);
  {
    SCOPED_TRACE(std::to_string(config.workers) + " worker(s) of " +
                 std::to_string(config.threads) + " thread(s), batch_rows " +
                 std::to_string(config.batch_rows) + ", push " + mode_name(mode));
    expect_matches(run, events, ref, c.read_columns, config.workers == 1);
  }
  if (run_out) *run_out = run;
  return ref;
}

/// @brief Runs `c` with `workers` workers and checks everything against the reference.
/// @return the reference, for further checks.
inline RefResult run_and_check(const Case& c, const std::vector<Event>& events, int workers,
                               std::size_t batch_rows, PushMode mode = PushMode::builder,
                               RunResult* run_out = nullptr) {
  return run_and_check(c, events, make_config(workers, batch_rows), mode, run_out);
}

// ---------------------------------------------------------------------------------------------
// Reference building blocks for event_schema().

inline Value ev_cpu(const Event& e) { return e.cpu; }
inline Value ev_status(const Event& e) { return std::int64_t{e.status}; }
inline Value ev_region(const Event& e) { return e.region; }
inline std::vector<Value> key_host(const Event& e) { return {e.host}; }
inline std::vector<Value> key_region(const Event& e) { return {e.region}; }
inline std::vector<Value> key_host_zone(const Event& e) { return {e.host, std::int64_t{e.zone}}; }

}  // namespace sluice::e2e
