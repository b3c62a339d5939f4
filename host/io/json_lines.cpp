// JSON lines into typed columns: a small single-pass scanner per line (no recursion), then the
// cells of the schema columns converted and set, strings last.
#include "host/io/json_lines.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <system_error>

#include "host/api/text.hpp"
#include "host/io/time_text.hpp"
#include "sluice/status.hpp"
#include "sluice/types.hpp"

namespace sluice::detail {

namespace {

/// What a schema column's key held on the line.
enum class ValueKind : std::uint8_t { absent, null, boolean, number, string, object, array };

const char* kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::absent:
      return "nothing";
    case ValueKind::null:
      return "null";
    case ValueKind::boolean:
      return "a bool";
    case ValueKind::number:
      return "a number";
    case ValueKind::string:
      return "a string";
    case ValueKind::object:
      return "an object";
    case ValueKind::array:
      return "an array";
  }
  return "a value";
}

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// @brief The value of hex digit `c`, or -1.
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// @brief Appends code point `code` (at most U+10FFFF, not a surrogate) as UTF-8.
void append_utf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

/// @brief The length of the well-formed UTF-8 sequence starting at text[at] (a byte of 0x80 or
/// more), or 0 when it is not one (overlong forms, surrogates and code points beyond U+10FFFF
/// are not). Precondition: at < text.size().
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  std::size_t length = 0;
  unsigned char second_low = 0x80;  // the range of the second byte, narrower for some leads
  unsigned char second_high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_low = 0xA0;   // no overlong forms
    if (lead == 0xED) second_high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_low = 0x90;   // no overlong forms
    if (lead == 0xF4) second_high = 0x8F;  // nothing beyond U+10FFFF
  } else {
    return 0;
  }
  if (text.size() - at < length) return 0;
  if (byte(at + 1) < second_low || byte(at + 1) > second_high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(at + i) < 0x80 || byte(at + i) > 0xBF) return 0;
  }
  return length;
}

/// @brief A JSON number's decimal digits and where its point falls: the value is
/// 0.d1d2d3... * 10^point, with `digits` free of leading zeros (empty for zero).
struct DecimalNumber {
  bool negative = false;
  std::string_view digits;  ///< significant digits, the first non-zero; may hold a '.' (skipped)
  std::int64_t point = 0;   ///< digits before the decimal point (may be negative or large)
};

/// @brief Splits `text`, a number per the JSON grammar, into its digits and point.
DecimalNumber decompose_number(std::string_view text) {
  DecimalNumber number;
  std::size_t at = 0;
  if (text[at] == '-') {
    number.negative = true;
    ++at;
  }
  std::size_t mantissa_end = at;
  while (mantissa_end < text.size() && text[mantissa_end] != 'e' && text[mantissa_end] != 'E') {
    ++mantissa_end;
  }
  // The exponent, saturated far beyond any range a reader accepts (a line is at most a few
  // million digits long, so a saturated exponent still decides overflow or underflow).
  constexpr std::int64_t kExponentLimit = std::int64_t{1} << 40;
  std::int64_t exponent = 0;
  if (mantissa_end < text.size()) {
    std::size_t e = mantissa_end + 1;
    bool exponent_negative = false;
    if (text[e] == '+' || text[e] == '-') {
      exponent_negative = text[e] == '-';
      ++e;
    }
    for (; e < text.size(); ++e) {
      exponent = std::min(exponent * 10 + (text[e] - '0'), kExponentLimit);
    }
    if (exponent_negative) exponent = -exponent;
  }
  const std::string_view mantissa = text.substr(at, mantissa_end - at);
  const std::size_t dot = mantissa.find('.');
  const std::int64_t whole_digits =
      static_cast<std::int64_t>(dot == std::string_view::npos ? mantissa.size() : dot);
  // Leading zeros (before the point and right after it) are not significant; each moves the
  // point one digit left.
  std::size_t first = 0;
  std::int64_t point = whole_digits;
  while (first < mantissa.size() && (mantissa[first] == '0' || mantissa[first] == '.')) {
    if (mantissa[first] == '0') --point;
    ++first;
  }
  number.digits = mantissa.substr(first);
  if (number.digits.empty()) return number;  // zero
  number.point = point + exponent;
  return number;
}

