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
#include "host/engine/checkpoint_image.hpp"
#include "host/engine/checkpoint_store.hpp"
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
  /// @param image a checkpoint to resume from (its dictionary is `dictionary`), or null.
  Impl(const EngineConfig& config, Backend backend, Schema schema, detail::CompiledQuery query,
       DictionaryPtr dictionary, std::shared_ptr<detail::CheckpointImage> image = nullptr,
       ResumePoint resumed = {});
  ~Impl();

  BatchBuilder make_builder() const;
  DictionaryPtr dictionary() const;
  void push(const Batch& batch, int source);
  void push_row(std::span<const Value> row, int source);
  void push_broadcast(std::string_view name, const Batch& batch);
  void count_malformed(std::uint64_t rows) { malformed_ += rows; }
  void set_position(int source, std::uint64_t position);
  void expect_source(int source);
  void checkpoint();
  const ResumePoint& resumed_from() const { return resumed_; }
  void flush();
  /// finish() with `drain`, stop() without: the last round fires every window, or only those
  /// the watermark has passed.
  void end(bool drain);
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
  /// Under the ingest lock, after a push or flush: takes a checkpoint if one is due.
  void checkpoint_if_due();
  /// Under the ingest lock: a checkpoint of everything pushed so far (rows not yet processed
  /// are saved as rows); a failure fails the job.
  void take_checkpoint();
  void write_checkpoint();
  /// In the constructor: loads what the job itself and its ingest, dispatcher and broadcast
  /// state hold of `image` (each worker loads its own part when it starts).
  void restore(const detail::CheckpointImage& image);
  /// The schema, query and settings a checkpoint must match, as text.
  std::string fingerprint() const;

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
  // Checkpoints.
  std::unique_ptr<detail::CheckpointStore> checkpoints_;  // null: none
  std::string fingerprint_;
  std::vector<std::uint64_t> positions_;  // per source (set_position), under the ingest lock
  std::uint64_t checkpoint_id_ = 0;       // of the last written or restored
  std::chrono::steady_clock::time_point last_checkpoint_;
  std::atomic<std::uint64_t> checkpoints_taken_{0};
  std::atomic<std::uint64_t> checkpoint_bytes_{0};
  std::shared_ptr<detail::CheckpointImage> restore_image_;  // each worker loads its part
  ResumePoint resumed_;

  std::atomic<std::int64_t> started_ns_{0};  // steady_clock, 0 until the first push
  std::atomic<std::int64_t> ended_ns_{0};    // 0 until finish() returns
};

}  // namespace sluice
