// Broadcast inputs of `sluice run`: parsing --broadcast and reading its files with inferred types.
#include "host/cli/broadcast_file.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>

#include "host/cli/cli_options.hpp"
#include "sluice/status.hpp"

namespace sluice::cli {
namespace {

std::optional<std::int64_t> as_integer(std::string_view s) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> as_number(std::string_view s) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<bool> as_bool(std::string_view s) {
  if (s == "true") return true;
  if (s == "false") return false;
  return std::nullopt;
}

/// The names of the header row (fields split on commas, surrounding quotes removed).
std::vector<std::string> header_names(std::istream& in, const std::string& path) {
  std::string line;
  if (!std::getline(in, line)) throw Error(ErrorCode::malformed_input, path + ": no header row");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::vector<std::string> names;
  std::size_t at = 0;
  for (;;) {
    const std::size_t comma = line.find(',', at);
    std::string name = line.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
      name = name.substr(1, name.size() - 2);
    names.push_back(std::move(name));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return names;
}

}  // namespace

std::vector<BroadcastFile> parse_broadcast_files(std::string_view text) {
  std::vector<BroadcastFile> out;
  for (const std::string& item : split_list("--broadcast", std::string(text))) {
    const std::size_t eq = item.find('=');
    const std::size_t colon = item.rfind(':');
    if (eq == std::string::npos || eq == 0 || colon == std::string::npos || colon < eq + 2 ||
        colon + 1 == item.size())
      throw UsageError("--broadcast: '" + item + "' is not NAME=FILE.csv:KEY");
    BroadcastFile f{item.substr(0, eq), item.substr(eq + 1, colon - eq - 1),
                    item.substr(colon + 1)};
    if (f.path == "-")
      throw UsageError("--broadcast: '" + item + "': a broadcast input is a file, not stdin");
    out.push_back(std::move(f));
  }
  return out;
}

Batch read_broadcast_file(const BroadcastFile& file, const Schema& events,
                          detail::OnMalformed on_malformed, std::uint64_t* malformed) {
  const auto open = [&](std::ifstream& in) {
    in.open(file.path, std::ios::in | std::ios::binary);
    if (!in)
      throw Error(ErrorCode::io_error, "cannot open broadcast '" + file.name + "' file '" +
                                           file.path + "': " + std::strerror(errno));
  };
  std::ifstream head;
  open(head);
  const std::vector<std::string> names = header_names(head, file.path);
  std::vector<Field> text_fields;
  for (const std::string& n : names) text_fields.push_back({n, TypeId::string});
  const Schema as_text(text_fields);  // throws on an empty or repeated name
  if (!as_text.find(file.key))
    throw Error(ErrorCode::unknown_column, "broadcast '" + file.name + "': its key column '" +
                                               file.key + "' is not in the header of " + file.path +
                                               " (" + as_text.to_string() + ")");
  // Every row as text first; the types follow from all of the values.
  std::ifstream in;
  open(in);
  auto dictionary = std::make_shared<StringDictionary>();
  detail::CsvReader reader(in, file.path, as_text, dictionary, {.on_malformed = on_malformed});
  std::vector<std::vector<std::string>> rows;
  Batch piece;
  while (reader.next(piece))
    for (std::size_t r = 0; r < piece.rows(); ++r) {
      std::vector<std::string> row;
      for (std::size_t c = 0; c < names.size(); ++c)
        row.push_back(std::get<std::string>(piece.at(r, c)));
      rows.push_back(std::move(row));
    }
  *malformed += reader.malformed();
  std::vector<Field> fields;
  for (std::size_t c = 0; c < names.size(); ++c) {
    TypeId type = TypeId::string;
    if (names[c] == file.key) {
      const std::optional<std::size_t> e = events.find(names[c]);
      const bool integer_key = e && events.field(*e).type.id != TypeId::string;
      type = integer_key ? TypeId::i64 : TypeId::string;
    } else if (!rows.empty()) {
      bool integers = true, numbers = true, bools = true;
      for (const auto& row : rows) {
        integers = integers && as_integer(row[c]).has_value();
        numbers = numbers && as_number(row[c]).has_value();
        bools = bools && as_bool(row[c]).has_value();
      }
      type = integers  ? TypeId::i64
             : numbers ? TypeId::f64
             : bools   ? TypeId::boolean
                       : TypeId::string;
    }
    fields.push_back({names[c], type});
  }
  BatchBuilder builder{Schema(fields)};
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (std::size_t c = 0; c < fields.size(); ++c) {
      const std::string& v = rows[r][c];
      switch (fields[c].type.id) {
        case TypeId::i64:
          if (const auto i = as_integer(v)) {
            builder.set_int(c, *i);
            break;
          }
          throw Error(ErrorCode::malformed_input,
                      "broadcast '" + file.name + "' (" + file.path + "), row " +
                          std::to_string(r + 1) + ": key '" + v +
                          "' is not an integer, as the events' column '" + fields[c].name + "' is");
        case TypeId::f64:
          builder.set_double(c, *as_number(v));
          break;
        case TypeId::boolean:
          builder.set_bool(c, *as_bool(v));
          break;
        default:
          builder.set_string(c, v);
          break;
      }
    }
    builder.end_row();
  }
  return builder.finish();
}

}  // namespace sluice::cli