/// @brief The integral part of |number| and whether a non-zero fraction was dropped;
/// false when the integral part exceeds 2^64 - 1.
bool integral_part(const DecimalNumber& number, std::uint64_t& magnitude, bool& has_fraction) {
  magnitude = 0;
  has_fraction = false;
  if (number.digits.empty()) return true;
  if (number.point > 20) return false;  // at least 10^20
  std::int64_t position = 0;            // digits read so far, the '.' not counted
  for (const char c : number.digits) {
    if (c == '.') continue;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (position < number.point) {
      if (magnitude > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
      magnitude = magnitude * 10 + digit;
    } else if (digit != 0) {
      has_fraction = true;
    }
    ++position;
  }
  // Zeros the exponent adds after the digits.
  for (; position < number.point; ++position) {
    if (magnitude > std::numeric_limits<std::uint64_t>::max() / 10) return false;
    magnitude *= 10;
  }
  return true;
}

/// @brief `text` for a message: itself, or its first bytes and "...".
std::string shortened(std::string_view text) {
  constexpr std::size_t kMost = 40;
  if (text.size() <= kMost) return std::string(text);
  return std::string(text.substr(0, kMost)) + "...";
}

/// @brief What a key's value held on the line: its kind and, for numbers and strings, where its
/// text is.
struct ScannedValue {
  ValueKind kind = ValueKind::absent;
  bool truth = false;            ///< a bool's value
  bool in_strings = false;       ///< an escaped string: its text is in the strings buffer
  bool integer_literal = false;  ///< a number without fraction or exponent
  std::size_t begin = 0;         ///< the text's offset: in the line, or in the strings buffer
  std::size_t size = 0;          ///< the text's length (numbers and strings)
};

/// @brief Scans one line of JSON: tokens, strings (unescaped into a buffer when they hold
/// escapes) and skipped values. Every function returns false once an error was recorded, and
/// reads no byte past the line.
class LineScanner {
 public:
  LineScanner(std::string_view line, std::size_t max_depth, std::string& nesting)
      : line_(line), max_depth_(max_depth), nesting_(nesting) {}

  const std::string& error() const { return error_; }
  std::size_t position() const { return at_; }
  bool at_end() const { return at_ >= line_.size(); }
  char peek() const { return line_[at_]; }  // precondition: !at_end()
  void skip_space() {
    while (at_ < line_.size() && is_json_space(line_[at_])) ++at_;
  }

  /// @brief Records "column N: what" for byte `at` (0-based) and returns false.
  bool fail(std::size_t at, std::string_view what) {
    error_ = "column " + std::to_string(at + 1) + ": ";
    error_ += what;
    return false;
  }

  /// @brief Consumes `c`, or fails with "expected 'c'" (or "unterminated `context`" at the end).
  bool expect(char c, const char* context) {
    if (at_end()) return fail(at_, std::string("unterminated ") + context);
    if (line_[at_] != c) return fail(at_, std::string("expected '") + c + "'");
    ++at_;
    return true;
  }

  /// @brief Reads the string whose opening quote is at the current byte. Its text is
  /// line[begin, begin + size) when it has no escapes (in_buffer false), else it is unescaped
  /// and appended to `*buffer` at [begin, begin + size) (in_buffer true). A null `buffer`
  /// only checks the string.
  bool scan_string(std::string* buffer, std::size_t& begin, std::size_t& size, bool& in_buffer) {
    const std::size_t opening = at_;
    ++at_;
    std::size_t run = at_;  // the first byte not yet copied to the buffer
    in_buffer = false;
    std::size_t buffer_begin = buffer != nullptr ? buffer->size() : 0;
    while (true) {
      if (at_end()) return fail(opening, "unterminated string");
      const auto c = static_cast<unsigned char>(line_[at_]);
      if (c == '"') break;
      if (c < 0x20) return fail(at_, "control character in string");
      if (c == '\\') {
        if (!in_buffer) {
          in_buffer = true;
          if (buffer != nullptr) buffer_begin = buffer->size();
        }
        if (buffer != nullptr) buffer->append(line_.data() + run, at_ - run);
        if (!scan_escape(buffer)) return false;
        run = at_;
        continue;
      }
      if (c < 0x80) {
        ++at_;
        continue;
      }
      const std::size_t length = utf8_sequence_length(line_, at_);
      if (length == 0) return fail(at_, "invalid UTF-8 in string");
      at_ += length;
    }
    if (in_buffer) {
      if (buffer != nullptr) {
        buffer->append(line_.data() + run, at_ - run);
        begin = buffer_begin;
        size = buffer->size() - buffer_begin;
      } else {
        begin = size = 0;
      }
    } else {
      begin = opening + 1;
      size = at_ - begin;
    }
    ++at_;  // the closing quote
    return true;
  }

  /// @brief Reads a number per the JSON grammar at the current byte into line[begin, at).
  bool scan_number(std::size_t& begin, bool& integer_literal) {
    begin = at_;
    if (!at_end() && line_[at_] == '-') ++at_;
    if (at_end() || !is_digit(line_[at_])) return fail(at_, "expected a digit");
    if (line_[at_] == '0') {
      ++at_;
      if (!at_end() && is_digit(line_[at_])) return fail(at_ - 1, "leading zero in number");
    } else {
      while (!at_end() && is_digit(line_[at_])) ++at_;
    }
    integer_literal = true;
    if (!at_end() && line_[at_] == '.') {
      integer_literal = false;
      ++at_;
      if (at_end() || !is_digit(line_[at_])) return fail(at_, "expected a digit after '.'");
      while (!at_end() && is_digit(line_[at_])) ++at_;
    }
    if (!at_end() && (line_[at_] == 'e' || line_[at_] == 'E')) {
      integer_literal = false;
      ++at_;
      if (!at_end() && (line_[at_] == '+' || line_[at_] == '-')) ++at_;
      if (at_end() || !is_digit(line_[at_])) return fail(at_, "expected a digit in exponent");
      while (!at_end() && is_digit(line_[at_])) ++at_;
    }
    return true;
  }

  /// @brief Consumes `word` (true, false, null) at the current byte.
  bool scan_literal(std::string_view word) {
    if (line_.substr(at_, word.size()) != word) return fail(at_, "invalid literal");
    at_ += word.size();
    return true;
  }

  /// @brief Reads the value at the current byte into `*cell`; with a null `cell` (a key the
  /// schema does not read) only checks it. Strings with escapes are unescaped into `*strings`
  /// (when not null).
  bool scan_value(ScannedValue* cell, std::string* strings) {
    if (at_end()) return fail(at_, "expected a value");
    const char c = line_[at_];
    ScannedValue ignored;
    ScannedValue& out = cell != nullptr ? *cell : ignored;
    out = ScannedValue();
    switch (c) {
      case '"':
        out.kind = ValueKind::string;
        return scan_string(cell != nullptr ? strings : nullptr, out.begin, out.size,
                           out.in_strings);
      case '{':
      case '[':
        out.kind = c == '{' ? ValueKind::object : ValueKind::array;
        return skip_container();
      case 't':
        out.kind = ValueKind::boolean;
        out.truth = true;
        return scan_literal("true");
      case 'f':
        out.kind = ValueKind::boolean;
        return scan_literal("false");
      case 'n':
        out.kind = ValueKind::null;
        return scan_literal("null");
      default:
        if (c == '-' || is_digit(c)) {
          out.kind = ValueKind::number;
          if (!scan_number(out.begin, out.integer_literal)) return false;
          out.size = at_ - out.begin;
          return true;
        }
        return fail(at_, "expected a value");
    }
  }

  /// @brief Skips the object or array opening at the current byte, checking it, with its
  /// nesting (itself at depth 1) bounded by max_depth. Iterative: the open brackets are kept
  /// in `nesting_`.
  bool skip_container() {
    nesting_.clear();
    if (!open_container()) return false;
    bool just_opened = true;
    while (!nesting_.empty()) {
      skip_space();
      const bool in_object = nesting_.back() == '{';
      if (at_end()) return fail(at_, in_object ? "unterminated object" : "unterminated array");
      const char closer = in_object ? '}' : ']';
      if (line_[at_] == closer) {
        ++at_;
        nesting_.pop_back();
        just_opened = false;
        continue;
      }
      if (!just_opened) {
        if (line_[at_] != ',') {
          return fail(at_, in_object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
        ++at_;
        skip_space();
      }
      just_opened = false;
      if (in_object) {
        if (at_end()) return fail(at_, "unterminated object");
        if (line_[at_] != '"') return fail(at_, "expected a key");
        std::size_t begin = 0;
        std::size_t size = 0;
        bool in_buffer = false;
        if (!scan_string(nullptr, begin, size, in_buffer)) return false;
        skip_space();
        if (!expect(':', "object")) return false;
        skip_space();
      }
      if (!at_end() && (line_[at_] == '{' || line_[at_] == '[')) {
        if (!open_container()) return false;
        just_opened = true;
        continue;
      }
      if (!scan_value(nullptr, nullptr)) return false;
    }
    return true;
  }

 private:
  bool open_container() {
    if (nesting_.size() >= max_depth_) {
      return fail(at_, "nesting deeper than " + std::to_string(max_depth_));
    }
    nesting_ += line_[at_];
    ++at_;
    return true;
  }

  /// @brief Reads the escape at the current byte (a backslash), appending what it stands for
  /// to `*buffer` (when not null).
  bool scan_escape(std::string* buffer) {
    const std::size_t backslash = at_;
    if (at_ + 1 >= line_.size()) return fail(backslash, "unterminated escape");
    const char kind = line_[at_ + 1];
    char plain = 0;
    switch (kind) {
      case '"':
        plain = '"';
        break;
      case '\\':
        plain = '\\';
        break;
      case '/':
        plain = '/';
        break;
      case 'b':
        plain = '\b';
        break;
      case 'f':
        plain = '\f';
        break;
      case 'n':
        plain = '\n';
        break;
      case 'r':
        plain = '\r';
        break;
      case 't':
        plain = '\t';
        break;
      case 'u':
        return scan_unicode_escape(buffer);
      default:
        return fail(backslash, "invalid escape");
    }
    if (buffer != nullptr) *buffer += plain;
    at_ += 2;
    return true;
  }

  /// @brief Reads 4 hex digits at line[at] into `code`.
  bool read_hex4(std::size_t at, std::uint32_t& code) const {
    if (at > line_.size() || line_.size() - at < 4) return false;
    code = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      const int value = hex_value(line_[at + i]);
      if (value < 0) return false;
      code = code * 16 + static_cast<std::uint32_t>(value);
    }
    return true;
  }

  /// @brief Reads \uXXXX at the current byte, or a surrogate pair \uD8xx\uDCxx.
  bool scan_unicode_escape(std::string* buffer) {
    const std::size_t backslash = at_;
    std::uint32_t code = 0;
    if (!read_hex4(at_ + 2, code)) return fail(backslash, "invalid \\u escape");
    at_ += 6;
    if (code >= 0xDC00 && code <= 0xDFFF) return fail(backslash, "lone surrogate in \\u escape");
    if (code >= 0xD800 && code <= 0xDBFF) {
      std::uint32_t low = 0;
      if (line_.size() - at_ < 6 || line_[at_] != '\\' || line_[at_ + 1] != 'u' ||
          !read_hex4(at_ + 2, low) || low < 0xDC00 || low > 0xDFFF) {
        return fail(backslash, "lone surrogate in \\u escape");
      }
      at_ += 6;
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    if (buffer != nullptr) append_utf8(*buffer, code);
    return true;
  }

  std::string_view line_;
  std::size_t max_depth_;
  std::string& nesting_;
  std::size_t at_ = 0;
  std::string error_;
};

/// @brief What a column of type `id` takes when `kind` (not absent or null) does not fit it,
/// else nullptr.
const char* expected_kind(TypeId id, ValueKind kind) {
  switch (id) {
    case TypeId::string:
      return kind == ValueKind::string ? nullptr : "a string";
    case TypeId::boolean:
      return kind == ValueKind::boolean ? nullptr : "true or false";
    case TypeId::timestamp:
      return kind == ValueKind::number || kind == ValueKind::string ? nullptr
                                                                    : "a number or a string";
    default:  // integers and floats
      return kind == ValueKind::number ? nullptr : "a number";
  }
}

/// @brief "'name' (type)", for messages.
std::string describe_column(const Schema& schema, std::size_t column) {
  const Field& field = schema.field(column);
  return quoted(field.name) + " (" + to_string(field.type) + ")";
}

/// @brief Reads `text`, a JSON number (`integer_literal`: without fraction or exponent), as a
/// value of column type `id` (an integer type, or a timestamp, whose fraction is dropped
/// towards the past): its sign in `negative` (false for zero) and its magnitude. An empty return
/// is success, else it tells why not ("out of range").
std::string read_integer(std::string_view text, bool integer_literal, TypeId id, bool& negative,
                         std::uint64_t& magnitude) {
  negative = text.front() == '-';
  magnitude = 0;
  bool has_fraction = false;
  if (integer_literal) {
    const std::string_view digits = text.substr(negative ? 1 : 0);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
    if (ec != std::errc() || end != digits.data() + digits.size()) return "out of range";
  } else if (!integral_part(decompose_number(text), magnitude, has_fraction)) {
    return "out of range";
  }
  if (has_fraction) {
    if (id != TypeId::timestamp) return "is not an integer";
    // A count of the unit: the fraction is dropped towards the past.
    if (negative) {
      if (magnitude == std::numeric_limits<std::uint64_t>::max()) return "out of range";
      ++magnitude;
    }
  }
  if (magnitude == 0) negative = false;  // -0
  std::uint64_t most_negative = 0;       // the largest magnitude allowed below zero
  std::uint64_t most_positive = 0;
  switch (id) {
    case TypeId::i32:
      most_negative = std::uint64_t{1} << 31;
      most_positive = std::numeric_limits<std::int32_t>::max();
      break;
    case TypeId::u32:
      most_positive = std::numeric_limits<std::uint32_t>::max();
      break;
    case TypeId::u64:
      most_positive = std::numeric_limits<std::uint64_t>::max();
      break;
    default:  // i64, timestamp
      most_negative = std::uint64_t{1} << 63;
      most_positive = std::numeric_limits<std::int64_t>::max();
      break;
  }
  if (magnitude > (negative ? most_negative : most_positive)) return "out of range";
  return {};
}

/// @brief Reads `text`, a JSON number, as a float of column type `id` into `value` (f32 rounds
/// from the text, not through f64). An empty return is success, else it tells why not.
std::string read_float(std::string_view text, TypeId id, double& value) {
  std::from_chars_result result{};
  if (id == TypeId::f32) {
    float narrow = 0;
    result = std::from_chars(text.data(), text.data() + text.size(), narrow);
    value = narrow;
  } else {
    result = std::from_chars(text.data(), text.data() + text.size(), value);
  }
  if (result.ec == std::errc::result_out_of_range) {
    // Below the smallest subnormal it is zero; beyond the largest float, out of range.
    const DecimalNumber number = decompose_number(text);
    if (number.point > 0) return "out of range";
    value = number.negative ? -0.0 : 0.0;
    return {};
  }
  if (result.ec != std::errc() || result.ptr != text.data() + text.size()) return "unreadable";
  return {};
}

/// @brief Sets non-string `column` of the current row from `cell` (a kind its type takes),
/// whose text is `text`. An empty return is success, else the message (the row is left to the
/// caller to discard).
std::string set_cell(const Schema& schema, std::size_t column, const ScannedValue& cell,
                     std::string_view text, BatchBuilder& out) {
  const DataType type = schema.field(column).type;
  const auto problem = [&](const std::string& what) {
    return describe_column(schema, column) + ": " + shortened(text) + " " + what;
  };
  switch (type.id) {
    case TypeId::boolean:
      out.set_bool(column, cell.truth);
      return {};
    case TypeId::f32:
    case TypeId::f64: {
      double value = 0;
      std::string why = read_float(text, type.id, value);
      if (!why.empty()) return problem(why);
      out.set_double(column, value);
      return {};
    }
    case TypeId::timestamp:
      if (cell.kind == ValueKind::string) {
        std::int64_t value = 0;
        switch (parse_timestamp_text(text, type.unit, value)) {
          case TimeParse::ok:
            out.set_int(column, value);
            return {};
          case TimeParse::bad:
            return describe_column(schema, column) + ": cannot read the string as a timestamp";
          case TimeParse::out_of_range:
            return describe_column(schema, column) + ": timestamp out of range";
        }
      }
      [[fallthrough]];
    default: {  // integers, and timestamps as numbers
      bool negative = false;
      std::uint64_t magnitude = 0;
      std::string why = read_integer(text, cell.integer_literal, type.id, negative, magnitude);
      if (!why.empty()) return problem(why);
      if (negative) {
        out.set_int(column, magnitude == std::uint64_t{1} << 63
                                ? std::numeric_limits<std::int64_t>::min()
                                : -static_cast<std::int64_t>(magnitude));
      } else {
        out.set_uint(column, magnitude);
      }
      return {};
    }
  }
}

}  // namespace

/// Per-parse buffers reused from line to line.
struct JsonLinesParser::LineScratch {
  std::vector<ScannedValue> cells;  ///< one per schema column: its key's last value on the line
  std::string strings;              ///< unescaped string values of the line
  std::string key;                  ///< the current key, when it had escapes
  std::string nesting;              ///< the open brackets of a value being skipped
};

JsonLinesParser::JsonLinesParser(const Schema& schema, JsonLinesOptions options)
    : schema_(schema), options_(options) {
  column_by_name_.reserve(schema_.size());
  for (std::size_t i = 0; i < schema_.size(); ++i) {
    column_by_name_.emplace_back(schema_.field(i).name, i);
    if (schema_.field(i).type.id != TypeId::string) set_order_.push_back(i);
  }
  for (std::size_t i = 0; i < schema_.size(); ++i) {
    if (schema_.field(i).type.id == TypeId::string) set_order_.push_back(i);
  }
  std::sort(column_by_name_.begin(), column_by_name_.end());
}

std::ptrdiff_t JsonLinesParser::column_of(std::string_view name) const {
  const auto it =
      std::lower_bound(column_by_name_.begin(), column_by_name_.end(), name,
                       [](const std::pair<std::string, std::size_t>& entry, std::string_view key) {
                         return std::string_view(entry.first) < key;
                       });
  if (it == column_by_name_.end() || it->first != name) return -1;
  return static_cast<std::ptrdiff_t>(it->second);
}

std::string JsonLinesParser::scan_line(std::string_view line, LineScratch& scratch) const {
  if (line.size() > options_.max_line_bytes) {
    return "line of " + std::to_string(line.size()) + " bytes exceeds the limit of " +
           std::to_string(options_.max_line_bytes);
  }
  std::fill(scratch.cells.begin(), scratch.cells.end(), ScannedValue());
  scratch.strings.clear();

  // Pass 1: the syntax of the whole line; the last value of each schema column's key kept.
  LineScanner scan(line, options_.max_depth, scratch.nesting);
  scan.skip_space();
  if (scan.at_end() || scan.peek() != '{') {
    scan.fail(scan.position(), "expected '{'");
    return scan.error();
  }
  scan.expect('{', "object");
  scan.skip_space();
  bool closed = !scan.at_end() && scan.peek() == '}';
  if (closed) scan.expect('}', "object");
  while (!closed) {
    if (scan.at_end()) {
      scan.fail(scan.position(), "unterminated object");
      return scan.error();
    }
    if (scan.peek() != '"') {
      scan.fail(scan.position(), "expected a key");
      return scan.error();
    }
    std::size_t key_begin = 0;
    std::size_t key_size = 0;
    bool key_escaped = false;
    scratch.key.clear();
    if (!scan.scan_string(&scratch.key, key_begin, key_size, key_escaped)) return scan.error();
    const std::string_view key = key_escaped
                                     ? std::string_view(scratch.key).substr(key_begin, key_size)
                                     : line.substr(key_begin, key_size);
    const std::ptrdiff_t column = column_of(key);
    scan.skip_space();
    if (!scan.expect(':', "object")) return scan.error();
    scan.skip_space();
    ScannedValue* cell = column >= 0 ? &scratch.cells[static_cast<std::size_t>(column)] : nullptr;
    if (!scan.scan_value(cell, &scratch.strings)) return scan.error();
    scan.skip_space();
    if (scan.at_end()) {
      scan.fail(scan.position(), "unterminated object");
      return scan.error();
    }
    if (scan.peek() == '}') {
      scan.expect('}', "object");
      closed = true;
    } else if (scan.peek() == ',') {
      scan.expect(',', "object");
      scan.skip_space();
    } else {
      scan.fail(scan.position(), "expected ',' or '}'");
      return scan.error();
    }
  }
  scan.skip_space();
  if (!scan.at_end()) {
    scan.fail(scan.position(), "unexpected text after the object");
    return scan.error();
  }
  return {};
}

std::string JsonLinesParser::values_of(std::string_view line,
                                       std::vector<JsonValueSeen>& values) const {
  LineScratch scratch;
  scratch.cells.resize(schema_.size());
  if (std::string problem = scan_line(line, scratch); !problem.empty()) return problem;
  values.assign(schema_.size(), JsonValueSeen{});
  for (std::size_t c = 0; c < schema_.size(); ++c) {
    const ScannedValue& cell = scratch.cells[c];
    JsonValueSeen& v = values[c];
    switch (cell.kind) {
      case ValueKind::absent:
        v.kind = JsonValueSeen::Kind::absent;
        break;
      case ValueKind::null:
        v.kind = JsonValueSeen::Kind::null;
        break;
      case ValueKind::boolean:
        v.kind = JsonValueSeen::Kind::boolean;
        break;
      case ValueKind::number:
      case ValueKind::string: {
        v.kind = cell.kind == ValueKind::string ? JsonValueSeen::Kind::string
                 : cell.integer_literal         ? JsonValueSeen::Kind::integer
                                                : JsonValueSeen::Kind::number;
        const std::string_view from = cell.in_strings ? std::string_view(scratch.strings) : line;
        v.text = from.substr(cell.begin, cell.size);
        break;
      }
      case ValueKind::object:
      case ValueKind::array:
        v.kind = JsonValueSeen::Kind::container;
        break;
    }
  }
  return {};
}

std::string JsonLinesParser::parse_line(std::string_view line, BatchBuilder& out,
                                        LineScratch& scratch) const {
  if (std::string problem = scan_line(line, scratch); !problem.empty()) return problem;

  // Pass 2: every column's value checked against its type, then the cells set, strings last,
  // so that a rejected line adds no string to a dictionary.
  for (std::size_t column = 0; column < schema_.size(); ++column) {
    const ScannedValue& cell = scratch.cells[column];
    const Field& field = schema_.field(column);
    if (cell.kind == ValueKind::absent) return "missing " + quoted(field.name);
    if (cell.kind == ValueKind::null) return quoted(field.name) + " is null";
    const char* expected = expected_kind(field.type.id, cell.kind);
    if (expected != nullptr) {
      return describe_column(schema_, column) + ": expected " + expected + ", got " +
             kind_name(cell.kind);
    }
  }
  const auto text_of = [&](const ScannedValue& cell) {
    return cell.in_strings ? std::string_view(scratch.strings).substr(cell.begin, cell.size)
                           : line.substr(cell.begin, cell.size);
  };
  try {
    for (const std::size_t column : set_order_) {
      const ScannedValue& cell = scratch.cells[column];
      const DataType type = schema_.field(column).type;
      if (type.id == TypeId::string) {
        out.set_string(column, text_of(cell));
        continue;
      }
      std::string problem = set_cell(schema_, column, cell, text_of(cell), out);
      if (!problem.empty()) {
        out.discard_row();
        return problem;
      }
    }
  } catch (const Error& e) {  // a value the builder refused (not expected: all are checked)
    out.discard_row();
    return e.what();
  }
  out.end_row();
  return {};
}

LineOutcome JsonLinesParser::parse(std::string_view text, BatchBuilder& out,
                                   std::uint64_t first_line) const {
  if (!(out.schema() == schema_)) {
    throw Error(ErrorCode::invalid_argument, "JsonLinesParser::parse: the builder's schema " +
                                                 out.schema().to_string() + " is not " +
                                                 schema_.to_string());
  }
  LineOutcome outcome;
  LineScratch scratch;
  scratch.cells.resize(schema_.size());
  for_each_line(text, first_line, [&](std::string_view line, std::uint64_t number) {
    if (std::all_of(line.begin(), line.end(), is_json_space)) return;  // blank
    std::string problem = parse_line(line, out, scratch);
    if (problem.empty()) {
      ++outcome.rows;
    } else {
      outcome.reject(number, std::move(problem), options_.max_problems);
    }
  });
  return outcome;
}

}  // namespace sluice::detail
