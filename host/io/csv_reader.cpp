// CsvReader: record splitting, header mapping and typed cell parsing into a BatchBuilder.
#include "host/io/csv_reader.hpp"

#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <istream>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

#include "sluice/status.hpp"

namespace sluice::detail {
namespace {

enum class Parsed : std::uint8_t { ok, bad, out_of_range };

std::string_view trim_blanks(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Numbers may carry surrounding blanks and a leading '+', which from_chars rejects.
std::string_view number_text(std::string_view text) {
  text = trim_blanks(text);
  if (text.size() > 1 && text.front() == '+' && text[1] != '-') text.remove_prefix(1);
  return text;
}

template <class T>
Parsed parse_number(std::string_view text, T& out) {
  text = number_text(text);
  if (text.empty()) return Parsed::bad;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (end != text.data() + text.size()) return Parsed::bad;
  if (ec == std::errc::result_out_of_range) return Parsed::out_of_range;
  return ec == std::errc() ? Parsed::ok : Parsed::bad;
}

Parsed parse_bool(std::string_view text, bool& out) {
  text = trim_blanks(text);
  const auto is = [&](std::string_view word) {
    if (text.size() != word.size()) return false;
    for (std::size_t i = 0; i < word.size(); ++i) {
      if ((text[i] | 0x20) != word[i]) return false;  // ASCII case-insensitive
    }
    return true;
  };
  if (text == "1" || is("true")) {
    out = true;
    return Parsed::ok;
  }
  if (text == "0" || is("false")) {
    out = false;
    return Parsed::ok;
  }
  return Parsed::bad;
}

std::string quote(std::string_view text) { return "'" + std::string(text) + "'"; }

// Sets one cell; returns an empty string or why the text does not fit the column.
std::string set_cell(BatchBuilder& builder, std::size_t column, const Field& field,
                     std::string_view text) {
  Parsed parsed = Parsed::bad;
  switch (field.type.id) {
    case TypeId::i32:
    case TypeId::i64:
    case TypeId::timestamp: {
      std::int64_t v = 0;
      parsed = parse_number(text, v);
      if (parsed == Parsed::ok && field.type.id == TypeId::i32 &&
          (v < std::numeric_limits<std::int32_t>::min() ||
           v > std::numeric_limits<std::int32_t>::max())) {
        parsed = Parsed::out_of_range;
      }
      if (parsed == Parsed::ok) builder.set_int(column, v);
      break;
    }
    case TypeId::u32:
    case TypeId::u64: {
      std::uint64_t v = 0;
      parsed = parse_number(text, v);
      if (parsed == Parsed::ok && field.type.id == TypeId::u32 &&
          v > std::numeric_limits<std::uint32_t>::max()) {
        parsed = Parsed::out_of_range;
      }
      if (parsed == Parsed::ok) builder.set_uint(column, v);
      break;
    }
    case TypeId::f32:
    case TypeId::f64: {
      double v = 0;
      parsed = parse_number(text, v);
      if (parsed == Parsed::ok && field.type.id == TypeId::f32 && std::isfinite(v) &&
          std::fabs(v) > FLT_MAX) {
        parsed = Parsed::out_of_range;
      }
      if (parsed == Parsed::ok) builder.set_double(column, v);
      break;
    }
    case TypeId::boolean: {
      bool v = false;
      parsed = parse_bool(text, v);
      if (parsed == Parsed::ok) builder.set_bool(column, v);
      break;
    }
    case TypeId::string:
      builder.set_string(column, text);
      parsed = Parsed::ok;
      break;
  }
  const std::string where = "column " + quote(field.name) + ": ";
  switch (parsed) {
    case Parsed::ok:
      return {};
    case Parsed::out_of_range:
      return where + "value " + quote(text) + " out of range for " + to_string(field.type);
    case Parsed::bad:
      break;
  }
  return where + "cannot parse " + quote(text) + " as " + to_string(field.type);
}

}  // namespace

CsvReader::CsvReader(std::istream& in, std::string name, const Schema& schema, CsvOptions options)
    : in_(in), name_(std::move(name)), schema_(schema), options_(options) {
  if (options_.diagnostics == nullptr) options_.diagnostics = &std::cerr;
  if (!next_record() || unterminated_) {
    throw Error(ErrorCode::malformed_input,
                name_ + ": " +
                    (unterminated_ ? "unterminated quoted field in the header"
                                   : "empty input (expected a header row)"));
  }
  header_fields_ = num_fields_;
  // A UTF-8 byte order mark is not part of the first column's name.
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (fields_[0].starts_with(kBom)) fields_[0].erase(0, kBom.size());
  std::string header;
  for (std::size_t i = 0; i < num_fields_; ++i) header += (i ? ", " : "") + fields_[i];
  field_of_column_.reserve(schema_.size());
  for (const Field& field : schema_.fields()) {
    std::size_t found = num_fields_;
    for (std::size_t i = 0; i < num_fields_ && found == num_fields_; ++i) {
      if (trim_blanks(fields_[i]) == field.name) found = i;
    }
    if (found == num_fields_) {
      throw Error(ErrorCode::unknown_column, name_ + ": column " + quote(field.name) +
                                                 " of the schema is not in the CSV header (" +
                                                 header + ")");
    }
    field_of_column_.push_back(found);
  }
}

bool CsvReader::read_into(BatchBuilder& builder, std::size_t max_rows) {
  if (!(builder.schema() == schema_)) {
    throw Error(ErrorCode::invalid_argument,
                name_ + ": the builder's schema (" + builder.schema().to_string() +
                    ") is not the reader's (" + schema_.to_string() + ")");
  }
  for (std::size_t appended = 0; appended < max_rows;) {
    if (!next_record()) {
      finish_input();
      return false;
    }
    std::string why = parse_row(builder);
    if (why.empty()) {
      builder.end_row();
      ++rows_;
      ++appended;
      continue;
    }
    builder.discard_row();
    ++malformed_;
    std::string message = name_ + ":" + std::to_string(record_line_) + ": " + why;
    if (options_.on_malformed == OnMalformed::fail) {
      throw Error(ErrorCode::malformed_input, std::move(message));
    }
    report(message);
  }
  return !at_end_;
}

// Reads the next non-blank record, joining lines while a quoted field is open.
bool CsvReader::next_record() {
  if (at_end_) return false;
  do {
    if (!read_line(record_)) return false;
  } while (record_.empty());
  record_line_ = line_;
  unterminated_ = false;
  std::string more;
  while (!split_record()) {
    if (!read_line(more)) {
      unterminated_ = true;
      return true;
    }
    record_ += '\n';
    record_ += more;
  }
  return true;
}

bool CsvReader::read_line(std::string& out) {
  if (!std::getline(in_, out)) {
    if (in_.bad()) {
      throw Error(ErrorCode::io_error, name_ + ":" + std::to_string(line_ + 1) + ": read error");
    }
    at_end_ = true;
    return false;
  }
  ++line_;
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return true;
}

// Splits record_ into fields_; false while a quoted field is still open.
bool CsvReader::split_record() {
  num_fields_ = 0;
  const std::string_view text = record_;
  std::size_t i = 0;
  while (true) {
    if (num_fields_ == fields_.size()) fields_.emplace_back();
    std::string& field = fields_[num_fields_++];
    field.clear();
    if (i < text.size() && text[i] == '"') {
      bool closed = false;
      for (++i; i < text.size() && !closed; ++i) {
        if (text[i] != '"') {
          field += text[i];
        } else if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          closed = true;
        }
      }
      if (!closed) return false;
    }
    // Text after a closing quote, or an unquoted field, runs to the next comma.
    const std::size_t comma = std::min(text.find(',', i), text.size());
    field.append(text.substr(i, comma - i));
    if (comma == text.size()) return true;
    i = comma + 1;
  }
}

// Sets every cell of the current record; returns an empty string or why the row is malformed.
std::string CsvReader::parse_row(BatchBuilder& builder) {
  if (unterminated_) return "unterminated quoted field";
  if (num_fields_ != header_fields_) {
    return "expected " + std::to_string(header_fields_) + " fields (as in the header), found " +
           std::to_string(num_fields_);
  }
  for (std::size_t c = 0; c < field_of_column_.size(); ++c) {
    std::string why;
    try {
      why = set_cell(builder, c, schema_.field(c), fields_[field_of_column_[c]]);
    } catch (const Error& e) {
      why = e.what();
    }
    if (!why.empty()) return why;
  }
  return {};
}

void CsvReader::report(const std::string& message) {
  if (malformed_ <= options_.max_reported) *options_.diagnostics << message << '\n';
}

void CsvReader::finish_input() {
  if (summarized_ || malformed_ == 0) return;
  summarized_ = true;
  *options_.diagnostics << name_ << ": skipped " << malformed_ << " malformed row"
                        << (malformed_ == 1 ? "" : "s");
  if (malformed_ > options_.max_reported) {
    *options_.diagnostics << " (the first " << options_.max_reported << " shown)";
  }
  *options_.diagnostics << '\n';
}

}  // namespace sluice::detail
