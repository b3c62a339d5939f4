// Duration: parsing "10s"-style text and printing the shortest exact form.
#include "sluice/duration.hpp"

#include <charconv>
#include <cstdint>
#include <limits>

#include "sluice/status.hpp"
#include "text.hpp"

namespace sluice {
namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t nanos;
};

// Largest first, so to_string picks the largest unit that divides exactly.
constexpr Unit kUnits[] = {
    {"h", 3'600'000'000'000}, {"m", 60'000'000'000}, {"s", 1'000'000'000},
    {"ms", 1'000'000},        {"us", 1'000},         {"ns", 1},
};

[[noreturn]] void bad_duration(std::string_view text, std::string_view why) {
  throw Error(ErrorCode::parse_error, "bad duration " + detail::quoted(text) + ": " +
                                          std::string(why) + " (expected e.g. 250ms, 10s, 2m)");
}

}  // namespace

Duration parse_duration(std::string_view text) {
  const std::string_view body = detail::trim(text);
  std::size_t digits = 0;
  while (digits < body.size() && body[digits] >= '0' && body[digits] <= '9') ++digits;
  if (digits == 0) bad_duration(text, "expected a non-negative integer");
  std::int64_t count = 0;
  const auto [end, ec] = std::from_chars(body.data(), body.data() + digits, count);
  if (ec != std::errc() || end != body.data() + digits) bad_duration(text, "number out of range");
  const std::string_view suffix = body.substr(digits);
  if (suffix.empty()) {
    if (count == 0) return Duration{0};
    bad_duration(text, "missing unit (ns, us, ms, s, m or h)");
  }
  for (const Unit& unit : kUnits) {
    if (suffix != unit.suffix) continue;
    if (count > std::numeric_limits<std::int64_t>::max() / unit.nanos) {
      bad_duration(text, "out of range");
    }
    return Duration{count * unit.nanos};
  }
  bad_duration(text, "unknown unit " + detail::quoted(suffix) + " (ns, us, ms, s, m or h)");
}

std::string to_string(Duration d) {
  const std::int64_t n = d.count();
  if (n == 0) return "0s";
  for (const Unit& unit : kUnits) {
    if (n % unit.nanos == 0) return std::to_string(n / unit.nanos) + std::string(unit.suffix);
  }
  return std::to_string(n) + "ns";
}

}  // namespace sluice
