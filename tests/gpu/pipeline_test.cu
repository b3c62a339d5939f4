// The whole worker pipeline: make_cuda_pipeline against make_host_pipeline and a brute-force
// reference, fed the same batches (pageable, pinned or device-resident), staged ahead.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "gpu/gpu_test_util.hpp"
#include "host/query_compiler.hpp"
#include "kernels/pipeline.hpp"
#include "sluice/sluice.hpp"

namespace sluice::test {
namespace {

using detail::BatchColumns;
using detail::BatchOutcome;
using detail::CompiledQuery;
using detail::FiredHost;
using detail::WorkerPipeline;
using std::chrono::milliseconds;

std::unique_ptr<WorkerPipeline> make_device_pipeline(const detail::PipelinePlan& plan) {
#if defined(SLUICE_GPU_TESTS_ON_HOST)
  return detail::make_host_pipeline(plan);
#else
  return detail::make_cuda_pipeline(plan, 0);
#endif
}

// Schema: ts (timestamp ms), key (i64), host (string codes), v (f64), n (i32).
Schema event_schema() {
  return Schema({{"ts", DataType::timestamp(TimeUnit::ms)},
                 {"key", TypeId::i64},
                 {"host", TypeId::string},
                 {"v", TypeId::f64},
                 {"n", TypeId::i32}});
}

/// One batch's columns in schema order.
struct EventBatch {
  std::vector<std::int64_t> ts;
  std::vector<std::int64_t> key;
  std::vector<std::uint32_t> host;
  std::vector<double> v;
  std::vector<std::int32_t> n;
  std::size_t rows() const { return ts.size(); }
  std::vector<const void*> data() const {
    return {ts.data(), key.data(), host.data(), v.data(), n.data()};
  }
};

constexpr std::size_t kColumnBytes[] = {8, 8, 4, 8, 4};

enum class Input { pageable, pinned, resident };

const char* to_string(Input i) {
  return i == Input::pageable ? "pageable" : i == Input::pinned ? "pinned" : "resident";
}

struct PipelineParams {
  const char* name;
  std::int64_t size, slide, lateness, delay;  // ms
  int batches;
  std::size_t rows;  // per batch
  std::size_t keys;  // distinct (key, host) pairs drawn from
  KeyDist dist;
  Input input = Input::pageable;
  int workers = 1;
  int round = 1;  // batches per fire
  int stage_ahead = WorkerPipeline::kStagedAhead;
  bool outboxes = false;  // exchange in place (outbox manifests) instead of host buffers
};

std::ostream& operator<<(std::ostream& os, const PipelineParams& p) {
  return os << p.name << " (" << p.batches << " x " << p.rows << " rows, " << p.keys << " keys "
            << to_string(p.dist) << ", " << to_string(p.input) << ", " << p.workers
            << " workers, rounds of " << p.round << ", staged " << p.stage_ahead << " ahead"
            << (p.outboxes ? ", outboxes" : "") << ")";
}

/// Out-of-order batches: times trail a clock advancing ~1 ms per 100 rows by up to 2 * delay
/// (one row in 100 by up to 20 windows, mostly late); v in [0, 100) with ~10% of rows at or
/// below the filter's 10; keys (key, host) from `dist`.
std::vector<EventBatch> make_batches(const PipelineParams& p, std::mt19937_64& rng) {
  std::vector<EventBatch> out(static_cast<std::size_t>(p.batches));
  KeyDrawer draw(p.dist, p.keys);
  std::int64_t clock = std::uniform_int_distribution<std::int64_t>(0, 1000000)(rng);
  std::uniform_real_distribution<double> value(10.0, 100.0);
  const std::int64_t step_rows = 100;
  for (EventBatch& b : out) {
    for (std::size_t r = 0; r < p.rows; ++r) {
      if (rng() % step_rows == 0) ++clock;
      std::int64_t t =
          clock - static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(2 * p.delay + 1));
      if (rng() % 100 == 0)
        t -= static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(20 * p.size));
      const std::size_t k = draw(rng);
      b.ts.push_back(t);
      b.key.push_back(static_cast<std::int64_t>(k / 7) * (k % 2 ? -1 : 1) - 3);
      b.host.push_back(static_cast<std::uint32_t>(k % 7));
      b.v.push_back(rng() % 10 == 0 ? std::uniform_real_distribution<double>(-5.0, 10.0)(rng)
                                    : value(rng));
      b.n.push_back(static_cast<std::int32_t>(rng() % 2000001) - 1000000);
    }
    clock += static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(p.slide + 1));
  }
  return out;
}

