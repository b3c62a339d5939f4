// InfluxDB line protocol: a line scanned into string_views of its measurement, tags, fields and
// timestamp, checked, then set into a BatchBuilder row (strings last, once every cell fits).
#include "host/io/line_protocol.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <system_error>

#include "host/api/text.hpp"
#include "host/io/time_text.hpp"
#include "kernels/ops/floor_div.hpp"
#include "sluice/status.hpp"

namespace sluice::detail {
namespace {

__extension__ using Int128 = __int128;  // a GCC/Clang extension, as __extension__ says

/// Longest part of an input token quoted in a message.
constexpr std::size_t kExcerptBytes = 40;

/// `text` in single quotes for a message: cut after kExcerptBytes (at a UTF-8 character
/// boundary, marked "..."), control bytes written as \xNN.
std::string excerpt(std::string_view text) {
  std::size_t length = text.size();
  const bool cut = length > kExcerptBytes;
  if (cut) {
    length = kExcerptBytes;
    while (length > 0 && (static_cast<unsigned char>(text[length]) & 0xC0) == 0x80) --length;
  }
  std::string out = "'";
  for (const char c : text.substr(0, length)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    } else {
      out += c;
    }
  }
  out += cut ? "'..." : "'";
  return out;
}

/// Whether a backslash before `c` escapes it: ',', ' ' and '\\' everywhere (two backslashes are
/// one, as InfluxDB reads them, so a name can end in one), '=' in keys and tag values
/// (`equals_escapes`) but not in the measurement.
bool is_escapable(char c, bool equals_escapes) {
  return c == ',' || c == ' ' || c == '\\' || (equals_escapes && c == '=');
}

/// `raw` (a measurement, key or tag value as written) with its escapes resolved: `raw` itself
/// when it has no backslash, else a view of `buffer`, which this overwrites.
std::string_view unescape_name(std::string_view raw, bool equals_escapes, std::string& buffer) {
  if (raw.find('\\') == std::string_view::npos) return raw;
  buffer.clear();
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() && is_escapable(raw[i + 1], equals_escapes)) ++i;
    buffer += raw[i];
  }
  return buffer;
}

/// The text of a string field (between its quotes, as written) with `\"` and `\\` resolved:
/// `raw` itself when it has no backslash, else a view of `buffer`, which this overwrites.
std::string_view unescape_string(std::string_view raw, std::string& buffer) {
  if (raw.find('\\') == std::string_view::npos) return raw;
  buffer.clear();
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() && (raw[i + 1] == '"' || raw[i + 1] == '\\')) ++i;
    buffer += raw[i];
  }
  return buffer;
}

/// A position in one line.
struct Cursor {
  std::string_view line;
  std::size_t pos = 0;

  bool at_end() const { return pos >= line.size(); }
  /// @pre !at_end().
  char peek() const { return line[pos]; }
  bool at(char c) const { return pos < line.size() && line[pos] == c; }
  void skip_spaces() {
    while (at(' ')) ++pos;
  }
  /// A measurement, key or tag value: the bytes up to the first unescaped one of `stops` (or
  /// the end), where the cursor stops.
  std::string_view take_name(bool equals_escapes, std::string_view stops) {
    const std::size_t begin = pos;
    while (pos < line.size()) {
      const char c = line[pos];
      if (c == '\\' && pos + 1 < line.size() && is_escapable(line[pos + 1], equals_escapes)) {
        pos += 2;
        continue;
      }
      if (stops.find(c) != std::string_view::npos) break;
      ++pos;
    }
    return line.substr(begin, pos - begin);
  }
  /// The bytes up to the first ',' or ' ' (or the end), where the cursor stops.
  std::string_view take_until_comma_or_space() {
    const std::size_t begin = pos;
    while (pos < line.size() && line[pos] != ',' && line[pos] != ' ') ++pos;
    return line.substr(begin, pos - begin);
  }
  /// The bytes up to the first ' ' (or the end), where the cursor stops.
  std::string_view take_until_space() {
    const std::size_t begin = pos;
    while (pos < line.size() && line[pos] != ' ') ++pos;
    return line.substr(begin, pos - begin);
  }
};

