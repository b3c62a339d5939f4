// BroadcastState: the rows of a job's broadcast inputs and the immutable lookup snapshots that
// batches carry to the workers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "host/engine/snapshot_words.hpp"
#include "kernels/table/lookup_table.hpp"
#include "sluice/batch.hpp"
#include "sluice/dictionary.hpp"
#include "sluice/query.hpp"

namespace sluice::detail {

/// @brief The lookup tables of every broadcast input as they stood at one update: the tables'
/// storage and their views (host memory). Immutable once made; shared by the batches sealed
/// while it is current.
struct LookupSnapshot {
  std::uint64_t version = 0;  ///< 1 for the first update, then one more per update
  LookupTables tables;
  struct Storage {
    std::vector<std::uint64_t> slots, keys, values;
    std::vector<std::uint32_t> direct;
  };
  Storage storage[kMaxLookupTables];
};

/// @brief The current rows of a query's broadcast inputs. A pushed row replaces the earlier row
/// of its key; string values (and keys) become codes of the job's dictionary, so programs
/// compare them with the events' codes. After the broadcast inputs' tables come those of the
/// query's LIKE patterns: the codes of the dictionary's strings that match each, kept up to
/// date by refresh() as the dictionary grows (each string is matched once). Not thread-safe:
/// the job calls it under its ingest lock.
class BroadcastState {
 public:
  BroadcastState(std::vector<BroadcastSpec> specs, std::vector<std::string> patterns,
                 DictionaryPtr dictionary);

  /// @brief Applies the rows of `batch` to broadcast `name` and makes a new snapshot.
  /// @throws Error(invalid_argument) for an unknown name or a batch of another schema.
  void apply(std::string_view name, const Batch& batch);

  /// @brief The snapshot batches sealed from now on carry; null before the first update.
  const std::shared_ptr<const LookupSnapshot>& snapshot() const noexcept { return snapshot_; }

  /// @brief Matches the strings the dictionary gained since the last call against the LIKE
  /// patterns and, when any matched (or no snapshot exists yet), publishes a snapshot with
  /// them: then every code of the dictionary is in the tables it should be (a code in none
  /// reads as no match). Nothing without patterns. A publish copies every table: a pattern
  /// that keeps a growing stream of new strings costs the size of its table per seal that
  /// brings new matches, until a reclaim.
  void refresh();
  bool has_patterns() const noexcept { return !patterns_.empty(); }

  /// @brief Adds the string codes the broadcast rows hold (keys and values) to `codes` (the
  /// patterns' tables follow the dictionary: they hold none alive).
  void list_codes(std::vector<std::uint32_t>& codes) const;
  /// @brief Codes strings of later rows with `dictionary`, which holds every code list_codes()
  /// gave under the same code (the job reclaimed strings); the patterns' tables are made anew
  /// from it (a code it freed may name another string later).
  void set_dictionary(DictionaryPtr dictionary);

  /// @brief Writes every table's rows and the update count (a checkpoint); restore() loads
  /// them into the state of the same broadcast inputs, replacing its rows, and publishes the
  /// snapshot in effect under its version.
  void save(WordWriter& out) const;
  void restore(WordReader& in);
  /// @brief Writes an earlier snapshot (one that batches not yet processed carry);
  /// restore_snapshot() makes it again, under its version, after restore().
  static void save_snapshot(WordWriter& out, const LookupSnapshot& snapshot);
  std::shared_ptr<const LookupSnapshot> restore_snapshot(WordReader& in) const;

  /// @brief Rows of broadcast `table` (test and metrics use).
  std::size_t rows(int table) const {
    return tables_.at(static_cast<std::size_t>(table)).keys.size();
  }

 private:
  struct Table {
    std::unordered_map<std::uint64_t, std::uint32_t> row_of;
    std::vector<std::uint64_t> keys;
    std::vector<std::uint64_t> values;  ///< row-major, schema order
  };
  std::uint64_t word_of(const Batch& batch, std::size_t row, std::size_t column);
  /// Value columns of table t (a pattern's table has none).
  std::size_t columns(std::size_t t) const {
    return t < specs_.size() ? specs_[t].schema.size() : 0;
  }
  /// Matches every string of the dictionary against the patterns, replacing their tables.
  void rescan_patterns();
  /// Adds `code` to the tables of the patterns its string matches: whether it was new to any.
  bool match(std::uint32_t code);
  /// Makes the tables' rows the snapshot batches carry from now on, as update `version`.
  void publish(std::uint64_t version);
  /// A snapshot of tables with these rows (one vector per table).
  std::shared_ptr<const LookupSnapshot> make_snapshot(
      std::uint64_t version, std::vector<std::vector<std::uint64_t>> keys,
      std::vector<std::vector<std::uint64_t>> values) const;

  std::vector<BroadcastSpec> specs_;
  std::vector<std::string> patterns_;  // table specs_.size() + i: the codes matching patterns_[i]
  std::size_t covered_ = 0;            // dictionary_->codes_given() matched so far
  DictionaryPtr dictionary_;
  std::vector<Table> tables_;
  std::shared_ptr<const LookupSnapshot> snapshot_;
  std::uint64_t version_ = 0;
};

}  // namespace sluice::detail
