// Schema: construction checks, column lookup, text form and parse_schema.
#include "sluice/schema.hpp"

#include <string>
#include <utility>

#include "sluice/status.hpp"
#include "text.hpp"

namespace sluice {

Schema::Schema(std::vector<Field> fields) : fields_(std::move(fields)) {
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name.empty()) {
      throw Error(ErrorCode::invalid_argument,
                  "schema column " + std::to_string(i + 1) + " has an empty name");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (fields_[j].name == fields_[i].name) {
        throw Error(ErrorCode::invalid_argument,
                    "duplicate schema column " + detail::quoted(fields_[i].name) + " (columns " +
                        std::to_string(j + 1) + " and " + std::to_string(i + 1) + ")");
      }
    }
  }
}

// Schemas are small (tens of columns), so a linear scan beats hashing here.
std::optional<std::size_t> Schema::find(std::string_view name) const {
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name == name) return i;
  }
  return std::nullopt;
}

std::size_t Schema::index_of(std::string_view name) const {
  if (auto index = find(name)) return *index;
  std::string known;
  for (const Field& f : fields_) {
    if (!known.empty()) known += ", ";
    known += f.name;
  }
  throw Error(ErrorCode::unknown_column,
              "unknown column " + detail::quoted(name) + " (columns: " + known + ")");
}

std::string Schema::to_string() const {
  std::string out;
  for (const Field& f : fields_) {
    if (!out.empty()) out += ',';
    out += f.name;
    out += ':';
    out += sluice::to_string(f.type);
  }
  return out;
}

bool operator==(const Schema& a, const Schema& b) {
  if (a.fields_.size() != b.fields_.size()) return false;
  for (std::size_t i = 0; i < a.fields_.size(); ++i) {
    if (a.fields_[i].name != b.fields_[i].name || !(a.fields_[i].type == b.fields_[i].type)) {
      return false;
    }
  }
  return true;
}

Schema parse_schema(std::string_view text) {
  std::vector<Field> fields;
  std::size_t entry = 0;
  std::size_t begin = 0;
  while (true) {
    const std::size_t comma = text.find(',', begin);
    const std::string_view raw = text.substr(
        begin, comma == std::string_view::npos ? std::string_view::npos : comma - begin);
    ++entry;
    const std::string_view item = detail::trim(raw);
    const auto fail = [&](const std::string& why) {
      throw Error(ErrorCode::parse_error, "bad schema entry " + std::to_string(entry) + " " +
                                              detail::quoted(item) + ": " + why);
    };
    const std::size_t colon = item.find(':');
    if (colon == std::string_view::npos) fail("expected name:type");
    const std::string_view name = detail::trim(item.substr(0, colon));
    if (name.empty()) fail("expected name:type (the name is empty)");
    DataType type;
    try {
      type = parse_type(item.substr(colon + 1));
    } catch (const Error& e) {
      fail(e.what());
    }
    for (const Field& f : fields) {
      if (f.name == name) fail("duplicate column name " + detail::quoted(name));
    }
    fields.push_back(Field{std::string(name), type});
    if (comma == std::string_view::npos) break;
    begin = comma + 1;
  }
  return Schema(std::move(fields));
}

}  // namespace sluice