enum class Read : std::uint8_t { ok, bad, out_of_range };

/// An integer written whole, in decimal, with an optional '-' (T signed) and nothing else.
template <class T>
Read read_integer(std::string_view text, T& out) {
  if (text.empty()) return Read::bad;
  const char* const end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, out);
  if (stop != end) return Read::bad;
  if (ec == std::errc::result_out_of_range) return Read::out_of_range;
  return ec == std::errc() ? Read::ok : Read::bad;
}

/// A finite decimal number: an optional '-', digits with an optional '.', and an optional
/// exponent ("1", "-1.5", ".5", "1e-3"). No '+' in front, no NaN, no infinities, no hex.
Read read_float(std::string_view text, double& out) {
  if (text.empty()) return Read::bad;
  const std::size_t digits = text.front() == '-' ? 1 : 0;
  if (digits >= text.size()) return Read::bad;
  const char lead = text[digits];
  if (lead != '.' && (lead < '0' || lead > '9')) return Read::bad;
  for (const char c : text) {
    const bool allowed =
        (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+';
    if (!allowed) return Read::bad;
  }
  const char* const end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, out, std::chars_format::general);
  if (stop != end) return Read::bad;
  if (ec == std::errc::result_out_of_range) return Read::out_of_range;
  if (ec != std::errc()) return Read::bad;
  return std::isfinite(out) ? Read::ok : Read::out_of_range;
}

/// The boolean words of line protocol: t T true True TRUE, f F false False FALSE.
bool read_bool(std::string_view text, bool& out) {
  if (text == "t" || text == "T" || text == "true" || text == "True" || text == "TRUE") {
    out = true;
    return true;
  }
  if (text == "f" || text == "F" || text == "false" || text == "False" || text == "FALSE") {
    out = false;
    return true;
  }
  return false;
}

/// A field's value as the line wrote it.
struct FieldValue {
  enum class Kind : std::uint8_t { floating, integer, unsigned_integer, boolean, string };
  Kind kind = Kind::floating;
  std::int64_t integer = 0;
  std::uint64_t unsigned_integer = 0;
  double floating = 0;
  bool boolean = false;
  std::string_view string;  ///< between the quotes, escapes unresolved
};

const char* kind_name(FieldValue::Kind kind) {
  switch (kind) {
    case FieldValue::Kind::floating:
      return "a float";
    case FieldValue::Kind::integer:
      return "an integer";
    case FieldValue::Kind::unsigned_integer:
      return "an unsigned integer";
    case FieldValue::Kind::boolean:
      return "a boolean";
    case FieldValue::Kind::string:
      return "a string";
  }
  return "a value";
}

/// Reads the value of field `key` (as written) at `cursor`, just after its '='; on success the
/// cursor is at the ',' or ' ' after it, or at the end. Else sets `problem`.
bool read_field_value(Cursor& cursor, std::string_view key, FieldValue& value,
                      std::string& problem) {
  const auto fail = [&](std::string why) {
    problem = "field " + excerpt(key) + ": " + why;
    return false;
  };
  if (cursor.at('"')) {
    ++cursor.pos;
    const std::size_t begin = cursor.pos;
    const std::string_view line = cursor.line;
    for (;;) {
      if (cursor.at_end()) return fail("unterminated string");
      const char c = line[cursor.pos];
      if (c == '\\' && cursor.pos + 1 < line.size() &&
          (line[cursor.pos + 1] == '"' || line[cursor.pos + 1] == '\\')) {
        cursor.pos += 2;
        continue;
      }
      if (c == '"') break;
      ++cursor.pos;
    }
    value.kind = FieldValue::Kind::string;
    value.string = line.substr(begin, cursor.pos - begin);
    ++cursor.pos;  // the closing quote
    if (!cursor.at_end() && !cursor.at(',') && !cursor.at(' ')) {
      return fail("unexpected " + excerpt(line.substr(cursor.pos, 1)) + " after its string");
    }
    return true;
  }
  const std::string_view text = cursor.take_until_comma_or_space();
  if (text.empty()) {
    problem = "field " + excerpt(key) + " has no value";
    return false;
  }
  if (read_bool(text, value.boolean)) {
    value.kind = FieldValue::Kind::boolean;
    return true;
  }
  Read read = Read::bad;
  const char* what = "a float";
  if (text.back() == 'i') {
    value.kind = FieldValue::Kind::integer;
    what = "an integer";
    read = read_integer(text.substr(0, text.size() - 1), value.integer);
  } else if (text.back() == 'u') {
    value.kind = FieldValue::Kind::unsigned_integer;
    what = "an unsigned integer";
    read = read_integer(text.substr(0, text.size() - 1), value.unsigned_integer);
  } else {
    value.kind = FieldValue::Kind::floating;
    read = read_float(text, value.floating);
  }
  if (read == Read::ok) return true;
  if (read == Read::out_of_range)
    return fail(std::string(what) + " out of range: " + excerpt(text));
  return fail("bad value " + excerpt(text) + " (not a number, boolean or quoted string)");
}

}  // namespace

