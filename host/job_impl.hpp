// Job::Impl: ingest and micro-batching, dispatch in rounds, worker threads, emission.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "host/balancer.hpp"
#include "host/host_batch.hpp"
#include "host/query_compiler.hpp"
#include "host/watermark_tracker.hpp"
#include "sluice/engine.hpp"
#include "transport/local_exchange.hpp"

namespace sluice {

/// @brief A running job. Pushed rows fill micro-batches (only the read columns); a sealed batch
/// learns the watermark before it and its worker, and batches go out in rounds of `workers`
/// batches. In a round each worker pre-aggregates its batches, the workers exchange partials
/// by key owner, merge them, agree on the round's watermark and fire; the round's results are
/// emitted together, sorted.
class Job::Impl {
 public:
  Impl(const EngineConfig& config, Backend backend, Schema schema, detail::CompiledQuery query,
       DictionaryPtr dictionary);
  ~Impl();

  BatchBuilder make_builder() const;
  void push(const Batch& batch, int source);
  void push_row(std::span<const Value> row, int source);
  void finish();
  Metrics metrics() const;
  Status status() const;
  const Schema& schema() const { return schema_; }

 private:
  struct Round {
    std::uint64_t number = 0;
    std::vector<std::vector<detail::HostBatch*>> batches;  // per worker
    std::int64_t watermark = 0;                            // fire at this watermark
    bool final = false;
  };
  struct WorkerQueue {
    std::deque<Round> rounds;
  };
  /// What a worker carries from round to round.
  struct WorkerState {
    std::int64_t fired_wm = 0;                   // watermark of the last fire
    std::optional<std::uint64_t> pending_round;  // round whose fired rows are still copying out
    std::optional<std::uint64_t> pending_batch;  // that round's last batch here
    const char* stage = "start";                 // what the worker is doing (for errors)
    std::uint64_t round = 0;                     // the round the stage works for
    std::optional<std::uint64_t> batch;          // the batch it works on, or last worked on
    std::string where(int worker) const;         // "worker 0, round 3, fire, batch 7"
  };

  // Ingest side; callers hold ingest_mutex_.
  void append_locked(const Batch& batch, int source);
  void flush_rows_locked();
  void seal_locked();
  void dispatch_locked(bool final, bool even_if_empty = false);
  void enqueue(int worker, Round round);
  std::vector<std::uint32_t> translation_for(const Batch& batch, std::size_t column);

  // Worker side.
  void worker_main(int worker);
  void run_round(int worker, detail::WorkerPipeline& pipeline, Round& round, WorkerState& state);
  void stage_ahead(int worker, detail::WorkerPipeline& pipeline,
                   const std::vector<detail::HostBatch*>& batches, std::size_t next);
  /// Marks batch i as the worker's current one and stages the batches after it.
  detail::HostBatch* begin_batch(int worker, detail::WorkerPipeline& pipeline,
                                 const std::vector<detail::HostBatch*>& batches, std::size_t i,
                                 WorkerState& state);
  bool round_waiting(int worker);
  void emit_fired(std::uint64_t round, detail::WorkerPipeline& pipeline);
  void emit(std::uint64_t round, std::vector<WindowResult> results);
  void emit_rows(std::uint64_t round, std::vector<std::pair<std::uint64_t, Batch>> rows);
  void fail(int worker, const Status& status);
  bool failed() const { return failed_.load(); }
  void throw_if_failed() const;
  void timer_main();

  EngineConfig config_;
  Backend backend_;
  Schema schema_;
  Schema read_schema_;
  detail::CompiledQuery query_;
  DictionaryPtr dictionary_;
  int workers_;
  std::vector<std::size_t> widths_;

  // Ingest.
  std::mutex ingest_mutex_;
  std::optional<BatchBuilder> row_builder_;
  detail::BatchPool pool_;
  detail::HostBatch* current_ = nullptr;
  std::map<int, std::int64_t> current_max_time_;  // per source, of the filling batch
  detail::WatermarkTracker watermark_;
  std::int64_t dispatched_wm_ = INT64_MIN;  // watermark of the last round sent
  int row_source_ = 0;                      // source of the rows in row_builder_
  std::uint64_t next_sequence_ = 0;
  std::uint64_t next_round_ = 0;
  Round forming_;
  std::size_t forming_count_ = 0;
  detail::Balancer balancer_;
  std::chrono::steady_clock::time_point last_activity_;
  bool finished_ = false;
  std::map<const StringDictionary*, std::vector<std::uint32_t>> translations_;

  // Workers.
  std::unique_ptr<detail::LocalExchange> exchange_;
  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::vector<WorkerQueue> queues_;
  std::vector<std::unique_ptr<detail::WorkerPipeline>> pipelines_;  // one per worker
  std::vector<std::thread> threads_;
  std::thread timer_;
  std::condition_variable timer_cv_;
  bool stop_timer_ = false;

  // Emission.
  std::mutex emit_mutex_;
  std::map<std::uint64_t, std::pair<int, std::vector<WindowResult>>> pending_;
  std::map<std::uint64_t, std::pair<int, std::vector<std::pair<std::uint64_t, Batch>>>>
      pending_rows_;
  std::mutex late_mutex_;

  // Status and metrics.
  std::atomic<bool> failed_{false};
  mutable std::mutex status_mutex_;
  Status status_;
  std::atomic<std::uint64_t> events_in_{0}, filtered_{0}, late_{0}, fired_{0}, updates_{0},
      batches_{0};
  std::vector<std::atomic<std::uint64_t>> per_worker_;
  std::atomic<std::int64_t> started_ns_{0};  // steady_clock, 0 until the first push
  std::atomic<std::int64_t> ended_ns_{0};    // 0 until finish() returns
};

}  // namespace sluice
