// Internal entry point of the expression parser, for parsers that embed expressions.
#pragma once

#include <cstddef>
#include <string_view>

#include "sluice/expr.hpp"

namespace sluice::detail {

/// @brief Parses text[begin, end) as an expression. Node positions and error positions are
/// offsets in the whole `text`, which error messages quote.
/// @param label how an error message starts ("bad expression", "bad aggregate 'max(x)'").
/// @throws Error(parse_error) "<label> at position N: <what>: '<text>'" (N 1-based).
Expr parse_expression_in(std::string_view text, std::size_t begin, std::size_t end,
                         std::string_view label);

}  // namespace sluice::detail