CompiledQuery compile_windowed(const PipelineParams& p, int workers) {
  Query q;
  q.filter(col("v") > lit(10.0))
      .key_by({"key", "host"})
      .event_time("ts", milliseconds(p.delay))
      .allowed_lateness(milliseconds(p.lateness))
      .window(p.size == p.slide ? WindowSpec::tumbling(milliseconds(p.size))
                                : WindowSpec::sliding(milliseconds(p.size), milliseconds(p.slide)))
      .aggregate({count(), sum(col("v")), min(col("n")), max(col("v")), avg(col("v")),
                  sum(col("n") * lit(3))});
  StringDictionary dictionary;
  return detail::compile_query(event_schema(), q, dictionary, workers, {});
}

// ---------------------------------------------------------------------------------------------
// Reference.

using WindowKeyTuple = std::tuple<std::int64_t, std::int64_t, std::uint32_t>;  // window, key, host

struct Acc {
  std::int64_t count = 0;
  double sum_v = 0.0;
  std::int64_t min_n = INT64_MAX;
  double max_v = -std::numeric_limits<double>::infinity();
  std::int64_t sum_n3 = 0;
};

struct Reference {
  PaneSpec panes;
  std::map<WindowKeyTuple, Acc> windows;

  /// Adds a batch seen at watermark wm_before; returns its kept count and late rows.
  std::pair<std::size_t, std::vector<std::uint32_t>> add(const EventBatch& b,
                                                         std::int64_t wm_before) {
    std::size_t kept = 0;
    std::vector<std::uint32_t> late;
    for (std::size_t r = 0; r < b.rows(); ++r) {
      if (!(b.v[r] > 10.0)) continue;
      ++kept;
      const std::int64_t pane = ref_pane_of(panes, b.ts[r]);
      const std::uint32_t cut = ref_event_cut(panes, pane, wm_before);
      if (cut == kLateCut) {
        late.push_back(static_cast<std::uint32_t>(r));
        continue;
      }
      const std::vector<std::int64_t> ks = ref_windows_of_pane(panes, pane);
      for (std::size_t i = cut; i < ks.size(); ++i) {
        Acc& a = windows[{ks[i], b.key[r], b.host[r]}];
        ++a.count;
        a.sum_v += b.v[r];
        a.min_n = std::min<std::int64_t>(a.min_n, b.n[r]);
        a.max_v = std::max(a.max_v, b.v[r]);
        a.sum_n3 += 3 * static_cast<std::int64_t>(b.n[r]);
      }
    }
    return {kept, late};
  }
};

