// Value: the text form of a dynamically typed cell.
#include "sluice/value.hpp"

#include <charconv>
#include <type_traits>

namespace sluice {

std::string to_string(const Value& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return {};
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else if constexpr (std::is_same_v<T, double>) {
          char buffer[64];
          const auto result = std::to_chars(buffer, buffer + sizeof(buffer), v);
          return std::string(buffer, result.ptr);
        } else {
          return std::to_string(v);
        }
      },
      value);
}

}  // namespace sluice
