// Ingest: pushed batches and rows into micro-batches of the columns a query reads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "host/engine/broadcast_state.hpp"
#include "host/engine/micro_batch.hpp"
#include "host/query_compiler.hpp"
#include "sluice/batch.hpp"

namespace sluice::detail {

/// @brief A builder of `schema` whose string columns use `dictionary`.
BatchBuilder builder_for(const Schema& schema, const DictionaryPtr& dictionary);

/// @brief Fills micro-batches from pushes: a large batch whose string columns use the job's
/// dictionary becomes slices read in place (holding a copy of the Batch); small batches, rows
/// and batches of foreign dictionaries are copied into the micro-batch's own buffer (codes
/// re-encoded). A micro-batch seals at `batch_rows` rows (its slices cut there, so batch
/// boundaries do not depend on how rows were pushed) or on seal(). Each slice read in place
/// records its source, and the workers measure its event times for the watermark; the event
/// times of copied rows are measured here, by source, as they are copied. Not thread-safe: the
/// job calls it under its ingest lock.
class Ingest {
 public:
  /// Receives each sealed micro-batch (rows > 0).
  using SealedSink = std::function<void(BatchLease)>;

  Ingest(const Schema& schema, const CompiledQuery& query, DictionaryPtr dictionary,
         MicroBatchPool& pool, std::size_t batch_rows, SealedSink sealed,
         std::function<bool()> cancelled);

  /// @throws Error(invalid_argument) on a schema mismatch; Error(malformed_input) for a string
  /// code outside its dictionary.
  void push(const Batch& batch, int source);
  void push_row(std::span<const Value> row, int source);
  /// @brief The next micro-batch to seal tells the watermark that `source` is expected: until
  /// its first event the watermark holds (kAwaitingEvents). Nothing without event time.
  void expect_source(int source);
  /// @brief Moves rows pushed one by one into the forming micro-batch.
  void flush_rows();
  /// @brief Seals the forming micro-batch, if it has rows.
  void seal();
  /// @brief Batches sealed from now on carry `lookups` (the broadcast state in effect).
  void set_lookups(std::shared_ptr<const LookupSnapshot> lookups) { lookups_ = std::move(lookups); }
  /// @brief Each seal first asks `source` for the lookups in effect (they follow the
  /// dictionary's growth: the LIKE patterns' tables); empty: set_lookups() alone decides.
  void set_lookup_source(std::function<std::shared_ptr<const LookupSnapshot>()> source) {
    lookup_source_ = std::move(source);
  }
  /// @brief Rows pushed so far.
  std::uint64_t events() const noexcept { return events_; }
  /// @brief Whether rows wait for a micro-batch to seal (pushed one by one, or in the forming
  /// micro-batch), and since when the oldest of them has waited (`since`, when they do).
  bool pending(std::chrono::steady_clock::time_point& since) const;
  /// @brief Writes the rows of the forming micro-batch (a checkpoint; flush_rows() first), so
  /// that a resumed job seals its batches where this one would have.
  void save(WordWriter& out) const;
  /// @brief Loads what save() wrote into the forming micro-batch, and the count of rows pushed
  /// before (a resumed job, before any push).
  void restore(WordReader& in, std::uint64_t events);
  BatchBuilder make_builder() const;
  /// @brief The job's dictionary: batches coded with it are read in place.
  const DictionaryPtr& dictionary() const noexcept { return dictionary_; }
  /// @brief Codes strings with `dictionary` from now on (the job reclaimed strings). Call with
  /// no rows pending (flush_rows() and seal() first): batches coded with the earlier one are
  /// copied and re-encoded from then on.
  void set_dictionary(DictionaryPtr dictionary);

 private:
  /// The job's code of each code of a foreign dictionary (kUntranslated until a row needs it).
  struct Translation {
    std::weak_ptr<const StringDictionary> foreign;  // a dead one's address may be reused
    std::vector<std::uint32_t> codes;
  };
  void append(const Batch& batch, int source);
  void append_in_place(const Batch& batch, std::size_t first, std::size_t rows, int source);
  void append_copy(const Batch& batch, std::size_t first, std::size_t rows, int source,
                   const std::vector<Translation*>& translate);
  Translation& translation_for(const Batch& batch, std::size_t column);
  MicroBatch& forming();

  const Schema& schema_;
  const CompiledQuery& query_;
  DictionaryPtr dictionary_;
  MicroBatchPool& pool_;
  std::size_t batch_rows_;
  std::size_t in_place_rows_;  ///< pushes of at least this many rows are read in place
  SealedSink sealed_;
  std::function<bool()> cancelled_;
  std::vector<std::size_t> widths_;  ///< of the read columns
  std::optional<BatchBuilder> row_builder_;
  int row_source_ = 0;
  BatchLease current_;
  std::vector<int> expected_;  ///< sources to announce in the next micro-batch formed
  std::map<const StringDictionary*, Translation> translations_;
  std::vector<Translation*> translate_;
  std::atomic<std::uint64_t> events_{0};
  std::uint64_t seals_ = 0;
  std::chrono::steady_clock::time_point pending_since_{};  ///< valid while rows are pending
  std::shared_ptr<const LookupSnapshot> lookups_;
  std::function<std::shared_ptr<const LookupSnapshot>()> lookup_source_;
};

}  // namespace sluice::detail