/// The state words a window's aggregates should hold, in the plan's state order.
std::vector<std::uint64_t> expected_states(const CompiledQuery& q, const Acc& a) {
  std::vector<std::uint64_t> s(static_cast<std::size_t>(q.plan.states.count), 0);
  const std::size_t count = 0, sum_v = 1, min_n = 2, max_v = 3, avg_v = 4, sum_n3 = 5;
  s[q.aggregates[count].state] = static_cast<std::uint64_t>(a.count);
  s[q.aggregates[sum_v].state] = dbits(a.sum_v);
  s[q.aggregates[min_n].state] = static_cast<std::uint64_t>(a.min_n);
  s[q.aggregates[max_v].state] = dbits(a.max_v);
  s[q.aggregates[avg_v].state] = dbits(a.sum_v);
  s[q.aggregates[avg_v].count_state] = static_cast<std::uint64_t>(a.count);
  s[q.aggregates[sum_n3].state] = static_cast<std::uint64_t>(a.sum_n3);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Running a pipeline.

struct FiredRow {
  std::int64_t window;
  std::int64_t key;
  std::uint32_t host;
  bool update;
  std::vector<std::uint64_t> states;
  bool operator<(const FiredRow& o) const {
    return std::tie(window, key, host) < std::tie(o.window, o.key, o.host);
  }
};

/// Everything a run produced, for comparison across executors.
struct RunLog {
  std::vector<BatchOutcome> outcomes;        // per batch
  std::vector<std::vector<FiredRow>> fires;  // per fire, in canonical order
  std::vector<std::size_t> state_sizes;      // after each fire, over the workers
};

/// Appends the fired rows of one worker (checking their documented window order).
void read_fired(const FiredHost& f, int key_words, int states, std::vector<FiredRow>& out) {
  for (std::size_t i = 0; i < f.size; ++i) {
    if (i > 0) {
      EXPECT_LE(f.window[i - 1], f.window[i]) << "fired rows out of window order at " << i;
    }
    FiredRow r{f.window[i],
               static_cast<std::int64_t>(f.keys[0 * f.size + i]),
               static_cast<std::uint32_t>(f.keys[1 * f.size + i]),
               f.update[i] != 0,
               {}};
    ASSERT_EQ(key_words, 2);
    ASSERT_LE(f.update[i], 1) << "update flag not 0/1 at " << i;
    for (int s = 0; s < states; ++s) r.states.push_back(f.states[s * f.size + i]);
    out.push_back(std::move(r));
  }
}

/// Host memory the batches are fed from: the batches' own vectors (pageable), a recycled pool
/// of pinned buffers (as the engine's batch pool), or device-resident copies.
class Feeder {
 public:
  /// @pre Pinned: one worker (the pool recycles slots in batch order).
  Feeder(Input input, const std::vector<EventBatch>& batches, int stage_ahead)
      : input_(input), batches_(batches) {
    if (input_ == Input::pinned) {
      std::size_t rows = 0;
      for (const EventBatch& b : batches) rows = std::max(rows, b.rows());
      pool_.resize(static_cast<std::size_t>(stage_ahead) + 1);
      for (std::vector<void*>& slot : pool_)
        for (std::size_t bytes : kColumnBytes) {
          void* p = exec_.allocate_host(std::max<std::size_t>(rows, 1) * bytes);
          allocations_.push_back({p, std::max<std::size_t>(rows, 1) * bytes});
          slot.push_back(p);
        }
    }
    if (input_ == Input::resident) {
      for (const EventBatch& b : batches) {
        std::vector<ExecBuffer<std::uint8_t, DevExec>> cols;
        const std::vector<const void*> data = b.data();
        for (std::size_t c = 0; c < data.size(); ++c) {
          cols.emplace_back(exec_, b.rows() * kColumnBytes[c]);
          exec_.copy_from_host(cols.back().data(), data[c], b.rows() * kColumnBytes[c]);
        }
        resident_.push_back(std::move(cols));
      }
      exec_.synchronize();
    }
  }
  ~Feeder() {
    for (const auto& [p, bytes] : allocations_) exec_.deallocate_host(p, bytes);
  }
  Feeder(const Feeder&) = delete;
  Feeder& operator=(const Feeder&) = delete;

  /// The columns of batch i. Pinned: batch i is written into pool slot i % slots the first time
  /// it is asked for (the slot's previous batch must be done with by then).
  BatchColumns columns(std::size_t i) {
    BatchColumns c;
    c.rows = batches_[i].rows();
    c.id = i + 1;
    switch (input_) {
      case Input::pageable:
        c.data = batches_[i].data();
        break;
      case Input::pinned: {
        std::vector<void*>& slot = pool_[i % pool_.size()];
        if (written_.insert(i).second) {
          const std::vector<const void*> data = batches_[i].data();
          for (std::size_t col = 0; col < data.size(); ++col)
            if (c.rows > 0) std::memcpy(slot[col], data[col], c.rows * kColumnBytes[col]);
        }
        c.data.assign(slot.begin(), slot.end());
        break;
      }
      case Input::resident:
        for (auto& col : resident_[i]) c.data.push_back(col.data());
        c.resident = true;
        break;
    }
    return c;
  }

 private:
  Input input_;
  const std::vector<EventBatch>& batches_;
  DevExec exec_;
  std::vector<std::vector<void*>> pool_;
  std::vector<std::pair<void*, std::size_t>> allocations_;
  std::set<std::size_t> written_;
  std::vector<std::vector<ExecBuffer<std::uint8_t, DevExec>>> resident_;
};

/// Feeds `batches` through `workers` pipelines as the engine does: batch i to worker i % W,
/// its next batches staged ahead, pre-aggregated at the watermark of the batches before it,
/// merged (one worker) or packed, exchanged and merged (several); a fire every `round` batches
/// at the watermark after them; the final watermark at the end.
RunLog run_pipeline(
    const std::function<std::unique_ptr<WorkerPipeline>(const detail::PipelinePlan&)>& make,
    const CompiledQuery& q, const PipelineParams& p, const std::vector<EventBatch>& batches,
    Input input) {
  const int workers = p.workers;
  std::vector<std::unique_ptr<WorkerPipeline>> pipes;
  for (int w = 0; w < workers; ++w) {
    pipes.push_back(make(q.plan));
    pipes.back()->reserve(p.rows / 2 + 1);  // smaller than the batches: buffers grow on the way
  }
  Feeder feeder(input, batches, p.stage_ahead);
  RunLog log;
  std::int64_t max_ts = kNoWatermark;
  auto watermark = [&] { return max_ts == kNoWatermark ? kNoWatermark : max_ts - p.delay; };
  std::int64_t fired_wm = kNoWatermark;
  const auto n = batches.size();
  std::vector<std::vector<std::vector<std::uint64_t>>> send(
      static_cast<std::size_t>(workers),
      std::vector<std::vector<std::uint64_t>>(static_cast<std::size_t>(workers)));

  auto fire = [&](std::int64_t wm) {
    if (workers > 1 && p.outboxes) {
      // Every owner copies its parts from the senders' outboxes, then every outbox is cleared.
      std::vector<std::vector<std::vector<std::uint64_t>>> manifests;
      for (auto& pipe : pipes) manifests.push_back(pipe->outbox_manifests());
      for (int d = 0; d < workers; ++d) {
        std::vector<std::uint64_t> received;
        for (int w = 0; w < workers; ++w)
          received.insert(received.end(), manifests[w][d].begin(), manifests[w][d].end());
        pipes[d]->merge_outboxes(received, fired_wm);
      }
      for (auto& pipe : pipes) pipe->clear_outbox();
    } else if (workers > 1) {
      for (int d = 0; d < workers; ++d) {
        std::vector<std::uint64_t> received;
        for (int w = 0; w < workers; ++w) {
          std::vector<std::uint64_t>& part = send[w][d];
          received.insert(received.end(), part.begin(), part.end());
          part.clear();
        }
        pipes[d]->merge_packed(received, fired_wm);
      }
    }
    std::vector<FiredRow> rows;
    std::size_t state = 0;
    for (auto& pipe : pipes) {
      pipe->fire(fired_wm, wm);
      read_fired(pipe->collect_fired(), q.plan.key_words, q.plan.states.count, rows);
      state += pipe->state_size();
    }
    std::sort(rows.begin(), rows.end());
    log.fires.push_back(std::move(rows));
    log.state_sizes.push_back(state);
    fired_wm = std::max(fired_wm, wm);
  };

  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t w = i % static_cast<std::size_t>(workers);
    WorkerPipeline& pipe = *pipes[w];
    // The worker's next batches start copying while this one computes.
    for (int k = 1; k <= p.stage_ahead; ++k) {
      const std::size_t next = i + static_cast<std::size_t>(k * workers);
      if (next < n) pipe.stage(feeder.columns(next));
    }
    const std::int64_t wm_before = watermark();
    log.outcomes.push_back(pipe.preaggregate(feeder.columns(i), wm_before));
    if (workers == 1)
      pipe.merge_held(fired_wm);
    else if (p.outboxes)
      pipe.pack_held_to_outbox();
    else
      pipe.pack_held(send[w]);
    for (std::int64_t t : batches[i].ts) max_ts = std::max(max_ts, t);
    if ((i + 1) % static_cast<std::size_t>(p.round) == 0) fire(watermark());
  }
  fire(detail::kFinalWatermark);
  return log;
}

