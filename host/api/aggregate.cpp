// AggregateSpec: count/sum/min/max/avg/first/last factories and parse_aggregates.
#include "sluice/aggregate.hpp"

#include <cctype>
#include <string>
#include <utility>

#include "expr_parser.hpp"
#include "sluice/status.hpp"
#include "text.hpp"

namespace sluice {
namespace {

AggregateSpec make(AggKind kind, const char* function, Expr input) {
  if (!input.valid()) {
    throw Error(ErrorCode::invalid_argument,
                std::string(function) + "(): the input expression is empty");
  }
  AggregateSpec spec;
  spec.kind = kind;
  spec.name = std::string(function) + "(" + input.to_string() + ")";
  spec.input = std::move(input);
  return spec;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Index of the ')' matching the '(' at text[0] (string literals skipped), or npos.
std::size_t matching_paren(std::string_view text) {
  int depth = 0;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && --depth == 0) {
      return i;
    }
  }
  return std::string_view::npos;
}

/// Splits a trailing " as NAME" (any case, NAME an identifier) off `item`: the name, or empty.
std::string_view take_alias(std::string_view& item) {
  std::size_t end = item.size();
  std::size_t start = end;
  while (start > 0 &&
         (std::isalnum(static_cast<unsigned char>(item[start - 1])) || item[start - 1] == '_'))
    --start;
  if (start == end || std::isdigit(static_cast<unsigned char>(item[start]))) return {};
  std::size_t as_end = start;
  if (as_end == 0 || !detail::is_space(item[as_end - 1])) return {};
  while (as_end > 0 && detail::is_space(item[as_end - 1])) --as_end;
  if (as_end < 3 || lower(item.substr(as_end - 2, 2)) != "as" ||
      !detail::is_space(item[as_end - 3]))
    return {};
  const std::string_view name = item.substr(start, end - start);
  item = detail::trim(item.substr(0, as_end - 2));
  return name;
}

// Parses one trimmed item that starts at `offset` (0-based) of the whole list `all`.
AggregateSpec parse_item(std::string_view item, std::size_t offset, std::string_view all) {
  const std::string_view alias = take_alias(item);
  const auto fail = [&](std::size_t at, const std::string& why) {
    throw Error(ErrorCode::parse_error, "bad aggregate " + detail::quoted(item) + " at position " +
                                            std::to_string(at + 1) + ": " + why + ": " +
                                            detail::quoted(all));
  };
  std::size_t name_end = 0;
  while (name_end < item.size() &&
         (std::isalnum(static_cast<unsigned char>(item[name_end])) || item[name_end] == '_')) {
    ++name_end;
  }
  const std::string function = lower(item.substr(0, name_end));
  AggKind kind = AggKind::count;
  if (function == "count")
    kind = AggKind::count;
  else if (function == "sum")
    kind = AggKind::sum;
  else if (function == "min")
    kind = AggKind::min;
  else if (function == "max")
    kind = AggKind::max;
  else if (function == "avg")
    kind = AggKind::avg;
  else if (function == "first")
    kind = AggKind::first;
  else if (function == "last")
    kind = AggKind::last;
  else if (name_end == 0)
    fail(offset, "expected an aggregate function name");
  else {
    fail(offset, "unknown aggregate function " + detail::quoted(item.substr(0, name_end)) +
                     " (expected count, sum, min, max, avg, first or last)");
  }

  const std::string_view rest = detail::trim(item.substr(name_end));
  const std::size_t rest_offset = offset + static_cast<std::size_t>(rest.data() - item.data());
  AggregateSpec spec;
  spec.kind = kind;
  spec.name = std::string(alias.empty() ? item : alias);
  if (rest.empty()) {
    if (kind != AggKind::count) fail(rest_offset, function + " needs an argument in parentheses");
    return spec;
  }
  if (rest.front() != '(') fail(rest_offset, "expected '(' after " + function);
  const std::size_t close = matching_paren(rest);
  if (close == std::string_view::npos) {
    fail(rest_offset + rest.size(),
         "expected ')' closing '(' at position " + std::to_string(rest_offset + 1));
  }
  if (close + 1 != rest.size()) {
    const std::string_view extra = detail::trim(rest.substr(close + 1));
    fail(offset + static_cast<std::size_t>(extra.data() - item.data()),
         "unexpected text after ')'");
  }
  const std::string_view argument = rest.substr(1, close - 1);
  const std::size_t argument_offset = rest_offset + 1;
  if (kind == AggKind::count) {
    if (!detail::trim(argument).empty()) fail(argument_offset, "count takes no argument");
    return spec;
  }
  if (detail::trim(argument).empty()) fail(argument_offset, function + " needs an argument");
  spec.input = detail::parse_expression_in(all, argument_offset, argument_offset + argument.size(),
                                           "bad aggregate " + detail::quoted(item));
  return spec;
}

}  // namespace

AggregateSpec AggregateSpec::as(std::string new_name) const {
  if (new_name.empty()) throw Error(ErrorCode::invalid_argument, "aggregate name is empty");
  AggregateSpec copy = *this;
  copy.name = std::move(new_name);
  return copy;
}

AggregateSpec count() {
  AggregateSpec spec;
  spec.kind = AggKind::count;
  spec.name = "count";
  return spec;
}

AggregateSpec sum(Expr input) { return make(AggKind::sum, "sum", std::move(input)); }
AggregateSpec min(Expr input) { return make(AggKind::min, "min", std::move(input)); }
AggregateSpec max(Expr input) { return make(AggKind::max, "max", std::move(input)); }
AggregateSpec avg(Expr input) { return make(AggKind::avg, "avg", std::move(input)); }
AggregateSpec first(Expr input) { return make(AggKind::first, "first", std::move(input)); }
AggregateSpec last(Expr input) { return make(AggKind::last, "last", std::move(input)); }

std::vector<AggregateSpec> parse_aggregates(std::string_view text) {
  std::vector<AggregateSpec> specs;
  const auto fail = [&](std::size_t at, const std::string& why) {
    throw Error(ErrorCode::parse_error, "bad aggregate list at position " + std::to_string(at + 1) +
                                            ": " + why + ": " + detail::quoted(text));
  };
  const auto add_item = [&](std::size_t begin, std::size_t end) {
    const std::string_view raw = text.substr(begin, end - begin);
    const std::string_view item = detail::trim(raw);
    if (item.empty()) fail(begin, "empty aggregate");
    specs.push_back(
        parse_item(item, begin + static_cast<std::size_t>(item.data() - raw.data()), text));
  };
  // Split on commas outside parentheses and string literals.
  int depth = 0;
  char quote = 0;
  std::size_t quote_at = 0;
  std::size_t begin = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
      quote_at = i;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (--depth < 0) fail(i, "unbalanced ')'");
    } else if (c == ',' && depth == 0) {
      add_item(begin, i);
      begin = i + 1;
    }
  }
  if (quote != 0) fail(quote_at, "unterminated string");
  if (depth != 0) fail(text.size(), "missing ')'");
  add_item(begin, text.size());
  return specs;
}

}  // namespace sluice
