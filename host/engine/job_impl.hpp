// Job::Impl: a running job, composed of its ingest, dispatch, workers and emitter.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "host/engine/broadcast_state.hpp"
#include "host/engine/dispatch.hpp"
#include "host/engine/emitter.hpp"
#include "host/engine/ingest.hpp"
#include "host/engine/micro_batch.hpp"
#include "host/engine/string_codes.hpp"
#include "host/engine/worker.hpp"
#include "host/query_compiler.hpp"
#include "sluice/engine.hpp"
#include "transport/exchange.hpp"

namespace sluice {

/// @brief A running job. Pushes go through Ingest into micro-batches; the Dispatcher gives each
/// its watermark and worker and sends rounds to the workers' queues; each worker thread runs
/// its rounds (Worker) on its pipeline; the Emitter hands results to the sinks. This class owns
/// the threads, the locks and the first error.
class Job::Impl {
 public:
  Impl(const EngineConfig& config, Backend backend, Schema schema, detail::CompiledQuery query,
       DictionaryPtr dictionary);
  ~Impl();

  BatchBuilder make_builder() const;
  DictionaryPtr dictionary() const;
  void push(const Batch& batch, int source);
  void push_row(std::span<const Value> row, int source);
  void push_broadcast(std::string_view name, const Batch& batch);
  void count_malformed(std::uint64_t rows) { malformed_ += rows; }
  void flush();
  void finish();
  Metrics metrics() const;
  Metrics total_metrics() const;
  Status status() const;
  const Schema& schema() const { return schema_; }

 private:
  void worker_main(int worker);
  void timer_main();
  void fail(int worker, const Status& status);
  bool failed() const { return failed_.load(); }
  void throw_if_failed() const;
  void touch(int source);
  /// Waits until every worker has run `rounds` rounds (or the job failed: then throws).
  void wait_for_rounds(std::uint64_t rounds);
  /// After a push (under the ingest lock): reclaims strings when the dictionary has grown
  /// enough (EngineConfig::string_reclaim_threshold), and updates its size for the budget.
  void after_push();
  /// Processes every batch pushed so far with a census of the codes the workers' state holds,
  /// then, if at least half the strings are dead, replaces the dictionary with one that keeps
  /// the live ones (under the ingest lock).
  void reclaim_strings();

  EngineConfig config_;
  Backend backend_;
  Schema schema_;
  detail::CompiledQuery query_;
  mutable std::mutex dictionary_mutex_;  // dictionary_ changes under both locks
  DictionaryPtr dictionary_;
  std::size_t next_reclaim_ = 0;  // dictionary size that triggers the next reclaim; 0: never
  static constexpr int kRowsPerCheck = 256;
  int rows_unchecked_ = 0;  // rows pushed one by one since after_push() last looked
  std::atomic<std::uint64_t> strings_reclaimed_{0};
  std::atomic<std::uint64_t> string_reclaims_{0};
  int workers_;  // in this process
  // Across ranks: this rank's place, and what its workers share.
  int rank_ = 0;
  int ranks_ = 1;
  std::shared_ptr<detail::RankTransport> transport_;  ///< this job's own, across ranks
  std::unique_ptr<detail::StringCodeSync> string_sync_;
  std::unique_ptr<detail::StringRowTranslator> partial_codes_;
  std::unique_ptr<detail::StringRowTranslator> fired_codes_;
  detail::RankRole role_;
  std::function<bool()> cancelled_;

  std::mutex ingest_mutex_;  // ingest and dispatch
  detail::MicroBatchPool pool_;
  std::vector<std::unique_ptr<detail::RoundQueue>> queues_;
  detail::Dispatcher dispatcher_;
  detail::Ingest ingest_;
  detail::BroadcastState broadcast_;
  std::chrono::steady_clock::time_point last_activity_;
  bool finished_ = false;

  std::unique_ptr<detail::Exchange> exchange_;
  detail::EmitCounters emit_counters_;
  detail::WorkCounters work_counters_;
  detail::Emitter emitter_;
  std::vector<std::unique_ptr<detail::WorkerPipeline>> pipelines_;  // live until the job ends
  // Live until the job ends too: other workers read a worker's traded event times.
  std::vector<std::unique_ptr<detail::Worker>> runners_;
  std::vector<std::atomic<std::uint64_t>> per_worker_;
  std::vector<std::thread> threads_;
  std::thread timer_;
  std::condition_variable timer_cv_;
  bool stop_timer_ = false;

  // Rounds completed by every worker (flush() waits for them).
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
  std::vector<std::uint64_t> rounds_done_;  // per worker

  std::atomic<std::uint64_t> malformed_{0};
  std::atomic<bool> failed_{false};
  mutable std::mutex status_mutex_;
  Status status_;
  std::atomic<std::int64_t> started_ns_{0};  // steady_clock, 0 until the first push
  std::atomic<std::int64_t> ended_ns_{0};    // 0 until finish() returns
};

}  // namespace sluice