/// What parse() reuses from line to line, so that ordinary lines allocate nothing.
struct LineProtocolParser::Scratch {
  /// The field and tag of one schema column on the current line: each is the current line's
  /// only when its stamp equals `line_stamp`.
  struct Slot {
    std::uint64_t field_stamp = 0;
    std::uint64_t tag_stamp = 0;
    FieldValue field;
    std::string_view tag;  ///< as written, escapes unresolved
  };
  std::vector<Slot> slots;           ///< one per schema column
  std::uint64_t line_stamp = 0;      ///< counts the lines parsed past their measurement
  std::vector<std::size_t> strings;  ///< the columns whose strings are set last
  std::string name_buffer;           ///< an unescaped measurement or key
  std::string value_buffer;          ///< an unescaped tag value or string field
  std::string problem;               ///< why the line failed
};

LineProtocolParser::LineProtocolParser(const Schema& schema, LineProtocolOptions options)
    : schema_(schema), options_(std::move(options)) {
  const std::optional<std::size_t> time = schema_.find(options_.time_column);
  if (!time) {
    throw Error(ErrorCode::invalid_argument, "line protocol: the time column " +
                                                 quoted(options_.time_column) +
                                                 " is not in the schema " + schema_.to_string());
  }
  const DataType time_type = schema_.field(*time).type;
  if (time_type.id != TypeId::timestamp && time_type.id != TypeId::i64) {
    throw Error(ErrorCode::invalid_argument, "line protocol: the time column " +
                                                 quoted(options_.time_column) + " is " +
                                                 to_string(time_type) + ", not a timestamp or i64");
  }
  if (options_.tick_ns <= 0) {
    throw Error(ErrorCode::invalid_argument, "line protocol: the timestamp precision " +
                                                 std::to_string(options_.tick_ns) +
                                                 " ns is not positive");
  }
  time_column_ = *time;
  for (std::size_t c = 0; c < schema_.size(); ++c) {
    if (c != time_column_) columns_by_name_.emplace_back(schema_.field(c).name, c);
  }
  std::sort(columns_by_name_.begin(), columns_by_name_.end());
}

int LineProtocolParser::column_named(std::string_view name) const {
  const auto it =
      std::lower_bound(columns_by_name_.begin(), columns_by_name_.end(), name,
                       [](const std::pair<std::string, std::size_t>& entry, std::string_view n) {
                         return std::string_view(entry.first) < n;
                       });
  if (it == columns_by_name_.end() || it->first != name) return -1;
  return static_cast<int>(it->second);
}

