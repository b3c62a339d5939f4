// Decoding of fired windows, stateless outputs and late events into API values.
#include "host/result_decoder.hpp"

#include <algorithm>
#include <cstring>

#include "kernels/ops/key_word.hpp"

namespace sluice::detail {
namespace {

Value key_value(std::uint64_t word, Sem sem, const StringDictionary& dictionary) {
  switch (sem) {
    case Sem::integer:
      return static_cast<std::int64_t>(word);
    case Sem::unsigned_integer:
      return word;
    case Sem::floating:
      return bits_double(word);
    case Sem::boolean:
      return word != 0;
    case Sem::string:
      return std::string(dictionary.at(static_cast<std::uint32_t>(word)));
  }
  return {};
}

Value state_value(std::uint64_t word, bool integral) {
  if (integral) return static_cast<std::int64_t>(word);
  return bits_double(word);
}

}  // namespace

void decode_windows(const CompiledQuery& query, const FiredHost& fired,
                    const StringDictionary& dictionary, std::vector<WindowResult>& out) {
  const PaneSpec& panes = query.plan.panes;
  const std::size_t n = fired.size;
  for (std::size_t i = 0; i < n; ++i) {
    WindowResult r;
    r.window_start = panes.window_start(fired.window[i]);
    r.window_end = panes.window_end(fired.window[i]);
    r.update = fired.update[i] != 0;
    for (std::size_t k = 0; k < query.key_sems.size(); ++k)
      r.keys.push_back(key_value(fired.keys[k * n + i], query.key_sems[k], dictionary));
    for (const AggregateOutput& a : query.aggregates) {
      const std::uint64_t s = fired.states[static_cast<std::size_t>(a.state) * n + i];
      if (a.kind == AggKind::avg) {
        const auto count = static_cast<std::int64_t>(
            fired.states[static_cast<std::size_t>(a.count_state) * n + i]);
        r.values.emplace_back(bits_double(s) / static_cast<double>(count));
      } else {
        r.values.push_back(state_value(s, a.integral));
      }
    }
    out.push_back(std::move(r));
  }
}

void sort_results(std::vector<WindowResult>& results) {
  std::stable_sort(results.begin(), results.end(),
                   [](const WindowResult& a, const WindowResult& b) {
                     if (a.window_start != b.window_start) return a.window_start < b.window_start;
                     return a.keys < b.keys;
                   });
}

namespace {

/// Writes a program output word into a typed column cell.
void store_word(std::uint64_t word, DataType type, std::byte* cell) {
  switch (type.id) {
    case TypeId::i32: {
      const auto v = static_cast<std::int32_t>(static_cast<std::int64_t>(word));
      std::memcpy(cell, &v, 4);
      return;
    }
    case TypeId::u32:
    case TypeId::string: {
      const auto v = static_cast<std::uint32_t>(word);
      std::memcpy(cell, &v, 4);
      return;
    }
    case TypeId::f32: {
      const auto v = static_cast<float>(bits_double(word));
      std::memcpy(cell, &v, 4);
      return;
    }
    case TypeId::boolean: {
      const auto v = static_cast<std::uint8_t>(word != 0);
      std::memcpy(cell, &v, 1);
      return;
    }
    default:
      std::memcpy(cell, &word, 8);
      return;
  }
}

struct OwnedColumns {
  std::vector<std::vector<std::byte>> data;
};

Batch make_batch(Schema schema, std::shared_ptr<OwnedColumns> owned, std::size_t rows,
                 const DictionaryPtr& dictionary) {
  std::vector<const void*> pointers;
  std::vector<DictionaryPtr> dictionaries;
  for (std::size_t c = 0; c < schema.size(); ++c) {
    pointers.push_back(owned->data[c].data());
    dictionaries.push_back(schema.field(c).type.id == TypeId::string ? dictionary : nullptr);
  }
  return Batch::wrap(std::move(schema), std::move(pointers), rows, std::move(dictionaries),
                     std::move(owned));
}

}  // namespace

Batch output_batch(const CompiledQuery& query, const std::vector<std::uint64_t>& words,
                   std::size_t rows, const DictionaryPtr& dictionary) {
  std::vector<Field> fields;
  auto owned = std::make_shared<OwnedColumns>();
  for (std::size_t j = 0; j < query.outputs.size(); ++j) {
    const DataType type = query.outputs[j].type;
    fields.push_back({query.outputs[j].name, type});
    const std::size_t width = type_width(type.id);
    std::vector<std::byte> column(rows * width + 1);
    for (std::size_t i = 0; i < rows; ++i)
      store_word(words[j * rows + i], type, &column[i * width]);
    owned->data.push_back(std::move(column));
  }
  return make_batch(Schema(std::move(fields)), std::move(owned), rows, dictionary);
}

Batch gather_rows(const Schema& read_schema, const HostBatch& batch,
                  const std::vector<std::uint32_t>& rows, const DictionaryPtr& dictionary) {
  auto owned = std::make_shared<OwnedColumns>();
  for (std::size_t c = 0; c < read_schema.size(); ++c) {
    const std::size_t width = batch.widths[c];
    std::vector<std::byte> column(rows.size() * width + 1);
    for (std::size_t i = 0; i < rows.size(); ++i)
      std::memcpy(&column[i * width], batch.columns[c].get() + rows[i] * width, width);
    owned->data.push_back(std::move(column));
  }
  return make_batch(read_schema, std::move(owned), rows.size(), dictionary);
}

}  // namespace sluice::detail
