// Arrow C data interface: record batches read into Batches (in place where the types match)
// and Batches written out as record batches.
#include "sluice/arrow.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "sluice/status.hpp"
#include "sluice/types.hpp"

namespace sluice {
namespace {

/// What an Arrow format string says, for the types Sluice reads.
struct ArrowType {
  enum class Kind : std::uint8_t { signed_int, unsigned_int, floating, boolean, utf8, timestamp };
  Kind kind = Kind::signed_int;
  int bytes = 0;  ///< of a value (numbers, timestamps); of an offset (utf8: 4, large: 8)
  TimeUnit unit = TimeUnit::ms;
};

std::optional<ArrowType> arrow_type(std::string_view format) {
  using K = ArrowType::Kind;
  if (format.size() == 1) {
    switch (format[0]) {
      case 'c':
        return ArrowType{K::signed_int, 1};
      case 'C':
        return ArrowType{K::unsigned_int, 1};
      case 's':
        return ArrowType{K::signed_int, 2};
      case 'S':
        return ArrowType{K::unsigned_int, 2};
      case 'i':
        return ArrowType{K::signed_int, 4};
      case 'I':
        return ArrowType{K::unsigned_int, 4};
      case 'l':
        return ArrowType{K::signed_int, 8};
      case 'L':
        return ArrowType{K::unsigned_int, 8};
      case 'f':
        return ArrowType{K::floating, 4};
      case 'g':
        return ArrowType{K::floating, 8};
      case 'b':
        return ArrowType{K::boolean, 0};
      case 'u':
        return ArrowType{K::utf8, 4};
      case 'U':
        return ArrowType{K::utf8, 8};
      default:
        return std::nullopt;
    }
  }
  // "tsu:Europe/Paris": a timestamp of a unit, with a time zone or none.
  if (format.size() >= 4 && format.substr(0, 2) == "ts" && format[3] == ':') {
    constexpr std::pair<char, TimeUnit> kUnits[] = {
        {'s', TimeUnit::s}, {'m', TimeUnit::ms}, {'u', TimeUnit::us}, {'n', TimeUnit::ns}};
    for (const auto& [letter, unit] : kUnits)
      if (format[2] == letter) return ArrowType{K::timestamp, 8, unit};
  }
  return std::nullopt;
}

bool bit(const void* bits, std::int64_t i) {
  return ((static_cast<const std::uint8_t*>(bits)[i >> 3] >> (i & 7)) & 1) != 0;
}

[[noreturn]] void malformed(const std::string& what) {
  throw Error(ErrorCode::invalid_argument, "import_arrow: " + what);
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

/// The imported array, released when the last Batch that reads it goes, with the columns that
/// had to be converted.
struct ImportedArrow {
  ArrowArray array{};
  std::vector<std::vector<std::byte>> converted;
  ImportedArrow() = default;
  ImportedArrow(const ImportedArrow&) = delete;
  ImportedArrow& operator=(const ImportedArrow&) = delete;
  ~ImportedArrow() {
    if (array.release != nullptr) array.release(&array);
  }
};

/// One child of the record batch, checked against its schema.
struct Child {
  const ArrowArray* array = nullptr;
  const ArrowSchema* schema = nullptr;
  ArrowType type;
  const ArrowArray* dictionary = nullptr;  ///< a dictionary-encoded column's values (utf8)
  ArrowType dictionary_type;
};

const void* buffer(const ArrowArray* a, std::int64_t i, const std::string& column, bool needed) {
  if (a->n_buffers <= i || a->buffers == nullptr)
    malformed("column " + column + " lacks buffer " + std::to_string(i));
  const void* b = a->buffers[i];
  if (needed && b == nullptr)
    malformed("column " + column + ": buffer " + std::to_string(i) + " is null");
  return b;
}

Child check_child(const ArrowArray* a, const ArrowSchema* s, const std::string& column,
                  std::int64_t rows_needed) {
  if (a == nullptr || s == nullptr || s->format == nullptr)
    malformed("column " + column + " has no array or schema");
  Child c;
  c.array = a;
  c.schema = s;
  const auto type = arrow_type(s->format);
  if (!type) {
    throw Error(ErrorCode::type_mismatch, "import_arrow: column " + column + " has Arrow type " +
                                              quoted(s->format) +
                                              ", which Sluice does not read (integers, floats, "
                                              "booleans, utf8, timestamps, dictionaries of "
                                              "utf8)");
  }
  c.type = *type;
  if (a->offset < 0 || a->length < rows_needed)
    malformed("column " + column + " holds " + std::to_string(a->length) + " rows, the batch " +
              std::to_string(rows_needed));
  const bool has_values = a->length > 0;
  if (s->dictionary != nullptr) {
    if (c.type.kind != ArrowType::Kind::signed_int && c.type.kind != ArrowType::Kind::unsigned_int)
      malformed("column " + column + ": dictionary indices must be integers");
    if (a->dictionary == nullptr || s->dictionary->format == nullptr)
      malformed("column " + column + " is dictionary-encoded without a dictionary");
    const auto values = arrow_type(s->dictionary->format);
    if (!values || values->kind != ArrowType::Kind::utf8)
      throw Error(ErrorCode::type_mismatch,
                  "import_arrow: column " + column + " is a dictionary of " +
                      quoted(s->dictionary->format) + ", not of utf8 strings");
    c.dictionary = a->dictionary;
    c.dictionary_type = *values;
    buffer(a, 1, column, has_values);
    buffer(c.dictionary, 1, column + "'s dictionary", c.dictionary->length > 0);
    buffer(c.dictionary, 2, column + "'s dictionary", false);  // null if 0 bytes (utf8_at)
    if (c.dictionary->offset < 0)
      malformed("column " + column + "'s dictionary has a negative offset");
    return c;
  }
  buffer(a, 1, column, has_values || c.type.kind == ArrowType::Kind::utf8);
  // The characters may be null where there are none (all strings empty): utf8_at checks.
  if (c.type.kind == ArrowType::Kind::utf8) buffer(a, 2, column, false);
  return c;
}

bool has_nulls(const ArrowArray* a) {
  return a->null_count != 0 && a->n_buffers > 0 && a->buffers != nullptr &&
         a->buffers[0] != nullptr;
}

/// Whether value `i` (an index into the array, its offset applied) is valid.
bool valid(const ArrowArray* a, std::int64_t i) {
  return !has_nulls(a) || bit(a->buffers[0], a->offset + i);
}

/// The string at logical index `i` of a utf8 or large utf8 array.
std::string_view utf8_at(const ArrowArray* a, const ArrowType& type, std::int64_t i,
                         const std::string& column) {
  const std::int64_t at = a->offset + i;
  std::int64_t begin = 0;
  std::int64_t end = 0;
  if (type.bytes == 4) {
    const auto* offsets = static_cast<const std::int32_t*>(a->buffers[1]);
    begin = offsets[at];
    end = offsets[at + 1];
  } else {
    const auto* offsets = static_cast<const std::int64_t*>(a->buffers[1]);
    begin = offsets[at];
    end = offsets[at + 1];
  }
  if (begin < 0 || end < begin) malformed("column " + column + ": bad string offsets");
  if (end == begin) return {};
  if (a->buffers[2] == nullptr) malformed("column " + column + ": buffer 2 is null");
  return {static_cast<const char*>(a->buffers[2]) + begin, static_cast<std::size_t>(end - begin)};
}

using Number = std::variant<std::int64_t, std::uint64_t, double>;

Number number_at(const ArrowArray* a, const ArrowType& type, std::int64_t i) {
  const std::int64_t at = a->offset + i;
  const void* data = a->buffers[1];
  switch (type.kind) {
    case ArrowType::Kind::signed_int:
    case ArrowType::Kind::timestamp:
      switch (type.bytes) {
        case 1:
          return std::int64_t{static_cast<const std::int8_t*>(data)[at]};
        case 2:
          return std::int64_t{static_cast<const std::int16_t*>(data)[at]};
        case 4:
          return std::int64_t{static_cast<const std::int32_t*>(data)[at]};
        default:
          return static_cast<const std::int64_t*>(data)[at];
      }
    case ArrowType::Kind::unsigned_int:
      switch (type.bytes) {
        case 1:
          return std::uint64_t{static_cast<const std::uint8_t*>(data)[at]};
        case 2:
          return std::uint64_t{static_cast<const std::uint16_t*>(data)[at]};
        case 4:
          return std::uint64_t{static_cast<const std::uint32_t*>(data)[at]};
        default:
          return static_cast<const std::uint64_t*>(data)[at];
      }
    case ArrowType::Kind::floating:
      if (type.bytes == 4) return double{static_cast<const float*>(data)[at]};
      return static_cast<const double*>(data)[at];
    default:
      return std::int64_t{0};
  }
}

[[noreturn]] void out_of_range(const Field& field, const std::string& value) {
  throw Error(ErrorCode::type_mismatch, "import_arrow: column " + quoted(field.name) + " (" +
                                            to_string(field.type) + "): " + value +
                                            " is out of range or not an integer");
}

template <class T>
void put(std::byte* cell, T v) {
  std::memcpy(cell, &v, sizeof v);
}

/// Stores a number into a cell of `field`'s type, range checked.
void store_number(const Field& field, const Number& n, std::byte* cell) {
  const auto text = [&] { return std::visit([](auto v) { return std::to_string(v); }, n); };
  const TypeId id = field.type.id;
  if (id == TypeId::f32 || id == TypeId::f64) {
    const double v = std::visit([](auto x) { return static_cast<double>(x); }, n);
    if (id == TypeId::f64) return put(cell, v);
    if (std::isfinite(v) && std::fabs(v) > std::numeric_limits<float>::max())
      out_of_range(field, text());
    return put(cell, static_cast<float>(v));
  }
  // An integral column: the value as a signed or unsigned 64-bit integer, exactly.
  bool negative = false;
  std::uint64_t magnitude = 0;
  if (const auto* s = std::get_if<std::int64_t>(&n)) {
    negative = *s < 0;
    magnitude = negative ? 0 - static_cast<std::uint64_t>(*s) : static_cast<std::uint64_t>(*s);
  } else if (const auto* u = std::get_if<std::uint64_t>(&n)) {
    magnitude = *u;
  } else {
    const double d = std::get<double>(n);
    constexpr double kTwo64 = 18446744073709551616.0;
    if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) >= kTwo64)
      out_of_range(field, text());
    negative = d < 0;
    magnitude = static_cast<std::uint64_t>(std::fabs(d));
  }
  const auto signed_value = [&](std::int64_t min, std::int64_t max) -> std::int64_t {
    const std::uint64_t limit =
        negative ? static_cast<std::uint64_t>(-(min + 1)) + 1 : static_cast<std::uint64_t>(max);
    if (magnitude > limit) out_of_range(field, text());
    return negative ? static_cast<std::int64_t>(0 - magnitude)
                    : static_cast<std::int64_t>(magnitude);
  };
  switch (id) {
    case TypeId::i32:
      return put(cell, static_cast<std::int32_t>(signed_value(INT32_MIN, INT32_MAX)));
    case TypeId::i64:
    case TypeId::timestamp:
      return put(cell, signed_value(INT64_MIN, INT64_MAX));
    case TypeId::u32:
      if (negative || magnitude > UINT32_MAX) out_of_range(field, text());
      return put(cell, static_cast<std::uint32_t>(magnitude));
    case TypeId::u64:
      if (negative && magnitude != 0) out_of_range(field, text());
      return put(cell, magnitude);
    default:
      out_of_range(field, text());
  }
}

/// A timestamp of `from` as a count of `to`, toward the past; false on overflow.
bool rescale(std::int64_t v, TimeUnit from, TimeUnit to, std::int64_t& out) {
  const std::int64_t from_ns = nanos_per_unit(from);
  const std::int64_t to_ns = nanos_per_unit(to);
  if (from_ns >= to_ns) {
    const std::int64_t factor = from_ns / to_ns;
    if (v > std::numeric_limits<std::int64_t>::max() / factor ||
        v < std::numeric_limits<std::int64_t>::min() / factor)
      return false;
    out = v * factor;
    return true;
  }
  const std::int64_t divisor = to_ns / from_ns;
  out = v / divisor - (v % divisor < 0 ? 1 : 0);
  return true;
}

/// Whether column `field` can be read in place from `c`: its storage is the Arrow type's.
bool readable_in_place(const Field& field, const Child& c) {
  if (c.dictionary != nullptr) return false;
  using K = ArrowType::Kind;
  switch (field.type.id) {
    case TypeId::i32:
      return c.type.kind == K::signed_int && c.type.bytes == 4;
    case TypeId::i64:  // int64, or timestamps as counts of their unit
      return (c.type.kind == K::signed_int || c.type.kind == K::timestamp) && c.type.bytes == 8;
    case TypeId::u32:
      return c.type.kind == K::unsigned_int && c.type.bytes == 4;
    case TypeId::u64:
      return c.type.kind == K::unsigned_int && c.type.bytes == 8;
    case TypeId::f32:
      return c.type.kind == K::floating && c.type.bytes == 4;
    case TypeId::f64:
      return c.type.kind == K::floating && c.type.bytes == 8;
    case TypeId::timestamp:
      return (c.type.kind == K::timestamp && c.type.unit == field.type.unit) ||
             (c.type.kind == K::signed_int && c.type.bytes == 8);
    default:
      return false;
  }
}

[[noreturn]] void cannot_take(const Field& field, const Child& c) {
  throw Error(ErrorCode::type_mismatch,
              "import_arrow: column " + quoted(field.name) + " (" + to_string(field.type) +
                  ") cannot take Arrow type " + quoted(c.schema->format) +
                  (c.dictionary != nullptr ? " (a dictionary of strings)" : ""));
}

/// Column `field` converted from `c` for the kept rows (`rows` of the batch; `keep` empty: all).
std::vector<std::byte> convert(const Field& field, const Child& c, std::int64_t base,
                               std::int64_t rows, const std::vector<std::uint8_t>& keep,
                               std::size_t kept, StringDictionary* dictionary) {
  using K = ArrowType::Kind;
  const std::size_t width = type_width(field.type.id);
  std::vector<std::byte> out(kept * width);
  const std::string column = quoted(field.name);
  // Dictionary-encoded strings: each dictionary entry interned once.
  std::vector<std::uint32_t> codes_of_entries;
  if (c.dictionary != nullptr) {
    if (field.type.id != TypeId::string) cannot_take(field, c);
    codes_of_entries.resize(static_cast<std::size_t>(c.dictionary->length));
    for (std::int64_t e = 0; e < c.dictionary->length; ++e)
      if (valid(c.dictionary, e))
        codes_of_entries[static_cast<std::size_t>(e)] =
            dictionary->intern(utf8_at(c.dictionary, c.dictionary_type, e, column));
  }
  // The type is checked before the rows: an empty batch, or one whose rows all have nulls,
  // is checked as any other.
  if (c.dictionary == nullptr) {
    bool takes = c.type.kind != K::boolean && c.type.kind != K::utf8;  // numbers, timestamps
    if (field.type.id == TypeId::string) takes = c.type.kind == K::utf8;
    if (field.type.id == TypeId::boolean) takes = c.type.kind == K::boolean;
    if (!takes) cannot_take(field, c);
  }
  std::size_t row = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    if (!keep.empty() && keep[static_cast<std::size_t>(r)] == 0) continue;
    std::byte* cell = out.data() + row * width;
    ++row;
    const std::int64_t i = base + r;  // index into the child, before its own offset
    if (c.dictionary != nullptr) {
      const Number n = number_at(c.array, c.type, i);
      const auto index = std::visit([](auto v) { return static_cast<std::int64_t>(v); }, n);
      if (index < 0 || index >= c.dictionary->length || !valid(c.dictionary, index))
        malformed("column " + column + ": dictionary index " + std::to_string(index) +
                  " is not a valid entry");
      put(cell, codes_of_entries[static_cast<std::size_t>(index)]);
      continue;
    }
    switch (field.type.id) {
      case TypeId::string:
        if (c.type.kind != K::utf8) cannot_take(field, c);
        put(cell, dictionary->intern(utf8_at(c.array, c.type, i, column)));
        break;
      case TypeId::boolean:
        if (c.type.kind != K::boolean) cannot_take(field, c);
        put(cell, static_cast<std::uint8_t>(bit(c.array->buffers[1], c.array->offset + i)));
        break;
      case TypeId::timestamp:
        if (c.type.kind == K::timestamp) {
          std::int64_t v = 0;
          if (!rescale(std::get<std::int64_t>(number_at(c.array, c.type, i)), c.type.unit,
                       field.type.unit, v))
            out_of_range(field,
                         std::to_string(std::get<std::int64_t>(number_at(c.array, c.type, i))));
          put(cell, v);
          break;
        }
        [[fallthrough]];
      default:
        // Numbers, and timestamps into integer columns (as counts of their unit).
        if (c.type.kind == K::boolean || c.type.kind == K::utf8) cannot_take(field, c);
        store_number(field, number_at(c.array, c.type, i), cell);
    }
  }
  return out;
}

}  // namespace