LineOutcome LineProtocolParser::parse(std::string_view text, BatchBuilder& out,
                                      std::uint64_t first_line, std::int64_t now_ns) const {
  if (!(out.schema() == schema_)) {
    throw Error(ErrorCode::invalid_argument, "line protocol: the builder's schema " +
                                                 out.schema().to_string() +
                                                 " is not the parser's " + schema_.to_string());
  }
  const DataType time_type = schema_.field(time_column_).type;
  const std::int64_t default_time = time_type.id == TypeId::timestamp
                                        ? floor_div(now_ns, nanos_per_unit(time_type.unit))
                                        : floor_div(now_ns, options_.tick_ns);
  Scratch scratch;
  scratch.slots.resize(schema_.size());
  scratch.strings.reserve(schema_.size());

  LineOutcome outcome;
  for_each_line(text, first_line, [&](std::string_view line, std::uint64_t number) {
    const std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') return;  // blank or comment
    bool ignored = false;
    if (parse_line(line, default_time, out, scratch, ignored)) {
      ++(ignored ? outcome.ignored : outcome.rows);
    } else {
      outcome.reject(number, std::move(scratch.problem), options_.max_problems);
      scratch.problem.clear();
    }
  });
  return outcome;
}

bool LineProtocolParser::parse_line(std::string_view line, std::int64_t default_time,
                                    BatchBuilder& out, Scratch& scratch, bool& ignored) const {
  std::string_view timestamp;
  bool other_measurement = false;
  if (!scan_line(line, scratch, timestamp, other_measurement)) return false;
  std::int64_t time = default_time;
  if (!timestamp.empty() && !read_time(timestamp, time, scratch.problem)) return false;
  if (other_measurement) {
    ignored = true;
    return true;
  }
  return fill_row(time, out, scratch);
}

bool LineProtocolParser::scan_line(std::string_view line, Scratch& scratch,
                                   std::string_view& timestamp, bool& other_measurement) const {
  std::string& problem = scratch.problem;
  if (line.size() > options_.max_line_bytes) {
    problem = "line longer than " + std::to_string(options_.max_line_bytes) + " bytes";
    return false;
  }
  if (const void* nul = std::memchr(line.data(), '\0', line.size()); nul != nullptr) {
    const auto at = static_cast<const char*>(nul) - line.data();
    problem = "NUL byte at byte " + std::to_string(at + 1);
    return false;
  }
  Cursor cursor{line, line.find_first_not_of(" \t")};

  const std::string_view measurement = cursor.take_name(false, ", ");
  if (measurement.empty()) {
    problem = "no measurement before " + excerpt(line.substr(cursor.pos, 1));
    return false;
  }
  // A point of another measurement is ignored once it is known to be well formed: a line that
  // is not one is malformed whatever it names.
  other_measurement =
      !options_.measurement.empty() &&
      unescape_name(measurement, false, scratch.name_buffer) != options_.measurement;

  const std::uint64_t stamp = ++scratch.line_stamp;
  while (cursor.at(',')) {
    ++cursor.pos;
    const std::string_view key = cursor.take_name(true, "=, ");
    if (key.empty()) {
      problem = "empty tag key";
      return false;
    }
    if (!cursor.at('=')) {
      problem = "tag " + excerpt(key) + " has no '='";
      return false;
    }
    ++cursor.pos;
    const std::string_view value = cursor.take_name(true, ",= ");
    if (value.empty()) {
      problem = "tag " + excerpt(key) + " has no value";
      return false;
    }
    if (cursor.at('=')) {
      problem = "tag " + excerpt(key) + ": unescaped '=' in its value";
      return false;
    }
    const int column = column_named(unescape_name(key, true, scratch.name_buffer));
    if (column >= 0) {
      Scratch::Slot& slot = scratch.slots[static_cast<std::size_t>(column)];
      slot.tag_stamp = stamp;
      slot.tag = value;
    }
  }

  cursor.skip_spaces();
  if (cursor.at_end()) {
    problem = "no fields";
    return false;
  }
  for (;;) {
    const std::string_view key = cursor.take_name(true, "=, ");
    if (key.empty()) {
      problem = "empty field key";
      return false;
    }
    if (!cursor.at('=')) {
      problem = "field " + excerpt(key) + " has no '='";
      return false;
    }
    ++cursor.pos;
    FieldValue value;
    if (!read_field_value(cursor, key, value, problem)) return false;
    const int column = column_named(unescape_name(key, true, scratch.name_buffer));
    if (column >= 0) {
      Scratch::Slot& slot = scratch.slots[static_cast<std::size_t>(column)];
      slot.field_stamp = stamp;
      slot.field = value;
    }
    if (!cursor.at(',')) break;  // at a space or the end
    ++cursor.pos;
  }

  cursor.skip_spaces();
  timestamp = cursor.take_until_space();
  cursor.skip_spaces();
  if (!cursor.at_end()) {
    problem = "unexpected " + excerpt(line.substr(cursor.pos)) + " after the timestamp";
    return false;
  }
  return true;
}

