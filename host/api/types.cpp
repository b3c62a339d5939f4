// Column types: widths, classification, names and parsing of type names.
#include "sluice/types.hpp"

#include "sluice/status.hpp"
#include "text.hpp"

namespace sluice {

std::size_t type_width(TypeId id) noexcept {
  switch (id) {
    case TypeId::i32:
    case TypeId::u32:
    case TypeId::f32:
    case TypeId::string:
      return 4;
    case TypeId::i64:
    case TypeId::u64:
    case TypeId::f64:
    case TypeId::timestamp:
      return 8;
    case TypeId::boolean:
      return 1;
  }
  return 0;
}

bool is_integral(TypeId id) noexcept {
  switch (id) {
    case TypeId::i32:
    case TypeId::i64:
    case TypeId::u32:
    case TypeId::u64:
    case TypeId::timestamp:
      return true;
    default:
      return false;
  }
}

bool is_floating(TypeId id) noexcept { return id == TypeId::f32 || id == TypeId::f64; }

std::int64_t nanos_per_unit(TimeUnit unit) noexcept {
  switch (unit) {
    case TimeUnit::ns:
      return 1;
    case TimeUnit::us:
      return 1'000;
    case TimeUnit::ms:
      return 1'000'000;
    case TimeUnit::s:
      return 1'000'000'000;
  }
  return 1;
}

const char* to_string(TimeUnit unit) noexcept {
  switch (unit) {
    case TimeUnit::ns:
      return "ns";
    case TimeUnit::us:
      return "us";
    case TimeUnit::ms:
      return "ms";
    case TimeUnit::s:
      return "s";
  }
  return "?";
}

std::string to_string(DataType type) {
  switch (type.id) {
    case TypeId::i32:
      return "i32";
    case TypeId::i64:
      return "i64";
    case TypeId::u32:
      return "u32";
    case TypeId::u64:
      return "u64";
    case TypeId::f32:
      return "f32";
    case TypeId::f64:
      return "f64";
    case TypeId::boolean:
      return "bool";
    case TypeId::string:
      return "string";
    case TypeId::timestamp:
      return std::string("timestamp[") + to_string(type.unit) + "]";
  }
  return "?";
}

DataType parse_type(std::string_view text) {
  const std::string_view name = detail::trim(text);
  if (name == "i32") return TypeId::i32;
  if (name == "i64") return TypeId::i64;
  if (name == "u32") return TypeId::u32;
  if (name == "u64") return TypeId::u64;
  if (name == "f32") return TypeId::f32;
  if (name == "f64") return TypeId::f64;
  if (name == "bool" || name == "boolean") return TypeId::boolean;
  if (name == "string") return TypeId::string;
  if (name == "timestamp") return DataType::timestamp(TimeUnit::ms);
  if (name == "timestamp[ns]") return DataType::timestamp(TimeUnit::ns);
  if (name == "timestamp[us]") return DataType::timestamp(TimeUnit::us);
  if (name == "timestamp[ms]") return DataType::timestamp(TimeUnit::ms);
  if (name == "timestamp[s]") return DataType::timestamp(TimeUnit::s);
  throw Error(ErrorCode::parse_error,
              "unknown type " + detail::quoted(text) +
                  " (expected i32, i64, u32, u64, f32, f64, bool, string or "
                  "timestamp[ns|us|ms|s])");
}

}  // namespace sluice