ArrowImport import_arrow(ArrowArray* array, const ArrowSchema* schema, const Schema& target,
                         const std::vector<DictionaryPtr>& dictionaries) {
  if (array == nullptr || schema == nullptr) malformed("null array or schema");
  if (array->release == nullptr) malformed("the array was released (or moved) already");
  if (schema->release == nullptr) malformed("the schema was released already");
  if (schema->format == nullptr || std::string_view(schema->format) != "+s")
    malformed(std::string("a record batch is a struct array (\"+s\"), not ") +
              quoted(schema->format == nullptr ? "" : schema->format));
  if (schema->n_children != array->n_children || array->n_children < 0 ||
      (array->n_children > 0 && (array->children == nullptr || schema->children == nullptr)))
    malformed("the array's and the schema's children differ");
  if (array->length < 0 || array->offset < 0) malformed("negative length or offset");
  const std::int64_t rows = array->length;
  // Each target column's child, checked before anything is moved.
  std::vector<Child> children(target.size());
  for (std::size_t col = 0; col < target.size(); ++col) {
    const Field& field = target.field(col);
    std::int64_t found = -1;
    for (std::int64_t k = 0; k < schema->n_children; ++k) {
      const ArrowSchema* s = schema->children[k];
      if (s != nullptr && s->name != nullptr && field.name == s->name) found = k;
    }
    if (found < 0)
      throw Error(ErrorCode::unknown_column,
                  "import_arrow: the record batch has no column " + quoted(field.name));
    children[col] = check_child(array->children[found], schema->children[found], quoted(field.name),
                                array->offset + rows);
    if (field.type.id == TypeId::string &&
        (col >= dictionaries.size() || dictionaries[col] == nullptr))
      throw Error(ErrorCode::invalid_argument,
                  "import_arrow: string column " + quoted(field.name) + " has no dictionary");
  }
  // Rows with a null in the struct or in a column read are dropped.
  std::vector<std::uint8_t> keep;
  std::size_t kept = static_cast<std::size_t>(rows);
  // A dictionary-encoded value is null where its index is, or the entry it names.
  const auto entry_valid = [](const Child& c, std::int64_t i) {
    if (c.dictionary == nullptr || !has_nulls(c.dictionary)) return true;
    const Number n = number_at(c.array, c.type, i);
    const auto index = std::visit([](auto v) { return static_cast<std::int64_t>(v); }, n);
    // An index out of range is kept here, to be named by convert().
    return index < 0 || index >= c.dictionary->length || valid(c.dictionary, index);
  };
  const bool struct_nulls = has_nulls(array);
  bool any_nulls = struct_nulls;
  for (const Child& c : children)
    any_nulls =
        any_nulls || has_nulls(c.array) || (c.dictionary != nullptr && has_nulls(c.dictionary));
  if (any_nulls) {
    keep.assign(static_cast<std::size_t>(rows), 1);
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::int64_t i = array->offset + r;
      bool ok = !struct_nulls || bit(array->buffers[0], i);
      for (const Child& c : children) ok = ok && valid(c.array, i) && entry_valid(c, i);
      keep[static_cast<std::size_t>(r)] = ok ? 1 : 0;
      if (!ok) --kept;
    }
  }
  auto owner = std::make_shared<ImportedArrow>();
  std::vector<const void*> columns(target.size());
  std::vector<DictionaryPtr> batch_dictionaries(target.size());
  owner->converted.reserve(target.size());
  std::size_t in_place = 0;
  // Numbers first, strings last: a batch refused for a value out of range adds no strings to
  // the dictionaries.
  for (const bool strings : {false, true}) {
    for (std::size_t col = 0; col < target.size(); ++col) {
      const Field& field = target.field(col);
      if ((field.type.id == TypeId::string) != strings) continue;
      const Child& c = children[col];
      if (strings) batch_dictionaries[col] = dictionaries[col];
      if (!any_nulls && readable_in_place(field, c)) {
        columns[col] = static_cast<const std::byte*>(c.array->buffers[1]) +
                       (c.array->offset + array->offset) * static_cast<std::int64_t>(c.type.bytes);
        ++in_place;
        continue;
      }
      owner->converted.push_back(convert(field, c, array->offset, rows, keep, kept,
                                         strings ? dictionaries[col].get() : nullptr));
      columns[col] = owner->converted.back().data();
    }
  }
  // Everything is read: the array is the Batch's now, or, with no column read in place, done.
  if (in_place > 0) {
    owner->array = *array;
    array->release = nullptr;
  } else {
    array->release(array);
    array->release = nullptr;
  }
  ArrowImport out;
  out.rows_with_nulls = static_cast<std::uint64_t>(rows) - kept;
  out.batch = Batch::wrap(target, std::move(columns), kept, std::move(batch_dictionaries),
                          std::shared_ptr<const void>(owner, owner.get()));
  return out;
}

