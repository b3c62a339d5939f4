// Aggregate specifications: count, sum, min, max, avg, first and last of columns or expressions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/expr.hpp"

namespace sluice {

enum class AggKind : std::uint8_t { count, sum, min, max, avg, first, last };

/// @brief One aggregate of a windowed query, with the name of its result column.
struct AggregateSpec {
  AggKind kind = AggKind::count;
  std::optional<Expr> input;  ///< absent for count
  std::string name;           ///< result column name ("sum(cpu)" unless renamed)

  /// @brief The same aggregate with another result name.
  AggregateSpec as(std::string new_name) const;
};

AggregateSpec count();
AggregateSpec sum(Expr input);
AggregateSpec min(Expr input);
AggregateSpec max(Expr input);
AggregateSpec avg(Expr input);
/// @brief The input's value at the earliest event time of the window (first) or the latest
/// (last); among events of equal time, the one whose value's bits are largest. Needs the
/// query's event_time.
AggregateSpec first(Expr input);
AggregateSpec last(Expr input);

/// @brief Parses a comma-separated list such as "count,sum(cpu),max(cpu * 2) as peak,last(cpu)".
/// Each result is named by the NAME of a trailing "as NAME" (an identifier), else by its text
/// exactly as written (trimmed).
/// @throws Error(parse_error) naming the item and position.
std::vector<AggregateSpec> parse_aggregates(std::string_view text);

}  // namespace sluice
