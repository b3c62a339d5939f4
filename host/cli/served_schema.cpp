// The types a served body gives the columns a query reads.
#include "host/cli/served_schema.hpp"

#include <algorithm>

#include "host/cli/schema_inference.hpp"
#include "host/io/json_lines.hpp"
#include "host/io/line_outcome.hpp"
#include "host/io/line_protocol.hpp"

namespace sluice::cli {
namespace {

std::optional<DataType> type_of_point_value(detail::PointValueKind kind) {
  using Kind = detail::PointValueKind;
  switch (kind) {
    case Kind::absent:
      return std::nullopt;
    case Kind::tag:
    case Kind::string:
      return DataType(TypeId::string);
    case Kind::floating:
      return DataType(TypeId::f64);
    case Kind::integer:
    case Kind::unsigned_integer:
      return DataType(TypeId::i64);
    case Kind::boolean:
      return DataType(TypeId::boolean);
  }
  return std::nullopt;
}

std::optional<DataType> type_of_json_value(const detail::JsonValueSeen& v, bool time_column,
                                           std::string& problem) {
  using Kind = detail::JsonValueSeen::Kind;
  if (time_column) {
    if (v.kind != Kind::integer && v.kind != Kind::number && v.kind != Kind::string)
      return std::nullopt;
    if (const std::optional<TimeUnit> unit = time_unit_of_cell(v.text))
      return DataType::timestamp(*unit);
    problem = "the event time '" + v.text + "' is neither RFC 3339 text nor a number";
    return std::nullopt;
  }
  switch (v.kind) {
    case Kind::boolean:
      return DataType(TypeId::boolean);
    case Kind::integer:
      return DataType(TypeId::i64);
    case Kind::number:
      return DataType(TypeId::f64);
    case Kind::string:
      return DataType(TypeId::string);
    case Kind::absent:
    case Kind::null:
    case Kind::container:
      return std::nullopt;
  }
  return std::nullopt;
}

bool blank_or_comment(std::string_view line, detail::TextFormat format) {
  const std::size_t first = line.find_first_not_of(" \t\r");
  return first == std::string_view::npos ||
         (format == detail::TextFormat::line_protocol && line[first] == '#');
}

}  // namespace

std::optional<Schema> infer_served_schema(std::string_view body, detail::TextFormat format,
                                          const ServedSchemaRules& rules, std::string& problem) {
  const std::size_t n = rules.columns.size();
  // A probe schema of the columns: the parsers' scanners report values whatever the types.
  std::vector<Field> probe;
  std::vector<std::optional<DataType>> types(n);
  std::size_t time = n;
  for (std::size_t c = 0; c < n; ++c) {
    const std::string& name = rules.columns[c];
    if (name == rules.time_column) time = c;
    probe.push_back({name, name == rules.time_column ? DataType::timestamp(TimeUnit::ns)
                                                     : DataType(TypeId::string)});
    if (const auto given = rules.overrides.find(name))
      types[c] = rules.overrides.field(*given).type;
  }
  const Schema probe_schema(probe);
  const auto all_typed = [&] {
    return std::all_of(types.begin(), types.end(), [](const auto& t) { return t.has_value(); });
  };
  std::string time_problem;
  if (format == detail::TextFormat::line_protocol) {
    if (time < n && !types[time]) types[time] = DataType::timestamp(TimeUnit::ns);
    const detail::LineProtocolParser parser(probe_schema, {.measurement = rules.measurement,
                                                           .time_column = rules.time_column,
                                                           .max_line_bytes = rules.max_line_bytes});
    std::vector<detail::PointValueKind> kinds;
    detail::for_each_line(body, 1, [&](std::string_view line, std::uint64_t) {
      if (all_typed() || blank_or_comment(line, format)) return;
      bool other = false;
      if (!parser.value_kinds(line, kinds, other).empty() || other) return;
      for (std::size_t c = 0; c < n; ++c)
        if (!types[c]) types[c] = type_of_point_value(kinds[c]);
    });
  } else {
    const detail::JsonLinesParser parser(probe_schema, {.max_line_bytes = rules.max_line_bytes});
    std::vector<detail::JsonValueSeen> values;
    detail::for_each_line(body, 1, [&](std::string_view line, std::uint64_t) {
      if (all_typed() || blank_or_comment(line, format)) return;
      if (!parser.values_of(line, values).empty()) return;
      for (std::size_t c = 0; c < n; ++c)
        if (!types[c]) types[c] = type_of_json_value(values[c], c == time, time_problem);
    });
  }
  std::vector<Field> fields;
  for (std::size_t c = 0; c < n; ++c) {
    if (!types[c]) {
      std::string read;
      for (const std::string& name : rules.columns) read += (read.empty() ? "" : ", ") + name;
      problem = !time_problem.empty() && c == time
                    ? time_problem
                    : "no " +
                          std::string(format == detail::TextFormat::line_protocol
                                          ? "point" + (rules.measurement.empty()
                                                           ? std::string()
                                                           : " of measurement " + rules.measurement)
                                          : std::string("line")) +
                          " of the first write gives column '" + rules.columns[c] +
                          "', so its type is unknown (the query reads " + read +
                          "; the first write that gives them all fixes their types, or "
                          "--types NAME:TYPE or --schema give them)";
      return std::nullopt;
    }
    fields.push_back({rules.columns[c], *types[c]});
  }
  return Schema(std::move(fields));
}

}  // namespace sluice::cli
