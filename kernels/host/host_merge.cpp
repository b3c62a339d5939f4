// Host fast path of the window state merge: one thread per partition, no atomics, repeated
// groups combined. Agrees with WindowState's lookup()/insert() (the portable merge).

#include <algorithm>

#include "kernels/exec/host_exec.hpp"
#include "kernels/table/window_state.inl"

namespace sluice::detail {

template <>
void WindowState<HostExec>::merge_rows(const GroupRowLists& lists, std::int64_t fired_wm) {
  if (lists.first_pane > lists.last_pane) return;  // no rows
  const int k_words = layout_.key_words;
  const int s_count = layout_.state_words;
  const int width = layout_.width();
  const std::size_t row_words = 3 + static_cast<std::size_t>(k_words + s_count);
  // The panes' entries exist before the partitions are merged in parallel.
  if (lists.last_pane - lists.first_pane < kMaxDirectoryRange) {
    for (std::int64_t p = lists.first_pane; p <= lists.last_pane; ++p) pane_entry(p);
  } else {
    for (int l = 0; l < lists.producers * lists.partitions; ++l)  // distinct panes, spread wide
      for (std::size_t i = 0; i < lists.rows[l]; ++i)
        pane_entry(static_cast<std::int64_t>(lists.data[l][i * row_words + 1]));
  }
  std::size_t added[kMaxStatePartitions] = {};
  const int partitions = partitions_;
  // Lists by partition are merged by their partition's thread; other lists (exchanged parts)
  // are read by every partition's thread, each taking its own rows.
  const bool by_partition = lists.partitions == partitions;
  const bool with_delta = RequestLayout(k_words, panes_, trigger_).delta;
  // The last window that has fired (none before the first watermark).
  const std::int64_t last_fired = panes_.global || fired_wm == kNoWatermark
                                      ? INT64_MIN
                                      : panes_.first_window_ending_after(fired_wm) - 1;
  const auto merge_partition = [&](int q) {
    std::vector<std::uint64_t>& requests = partition_requests_[static_cast<std::size_t>(q)];
    Table* table = nullptr;
    PaneTableRef r;
    std::size_t limit = 0;  // the table's size at which it grows (its rows, or its load)
    const auto limit_of = [](const Table& t) {
      return std::min<std::size_t>(
          t.chunk_rows_total,
          static_cast<std::size_t>(kPaneTableMaxLoad * static_cast<double>(t.capacity)));
    };
    std::int64_t cached = 0;
    bool pane_fired = false;  // some window of the cached pane has fired: rows may re-emit
    for (int producer = 0; producer < lists.producers; ++producer) {
      const std::size_t l = by_partition ? static_cast<std::size_t>(producer) * partitions + q
                                         : static_cast<std::size_t>(producer);
      const std::uint64_t* data = lists.data[l];
      for (std::size_t i = 0; i < lists.rows[l]; ++i) {
        const std::uint64_t* g = data + i * row_words;
        const std::uint64_t key_hash = g[0];
        if (!by_partition && state_partition(key_hash, partitions) != q) continue;
        const auto pane = static_cast<std::int64_t>(g[1]);
        const auto cut = static_cast<std::uint32_t>(g[2]);
        const std::uint64_t* key = g + 3;
        const std::uint64_t* states = g + 3 + k_words;
        if (table == nullptr || pane != cached) {
          table = &table_of(*find_pane(pane), q);
          r = ref(*table);
          limit = limit_of(*table);
          cached = pane;
          pane_fired =
              !panes_.global && fired_wm != kNoWatermark && panes_.first_window(pane) <= last_fired;
        }
        // The index slot of a row a few ahead, in the same pane's table, while this one is
        // merged: tables larger than the caches otherwise stall on every probe.
        constexpr std::size_t kPrefetchAhead = 8;
        if (i + kPrefetchAhead < lists.rows[l]) {
          const std::uint64_t* ahead = data + (i + kPrefetchAhead) * row_words;
          if (static_cast<std::int64_t>(ahead[1]) == pane)
            __builtin_prefetch(
                r.index.slots +
                (entry_hash(ahead[0], static_cast<std::uint32_t>(ahead[2])) & r.index.mask));
        }
        if (table->size >= limit) {  // one more entry would not fit
          grow(*table, std::max<std::size_t>(table->size, 64));
          r = ref(*table);
          limit = limit_of(*table);
        }
        const ClaimResult found = r.index.find_or_insert_local(
            entry_hash(key_hash, cut), table->size, [&](std::uint32_t id) {
              const std::uint64_t* e = r.row(id, width);
              for (int j = 0; j < k_words; ++j)
                if (e[j] != key[j]) return false;
              return !layout_.has_cut || e[layout_.cut_word()] == cut;
            });
        std::uint64_t* e = r.row(found.payload, width);
        std::uint64_t before = 0;  // the trigger's state before this row
        if (found.claimed) {
          for (int j = 0; j < k_words; ++j) e[j] = key[j];
          if (layout_.has_cut) e[layout_.cut_word()] = cut;
          for (int s = 0; s < s_count; ++s) e[layout_.state_word(s)] = states[s];
          ++table->size;
          ++r.size;
          ++added[q];
        } else {
          if (trigger_.active()) before = e[layout_.state_word(trigger_.state)];
          combine_states(
              spec_, [&](int s) -> std::uint64_t& { return e[layout_.state_word(s)]; },
              [&](int s) { return states[s]; });
        }
        const TriggerAsk ask = trigger_.active()
                                   ? trigger_ask(panes_, trigger_, states[trigger_.state], before)
                                   : TriggerAsk{};
        if (!pane_fired && !ask.open) continue;
        for_each_request(panes_, pane, cut, fired_wm, ask, [&](std::int64_t k, std::uint64_t d) {
          requests.push_back(static_cast<std::uint64_t>(k));
          if (with_delta) requests.push_back(d);
          requests.insert(requests.end(), key, key + k_words);
        });
      }
    }
  };
  exec_->for_each_block(static_cast<std::size_t>(partitions),
                        [&](std::size_t q) { merge_partition(static_cast<int>(q)); });
  for (int q = 0; q < partitions; ++q) {
    entries_ += added[q];
    std::vector<std::uint64_t>& requests = partition_requests_[static_cast<std::size_t>(q)];
    host_requests_.insert(host_requests_.end(), requests.begin(), requests.end());
    requests.clear();
  }
}

}  // namespace sluice::detail
