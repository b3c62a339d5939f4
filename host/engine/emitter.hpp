// Emitter: the fired rows of a round, from every worker, as one ordered result batch for the
// sink; the output rows of stateless queries in push order; late events.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "host/engine/histogram_recorder.hpp"
#include "host/engine/micro_batch.hpp"
#include "host/query_compiler.hpp"
#include "kernels/host/vector_program.hpp"
#include "kernels/pipeline/worker_pipeline.hpp"
#include "sluice/batch.hpp"

namespace sluice::detail {

/// @brief Counters the emitter keeps for Metrics.
struct EmitCounters {
  std::atomic<std::uint64_t> windows_fired{0};
  std::atomic<std::uint64_t> window_updates{0};
  HistogramRecorder emission_latency;  ///< seconds per emitted (window, key) row
};

/// @brief Scratch of order_fired_rows, reused.
struct OrderScratch {
  std::vector<std::uint64_t> keys;
  std::vector<std::uint64_t> keys_tmp;
  std::vector<std::uint32_t> order_tmp;
};

/// @brief Orders row indices [0, n) of fired rows by (window, key words): numbers by value,
/// strings by code. LSD radix passes over the bytes that differ (a round's windows and codes
/// span few bytes), stable; small sets by insertion.
void order_fired_rows(const FiredView& rows, const std::vector<Sem>& key_sems,
                      std::vector<std::uint32_t>& order, OrderScratch& scratch);

/// @brief Delivers results to the query's sinks. deliver() is called by each worker for each of
/// its rounds; once every worker has delivered a round, its rows go out as one result batch
/// (memory reused from round to round: a warm emitter allocates nothing).
class Emitter {
 public:
  /// @param read_schema the read columns (schema order): what late sinks receive.
  Emitter(const CompiledQuery& query, const Schema& read_schema, DictionaryPtr dictionary,
          int workers, bool ordered, EmitCounters& counters);

  /// @brief Stateless queries: room for the output rows of every batch that can be in flight
  /// (a few rounds per worker) of up to `batch_rows` rows, so that emission never allocates.
  void reserve(std::size_t batch_rows);
  /// @brief Worker `worker`'s fired rows of `round` (read before return). `pushed_ns`: the
  /// steady_clock time of the first push into the round's batches of this worker, for the
  /// emission latency (0: the rows are not observed).
  void deliver(int worker, std::uint64_t round, const FiredView& rows, std::int64_t pushed_ns);
  /// @brief Stateless queries: one batch's output rows (copied), then end_round() once per
  /// worker and round.
  void deliver_rows(std::uint64_t round, std::uint64_t sequence, const ProjectedView& rows);
  void end_round(std::uint64_t round);
  /// @brief Late events of one batch: the read columns of `rows` of `batch`.
  void late(const MicroBatch& batch, std::span<const std::uint32_t> rows);
  /// @brief Results name strings of `dictionary` from now on (the job reclaimed strings). Call
  /// between rounds: rows delivered before are coded with it too.
  void set_dictionary(DictionaryPtr dictionary);

 private:
  struct Gathered {
    std::uint64_t round = ~std::uint64_t{0};
    int delivered = 0;
    std::size_t size = 0;
    std::int64_t pushed_ns = 0;  // the earliest of the workers' (0: none)
    std::vector<std::int64_t> window;
    std::vector<std::uint64_t> keys;  // [key_words][size]
    std::vector<std::uint8_t> update;
    std::vector<std::uint64_t> states;  // [state_words][size]
  };
  /// Wraps the result and late batches (no rows yet) over the current dictionary.
  void wrap_outputs();
  Gathered& slot(std::uint64_t round);
  void append(Gathered& g, const FiredView& rows);
  /// Hands `rows` to the sinks; observes their latency from `pushed_ns` (unless 0).
  void emit(const FiredView& rows, std::int64_t pushed_ns);
  /// Keeps the first n result rows that pass the query's HAVING, in order: how many.
  std::size_t keep_having(std::size_t n);

  const CompiledQuery& query_;
  Schema read_schema_;
  DictionaryPtr dictionary_;
  int workers_;
  bool ordered_;
  EmitCounters& counters_;
  std::mutex mutex_;
  std::vector<Gathered> gathered_;  // rounds in flight, by round number modulo its size
  // The result batch and its columns, reused.
  Batch result_;
  std::vector<std::vector<std::byte>> columns_;
  std::vector<const void*> pointers_;
  std::vector<std::uint32_t> order_;
  OrderScratch scratch_;
  std::vector<Sem> key_sems_;
  std::vector<std::vector<std::uint64_t>> transposed_;
  std::unique_ptr<VectorStack> having_stack_;  // HAVING's evaluation (none without one)
  std::vector<std::uint32_t> kept_;            // rows that pass it
  // Stateless queries: each batch's output rows until every worker has ended its round; the
  // parts and their columns are reused (result_ is rebound to each).
  struct RowsPart {
    bool in_use = false;
    std::uint64_t round = 0;
    std::uint64_t sequence = 0;
    std::size_t rows = 0;
    std::vector<std::vector<std::byte>> columns;
  };
  std::vector<RowsPart> parts_;
  std::vector<std::pair<std::uint64_t, int>> rounds_done_;  // (round, workers that ended it)
  // The late-events batch and its columns, reused (under late_mutex_).
  std::mutex late_mutex_;
  Batch late_batch_;
  std::vector<std::vector<std::byte>> late_columns_;
  std::vector<const void*> late_pointers_;
};

}  // namespace sluice::detail