::testing::AssertionResult same_states(const CompiledQuery& q,
                                       const std::vector<std::uint64_t>& got,
                                       const std::vector<std::uint64_t>& want, double tolerance) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << got.size() << " states, want " << want.size();
  for (std::size_t s = 0; s < want.size(); ++s) {
    // The float sums are of positive values: their magnitude is their value.
    ::testing::AssertionResult r =
        state_close(q.plan.states.ops[s], got[s], want[s], 0.0, tolerance);
    if (!r) return r << " (state " << s << ")";
  }
  return ::testing::AssertionSuccess();
}

class PipelineGpu : public GpuTestWithParam<PipelineParams> {};

TEST_P(PipelineGpu, CudaPipelineMatchesHostPipelineAndReference) {
  const PipelineParams p = GetParam();
  SLUICE_GPU_RNG(rng);
  ASSERT_TRUE(p.input != Input::pinned || p.workers == 1) << "the pinned pool feeds one worker";
  const std::vector<EventBatch> batches = make_batches(p, rng);
  const CompiledQuery q = compile_windowed(p, p.workers);
  ASSERT_EQ(q.read_columns, (std::vector<std::size_t>{0, 1, 2, 3, 4}));
  ASSERT_EQ(q.aggregates.size(), 6u);
  const PaneSpec panes = make_panes(p.size, p.slide, 0, p.lateness);
  ASSERT_EQ(q.plan.panes.size, panes.size);
  ASSERT_EQ(q.plan.panes.slide, panes.slide);
  ASSERT_EQ(q.plan.panes.pane, panes.pane);
  ASSERT_EQ(q.plan.panes.offset, 0);
  ASSERT_EQ(q.plan.panes.lateness, panes.lateness);

  // Reference, with the same watermark sequence as run_pipeline.
  Reference ref{panes, {}};
  std::vector<std::pair<std::size_t, std::vector<std::uint32_t>>> want_outcomes;
  std::int64_t max_ts = kNoWatermark;
  std::size_t total_late = 0;
  for (const EventBatch& b : batches) {
    want_outcomes.push_back(ref.add(b, max_ts == kNoWatermark ? kNoWatermark : max_ts - p.delay));
    total_late += want_outcomes.back().second.size();
    for (std::int64_t t : b.ts) max_ts = std::max(max_ts, t);
  }

  const RunLog got = run_pipeline(make_device_pipeline, q, p, batches, p.input);
  if (HasFatalFailure()) return;
  const RunLog base = run_pipeline(detail::make_host_pipeline, q, p, batches, Input::pageable);
  if (HasFatalFailure()) return;

  for (const RunLog* log : {&got, &base}) {
    SCOPED_TRACE(log == &got ? "device pipeline" : "host pipeline");
    ASSERT_EQ(log->outcomes.size(), batches.size());
    for (std::size_t i = 0; i < batches.size(); ++i) {
      ASSERT_EQ(log->outcomes[i].kept, want_outcomes[i].first) << "batch " << i;
      ASSERT_EQ(log->outcomes[i].late, want_outcomes[i].second.size()) << "batch " << i;
      ASSERT_EQ(log->outcomes[i].late_rows, want_outcomes[i].second) << "batch " << i;
    }
    // Final values: the last emission of each (window, key); a window is first emitted at most
    // once (later emissions are updates).
    std::map<WindowKeyTuple, const FiredRow*> last;
    std::set<WindowKeyTuple> first;
    for (const std::vector<FiredRow>& fire : log->fires)
      for (const FiredRow& r : fire) {
        const WindowKeyTuple k{r.window, r.key, r.host};
        if (!r.update) {
          ASSERT_TRUE(first.insert(k).second) << "window " << r.window << " emitted twice";
        }
        last[k] = &r;
      }
    ASSERT_EQ(last.size(), ref.windows.size());
    auto it = last.begin();
    for (const auto& [k, acc] : ref.windows) {
      ASSERT_EQ(it->first, k) << "window " << std::get<0>(k) << " key " << std::get<1>(k);
      ASSERT_TRUE(same_states(q, it->second->states, expected_states(q, acc), 1e-9))
          << "window " << std::get<0>(k) << " key " << std::get<1>(k) << " host " << std::get<2>(k);
      ++it;
    }
    EXPECT_EQ(log->state_sizes.back(), 0u) << "state left after the final watermark";
  }
  // Device and host: the same rows at every fire, the same state sizes.
  ASSERT_EQ(got.fires.size(), base.fires.size());
  for (std::size_t f = 0; f < got.fires.size(); ++f) {
    SCOPED_TRACE(::testing::Message() << "fire " << f);
    ASSERT_EQ(got.fires[f].size(), base.fires[f].size());
    for (std::size_t i = 0; i < got.fires[f].size(); ++i) {
      const FiredRow& a = got.fires[f][i];
      const FiredRow& b = base.fires[f][i];
      ASSERT_EQ(std::tie(a.window, a.key, a.host, a.update),
                std::tie(b.window, b.key, b.host, b.update))
          << "row " << i;
      ASSERT_TRUE(same_states(q, a.states, b.states, 1e-9)) << "row " << i;
    }
  }
  ASSERT_EQ(got.state_sizes, base.state_sizes);
  // The stream exercised late events, fires before the final one and (with lateness)
  // re-emissions, where it is long enough.
  if (p.batches * p.rows >= 100000) {
    std::size_t early = 0, updates = 0;
    for (std::size_t f = 0; f + 1 < got.fires.size(); ++f) early += got.fires[f].size();
    for (const std::vector<FiredRow>& fire : got.fires)
      for (const FiredRow& r : fire) updates += r.update ? 1 : 0;
    EXPECT_GT(total_late, 0u) << "premise: late events";
    EXPECT_GT(early, 0u) << "premise: windows fired before the final watermark";
    if (p.lateness > 0) {
      EXPECT_GT(updates, 0u) << "premise: late-but-allowed events re-emitted windows";
    }
  }
}