namespace {

/// What an exported array owns: the values' copy and the buffers made for it.
struct ExportedArray {
  Batch values;  ///< the column's values (numbers are exported in place from it)
  std::vector<std::uint8_t> bits;
  std::vector<std::int32_t> offsets32;
  std::vector<std::int64_t> offsets64;
  std::string chars;
  std::vector<const void*> buffers;
  std::vector<ArrowArray> children;
  std::vector<ArrowArray*> child_pointers;
  ExportedArray() = default;
  ExportedArray(const ExportedArray&) = delete;
  ExportedArray& operator=(const ExportedArray&) = delete;
  ~ExportedArray() {  // children a consumer did not move out
    for (ArrowArray& child : children)
      if (child.release != nullptr) child.release(&child);
  }
};

struct ExportedSchema {
  std::string format;
  std::string name;
  std::vector<ArrowSchema> children;
  std::vector<ArrowSchema*> child_pointers;
  ExportedSchema() = default;
  ExportedSchema(const ExportedSchema&) = delete;
  ExportedSchema& operator=(const ExportedSchema&) = delete;
  ~ExportedSchema() {
    for (ArrowSchema& child : children)
      if (child.release != nullptr) child.release(&child);
  }
};

void release_array(ArrowArray* a) {
  if (a == nullptr || a->release == nullptr) return;
  delete static_cast<ExportedArray*>(a->private_data);
  a->release = nullptr;
}

void release_schema(ArrowSchema* s) {
  if (s == nullptr || s->release == nullptr) return;
  delete static_cast<ExportedSchema*>(s->private_data);
  s->release = nullptr;
}

const char* unit_letter(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::s:
      return "tss:UTC";
    case TimeUnit::ms:
      return "tsm:UTC";
    case TimeUnit::us:
      return "tsu:UTC";
    case TimeUnit::ns:
      return "tsn:UTC";
  }
  return "tsm:UTC";
}

