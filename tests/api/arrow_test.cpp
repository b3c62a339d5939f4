// Tests of the Arrow C data interface: import_arrow (in place, conversions, nulls, errors),
// export_arrow (every type, ownership) and Job::push_arrow, against a small test-side Arrow
// producer (record batches owning their buffers) and consumer (reading exported arrays back).
#include "sluice/arrow.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "expect_error.hpp"
#include "sluice/sluice.hpp"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using test::contains;
using test::error_message;

// ---------------------------------------------------------------------------------------------
// The producer: a record batch is a "+s" struct whose children are the columns.

/// @brief One array to produce (a column, a dictionary, or the record batch's struct): what
/// becomes its ArrowSchema and its ArrowArray.
struct ArrowNode {
  std::string format;
  std::string name;
  std::int64_t length = 0;
  std::int64_t offset = 0;
  std::int64_t null_count = 0;
  /// The buffers, validity first; an absent one is handed out as a null pointer.
  std::vector<std::optional<std::vector<std::byte>>> buffers;
  std::vector<ArrowNode> children;
  std::shared_ptr<const ArrowNode> dictionary;
};

/// @brief What a produced ArrowArray owns (its private_data): buffers, children, dictionary.
struct ProducedArray {
  std::vector<std::vector<std::byte>> storage;
  std::vector<const void*> buffers;
  std::vector<std::unique_ptr<ArrowArray>> children;
  std::vector<ArrowArray*> child_pointers;
  std::unique_ptr<ArrowArray> dictionary;
  /// Counts the releases of the record batch's struct (unset on its children).
  std::shared_ptr<std::atomic<int>> releases;
};

/// @brief Releases a produced array: its children and dictionary first (those a consumer did
/// not move out), as the C data interface asks of a parent.
void release_produced_array(ArrowArray* array) {
  auto* owned = static_cast<ProducedArray*>(array->private_data);
  for (const auto& child : owned->children)
    if (child->release != nullptr) child->release(child.get());
  if (owned->dictionary != nullptr && owned->dictionary->release != nullptr)
    owned->dictionary->release(owned->dictionary.get());
  if (owned->releases != nullptr) owned->releases->fetch_add(1);
  delete owned;
  array->private_data = nullptr;
  array->release = nullptr;
}

/// @brief Fills `out` with `node`'s array, its buffers owned by a heap ProducedArray.
void produce_array(const ArrowNode& node, ArrowArray* out,
                   std::shared_ptr<std::atomic<int>> releases) {
  auto owned = std::make_unique<ProducedArray>();
  owned->releases = std::move(releases);
  owned->storage.reserve(node.buffers.size());
  for (const auto& buffer : node.buffers) {
    if (!buffer.has_value()) {
      owned->buffers.push_back(nullptr);
      continue;
    }
    // One byte of padding: a buffer that is present is never a null pointer, even when empty.
    std::vector<std::byte>& stored = owned->storage.emplace_back(*buffer);
    stored.push_back(std::byte{0});
    owned->buffers.push_back(stored.data());
  }
  for (const ArrowNode& child : node.children) {
    owned->children.push_back(std::make_unique<ArrowArray>());
    produce_array(child, owned->children.back().get(), nullptr);
    owned->child_pointers.push_back(owned->children.back().get());
  }
  if (node.dictionary != nullptr) {
    owned->dictionary = std::make_unique<ArrowArray>();
    produce_array(*node.dictionary, owned->dictionary.get(), nullptr);
  }
  out->length = node.length;
  out->null_count = node.null_count;
  out->offset = node.offset;
  out->n_buffers = static_cast<std::int64_t>(owned->buffers.size());
  out->n_children = static_cast<std::int64_t>(owned->children.size());
  out->buffers = owned->buffers.empty() ? nullptr : owned->buffers.data();
  out->children = owned->child_pointers.empty() ? nullptr : owned->child_pointers.data();
  out->dictionary = owned->dictionary.get();
  out->release = release_produced_array;
  out->private_data = owned.release();
}

/// @brief What a produced ArrowSchema owns (its private_data).
struct ProducedSchema {
  std::string format;
  std::string name;
  std::vector<std::unique_ptr<ArrowSchema>> children;
  std::vector<ArrowSchema*> child_pointers;
  std::unique_ptr<ArrowSchema> dictionary;
  std::shared_ptr<std::atomic<int>> releases;  ///< of the top-level schema only
};

void release_produced_schema(ArrowSchema* schema) {
  auto* owned = static_cast<ProducedSchema*>(schema->private_data);
  for (const auto& child : owned->children)
    if (child->release != nullptr) child->release(child.get());
  if (owned->dictionary != nullptr && owned->dictionary->release != nullptr)
    owned->dictionary->release(owned->dictionary.get());
  if (owned->releases != nullptr) owned->releases->fetch_add(1);
  delete owned;
  schema->private_data = nullptr;
  schema->release = nullptr;
}

/// @brief Fills `out` with `node`'s type (format, name, children, dictionary).
void produce_schema(const ArrowNode& node, ArrowSchema* out,
                    std::shared_ptr<std::atomic<int>> releases) {
  auto owned = std::make_unique<ProducedSchema>();
  owned->format = node.format;
  owned->name = node.name;
  owned->releases = std::move(releases);
  for (const ArrowNode& child : node.children) {
    owned->children.push_back(std::make_unique<ArrowSchema>());
    produce_schema(child, owned->children.back().get(), nullptr);
    owned->child_pointers.push_back(owned->children.back().get());
  }
  if (node.dictionary != nullptr) {
    owned->dictionary = std::make_unique<ArrowSchema>();
    produce_schema(*node.dictionary, owned->dictionary.get(), nullptr);
  }
  out->format = owned->format.c_str();
  out->name = owned->name.c_str();
  out->metadata = nullptr;
  out->flags = ARROW_FLAG_NULLABLE;
  out->n_children = static_cast<std::int64_t>(owned->children.size());
  out->children = owned->child_pointers.empty() ? nullptr : owned->child_pointers.data();
  out->dictionary = owned->dictionary.get();
  out->release = release_produced_schema;
  out->private_data = owned.release();
}

/// @brief A record batch from the producer. A successful import moves `array` (its release
/// becomes null); `schema` stays the test's. What is still the test's is released on
/// destruction; the counters outlive this (a Batch holding the array may outlive it).
class ProducedBatch {
 public:
  explicit ProducedBatch(const ArrowNode& record_batch) {
    produce_array(record_batch, &array, array_releases_);
    produce_schema(record_batch, &schema, schema_releases_);
  }
  ProducedBatch(const ProducedBatch&) = delete;
  ProducedBatch& operator=(const ProducedBatch&) = delete;
  ~ProducedBatch() {
    release_array();
    if (schema.release != nullptr) schema.release(&schema);
  }

  /// Releases the array if it is still the test's.
  void release_array() {
    if (array.release != nullptr) array.release(&array);
  }
  /// How many times the array's top-level release ran, whoever called it.
  int array_releases() const { return array_releases_->load(); }
  int schema_releases() const { return schema_releases_->load(); }
  /// The values buffer (buffers[1]) of child `k`, as the producer handed it out.
  const std::byte* child_values(std::size_t k) const {
    return static_cast<const std::byte*>(array.children[k]->buffers[1]);
  }

  ArrowArray array{};
  ArrowSchema schema{};

 private:
  std::shared_ptr<std::atomic<int>> array_releases_ = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> schema_releases_ = std::make_shared<std::atomic<int>>(0);
};

/// @brief Where a column's rows lie in its buffers: `rows` rows after `child_offset` (the
/// child's own offset) plus `struct_offset` (the record batch's, which applies to every child)
/// values that are not read.
struct Layout {
  std::size_t rows = 0;
  std::int64_t child_offset = 0;
  std::int64_t struct_offset = 0;
  /// The values before the first row read, in a child's buffers.
  std::size_t skipped() const { return static_cast<std::size_t>(child_offset + struct_offset); }
  std::string describe() const {
    return std::to_string(rows) + " rows, child offset " + std::to_string(child_offset) +
           ", struct offset " + std::to_string(struct_offset);
  }
};

/// @brief The layouts the import tests run on: sizes 0, 1, 7 and 1000, with and without offsets.
const std::vector<Layout>& import_layouts() {
  static const std::vector<Layout> layouts = {{0, 0, 0}, {0, 2, 3},    {1, 0, 0},
                                              {1, 1, 0}, {7, 0, 0},    {7, 3, 0},
                                              {7, 0, 5}, {1000, 0, 0}, {1000, 13, 6}};
  return layouts;
}