// Where a stream is long enough for the premises, lateness >= the distance between window ends:
// every fire leaves a window that late-but-allowed events of the next batch re-emit.
INSTANTIATE_TEST_SUITE_P(
    Streams, PipelineGpu,
    ::testing::Values(
        PipelineParams{"empty_batches", 1000, 250, 500, 800, 3, 0, 1, KeyDist::uniform},
        PipelineParams{"one_row", 1000, 250, 500, 800, 4, 1, 1, KeyDist::uniform, Input::pinned},
        PipelineParams{"31_rows_resident", 1000, 1000, 0, 50, 5, 31, 100, KeyDist::uniform,
                       Input::resident},
        PipelineParams{"1000_rows_zipf", 1000, 250, 500, 800, 12, 1000, 100, KeyDist::zipf},
        PipelineParams{"1000_rows_pinned_rounds", 1000, 250, 500, 800, 12, 1000, 100000,
                       KeyDist::uniform, Input::pinned, 1, 3},
        PipelineParams{"100k_rows_over_staged_pinned", 500, 100, 300, 400, 8, 100003, 10000,
                       KeyDist::zipf, Input::pinned, 1, 2, 4},
        PipelineParams{"100k_rows_over_staged_pageable", 500, 100, 300, 400, 8, 100003, 100,
                       KeyDist::uniform, Input::pageable, 1, 1, 4},
        PipelineParams{"1m_rows_one_key_resident", 1000, 1000, 1000, 500, 4, kLarge, 1,
                       KeyDist::uniform, Input::resident},
        PipelineParams{"1m_rows_10m_keys_pinned", 2000, 2000, 2000, 1000, 4, kLarge, 10000000,
                       KeyDist::uniform, Input::pinned, 1, 2},
        PipelineParams{"10m_rows_100_keys_zipf_pageable", 1000, 250, 500, 800, 2, 10000000, 100,
                       KeyDist::zipf},
        PipelineParams{"two_workers_exchange", 1000, 250, 500, 800, 10, 20000, 5000, KeyDist::zipf,
                       Input::pageable, 2, 2},
        PipelineParams{"two_workers_large", 1000, 500, 500, 800, 6, kLarge, 10000, KeyDist::uniform,
                       Input::pageable, 2, 2},
        PipelineParams{"three_workers_outboxes", 1000, 250, 500, 800, 12, 20000, 5000,
                       KeyDist::zipf, Input::pageable, 3, 3, WorkerPipeline::kStagedAhead, true},
        PipelineParams{"two_workers_outboxes_large", 1000, 500, 500, 800, 6, kLarge, 10000,
                       KeyDist::uniform, Input::pageable, 2, 2, WorkerPipeline::kStagedAhead,
                       true}));