std::string format_of(TypeId id, TimeUnit unit, bool large) {
  switch (id) {
    case TypeId::i32:
      return "i";
    case TypeId::i64:
      return "l";
    case TypeId::u32:
      return "I";
    case TypeId::u64:
      return "L";
    case TypeId::f32:
      return "f";
    case TypeId::f64:
      return "g";
    case TypeId::boolean:
      return "b";
    case TypeId::timestamp:
      return unit_letter(unit);
    case TypeId::string:
      return large ? "U" : "u";
  }
  return "l";
}

void fill_schema(ArrowSchema& s, ExportedSchema* owned) {
  s.format = owned->format.c_str();
  s.name = owned->name.c_str();
  s.metadata = nullptr;
  s.flags = 0;
  s.n_children = static_cast<std::int64_t>(owned->children.size());
  s.children = owned->child_pointers.empty() ? nullptr : owned->child_pointers.data();
  s.dictionary = nullptr;
  s.release = release_schema;
  s.private_data = owned;
}

void fill_array(ArrowArray& a, ExportedArray* owned, std::int64_t length) {
  a.length = length;
  a.null_count = 0;
  a.offset = 0;
  a.n_buffers = static_cast<std::int64_t>(owned->buffers.size());
  a.buffers = owned->buffers.data();
  a.n_children = static_cast<std::int64_t>(owned->children.size());
  a.children = owned->child_pointers.empty() ? nullptr : owned->child_pointers.data();
  a.dictionary = nullptr;
  a.release = release_array;
  a.private_data = owned;
}

}  // namespace