std::string LineProtocolParser::value_kinds(std::string_view line,
                                            std::vector<PointValueKind>& kinds,
                                            bool& other_measurement) const {
  Scratch scratch;
  scratch.slots.resize(schema_.size());
  std::string_view timestamp;
  other_measurement = false;
  if (!scan_line(line, scratch, timestamp, other_measurement)) return scratch.problem;
  if (std::int64_t time = 0; !timestamp.empty() && !read_time(timestamp, time, scratch.problem))
    return scratch.problem;
  kinds.assign(schema_.size(), PointValueKind::absent);
  for (std::size_t c = 0; c < schema_.size(); ++c) {
    const Scratch::Slot& slot = scratch.slots[c];
    if (c == time_column_) continue;
    if (slot.field_stamp == scratch.line_stamp) {
      switch (slot.field.kind) {
        case FieldValue::Kind::floating:
          kinds[c] = PointValueKind::floating;
          break;
        case FieldValue::Kind::integer:
          kinds[c] = PointValueKind::integer;
          break;
        case FieldValue::Kind::unsigned_integer:
          kinds[c] = PointValueKind::unsigned_integer;
          break;
        case FieldValue::Kind::boolean:
          kinds[c] = PointValueKind::boolean;
          break;
        case FieldValue::Kind::string:
          kinds[c] = PointValueKind::string;
          break;
      }
    } else if (slot.tag_stamp == scratch.line_stamp) {
      kinds[c] = PointValueKind::tag;
    }
  }
  return {};
}

bool LineProtocolParser::read_time(std::string_view timestamp, std::int64_t& time,
                                   std::string& problem) const {
  std::int64_t ticks = 0;
  const Read read = read_integer(timestamp, ticks);
  if (read != Read::ok) {
    problem = read == Read::bad ? "bad timestamp " + excerpt(timestamp) : "timestamp out of range";
    return false;
  }
  const DataType time_type = schema_.field(time_column_).type;
  if (time_type.id != TypeId::timestamp) {
    time = ticks;  // an i64 column: as written
    return true;
  }
  const Int128 ns = static_cast<Int128>(ticks) * options_.tick_ns;
  const std::int64_t unit_ns = nanos_per_unit(time_type.unit);
  Int128 units = ns / unit_ns;
  if (ns % unit_ns != 0 && ns < 0) --units;  // toward the past
  if (units < std::numeric_limits<std::int64_t>::min() ||
      units > std::numeric_limits<std::int64_t>::max()) {
    problem = "timestamp out of range";
    return false;
  }
  time = static_cast<std::int64_t>(units);
  return true;
}