// ---------------------------------------------------------------------------------------------
// Stateless queries: project().

using PipelineGpuStateless = GpuTest;

TEST_F(PipelineGpuStateless, ProjectMatchesHostAndReference) {
  SLUICE_GPU_RNG(rng);
  Query q;
  q.filter(col("v") > lit(10.0))
      .map("w", col("v") * lit(2.0) + col("n"))
      .map("k", col("key") - col("n") * lit(3))
      .project({"ts", "host", "w", "k"});
  StringDictionary dictionary;
  const CompiledQuery c = detail::compile_query(event_schema(), q, dictionary, 1, {});
  ASSERT_FALSE(c.windowed);
  ASSERT_EQ(c.read_columns, (std::vector<std::size_t>{0, 1, 2, 3, 4}));
  ASSERT_EQ(c.outputs.size(), 4u);
  for (std::size_t rows :
       {std::size_t{0}, std::size_t{1}, std::size_t{31}, std::size_t{1000}, kLarge}) {
    SCOPED_TRACE(::testing::Message() << rows << " rows");
    PipelineParams p{"stateless", 1000, 1000, 0, 100, 3, rows, 1000, KeyDist::zipf};
    const std::vector<EventBatch> batches = make_batches(p, rng);
    auto dev = make_device_pipeline(c.plan);
    auto host = detail::make_host_pipeline(c.plan);
    for (Input input : {Input::pageable, Input::pinned, Input::resident}) {
      SCOPED_TRACE(to_string(input));
      Feeder feeder(input, batches, WorkerPipeline::kStagedAhead);
      for (std::size_t i = 0; i < batches.size(); ++i) {
        if (i + 1 < batches.size()) dev->stage(feeder.columns(i + 1));
        // Reference rows, outputs by name.
        const EventBatch& b = batches[i];
        std::map<std::string, std::vector<std::uint64_t>> want;
        for (std::size_t r = 0; r < b.rows(); ++r) {
          if (!(b.v[r] > 10.0)) continue;
          want["ts"].push_back(static_cast<std::uint64_t>(b.ts[r]));
          want["host"].push_back(b.host[r]);
          want["w"].push_back(dbits(b.v[r] * 2.0 + static_cast<double>(b.n[r])));
          want["k"].push_back(
              static_cast<std::uint64_t>(b.key[r] - 3 * static_cast<std::int64_t>(b.n[r])));
        }
        const std::size_t want_kept = want["ts"].size();
        // Poisoned at the size project() resizes to, so a word it does not write shows.
        std::vector<std::uint64_t> got(4 * want_kept, poison_value<std::uint64_t>());
        std::vector<std::uint64_t> base(4 * want_kept, poison_value<std::uint64_t>());
        ASSERT_EQ(dev->project(feeder.columns(i), got), want_kept);
        BatchColumns pageable;
        pageable.rows = b.rows();
        pageable.data = b.data();
        pageable.id = i + 1;
        ASSERT_EQ(host->project(pageable, base), want_kept);
        ASSERT_EQ(got.size(), 4 * want_kept);
        ASSERT_EQ(base.size(), 4 * want_kept);
        for (std::size_t j = 0; j < 4; ++j) {
          const std::vector<std::uint64_t>& column = want[c.outputs[j].name];
          ASSERT_EQ(column.size(), want_kept) << "output " << c.outputs[j].name;
          for (std::size_t at = 0; at < want_kept; ++at) {
            ASSERT_EQ(got[j * want_kept + at], column[at])
                << "device, output " << c.outputs[j].name << " kept row " << at;
            ASSERT_EQ(base[j * want_kept + at], column[at])
                << "host, output " << c.outputs[j].name << " kept row " << at;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace sluice::test