void export_arrow(const Batch& batch, ArrowArray* out_array, ArrowSchema* out_schema) {
  if (out_array == nullptr || out_schema == nullptr)
    throw Error(ErrorCode::invalid_argument, "export_arrow: null output");
  const Batch values = batch.copy();
  const Schema& schema = values.schema();
  const std::size_t rows = values.rows();
  auto top_schema = std::make_unique<ExportedSchema>();
  auto top_array = std::make_unique<ExportedArray>();
  top_schema->format = "+s";
  top_schema->children.resize(schema.size());
  top_array->values = values;
  top_array->buffers = {nullptr};  // no validity bitmap: no nulls
  top_array->children.resize(schema.size());
  for (std::size_t c = 0; c < schema.size(); ++c) {
    const Field& field = schema.field(c);
    auto column = std::make_unique<ExportedArray>();
    column->values = values;
    const ColumnView view = values.column(c);
    bool large = false;
    switch (field.type.id) {
      case TypeId::boolean: {
        column->bits.assign((rows + 7) / 8, 0);
        const auto* bytes = static_cast<const std::uint8_t*>(view.data);
        for (std::size_t r = 0; r < rows; ++r)
          if (bytes[r] != 0) column->bits[r >> 3] |= static_cast<std::uint8_t>(1u << (r & 7));
        column->buffers = {nullptr, column->bits.data()};
        break;
      }
      case TypeId::string: {
        const auto* codes = static_cast<const std::uint32_t*>(view.data);
        std::size_t total = 0;
        for (std::size_t r = 0; r < rows; ++r) total += view.dictionary->at(codes[r]).size();
        large = total > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max());
        column->chars.reserve(total);
        if (large) {
          column->offsets64.reserve(rows + 1);
          column->offsets64.push_back(0);
        } else {
          column->offsets32.reserve(rows + 1);
          column->offsets32.push_back(0);
        }
        for (std::size_t r = 0; r < rows; ++r) {
          column->chars += view.dictionary->at(codes[r]);
          if (large) {
            column->offsets64.push_back(static_cast<std::int64_t>(column->chars.size()));
          } else {
            column->offsets32.push_back(static_cast<std::int32_t>(column->chars.size()));
          }
        }
        column->buffers = {nullptr,
                           large ? static_cast<const void*>(column->offsets64.data())
                                 : static_cast<const void*>(column->offsets32.data()),
                           column->chars.data()};
        break;
      }
      default:
        column->buffers = {nullptr, view.data};
    }
    auto child_schema = std::make_unique<ExportedSchema>();
    child_schema->format = format_of(field.type.id, field.type.unit, large);
    child_schema->name = field.name;
    fill_schema(top_schema->children[c], child_schema.release());
    fill_array(top_array->children[c], column.release(), static_cast<std::int64_t>(rows));
  }
  for (ArrowSchema& s : top_schema->children) top_schema->child_pointers.push_back(&s);
  for (ArrowArray& a : top_array->children) top_array->child_pointers.push_back(&a);
  fill_schema(*out_schema, top_schema.release());
  fill_array(*out_array, top_array.release(), static_cast<std::int64_t>(rows));
}

}  // namespace sluice