bool LineProtocolParser::fill_row(std::int64_t time, BatchBuilder& out, Scratch& scratch) const {
  std::string& problem = scratch.problem;
  const std::uint64_t stamp = scratch.line_stamp;
  scratch.strings.clear();
  const auto fail = [&](std::string why) {
    out.discard_row();
    problem = std::move(why);
    return false;
  };
  // What is being set, for messages: "field" or "tag", and the column of its name.
  std::string_view source;
  std::size_t column = 0;
  const auto source_name = [&](const Field& field) {
    return std::string(source) + " " + quoted(field.name);
  };
  try {
    for (std::size_t c = 0; c < schema_.size(); ++c) {
      if (c == time_column_) continue;
      column = c;
      const Scratch::Slot& slot = scratch.slots[c];
      const Field& field = schema_.field(c);
      const TypeId id = field.type.id;
      if (slot.field_stamp == stamp) {
        source = "field";
        const FieldValue& value = slot.field;
        const bool numeric_column = is_integral(id) || is_floating(id);
        const auto mismatch = [&] {
          return fail(source_name(field) + ": " + kind_name(value.kind) + " does not fit " +
                      to_string(field.type) + " column " + quoted(field.name));
        };
        switch (value.kind) {
          case FieldValue::Kind::integer:
            if (!numeric_column) return mismatch();
            out.set_int(c, value.integer);
            break;
          case FieldValue::Kind::unsigned_integer:
            if (!numeric_column) return mismatch();
            out.set_uint(c, value.unsigned_integer);
            break;
          case FieldValue::Kind::floating:
            if (!numeric_column) return mismatch();
            out.set_double(c, value.floating);
            break;
          case FieldValue::Kind::boolean:
            if (id != TypeId::boolean) return mismatch();
            out.set_bool(c, value.boolean);
            break;
          case FieldValue::Kind::string:
            if (id == TypeId::string) {
              scratch.strings.push_back(c);
            } else if (id == TypeId::timestamp) {
              const std::string_view text = unescape_string(value.string, scratch.value_buffer);
              std::int64_t time = 0;
              const TimeParse read = parse_timestamp_text(text, field.type.unit, time);
              if (read != TimeParse::ok) {
                return fail(source_name(field) + ": " + excerpt(text) +
                            (read == TimeParse::bad ? " is not a time" : " is out of range") +
                            " for " + to_string(field.type) + " column " + quoted(field.name));
              }
              out.set_int(c, time);
            } else {
              return mismatch();
            }
            break;
        }
      } else if (slot.tag_stamp == stamp) {
        source = "tag";
        if (id == TypeId::string) {
          scratch.strings.push_back(c);
          continue;
        }
        const std::string_view text = unescape_name(slot.tag, true, scratch.value_buffer);
        const auto unreadable = [&](bool out_of_range) {
          return fail(source_name(field) + ": " + excerpt(text) +
                      (out_of_range ? " is out of range for " : " cannot be read as ") +
                      to_string(field.type) + " column " + quoted(field.name));
        };
        if (id == TypeId::boolean) {
          bool value = false;
          if (!read_bool(text, value)) return unreadable(false);
          out.set_bool(c, value);
        } else if (id == TypeId::timestamp) {
          std::int64_t time = 0;
          const TimeParse read = parse_timestamp_text(text, field.type.unit, time);
          if (read != TimeParse::ok) return unreadable(read == TimeParse::out_of_range);
          out.set_int(c, time);
        } else if (is_floating(id)) {
          double value = 0;
          const Read read = read_float(text, value);
          if (read != Read::ok) return unreadable(read == Read::out_of_range);
          out.set_double(c, value);
        } else if (!text.empty() && text.front() == '-') {  // a signed integral column
          std::int64_t value = 0;
          const Read read = read_integer(text, value);
          if (read != Read::ok) return unreadable(read == Read::out_of_range);
          out.set_int(c, value);
        } else {
          std::uint64_t value = 0;
          const Read read = read_integer(text, value);
          if (read != Read::ok) return unreadable(read == Read::out_of_range);
          out.set_uint(c, value);
        }
      } else {
        return fail("no tag or field " + quoted(field.name));
      }
    }

    source = "time column";
    column = time_column_;
    out.set_int(time_column_, time);

    // Every other cell fits: only now may the line add strings to the dictionaries.
    for (const std::size_t c : scratch.strings) {
      const Scratch::Slot& slot = scratch.slots[c];
      column = c;
      if (slot.field_stamp == stamp) {
        source = "field";
        out.set_string(c, unescape_string(slot.field.string, scratch.value_buffer));
      } else {
        source = "tag";
        out.set_string(c, unescape_name(slot.tag, true, scratch.value_buffer));
      }
    }
    out.end_row();
  } catch (const Error& e) {
    return fail(source_name(schema_.field(column)) + ": " + e.what());
  }
  return true;
}

}  // namespace sluice::detail