template <class T>
std::vector<std::byte> bytes_of(const std::vector<T>& values) {
  std::vector<std::byte> bytes(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

std::vector<std::byte> bytes_of_text(const std::string& text) {
  std::vector<std::byte> bytes(text.size());
  if (!text.empty()) std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

/// @brief An Arrow bitmap: bit i (least significant first) is `bits[i]`.
std::vector<std::byte> pack_bits(const std::vector<bool>& bits) {
  std::vector<std::byte> bytes((bits.size() + 7) / 8, std::byte{0});
  for (std::size_t i = 0; i < bits.size(); ++i)
    if (bits[i]) bytes[i / 8] |= static_cast<std::byte>(1u << (i % 8));
  return bytes;
}

ArrowNode column_node(std::string name, std::string format, std::size_t rows,
                      const Layout& layout) {
  ArrowNode node;
  node.name = std::move(name);
  node.format = std::move(format);
  node.length = layout.struct_offset + static_cast<std::int64_t>(rows);
  node.offset = layout.child_offset;
  return node;
}

/// @brief A fixed-width column of `format` whose rows (laid out as `layout`) are `rows`; the
/// values before them are `skipped_value`.
template <class T>
ArrowNode fixed_width_column(std::string name, std::string format, const std::vector<T>& rows,
                             const Layout& layout, T skipped_value = T{}) {
  std::vector<T> values(layout.skipped(), skipped_value);
  values.insert(values.end(), rows.begin(), rows.end());
  ArrowNode node = column_node(std::move(name), std::move(format), rows.size(), layout);
  node.buffers = {std::nullopt, bytes_of(values)};
  return node;
}

/// @brief A boolean ("b") column: values as bits.
ArrowNode bool_column(std::string name, const std::vector<bool>& rows, const Layout& layout,
                      bool skipped_value) {
  std::vector<bool> bits(layout.skipped(), skipped_value);
  bits.insert(bits.end(), rows.begin(), rows.end());
  ArrowNode node = column_node(std::move(name), "b", rows.size(), layout);
  node.buffers = {std::nullopt, pack_bits(bits)};
  return node;
}

/// @brief A utf8 ("u", 32-bit offsets) or large utf8 ("U", 64-bit offsets) column.
ArrowNode utf8_column(std::string name, const std::vector<std::string>& rows, const Layout& layout,
                      bool large, const std::string& skipped_value = "skipped-value") {
  std::string chars;
  std::vector<std::int64_t> offsets{0};
  for (std::size_t i = 0; i < layout.skipped(); ++i) {
    chars += skipped_value;
    offsets.push_back(static_cast<std::int64_t>(chars.size()));
  }
  for (const std::string& s : rows) {
    chars += s;
    offsets.push_back(static_cast<std::int64_t>(chars.size()));
  }
  ArrowNode node = column_node(std::move(name), large ? "U" : "u", rows.size(), layout);
  node.buffers = {std::nullopt,
                  large ? bytes_of(offsets)
                        : bytes_of(std::vector<std::int32_t>(offsets.begin(), offsets.end())),
                  bytes_of_text(chars)};
  return node;
}

/// @brief A dictionary-encoded utf8 column: indices of type `Index` (`index_format`) into
/// `entries`, which follow `entries_offset` other strings in the dictionary's array (its own
/// offset skips them).
template <class Index>
ArrowNode dictionary_column(std::string name, std::string index_format,
                            const std::vector<Index>& indices, const Layout& layout,
                            const std::vector<std::string>& entries, std::int64_t entries_offset,
                            Index skipped_index) {
  ArrowNode node = fixed_width_column<Index>(std::move(name), std::move(index_format), indices,
                                             layout, skipped_index);
  const Layout entries_layout{entries.size(), entries_offset, 0};
  node.dictionary = std::make_shared<ArrowNode>(
      utf8_column("", entries, entries_layout, false, "before-the-entries"));
  return node;
}

/// @brief Gives `node` a validity bitmap: its first `skipped_bits` bits null, then `valid`;
/// null_count counts the nulls in the node's [offset, offset + length).
void set_validity(ArrowNode& node, const std::vector<bool>& valid, std::size_t skipped_bits) {
  std::vector<bool> bits(skipped_bits, false);
  bits.insert(bits.end(), valid.begin(), valid.end());
  node.buffers.at(0) = pack_bits(bits);
  node.null_count = 0;
  for (std::int64_t i = node.offset; i < node.offset + node.length; ++i)
    if (!bits.at(static_cast<std::size_t>(i))) ++node.null_count;
}

/// @brief Row r of a column laid out as `layout` is valid as `valid[r]`.
void set_column_validity(ArrowNode& column, const std::vector<bool>& valid, const Layout& layout) {
  set_validity(column, valid, layout.skipped());
}

/// @brief The record batch (a "+s" struct) of `columns`, its rows laid out as `layout`.
ArrowNode record_batch(std::vector<ArrowNode> columns, const Layout& layout) {
  ArrowNode node;
  node.format = "+s";
  node.length = static_cast<std::int64_t>(layout.rows);
  node.offset = layout.struct_offset;
  node.buffers = {std::nullopt};
  node.children = std::move(columns);
  return node;
}

// ---------------------------------------------------------------------------------------------
// Random data and references.

template <class T>
std::vector<T> random_integers(std::size_t n, std::mt19937_64& rng,
                               T low = std::numeric_limits<T>::min(),
                               T high = std::numeric_limits<T>::max()) {
  using Wide = std::conditional_t<std::is_signed_v<T>, std::int64_t, std::uint64_t>;
  std::uniform_int_distribution<Wide> pick(static_cast<Wide>(low), static_cast<Wide>(high));
  std::vector<T> values(n);
  for (T& v : values) v = static_cast<T>(pick(rng));
  return values;
}

template <class T>
std::vector<T> random_reals(std::size_t n, std::mt19937_64& rng, double low, double high) {
  std::uniform_real_distribution<double> pick(low, high);
  std::vector<T> values(n);
  for (T& v : values) v = static_cast<T>(pick(rng));
  return values;
}

/// @brief `n` random bits, each true with probability `p_true`.
std::vector<bool> random_bits(std::size_t n, std::mt19937_64& rng, double p_true) {
  std::bernoulli_distribution pick(p_true);
  std::vector<bool> bits(n);
  for (std::size_t i = 0; i < n; ++i) bits[i] = pick(rng);
  return bits;
}

/// @brief Strings for string columns: empty, short, multi-byte UTF-8 and longer ones.
const std::vector<std::string>& string_pool() {
  static const std::vector<std::string> pool = {"",
                                                "a",
                                                "web-1",
                                                "web-2",
                                                "db-primary",
                                                "zürich",
                                                "東京",
                                                "cache",
                                                "web-1 ",
                                                "WEB-1",
                                                "queue-worker-long-name",
                                                "x y z",
                                                "edge",
                                                "frankfurt",
                                                "ünïcödé"};
  return pool;
}

std::vector<std::string> random_strings(std::size_t n, std::mt19937_64& rng) {
  std::uniform_int_distribution<std::size_t> pick(0, string_pool().size() - 1);
  std::vector<std::string> strings(n);
  for (std::string& s : strings) s = string_pool()[pick(rng)];
  return strings;
}

/// @brief v / d rounded toward negative infinity (d > 0).
std::int64_t floor_divide(std::int64_t v, std::int64_t d) {
  const std::int64_t quotient = v / d;
  return (v < 0 && quotient * d != v) ? quotient - 1 : quotient;
}

/// @brief Expects column `column` of `batch`, read as T, to equal `expected` cast to T.
template <class T, class R>
void expect_column(const Batch& batch, std::size_t column, const std::vector<R>& expected) {
  const std::string& name = batch.schema().field(column).name;
  const auto values = batch.values<T>(column);
  ASSERT_EQ(values.size(), expected.size()) << "column " << name;
  for (std::size_t r = 0; r < expected.size(); ++r) {
    if (values[r] != static_cast<T>(expected[r])) {
      ADD_FAILURE() << "column " << name << " row " << r << ": " << +values[r] << " instead of "
                    << +static_cast<T>(expected[r]);
      return;
    }
  }
}

/// @brief Expects string column `column` of `batch` to hold `expected`.
void expect_strings(const Batch& batch, std::size_t column,
                    const std::vector<std::string>& expected) {
  ASSERT_EQ(batch.rows(), expected.size());
  for (std::size_t r = 0; r < expected.size(); ++r) {
    if (batch.at(r, column) != Value(expected[r])) {
      ADD_FAILURE() << "column " << batch.schema().field(column).name << " row " << r << ": '"
                    << to_string(batch.at(r, column)) << "' instead of '" << expected[r] << "'";
      return;
    }
  }
}

template <class T>
std::vector<T> kept(const std::vector<T>& rows, const std::vector<bool>& keep) {
  std::vector<T> out;
  for (std::size_t r = 0; r < rows.size(); ++r)
    if (keep[r]) out.push_back(rows[r]);
  return out;
}

/// @brief `dictionaries` for `target`: a fresh one per string column, none for the others.
std::vector<DictionaryPtr> fresh_dictionaries(const Schema& target) {
  std::vector<DictionaryPtr> dictionaries(target.size());
  for (std::size_t c = 0; c < target.size(); ++c)
    if (target.field(c).type.id == TypeId::string)
      dictionaries[c] = std::make_shared<StringDictionary>();
  return dictionaries;
}

// ---------------------------------------------------------------------------------------------
// The consumer: reads exported record batches back.

template <class T>
T load(const void* buffer, std::int64_t i) {
  T v;
  std::memcpy(&v, static_cast<const std::byte*>(buffer) + i * static_cast<std::int64_t>(sizeof(T)),
              sizeof(T));
  return v;
}

bool load_bit(const void* bits, std::int64_t i) {
  return ((static_cast<const std::uint8_t*>(bits)[i / 8] >> (i % 8)) & 1) != 0;
}

/// @brief An exported column as Values (what Batch::at gives for the column's type), read by its
/// format, its offset applied.
std::vector<Value> read_exported_column(const ArrowArray& a, const ArrowSchema& s) {
  const std::string format = s.format;
  std::vector<Value> values;
  for (std::int64_t r = 0; r < a.length; ++r) {
    const std::int64_t i = a.offset + r;
    if (format == "i") {
      values.emplace_back(std::int64_t{load<std::int32_t>(a.buffers[1], i)});
    } else if (format == "l" || format.starts_with("ts")) {
      values.emplace_back(load<std::int64_t>(a.buffers[1], i));
    } else if (format == "I") {
      values.emplace_back(std::uint64_t{load<std::uint32_t>(a.buffers[1], i)});
    } else if (format == "L") {
      values.emplace_back(load<std::uint64_t>(a.buffers[1], i));
    } else if (format == "f") {
      values.emplace_back(double{load<float>(a.buffers[1], i)});
    } else if (format == "g") {
      values.emplace_back(load<double>(a.buffers[1], i));
    } else if (format == "b") {
      values.emplace_back(load_bit(a.buffers[1], i));
    } else if (format == "u" || format == "U") {
      const bool large = format == "U";
      const std::int64_t begin = large ? load<std::int64_t>(a.buffers[1], i)
                                       : std::int64_t{load<std::int32_t>(a.buffers[1], i)};
      const std::int64_t end = large ? load<std::int64_t>(a.buffers[1], i + 1)
                                     : std::int64_t{load<std::int32_t>(a.buffers[1], i + 1)};
      if (begin < 0 || end < begin) {
        ADD_FAILURE() << "column " << s.name << ": bad offsets " << begin << ", " << end;
        return values;
      }
      values.emplace_back(std::string(static_cast<const char*>(a.buffers[2]) + begin,
                                      static_cast<std::size_t>(end - begin)));
    } else {
      ADD_FAILURE() << "column " << s.name << ": unexpected format '" << format << "'";
      return values;
    }
  }
  return values;
}

/// @brief A record batch from export_arrow, released on destruction unless released already;
/// moving it moves the structs (as the C data interface allows) and marks the source released.
struct ExportedBatch {
  ArrowArray array{};
  ArrowSchema schema{};
  ExportedBatch() = default;
  ExportedBatch(ExportedBatch&& from) noexcept : array(from.array), schema(from.schema) {
    from.array.release = nullptr;
    from.schema.release = nullptr;
  }
  ExportedBatch& operator=(ExportedBatch&&) = delete;
  ~ExportedBatch() {
    if (array.release != nullptr) array.release(&array);
    if (schema.release != nullptr) schema.release(&schema);
  }
};

/// @brief Checks that `exported` is a record batch of `rows` rows without nulls whose children
/// are named `names` and typed `formats`, and returns its columns as Values.
std::vector<std::vector<Value>> read_exported(const ExportedBatch& exported,
                                              const std::vector<std::string>& names,
                                              const std::vector<std::string>& formats,
                                              std::size_t rows) {
  const ArrowSchema& s = exported.schema;
  const ArrowArray& a = exported.array;
  std::vector<std::vector<Value>> columns;
  EXPECT_NE(s.release, nullptr);
  EXPECT_NE(a.release, nullptr);
  EXPECT_STREQ(s.format, "+s");
  EXPECT_EQ(s.dictionary, nullptr);
  EXPECT_EQ(a.dictionary, nullptr);
  EXPECT_EQ(a.length, static_cast<std::int64_t>(rows));
  EXPECT_EQ(a.offset, 0);
  EXPECT_EQ(a.null_count, 0);
  EXPECT_EQ(a.n_buffers, 1);  // a struct's only buffer: its validity
  if (s.n_children != static_cast<std::int64_t>(names.size()) || a.n_children != s.n_children) {
    ADD_FAILURE() << "children: schema " << s.n_children << ", array " << a.n_children
                  << ", expected " << names.size();
    return columns;
  }
  for (std::size_t c = 0; c < names.size(); ++c) {
    const ArrowSchema& cs = *s.children[c];
    const ArrowArray& ca = *a.children[c];
    EXPECT_EQ(std::string(cs.name), names[c]);
    EXPECT_EQ(std::string(cs.format), formats[c]) << "column " << names[c];
    EXPECT_EQ(cs.n_children, 0);
    EXPECT_EQ(cs.dictionary, nullptr);
    EXPECT_NE(cs.release, nullptr);
    EXPECT_NE(ca.release, nullptr);
    EXPECT_EQ(ca.length, static_cast<std::int64_t>(rows)) << "column " << names[c];
    EXPECT_EQ(ca.null_count, 0) << "column " << names[c];
    EXPECT_EQ(ca.n_children, 0);
    const bool is_string = formats[c] == "u" || formats[c] == "U";
    EXPECT_EQ(ca.n_buffers, is_string ? 3 : 2) << "column " << names[c];
    if (ca.n_buffers != (is_string ? 3 : 2) || std::string(cs.format) != formats[c]) {
      columns.emplace_back();
      continue;
    }
    columns.push_back(read_exported_column(ca, cs));
  }
  return columns;
}

// ---------------------------------------------------------------------------------------------
// Import: in place.

TEST(ArrowImport, ReadsMatchingTypesInPlace) {
  const Schema target = parse_schema(
      "i32:i32,i64:i64,u32:u32,u64:u64,f32:f32,f64:f64,ts_ms:timestamp[ms],"
      "ts_from_int:timestamp[ms],ts_us:timestamp[us]");
  std::mt19937_64 rng(11);
  for (const Layout& layout : import_layouts()) {
    SCOPED_TRACE(layout.describe());
    const std::size_t n = layout.rows;
    const auto i32 = random_integers<std::int32_t>(n, rng);
    const auto i64 = random_integers<std::int64_t>(n, rng);
    const auto u32 = random_integers<std::uint32_t>(n, rng);
    const auto u64 = random_integers<std::uint64_t>(n, rng);
    const auto f32 = random_reals<float>(n, rng, -1e6, 1e6);
    const auto f64 = random_reals<double>(n, rng, -1e12, 1e12);
    const auto ts_ms = random_integers<std::int64_t>(n, rng, -4'000'000'000'000, 4'000'000'000'000);
    const auto ts_from_int = random_integers<std::int64_t>(n, rng);
    const auto ts_us = random_integers<std::int64_t>(n, rng);
    // The children in another order than the target's, after one the target does not read
    // (float16, which Sluice cannot read at all).
    std::vector<ArrowNode> children;
    children.push_back(fixed_width_column<std::uint16_t>(
        "half", "e", random_integers<std::uint16_t>(n, rng), layout));
    children.push_back(fixed_width_column("ts_us", "tsu:Europe/Paris", ts_us, layout));
    children.push_back(fixed_width_column("ts_from_int", "l", ts_from_int, layout));
    children.push_back(fixed_width_column("ts_ms", "tsm:UTC", ts_ms, layout));
    children.push_back(fixed_width_column("f64", "g", f64, layout));
    children.push_back(fixed_width_column("f32", "f", f32, layout));
    children.push_back(fixed_width_column("u64", "L", u64, layout));
    children.push_back(fixed_width_column("u32", "I", u32, layout));
    children.push_back(fixed_width_column("i64", "l", i64, layout));
    children.push_back(fixed_width_column("i32", "i", i32, layout));
    // Target column c is child kChild[c]; its values are kWidth[c] bytes wide.
    constexpr std::size_t kChild[] = {9, 8, 7, 6, 5, 4, 3, 2, 1};
    constexpr std::int64_t kWidth[] = {4, 8, 4, 8, 4, 8, 8, 8, 8};
    const auto produced =
        std::make_unique<ProducedBatch>(record_batch(std::move(children), layout));

    ArrowImport in = import_arrow(&produced->array, &produced->schema, target, {});
    EXPECT_EQ(produced->array.release, nullptr) << "the array is moved in";
    EXPECT_NE(produced->schema.release, nullptr) << "the schema stays the caller's";
    EXPECT_EQ(produced->schema.n_children, 10);
    EXPECT_EQ(produced->array_releases(), 0);
    EXPECT_EQ(in.rows_with_nulls, 0u);
    ASSERT_EQ(in.batch.rows(), n);
    EXPECT_TRUE(in.batch.schema() == target);
    for (std::size_t c = 0; c < target.size(); ++c) {
      const std::byte* expected = produced->child_values(kChild[c]) +
                                  static_cast<std::int64_t>(layout.skipped()) * kWidth[c];
      EXPECT_EQ(in.batch.column(c).data, static_cast<const void*>(expected))
          << "column " << target.field(c).name << " is not read in place";
    }

    // The Batch and its copies hold the array: released once, after the last of them.
    Batch copy = in.batch;
    Batch slice = in.batch.slice(0, n);
    in.batch = Batch();
    EXPECT_EQ(produced->array_releases(), 0);
    expect_column<std::int32_t>(copy, 0, i32);
    expect_column<std::int64_t>(copy, 1, i64);
    expect_column<std::uint32_t>(copy, 2, u32);
    expect_column<std::uint64_t>(copy, 3, u64);
    expect_column<float>(copy, 4, f32);
    expect_column<double>(copy, 5, f64);
    expect_column<std::int64_t>(copy, 6, ts_ms);
    expect_column<std::int64_t>(copy, 7, ts_from_int);
    expect_column<std::int64_t>(copy, 8, ts_us);
    copy = Batch();
    EXPECT_EQ(produced->array_releases(), 0);
    expect_column<std::int32_t>(slice, 0, i32);
    slice = Batch();
    EXPECT_EQ(produced->array_releases(), 1);
    EXPECT_EQ(produced->schema_releases(), 0);
  }
}

TEST(ArrowImport, ImportedBatchOutlivesTheProducerObject) {
  // The producer's bookkeeping object goes first; the buffers stay valid through the Batch.
  const Layout layout{5, 1, 2};
  const std::vector<std::int64_t> values = {-5, 4, 3000000000000, 0, INT64_MIN};
  std::shared_ptr<std::atomic<int>> releases;
  Batch batch;
  {
    ProducedBatch produced(record_batch({fixed_width_column("v", "l", values, layout)}, layout));
    batch = import_arrow(&produced.array, &produced.schema, parse_schema("v:i64"), {}).batch;
    EXPECT_EQ(produced.array_releases(), 0);
  }
  expect_column<std::int64_t>(batch, 0, values);
}

// ---------------------------------------------------------------------------------------------
// Import: conversions.

TEST(ArrowImport, ConvertsNumbers) {
  const Schema target = parse_schema(
      "c_to_i64:i64,s_to_i32:i32,S_to_u32:u32,C_to_i32:i32,C_to_u32:u32,i_to_i64:i64,"
      "f_to_f64:f64,g_to_f32:f32,l_to_i32:i32,I_to_u64:u64,L_to_i64:i64,g_to_i64:i64,"
      "i_to_f64:f64");
  std::mt19937_64 rng(12);
  for (const Layout& layout : import_layouts()) {
    SCOPED_TRACE(layout.describe());
    const std::size_t n = layout.rows;
    const auto int8s = random_integers<std::int8_t>(n, rng);
    const auto int16s = random_integers<std::int16_t>(n, rng);
    const auto uint16s = random_integers<std::uint16_t>(n, rng);
    const auto uint8s = random_integers<std::uint8_t>(n, rng);
    const auto uint8s_b = random_integers<std::uint8_t>(n, rng);
    const auto int32s = random_integers<std::int32_t>(n, rng);
    const auto floats = random_reals<float>(n, rng, -1e30, 1e30);
    const auto doubles = random_reals<double>(n, rng, -3e38, 3e38);
    const auto int64s_small = random_integers<std::int64_t>(n, rng, INT32_MIN, INT32_MAX);
    const auto uint32s = random_integers<std::uint32_t>(n, rng);
    const auto uint64s_small = random_integers<std::uint64_t>(n, rng, 0, INT64_MAX);
    std::vector<double> integral_doubles;
    for (std::int64_t v : random_integers<std::int64_t>(n, rng, -(1ll << 53), 1ll << 53))
      integral_doubles.push_back(static_cast<double>(v));
    const auto int32s_b = random_integers<std::int32_t>(n, rng);
    // The values the struct and child offsets skip would not convert: reading them would throw.
    std::vector<ArrowNode> children;
    children.push_back(fixed_width_column("c_to_i64", "c", int8s, layout));
    children.push_back(fixed_width_column("s_to_i32", "s", int16s, layout));
    children.push_back(fixed_width_column("S_to_u32", "S", uint16s, layout));
    children.push_back(fixed_width_column("C_to_i32", "C", uint8s, layout));
    children.push_back(fixed_width_column("C_to_u32", "C", uint8s_b, layout));
    children.push_back(fixed_width_column("i_to_i64", "i", int32s, layout));
    children.push_back(fixed_width_column("f_to_f64", "f", floats, layout));
    children.push_back(fixed_width_column("g_to_f32", "g", doubles, layout, 1e300));
    children.push_back(
        fixed_width_column("l_to_i32", "l", int64s_small, layout, std::int64_t{5'000'000'000}));
    children.push_back(fixed_width_column("I_to_u64", "I", uint32s, layout));
    children.push_back(fixed_width_column("L_to_i64", "L", uint64s_small, layout, UINT64_MAX));
    children.push_back(fixed_width_column("g_to_i64", "g", integral_doubles, layout, 0.5));
    children.push_back(fixed_width_column("i_to_f64", "i", int32s_b, layout));
    ProducedBatch produced(record_batch(std::move(children), layout));

    ArrowImport in = import_arrow(&produced.array, &produced.schema, target, {});
    EXPECT_EQ(produced.array.release, nullptr);
    EXPECT_EQ(in.rows_with_nulls, 0u);
    ASSERT_EQ(in.batch.rows(), n);
    expect_column<std::int64_t>(in.batch, 0, int8s);
    expect_column<std::int32_t>(in.batch, 1, int16s);
    expect_column<std::uint32_t>(in.batch, 2, uint16s);
    expect_column<std::int32_t>(in.batch, 3, uint8s);
    expect_column<std::uint32_t>(in.batch, 4, uint8s_b);
    expect_column<std::int64_t>(in.batch, 5, int32s);
    expect_column<double>(in.batch, 6, floats);
    expect_column<float>(in.batch, 7, doubles);
    expect_column<std::int32_t>(in.batch, 8, int64s_small);
    expect_column<std::uint64_t>(in.batch, 9, uint32s);
    expect_column<std::int64_t>(in.batch, 10, uint64s_small);
    expect_column<std::int64_t>(in.batch, 11, integral_doubles);
    expect_column<double>(in.batch, 12, int32s_b);
    // Every column was converted: the array is released at once, the batch owns its copies.
    EXPECT_EQ(produced.array_releases(), 1) << "no column is read in place";
    in.batch = Batch();
    EXPECT_EQ(produced.array_releases(), 1);
  }
}

TEST(ArrowImport, ScalesTimestampsTowardThePast) {
  const Schema target = parse_schema(
      "from_us:timestamp[ms],from_s:timestamp[ms],from_ns:timestamp[ms],ms_to_us:timestamp[us],"
      "ms_as_count:i64,us_to_s:timestamp[s]");
  std::mt19937_64 rng(13);
  for (const Layout& layout : import_layouts()) {
    SCOPED_TRACE(layout.describe());
    const std::size_t n = layout.rows;
    auto us = random_integers<std::int64_t>(n, rng, -4'000'000'000'000'000, 4'000'000'000'000'000);
    const auto s = random_integers<std::int64_t>(n, rng, -9'000'000'000'000, 9'000'000'000'000);
    auto ns = random_integers<std::int64_t>(n, rng);
    const auto ms = random_integers<std::int64_t>(n, rng, -9'000'000'000'000, 9'000'000'000'000);
    // The values next to multiples of the unit, where rounding toward zero would differ.
    const std::int64_t kEdges[] = {-1, -999, -1000, -1001, 1, 999, 1000, 0};
    for (std::size_t i = 0; i < n && i < std::size(kEdges); ++i) us[i] = kEdges[i];
    for (std::size_t i = 0; i < n && i < std::size(kEdges); ++i) ns[i] = kEdges[i] * 1000;
    std::vector<std::int64_t> from_us, from_s, from_ns, ms_to_us, us_to_s;
    for (std::size_t i = 0; i < n; ++i) {
      from_us.push_back(floor_divide(us[i], 1000));
      from_s.push_back(s[i] * 1000);
      from_ns.push_back(floor_divide(ns[i], 1'000'000));
      ms_to_us.push_back(ms[i] * 1000);
      us_to_s.push_back(floor_divide(us[i], 1'000'000));
    }
    std::vector<ArrowNode> children;
    children.push_back(fixed_width_column("from_us", "tsu:", us, layout));
    children.push_back(fixed_width_column("from_s", "tss:America/New_York", s, layout));
    children.push_back(fixed_width_column("from_ns", "tsn:UTC", ns, layout));
    children.push_back(fixed_width_column("ms_to_us", "tsm:", ms, layout));
    children.push_back(fixed_width_column("ms_as_count", "tsm:UTC", ms, layout));
    children.push_back(fixed_width_column("us_to_s", "tsu:UTC", us, layout));
    ProducedBatch produced(record_batch(std::move(children), layout));

    const ArrowImport in = import_arrow(&produced.array, &produced.schema, target, {});
    ASSERT_EQ(in.batch.rows(), n);
    expect_column<std::int64_t>(in.batch, 0, from_us);
    expect_column<std::int64_t>(in.batch, 1, from_s);
    expect_column<std::int64_t>(in.batch, 2, from_ns);
    expect_column<std::int64_t>(in.batch, 3, ms_to_us);
    expect_column<std::int64_t>(in.batch, 4, ms);
    expect_column<std::int64_t>(in.batch, 5, us_to_s);
  }
}

TEST(ArrowImport, NegativeSubMillisecondTimesRoundDown) {
  const Layout layout{8, 0, 0};
  const std::vector<std::int64_t> us = {-1, -999, -1000, -1001, 1, 999, 1000, 1001};
  const std::vector<std::int64_t> ns = {-1, -999'999, -1'000'000, -1'000'001,
                                        1,  999'999,  1'000'000,  2'500'000};
  ProducedBatch produced(record_batch(
      {fixed_width_column("a", "tsu:", us, layout), fixed_width_column("b", "tsn:", ns, layout)},
      layout));
  const ArrowImport in = import_arrow(&produced.array, &produced.schema,
                                      parse_schema("a:timestamp[ms],b:timestamp[ms]"), {});
  expect_column<std::int64_t>(in.batch, 0, std::vector<std::int64_t>{-1, -1, -1, -2, 0, 0, 1, 1});
  expect_column<std::int64_t>(in.batch, 1, std::vector<std::int64_t>{-1, -1, -1, -2, 0, 0, 1, 2});
}

TEST(ArrowImport, UnpacksBooleanBits) {
  const Schema target = parse_schema("flag:bool,other:bool");
  std::mt19937_64 rng(14);
  for (const Layout& layout : import_layouts()) {
    SCOPED_TRACE(layout.describe());
    const auto flags = random_bits(layout.rows, rng, 0.5);
    const auto mostly_false = random_bits(layout.rows, rng, 0.1);
    // The skipped bits are the opposite of the rows' majority: reading them would show.
    ProducedBatch produced(record_batch({bool_column("other", mostly_false, layout, true),
                                         bool_column("flag", flags, layout, true)},
                                        layout));
    const ArrowImport in = import_arrow(&produced.array, &produced.schema, target, {});
    ASSERT_EQ(in.batch.rows(), layout.rows);
    expect_column<std::uint8_t>(in.batch, 0, flags);
    expect_column<std::uint8_t>(in.batch, 1, mostly_false);
  }
}

TEST(ArrowImport, ReadsUtf8AndLargeUtf8) {
  const Schema target = parse_schema("small:string,large:string");
  std::mt19937_64 rng(15);
  for (const Layout& layout : import_layouts()) {
    SCOPED_TRACE(layout.describe());
    const auto small = random_strings(layout.rows, rng);
    const auto large = random_strings(layout.rows, rng);
    ProducedBatch produced(record_batch(
        {utf8_column("large", large, layout, true), utf8_column("small", small, layout, false)},
        layout));
    const auto dictionaries = fresh_dictionaries(target);
    const ArrowImport in = import_arrow(&produced.array, &produced.schema, target, dictionaries);
    ASSERT_EQ(in.batch.rows(), layout.rows);
    expect_strings(in.batch, 0, small);
    expect_strings(in.batch, 1, large);
    EXPECT_EQ(in.batch.dictionary(0), dictionaries[0]);
    EXPECT_EQ(in.batch.dictionary(1), dictionaries[1]);
    // Only the rows read are interned: not the values the offsets skip.
    EXPECT_EQ(dictionaries[0]->size(), std::set<std::string>(small.begin(), small.end()).size());
    EXPECT_EQ(dictionaries[1]->size(), std::set<std::string>(large.begin(), large.end()).size());
    EXPECT_FALSE(dictionaries[0]->find("skipped-value").has_value());
  }
}

TEST(ArrowImport, ReadsDictionaryEncodedStrings) {
  const Schema target = parse_schema("by_int8:string,by_int32:string");
  std::mt19937_64 rng(16);
  const std::vector<std::string> few = {"web-1", "web-2", "", "zürich", "db"};
  std::vector<std::string> many;
  for (int i = 0; i < 40; ++i) many.push_back("host-" + std::to_string(i * 7));
  for (const Layout& layout : import_layouts()) {
    SCOPED_TRACE(layout.describe());
    const auto int8_indices =
        random_integers<std::int8_t>(layout.rows, rng, 0, static_cast<std::int8_t>(few.size() - 1));
    const auto int32_indices = random_integers<std::int32_t>(
        layout.rows, rng, 0, static_cast<std::int32_t>(many.size() - 1));
    std::vector<std::string> expected8, expected32;
    for (std::int8_t i : int8_indices) expected8.push_back(few[static_cast<std::size_t>(i)]);
    for (std::int32_t i : int32_indices) expected32.push_back(many[static_cast<std::size_t>(i)]);
    // Skipped indices are out of the dictionaries' range: reading them would throw.
    ProducedBatch produced(record_batch(
        {dictionary_column<std::int8_t>("by_int8", "c", int8_indices, layout, few, 0, 127),
         dictionary_column<std::int32_t>("by_int32", "i", int32_indices, layout, many, 3, -1)},
        layout));
    auto dictionaries = fresh_dictionaries(target);
    dictionaries[0]->intern("already-there");
    dictionaries[0]->intern("web-2");
    const ArrowImport in = import_arrow(&produced.array, &produced.schema, target, dictionaries);
    EXPECT_EQ(produced.array.release, nullptr);
    ASSERT_EQ(in.batch.rows(), layout.rows);
    expect_strings(in.batch, 0, expected8);
    expect_strings(in.batch, 1, expected32);
    // Every entry is interned, once: "web-2" was there already.
    EXPECT_EQ(dictionaries[0]->size(), few.size() + 1);
    EXPECT_EQ(dictionaries[1]->size(), many.size());
    EXPECT_FALSE(dictionaries[1]->find("before-the-entries").has_value())
        << "the dictionary's own offset is ignored";
    // Equal indices, equal codes.
    const auto codes = in.batch.values<std::uint32_t>(0);
    for (std::size_t r = 0; r < codes.size(); ++r)
      EXPECT_EQ(codes[r], *dictionaries[0]->find(expected8[r]));
  }
}

TEST(ArrowImport, AnIndexOfANullDictionaryEntryIsANull) {
  const Schema target = parse_schema("s:string,n:i64");
  const Layout layout{6, 0, 0};
  ArrowNode strings = dictionary_column<std::int32_t>(
      "s", "i", std::vector<std::int32_t>{0, 1, 2, 1, 0, 2}, layout, {"a", "gone", "c"}, 0, 0);
  // The dictionary's entry 1 is null: the rows naming it are nulls.
  auto entries = std::make_shared<ArrowNode>(*strings.dictionary);
  set_validity(*entries, {true, false, true}, 0);
  strings.dictionary = entries;
  ProducedBatch produced(record_batch(
      {std::move(strings),
       fixed_width_column<std::int64_t>("n", "l", {10, 11, 12, 13, 14, 15}, layout, 0)},
      layout));
  const auto dictionaries = fresh_dictionaries(target);
  const ArrowImport in = import_arrow(&produced.array, &produced.schema, target, dictionaries);
  EXPECT_EQ(in.rows_with_nulls, 2u);
  expect_strings(in.batch, 0, {"a", "c", "a", "c"});
  expect_column<std::int64_t>(in.batch, 1, std::vector<std::int64_t>{10, 12, 14, 15});
  EXPECT_FALSE(dictionaries[0]->find("gone").has_value()) << "a null entry is not interned";
}

TEST(ArrowImport, ReadsNullDataBufferOfEmptyStrings) {
  // A utf8 array whose strings are all empty has a data buffer of 0 bytes, which the C data
  // interface allows to be a null pointer.
  const Layout layout{3, 0, 0};
  ArrowNode strings = utf8_column("s", {"", "", ""}, layout, false);
  strings.buffers[2] = std::nullopt;
  ProducedBatch produced(record_batch({std::move(strings)}, layout));
  const Schema target = parse_schema("s:string");
  const auto dictionaries = fresh_dictionaries(target);
  const ArrowImport in = import_arrow(&produced.array, &produced.schema, target, dictionaries);
  expect_strings(in.batch, 0, {"", "", ""});
  EXPECT_EQ(dictionaries[0]->size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Import: nulls.

TEST(ArrowImport, DropsRowsWithNullsInColumnsRead) {
  const Schema target = parse_schema("n:i64,s:string,x:f32,d:string,flag:bool");
  std::mt19937_64 rng(17);
  const std::vector<std::string> entries = {"red", "green", "blue"};
  for (const Layout& layout : import_layouts()) {
    SCOPED_TRACE(layout.describe());
    const std::size_t n = layout.rows;
    const auto n_valid = random_bits(n, rng, 0.8);
    const auto s_valid = random_bits(n, rng, 0.8);
    const auto d_valid = random_bits(n, rng, 0.9);
    const auto struct_valid = random_bits(n, rng, 0.85);
    std::vector<bool> keep(n);
    for (std::size_t r = 0; r < n; ++r)
      keep[r] = n_valid[r] && s_valid[r] && d_valid[r] && struct_valid[r];
    auto ns = random_integers<std::int64_t>(n, rng);
    auto ss = random_strings(n, rng);
    auto xs = random_reals<double>(n, rng, -1e6, 1e6);
    auto d_indices = random_integers<std::int32_t>(n, rng, 0, 2);
    const auto flags = random_bits(n, rng, 0.5);
    // What a dropped row holds would not convert, or would be seen in the dictionaries.
    for (std::size_t r = 0; r < n; ++r) {
      if (keep[r]) continue;
      ss[r] = "in-a-dropped-row";
      xs[r] = 1e300;
      d_indices[r] = 99;
    }
    std::vector<std::string> expected_d;
    for (std::int32_t i : d_indices) expected_d.push_back(i < 3 ? entries[i] : "");
    ArrowNode n_column = fixed_width_column("n", "l", ns, layout);
    set_column_validity(n_column, n_valid, layout);
    ArrowNode s_column = utf8_column("s", ss, layout, false);
    set_column_validity(s_column, s_valid, layout);
    ArrowNode d_column =
        dictionary_column<std::int32_t>("d", "i", d_indices, layout, entries, 0, 99);
    set_column_validity(d_column, d_valid, layout);
    ArrowNode unread =
        fixed_width_column("unread", "i", random_integers<std::int32_t>(n, rng), layout);
    set_column_validity(unread, random_bits(n, rng, 0.5), layout);
    ArrowNode batch = record_batch(
        {std::move(unread), std::move(s_column), fixed_width_column("x", "g", xs, layout),
         std::move(n_column), bool_column("flag", flags, layout, false), std::move(d_column)},
        layout);
    set_validity(batch, struct_valid, static_cast<std::size_t>(layout.struct_offset));
    ProducedBatch produced(batch);

    const auto dictionaries = fresh_dictionaries(target);
    const ArrowImport in = import_arrow(&produced.array, &produced.schema, target, dictionaries);
    EXPECT_EQ(produced.array.release, nullptr);
    const std::size_t kept_rows = kept(ns, keep).size();
    EXPECT_EQ(in.rows_with_nulls, n - kept_rows);
    ASSERT_EQ(in.batch.rows(), kept_rows);
    expect_column<std::int64_t>(in.batch, 0, kept(ns, keep));
    expect_strings(in.batch, 1, kept(ss, keep));
    expect_column<float>(in.batch, 2, kept(xs, keep));
    expect_strings(in.batch, 3, kept(expected_d, keep));
    expect_column<std::uint8_t>(in.batch, 4, kept(flags, keep));
    EXPECT_FALSE(dictionaries[1]->find("in-a-dropped-row").has_value());
  }
}

TEST(ArrowImport, NullsOnlyInAColumnNotReadDropNothing) {
  const Layout layout{100, 2, 1};
  std::mt19937_64 rng(18);
  const auto values = random_integers<std::int64_t>(layout.rows, rng);
  ArrowNode unread = utf8_column("note", random_strings(layout.rows, rng), layout, false);
  set_column_validity(unread, random_bits(layout.rows, rng, 0.3), layout);
  ProducedBatch produced(
      record_batch({std::move(unread), fixed_width_column("v", "l", values, layout)}, layout));
  ASSERT_GT(produced.array.children[0]->null_count, 0);
  const ArrowImport in = import_arrow(&produced.array, &produced.schema, parse_schema("v:i64"), {});
  EXPECT_EQ(in.rows_with_nulls, 0u);
  expect_column<std::int64_t>(in.batch, 0, values);
  EXPECT_EQ(in.batch.column(0).data, static_cast<const void*>(produced.child_values(1) + 3 * 8))
      << "still read in place";
}

TEST(ArrowImport, NullCountZeroIgnoresTheBitmap) {
  // A bitmap whose bits all say null, but null_count 0: the count says there are none.
  const Layout layout{20, 1, 2};
  std::mt19937_64 rng(19);
  const auto values = random_integers<std::int32_t>(layout.rows, rng);
  const std::vector<bool> all_null(layout.rows, false);
  ArrowNode column = fixed_width_column("v", "i", values, layout);
  set_column_validity(column, all_null, layout);
  column.null_count = 0;
  ArrowNode batch = record_batch({std::move(column)}, layout);
  set_validity(batch, all_null, 2);
  batch.null_count = 0;
  ProducedBatch produced(batch);
  const ArrowImport in = import_arrow(&produced.array, &produced.schema, parse_schema("v:i32"), {});
  EXPECT_EQ(in.rows_with_nulls, 0u);
  expect_column<std::int32_t>(in.batch, 0, values);
  EXPECT_EQ(in.batch.column(0).data, static_cast<const void*>(produced.child_values(0) + 3 * 4));
}

TEST(ArrowImport, UnknownNullCountReadsTheBitmap) {
  // null_count -1: not computed; the bitmap says which rows are null.
  const Layout layout{50, 0, 3};
  std::mt19937_64 rng(20);
  const auto values = random_integers<std::int64_t>(layout.rows, rng);
  const auto valid = random_bits(layout.rows, rng, 0.7);
  ArrowNode column = fixed_width_column("v", "l", values, layout);
  set_column_validity(column, valid, layout);
  column.null_count = -1;
  ProducedBatch produced(record_batch({std::move(column)}, layout));
  const ArrowImport in = import_arrow(&produced.array, &produced.schema, parse_schema("v:i64"), {});
  EXPECT_EQ(in.rows_with_nulls, layout.rows - kept(values, valid).size());
  expect_column<std::int64_t>(in.batch, 0, kept(values, valid));
}

// ---------------------------------------------------------------------------------------------
// Import: errors. Nothing is moved then: the array stays the caller's.

/// @brief Expects the failed import to have left `produced`'s array the caller's, unreleased,
/// and releases it.
void expect_not_moved(ProducedBatch& produced) {
  EXPECT_NE(produced.array.release, nullptr) << "the array was moved by a failed import";
  EXPECT_EQ(produced.array_releases(), 0);
  produced.release_array();
  EXPECT_EQ(produced.array_releases(), 1);
}

TEST(ArrowImportErrors, MissingColumnIsUnknown) {
  const Layout layout{2, 0, 0};
  ProducedBatch produced(record_batch(
      {fixed_width_column("a", "l", std::vector<std::int64_t>{1, 2}, layout)}, layout));
  const std::string message = error_message(
      [&] {
        (void)import_arrow(&produced.array, &produced.schema, parse_schema("a:i64,b:i64"), {});
      },
      ErrorCode::unknown_column);
  EXPECT_TRUE(contains(message, "'b'"));
  expect_not_moved(produced);
}

TEST(ArrowImportErrors, UnsupportedFormatsAreTypeMismatches) {
  const Layout layout{2, 0, 0};
  for (const char* format : {"e", "+l", "+s", "tdD", "z", "w:4", "d:10,2", "tsx:", "n"}) {
    SCOPED_TRACE(format);
    ArrowNode column = column_node("x", format, 2, layout);
    column.buffers = {std::nullopt, bytes_of(std::vector<std::int64_t>{1, 2}),
                      bytes_of(std::vector<std::int64_t>{1, 2})};
    ProducedBatch produced(record_batch({std::move(column)}, layout));
    const std::string message = error_message(
        [&] { (void)import_arrow(&produced.array, &produced.schema, parse_schema("x:f64"), {}); },
        ErrorCode::type_mismatch);
    EXPECT_TRUE(contains(message, "'x'"));
    EXPECT_TRUE(contains(message, std::string("'") + format + "'"));
    expect_not_moved(produced);
  }
}

TEST(ArrowImportErrors, TypesAColumnCannotTake) {
  struct Case {
    const char* target;
    ArrowNode (*column)(const Layout&);
  };
  const Case cases[] = {
      {"x:string",
       [](const Layout& l) {
         return fixed_width_column("x", "l", std::vector<std::int64_t>(l.rows, 1), l);
       }},
      {"x:bool",
       [](const Layout& l) {
         return fixed_width_column("x", "i", std::vector<std::int32_t>(l.rows, 1), l);
       }},
      {"x:i64",
       [](const Layout& l) {
         return utf8_column("x", std::vector<std::string>(l.rows, "1"), l, false);
       }},
      {"x:f64",
       [](const Layout& l) { return bool_column("x", std::vector<bool>(l.rows, true), l, false); }},
      {"x:timestamp[ms]",
       [](const Layout& l) { return bool_column("x", std::vector<bool>(l.rows, true), l, false); }},
      {"x:i64",
       [](const Layout& l) {
         return dictionary_column<std::int32_t>("x", "i", std::vector<std::int32_t>(l.rows, 0), l,
                                                {"a"}, 0, 0);
       }},
      {"x:string",
       [](const Layout& l) {
         ArrowNode node = fixed_width_column("x", "i", std::vector<std::int32_t>(l.rows, 0), l);
         node.dictionary = std::make_shared<ArrowNode>(
             fixed_width_column("", "l", std::vector<std::int64_t>{7}, Layout{1, 0, 0}));
         return node;
       }},
  };
  // An empty batch is checked as a full one: the types do not depend on the rows.
  for (const std::size_t rows : {std::size_t{3}, std::size_t{0}}) {
    for (const Case& c : cases) {
      const Layout layout{rows, 0, 0};
      ArrowNode column = c.column(layout);
      SCOPED_TRACE(std::string(c.target) + " from '" + column.format + "', " +
                   std::to_string(rows) + " rows");
      ProducedBatch produced(record_batch({std::move(column)}, layout));
      const Schema target = parse_schema(c.target);
      const std::string message = error_message(
          [&] {
            (void)import_arrow(&produced.array, &produced.schema, target,
                               fresh_dictionaries(target));
          },
          ErrorCode::type_mismatch);
      EXPECT_TRUE(contains(message, "'x'"));
      expect_not_moved(produced);
    }
  }
}

TEST(ArrowImportErrors, TypesAreCheckedWhenEveryRowIsNull) {
  const Layout layout{4, 0, 0};
  ArrowNode column = fixed_width_column("x", "l", std::vector<std::int64_t>(4, 1), layout);
  set_column_validity(column, std::vector<bool>(4, false), layout);
  ProducedBatch produced(record_batch({std::move(column)}, layout));
  const Schema target = parse_schema("x:string");
  (void)error_message(
      [&] {
        (void)import_arrow(&produced.array, &produced.schema, target, fresh_dictionaries(target));
      },
      ErrorCode::type_mismatch);
  expect_not_moved(produced);
}

TEST(ArrowImportErrors, ValuesOutOfRangeMoveNothing) {
  struct Case {
    const char* target;  ///< "x:<type>"
    ArrowNode column;    ///< 3 rows, the last one out of range
    const char* value;   ///< as the message writes it
    const char* fits;    ///< a target that takes every value
  };
  const Layout layout{3, 1, 1};
  const Case cases[] = {
      {"x:i32",
       fixed_width_column("x", "l", std::vector<std::int64_t>{1, -2, 5'000'000'000}, layout),
       "5000000000", "x:i64"},
      {"x:u32", fixed_width_column("x", "i", std::vector<std::int32_t>{1, 2, -1}, layout), "-1",
       "x:i32"},
      {"x:u64", fixed_width_column("x", "c", std::vector<std::int8_t>{1, 2, -7}, layout), "-7",
       "x:i64"},
      {"x:i64", fixed_width_column("x", "g", std::vector<double>{1.0, -3.0, 2.5}, layout), "2.5",
       "x:f64"},
      {"x:i64", fixed_width_column("x", "L", std::vector<std::uint64_t>{0, 1, UINT64_MAX}, layout),
       "18446744073709551615", "x:u64"},
      {"x:f32", fixed_width_column("x", "g", std::vector<double>{1.0, 2.0, -1e300}, layout), "-1",
       "x:f64"},
      {"x:timestamp[ms]",
       fixed_width_column("x", "tss:", std::vector<std::int64_t>{0, 1, 9'300'000'000'000'000},
                          layout),
       "9300000000000000", "x:timestamp[s]"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.target) + " from '" + c.column.format + "'");
    // A column before it converts fine: nothing of it is kept either.
    ProducedBatch produced(record_batch(
        {fixed_width_column("ok", "s", std::vector<std::int16_t>{4, 5, 6}, layout), c.column},
        layout));
    const Schema target = parse_schema(std::string("ok:i64,") + c.target);
    const std::string message =
        error_message([&] { (void)import_arrow(&produced.array, &produced.schema, target, {}); },
                      ErrorCode::type_mismatch);
    EXPECT_TRUE(contains(message, "'x'"));
    EXPECT_TRUE(contains(message, c.value));
    EXPECT_NE(produced.array.release, nullptr);
    EXPECT_EQ(produced.array_releases(), 0);
    // The array is intact: a target that takes its values reads it.
    const ArrowImport in = import_arrow(&produced.array, &produced.schema,
                                        parse_schema(std::string("ok:i64,") + c.fits), {});
    EXPECT_EQ(produced.array.release, nullptr);
    expect_column<std::int64_t>(in.batch, 0, std::vector<std::int64_t>{4, 5, 6});
  }
}

TEST(ArrowImportErrors, MalformedInputIsInvalidAndMovesNothing) {
  const Layout layout{3, 0, 0};
  const auto make = [&] {
    return std::make_unique<ProducedBatch>(
        record_batch({fixed_width_column("a", "l", std::vector<std::int64_t>{1, 2, 3}, layout),
                      utf8_column("host", {"p", "q", "r"}, layout, false)},
                     layout));
  };
  const Schema target = parse_schema("a:i64,host:string");
  const auto dictionaries = fresh_dictionaries(target);
  const auto expect_invalid = [&](ProducedBatch& produced, const Schema& schema,
                                  const std::vector<DictionaryPtr>& dicts, const char* part) {
    const std::string message =
        error_message([&] { (void)import_arrow(&produced.array, &produced.schema, schema, dicts); },
                      ErrorCode::invalid_argument);
    EXPECT_TRUE(contains(message, part));
  };
  {
    SCOPED_TRACE("released already");
    auto produced = make();
    produced->release_array();
    expect_invalid(*produced, target, dictionaries, "released");
    EXPECT_EQ(produced->array_releases(), 1);
  }
  {
    SCOPED_TRACE("null pointers");
    auto produced = make();
    (void)error_message(
        [&] { (void)import_arrow(nullptr, &produced->schema, target, dictionaries); },
        ErrorCode::invalid_argument);
    (void)error_message(
        [&] { (void)import_arrow(&produced->array, nullptr, target, dictionaries); },
        ErrorCode::invalid_argument);
    expect_not_moved(*produced);
  }
  {
    SCOPED_TRACE("schema released");
    auto produced = make();
    const auto release = produced->schema.release;
    produced->schema.release = nullptr;
    expect_invalid(*produced, target, dictionaries, "schema");
    produced->schema.release = release;
    expect_not_moved(*produced);
  }
  {
    SCOPED_TRACE("not a struct");
    ProducedBatch produced(fixed_width_column("a", "l", std::vector<std::int64_t>{1, 2}, layout));
    expect_invalid(produced, parse_schema("a:i64"), {}, "+s");
    expect_not_moved(produced);
  }
  {
    SCOPED_TRACE("children differ");
    auto produced = make();
    produced->schema.n_children = 1;
    expect_invalid(*produced, parse_schema("a:i64"), {}, "children");
    produced->schema.n_children = 2;
    expect_not_moved(*produced);
  }
  {
    SCOPED_TRACE("string column without a dictionary");
    auto produced = make();
    expect_invalid(*produced, target, {}, "'host'");
    expect_invalid(*produced, target, {nullptr, nullptr}, "'host'");
    expect_not_moved(*produced);
  }
  {
    SCOPED_TRACE("child shorter than the batch");
    ArrowNode batch = record_batch(
        {fixed_width_column("a", "l", std::vector<std::int64_t>{1, 2, 3}, layout)}, layout);
    batch.length = 4;
    ProducedBatch produced(batch);
    expect_invalid(produced, parse_schema("a:i64"), {}, "'a'");
    expect_not_moved(produced);
  }
  {
    SCOPED_TRACE("values buffer missing");
    ArrowNode column = fixed_width_column("a", "l", std::vector<std::int64_t>{1, 2, 3}, layout);
    column.buffers[1] = std::nullopt;
    ProducedBatch produced(record_batch({std::move(column)}, layout));
    expect_invalid(produced, parse_schema("a:i64"), {}, "'a'");
    expect_not_moved(produced);
  }
  {
    SCOPED_TRACE("dictionary index out of range");
    ProducedBatch produced(
        record_batch({dictionary_column<std::int32_t>("s", "i", std::vector<std::int32_t>{0, 1, 2},
                                                      layout, {"x", "y"}, 0, 0)},
                     layout));
    const Schema strings = parse_schema("s:string");
    expect_invalid(produced, strings, fresh_dictionaries(strings), "'s'");
    expect_not_moved(produced);
  }
}

// ---------------------------------------------------------------------------------------------
// Export.

/// The schema of every type, and the Arrow formats it is exported as.
const Schema& every_type_schema() {
  static const Schema schema = parse_schema(
      "a:i32,b:i64,c:u32,d:u64,e:f32,f:f64,g:bool,t_s:timestamp[s],t_ms:timestamp[ms],"
      "t_us:timestamp[us],t_ns:timestamp[ns],host:string");
  return schema;
}
const std::vector<std::string> kEveryTypeNames = {"a", "b",   "c",    "d",    "e",    "f",
                                                  "g", "t_s", "t_ms", "t_us", "t_ns", "host"};
const std::vector<std::string> kEveryTypeFormats = {
    "i", "l", "I", "L", "f", "g", "b", "tss:UTC", "tsm:UTC", "tsu:UTC", "tsn:UTC", "u"};

/// @brief `n` random rows of every_type_schema() as Values (what Batch::at reads back), by
/// column.
std::vector<std::vector<Value>> random_every_type_columns(std::size_t n, std::mt19937_64& rng) {
  std::vector<std::vector<Value>> columns(12);
  for (std::int32_t v : random_integers<std::int32_t>(n, rng))
    columns[0].emplace_back(std::int64_t{v});
  for (std::int64_t v : random_integers<std::int64_t>(n, rng)) columns[1].emplace_back(v);
  for (std::uint32_t v : random_integers<std::uint32_t>(n, rng))
    columns[2].emplace_back(std::uint64_t{v});
  for (std::uint64_t v : random_integers<std::uint64_t>(n, rng)) columns[3].emplace_back(v);
  for (float v : random_reals<float>(n, rng, -1e20, 1e20)) columns[4].emplace_back(double{v});
  for (double v : random_reals<double>(n, rng, -1e200, 1e200)) columns[5].emplace_back(v);
  const auto bits = random_bits(n, rng, 0.5);
  for (std::size_t i = 0; i < n; ++i) columns[6].emplace_back(static_cast<bool>(bits[i]));
  for (std::size_t c = 7; c < 11; ++c)
    for (std::int64_t v : random_integers<std::int64_t>(n, rng)) columns[c].emplace_back(v);
  for (std::string& s : random_strings(n, rng)) columns[11].emplace_back(std::move(s));
  return columns;
}

Batch build_batch(const Schema& schema, const std::vector<std::vector<Value>>& columns) {
  BatchBuilder builder(schema);
  const std::size_t rows = columns.empty() ? 0 : columns[0].size();
  for (std::size_t r = 0; r < rows; ++r) {
    std::vector<Value> row;
    for (const auto& column : columns) row.push_back(column[r]);
    builder.append_row(row);
  }
  return builder.finish();
}

/// @brief Expects `actual` (columns of Values) to equal `expected`, first difference reported.
void expect_same_columns(const std::vector<std::vector<Value>>& actual,
                         const std::vector<std::vector<Value>>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t c = 0; c < expected.size(); ++c) {
    ASSERT_EQ(actual[c].size(), expected[c].size()) << "column " << c;
    for (std::size_t r = 0; r < expected[c].size(); ++r) {
      if (actual[c][r] != expected[c][r]) {
        ADD_FAILURE() << "column " << c << " row " << r << ": " << to_string(actual[c][r])
                      << " instead of " << to_string(expected[c][r]);
        break;
      }
    }
  }
}

std::vector<std::vector<Value>> batch_columns(const Batch& batch) {
  std::vector<std::vector<Value>> columns(batch.num_columns());
  for (std::size_t c = 0; c < batch.num_columns(); ++c)
    for (std::size_t r = 0; r < batch.rows(); ++r) columns[c].push_back(batch.at(r, c));
  return columns;
}

TEST(ArrowExport, EveryTypeReadsBack) {
  std::mt19937_64 rng(21);
  for (const std::size_t rows : {0, 1, 9, 1000}) {
    SCOPED_TRACE(std::to_string(rows) + " rows");
    const auto expected = random_every_type_columns(rows, rng);
    ExportedBatch exported;
    {
      const Batch batch = build_batch(every_type_schema(), expected);
      export_arrow(batch, &exported.array, &exported.schema);
    }  // the batch, its builder and its dictionary are gone: the export holds its own copy
    expect_same_columns(read_exported(exported, kEveryTypeNames, kEveryTypeFormats, rows),
                        expected);
    exported.schema.release(&exported.schema);
    EXPECT_EQ(exported.schema.release, nullptr);
    exported.array.release(&exported.array);
    EXPECT_EQ(exported.array.release, nullptr);
  }
}

TEST(ArrowExport, SliceExportsItsRows) {
  std::mt19937_64 rng(22);
  const auto all = random_every_type_columns(50, rng);
  const Batch batch = build_batch(every_type_schema(), all);
  ExportedBatch exported;
  export_arrow(batch.slice(13, 9), &exported.array, &exported.schema);
  auto expected = all;
  for (auto& column : expected)
    column = std::vector<Value>(column.begin() + 13, column.begin() + 22);
  expect_same_columns(read_exported(exported, kEveryTypeNames, kEveryTypeFormats, 9), expected);
}

TEST(ArrowExport, MovedOutChildOutlivesItsParent) {
  // A consumer may move a child out of an exported array and release the parent first.
  std::mt19937_64 rng(23);
  const auto expected = random_every_type_columns(40, rng);
  ExportedBatch exported;
  export_arrow(build_batch(every_type_schema(), expected), &exported.array, &exported.schema);
  ArrowArray host = *exported.array.children[11];
  exported.array.children[11]->release = nullptr;
  ArrowArray flags = *exported.array.children[6];
  exported.array.children[6]->release = nullptr;
  ArrowSchema host_schema = *exported.schema.children[11];
  exported.schema.children[11]->release = nullptr;
  exported.array.release(&exported.array);
  exported.schema.release(&exported.schema);
  ASSERT_NE(host.release, nullptr);
  ASSERT_NE(host_schema.release, nullptr);
  EXPECT_STREQ(host_schema.format, "u");
  EXPECT_STREQ(host_schema.name, "host");
  ArrowSchema bool_schema{};
  bool_schema.format = "b";
  bool_schema.name = "g";
  EXPECT_EQ(read_exported_column(host, host_schema), expected[11]);
  EXPECT_EQ(read_exported_column(flags, bool_schema), expected[6]);
  host.release(&host);
  EXPECT_EQ(host.release, nullptr);
  flags.release(&flags);
  EXPECT_EQ(flags.release, nullptr);
  host_schema.release(&host_schema);
  EXPECT_EQ(host_schema.release, nullptr);
}

TEST(ArrowExport, ImportOfExportRoundTrips) {
  std::mt19937_64 rng(24);
  for (const std::size_t rows : {0, 1, 9, 1000}) {
    SCOPED_TRACE(std::to_string(rows) + " rows");
    const auto expected = random_every_type_columns(rows, rng);
    ExportedBatch exported;
    export_arrow(build_batch(every_type_schema(), expected), &exported.array, &exported.schema);
    std::vector<const void*> exported_values;
    for (std::int64_t c = 0; c < exported.array.n_children; ++c)
      exported_values.push_back(exported.array.children[c]->buffers[1]);
    const auto dictionaries = fresh_dictionaries(every_type_schema());
    ArrowImport in =
        import_arrow(&exported.array, &exported.schema, every_type_schema(), dictionaries);
    EXPECT_EQ(exported.array.release, nullptr);
    EXPECT_EQ(in.rows_with_nulls, 0u);
    expect_same_columns(batch_columns(in.batch), expected);
    // Numbers and timestamps come back in place, in the exported buffers.
    for (std::size_t c : {0, 1, 2, 3, 4, 5, 7, 8, 9, 10})
      EXPECT_EQ(in.batch.column(c).data, exported_values[c]) << "column " << c;
    std::set<std::string> distinct;
    for (const Value& v : expected[11]) distinct.insert(std::get<std::string>(v));
    EXPECT_EQ(dictionaries[11]->size(), distinct.size());
  }
}

// ---------------------------------------------------------------------------------------------
// Through a job.

/// (window start, host) -> (count, sum of v).
using Windows =
    std::map<std::pair<std::int64_t, std::string>, std::pair<std::int64_t, std::int64_t>>;

constexpr std::int64_t kWindowMs = 10'000;

/// @brief Record batches of events (ts, host, v) in random Arrow encodings, some with nulls, and
/// what a job should make of them.
struct JobInput {
  std::vector<std::unique_ptr<ProducedBatch>> batches;
  Windows expected;
  std::uint64_t rows_with_nulls = 0;
  std::uint64_t rows_kept = 0;
};

JobInput make_job_input(std::uint64_t seed, std::size_t events) {
  std::mt19937_64 rng(seed);
  JobInput input;
  const std::vector<std::string> hosts = {"web-1", "web-2", "db", "zürich", "", "cache-7"};
  std::uniform_int_distribution<std::int64_t> jitter(-5000, 5000);
  std::uniform_int_distribution<std::size_t> chunk(1, 300);
  std::uniform_int_distribution<int> encoding(0, 2);
  std::uniform_int_distribution<int> null_kind(0, 5);
  std::uniform_int_distribution<std::int64_t> sub_ms(0, 999);
  for (std::size_t begin = 0; begin < events;) {
    const std::size_t n = std::min(events - begin, chunk(rng));
    const Layout layout{n, static_cast<std::int64_t>(rng() % 3),
                        static_cast<std::int64_t>(rng() % 4)};
    std::vector<std::int64_t> ts(n), vs(n);
    std::vector<std::int32_t> host_index(n);
    for (std::size_t i = 0; i < n; ++i) {
      ts[i] = 20'000 + static_cast<std::int64_t>(begin + i) * 20 + jitter(rng);
      host_index[i] = static_cast<std::int32_t>(rng() % hosts.size());
      vs[i] = static_cast<std::int64_t>(rng() % 2001) - 1000;
    }
    std::vector<ArrowNode> columns;
    switch (encoding(rng)) {
      case 0:
        columns.push_back(fixed_width_column("ts", "tsm:UTC", ts, layout));
        break;
      case 1: {
        std::vector<std::int64_t> us;
        for (std::int64_t t : ts) us.push_back(t * 1000 + sub_ms(rng));
        columns.push_back(fixed_width_column("ts", "tsu:", us, layout));
        break;
      }
      default:
        columns.push_back(fixed_width_column("ts", "l", ts, layout));
    }
    std::vector<std::string> host_names;
    for (std::int32_t h : host_index) host_names.push_back(hosts[static_cast<std::size_t>(h)]);
    switch (encoding(rng)) {
      case 0:
        columns.push_back(utf8_column("host", host_names, layout, false));
        break;
      case 1:
        columns.push_back(utf8_column("host", host_names, layout, true));
        break;
      default:
        columns.push_back(
            dictionary_column<std::int32_t>("host", "i", host_index, layout, hosts, 1, -1));
    }
    switch (encoding(rng)) {
      case 0:
        columns.push_back(fixed_width_column("v", "l", vs, layout));
        break;
      case 1:
        columns.push_back(
            fixed_width_column("v", "i", std::vector<std::int32_t>(vs.begin(), vs.end()), layout));
        break;
      default:
        columns.push_back(
            fixed_width_column("v", "s", std::vector<std::int16_t>(vs.begin(), vs.end()), layout));
    }
    columns.push_back(utf8_column("note", random_strings(n, rng), layout, false));
    // Nulls in one of the columns read, in the struct, or in the note (which drops nothing).
    const int nulls = null_kind(rng);
    std::vector<bool> valid(n, true);
    if (nulls >= 1 && nulls <= 3) {
      valid = random_bits(n, rng, 0.85);
      set_column_validity(columns[static_cast<std::size_t>(nulls - 1)], valid, layout);
    } else if (nulls == 5) {
      set_column_validity(columns[3], random_bits(n, rng, 0.5), layout);
    }
    std::swap(columns[0], columns[3]);  // children in another order than the job's schema
    ArrowNode batch = record_batch(std::move(columns), layout);
    if (nulls == 4) {
      valid = random_bits(n, rng, 0.85);
      set_validity(batch, valid, static_cast<std::size_t>(layout.struct_offset));
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (!valid[i]) {
        ++input.rows_with_nulls;
        continue;
      }
      ++input.rows_kept;
      auto& window = input.expected[{floor_divide(ts[i], kWindowMs) * kWindowMs, host_names[i]}];
      window.first += 1;
      window.second += vs[i];
    }
    input.batches.push_back(std::make_unique<ProducedBatch>(batch));
    begin += n;
  }
  return input;
}

/// @brief A job counting and summing v per host in tumbling windows of 10 s, whose sink exports
/// each result batch.
struct WindowJob {
  std::mutex mutex;
  std::vector<ExportedBatch> results;
  Job job;

  explicit WindowJob(int workers)
      : job(Engine(config(workers))
                .start(parse_schema("ts:timestamp[ms],host:string,v:i64"), query(*this))) {}

  static EngineConfig config(int workers) {
    EngineConfig c;
    c.backend = Backend::cpu;
    c.workers = workers;
    c.batch_rows = 256;
    c.batch_timeout = std::chrono::hours(1);
    c.threads = 1;
    return c;
  }
  static Query query(WindowJob& self) {
    Query q;
    q.key_by({"host"})
        .event_time("ts", 40s)
        .window(WindowSpec::tumbling(std::chrono::milliseconds(kWindowMs)))
        .aggregate({count(), sum(col("v"))})
        .sink(BatchSink([&self](const Batch& batch) {
          ExportedBatch exported;
          export_arrow(batch, &exported.array, &exported.schema);
          const std::lock_guard lock(self.mutex);
          self.results.push_back(std::move(exported));
        }));
    return q;
  }

  /// The windows the sink exported, read back; each (window, key) once, with no update.
  Windows windows() {
    Windows out;
    const std::lock_guard lock(mutex);
    for (const ExportedBatch& exported : results) {
      const std::size_t rows = static_cast<std::size_t>(exported.array.length);
      const auto columns = read_exported(
          exported, {"window_start", "window_end", "host", "count", "sum(v)", "update"},
          {"tsm:UTC", "tsm:UTC", "u", "l", "l", "b"}, rows);
      if (columns.size() != 6) return out;
      for (std::size_t r = 0; r < rows; ++r) {
        const auto start = std::get<std::int64_t>(columns[0][r]);
        EXPECT_EQ(std::get<std::int64_t>(columns[1][r]), start + kWindowMs);
        EXPECT_FALSE(std::get<bool>(columns[5][r]));
        const auto [it, added] = out.emplace(std::pair{start, std::get<std::string>(columns[2][r])},
                                             std::pair{std::get<std::int64_t>(columns[3][r]),
                                                       std::get<std::int64_t>(columns[4][r])});
        EXPECT_TRUE(added) << "window " << start << " of '" << it->first.second << "' twice";
      }
    }
    return out;
  }
};

std::string describe(const Windows& windows) {
  std::string text;
  for (const auto& [key, value] : windows)
    text += std::to_string(key.first) + "/" + key.second + ": " + std::to_string(value.first) +
            ", " + std::to_string(value.second) + "\n";
  return text;
}

TEST(ArrowJob, TumblingWindowsMatchTheReference) {
  std::optional<Windows> first_run;
  for (const int workers : {1, 2}) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    JobInput input = make_job_input(31, 5000);
    ASSERT_GT(input.rows_with_nulls, 0u);
    WindowJob run(workers);
    for (const auto& batch : input.batches) {
      run.job.push_arrow(&batch->array, &batch->schema);
      EXPECT_EQ(batch->array.release, nullptr);
    }
    run.job.finish();
    const Windows windows = run.windows();
    EXPECT_GT(run.results.size(), 1u) << "windows fire as the watermark passes them";
    EXPECT_EQ(windows, input.expected) << "got:\n"
                                       << describe(windows) << "expected:\n"
                                       << describe(input.expected);
    const Metrics metrics = run.job.metrics();
    EXPECT_EQ(metrics.events_malformed, input.rows_with_nulls);
    EXPECT_EQ(metrics.events_in, input.rows_kept);
    EXPECT_EQ(metrics.events_late, 0u);
    EXPECT_EQ(metrics.events_aggregated, input.rows_kept);
    for (const auto& batch : input.batches) {
      EXPECT_EQ(batch->array_releases(), 1) << "the job releases each array once";
      EXPECT_EQ(batch->schema_releases(), 0) << "the schema stays the caller's";
    }
    if (first_run)
      EXPECT_EQ(windows, *first_run);
    else
      first_run = windows;
  }
}

TEST(ArrowJob, RejectedBatchMovesNothing) {
  WindowJob run(1);
  const Layout layout{2, 0, 0};
  const auto events = [&](ArrowNode v) {
    return std::make_unique<ProducedBatch>(record_batch(
        {fixed_width_column("ts", "tsm:UTC", std::vector<std::int64_t>{1000, 2000}, layout),
         utf8_column("host", {"a", "b"}, layout, false), std::move(v)},
        layout));
  };
  auto fractional = events(fixed_width_column("v", "g", std::vector<double>{1.0, 2.5}, layout));
  const std::string message =
      error_message([&] { run.job.push_arrow(&fractional->array, &fractional->schema); },
                    ErrorCode::type_mismatch);
  EXPECT_TRUE(contains(message, "'v'"));
  expect_not_moved(*fractional);

  auto missing = std::make_unique<ProducedBatch>(record_batch(
      {fixed_width_column("ts", "tsm:UTC", std::vector<std::int64_t>{1, 2}, layout)}, layout));
  EXPECT_TRUE(contains(error_message([&] { run.job.push_arrow(&missing->array, &missing->schema); },
                                     ErrorCode::unknown_column),
                       "'host'"));
  expect_not_moved(*missing);

  // Every row null: nothing to push, the array is released at once.
  ArrowNode all_null_v = fixed_width_column("v", "l", std::vector<std::int64_t>{5, 6}, layout);
  set_column_validity(all_null_v, {false, false}, layout);
  auto all_null = events(std::move(all_null_v));
  run.job.push_arrow(&all_null->array, &all_null->schema);
  EXPECT_EQ(all_null->array.release, nullptr);
  EXPECT_EQ(all_null->array_releases(), 1);

  auto good = events(fixed_width_column("v", "l", std::vector<std::int64_t>{7, -3}, layout));
  run.job.push_arrow(&good->array, &good->schema);
  run.job.finish();
  EXPECT_EQ(run.windows(), (Windows{{{0, "a"}, {1, 7}}, {{0, "b"}, {1, -3}}}));
  EXPECT_EQ(run.job.metrics().events_malformed, 2u);
  EXPECT_EQ(good->array_releases(), 1);
}

}  // namespace
}  // namespace sluice
