// CsvReader: blocks of whole records, split among threads, parsed into typed columns.
#include "host/io/csv_reader.hpp"

#include <omp.h>

#include <algorithm>
#include <cfloat>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <istream>
#include <limits>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "host/io/time_text.hpp"
#include "sluice/status.hpp"
#include "sluice/types.hpp"

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

std::string cell_problem(const Field& field, std::string_view text, Parsed parsed) {
  const std::string where = "column " + quote(field.name) + ": ";
  if (parsed == Parsed::out_of_range)
    return where + "value " + quote(text) + " out of range for " + to_string(field.type);
  return where + "cannot parse " + quote(text) + " as " + to_string(field.type);
}

std::uint64_t hash_bytes(std::string_view s) {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ s.size();
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  h = (h ^ tail) * 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 29);
}

}  // namespace

/// The distinct strings of one column of one piece, coded in the order they first appear.
class LocalStrings {
 public:
  std::uint32_t code(std::string_view s) {
    if (2 * (spans_.size() + 1) > slots_.size()) grow();
    const std::uint64_t h = hash_bytes(s);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t p = h & mask;; p = (p + 1) & mask) {
      const std::uint32_t slot = slots_[p];
      if (slot == 0) {
        spans_.push_back(
            {static_cast<std::uint32_t>(bytes_.size()), static_cast<std::uint32_t>(s.size()), h});
        bytes_.append(s);
        slots_[p] = static_cast<std::uint32_t>(spans_.size());
        return slot_code(slots_[p]);
      }
      const Span& e = spans_[slot - 1];
      if (e.hash == h && view(e) == s) return slot_code(slot);
    }
  }
  std::size_t size() const noexcept { return spans_.size(); }
  std::string_view at(std::size_t code) const { return view(spans_[code]); }

 private:
  struct Span {
    std::uint32_t offset;
    std::uint32_t size;
    std::uint64_t hash;
  };
  static std::uint32_t slot_code(std::uint32_t slot) { return slot - 1; }
  std::string_view view(const Span& e) const { return {bytes_.data() + e.offset, e.size}; }
  void grow() {
    std::vector<std::uint32_t> slots(std::max<std::size_t>(64, 2 * slots_.size()), 0);
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = 0; i < spans_.size(); ++i) {
      std::size_t p = spans_[i].hash & mask;
      while (slots[p] != 0) p = (p + 1) & mask;
      slots[p] = static_cast<std::uint32_t>(i + 1);
    }
    slots_ = std::move(slots);
  }
  std::string bytes_;
  std::vector<Span> spans_;
  std::vector<std::uint32_t> slots_;
};

/// One thread's share of a block: its records' bytes and what parsing them gave.
struct CsvPiece {
  struct Columns {
    std::vector<std::vector<std::byte>> data;  ///< schema order, rows of the column's width
  };
  const char* begin = nullptr;
  const char* end = nullptr;
  std::shared_ptr<Columns> columns = std::make_shared<Columns>();
  std::vector<LocalStrings> strings;  ///< per schema column (string columns only)
  DictionaryPtr dictionary;           ///< what the string columns were coded with
  std::size_t rows = 0;
  std::uint64_t lines = 0;  ///< newlines in [begin, end)
  struct Problem {
    std::uint64_t line;  ///< of the record, counted from the piece's first line (0)
    std::string message;
  };
  std::vector<Problem> problems;
};

namespace {

/// Where records end in a block: positions after a newline outside quoted fields. A quote
/// opens a quoted field only at a field's start; inside one, "" is a quote, and a quote followed
/// by a comma, a line end (LF or CR LF) or the end of the input closes it. A quoted field that
/// is not closed so within `max_quoted` bytes of its opening quote (a quote followed by other
/// text, a stray quote, or one still open where the input ends, with `input_ends`) is
/// unterminated: its record ends at the end of the line on which it opened. Calls
/// on_end(position) for each end. Linear in `n` but for the bytes after an unterminated field's
/// line, which are scanned again (at most `max_quoted` per such field).
template <class OnEnd>
void scan_record_ends(const char* text, std::size_t n, std::size_t max_quoted, bool input_ends,
                      OnEnd on_end) {
  enum class State : std::uint8_t {
    field_start,
    unquoted,
    quoted,
    quote_in_quoted,  ///< after a quote in a quoted field: an escaped quote or the closing one
    cr_after_quote,   ///< after a closing quote and a CR: a line end must follow
    bad_line,         ///< the rest of an unterminated field's line
  };
  State state = State::field_start;
  std::size_t quote_at = 0;  // the opening quote of the quoted field being read
  // The field opened at quote_at is unterminated (seen at i): the scan resumes after the end of
  // its line, or skips to it.
  const auto resync = [&](std::size_t& i) {
    const void* nl = std::memchr(text + quote_at + 1, '\n', i - quote_at);
    if (nl == nullptr) {
      state = State::bad_line;
      return;
    }
    i = static_cast<std::size_t>(static_cast<const char*>(nl) - text);
    state = State::field_start;
    on_end(i + 1);
  };
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[i];
    switch (state) {
      case State::field_start:
      case State::unquoted:
        if (c == ',') {
          state = State::field_start;
        } else if (c == '\n') {
          state = State::field_start;
          on_end(i + 1);
        } else if (c == '"' && state == State::field_start) {
          state = State::quoted;
          quote_at = i;
        } else {
          state = State::unquoted;
        }
        break;
      case State::quoted:
        if (i - quote_at > max_quoted) {
          resync(i);
        } else if (c == '"') {
          state = State::quote_in_quoted;
        }
        break;
      case State::quote_in_quoted:
        if (c == '"') {
          state = State::quoted;
        } else if (c == ',') {
          state = State::field_start;
        } else if (c == '\n') {
          state = State::field_start;
          on_end(i + 1);
        } else if (c == '\r') {
          state = State::cr_after_quote;
        } else {
          resync(i);
        }
        break;
      case State::cr_after_quote:
        if (c == '\n') {
          state = State::field_start;
          on_end(i + 1);
        } else {
          resync(i);
        }
        break;
      case State::bad_line:
        if (c == '\n') {
          state = State::field_start;
          on_end(i + 1);
        }
        break;
    }
    // Open where the input ends: resumes after the field's line (if it has a newline).
    if (i + 1 == n && state == State::quoted && input_ends) resync(i);
  }
}

/// Where the threads' pieces of `n` bytes should start, but for the first: even shares.
std::vector<std::size_t> piece_targets(std::size_t n) {
  const int threads = std::max(1, omp_get_max_threads());
  std::vector<std::size_t> targets;
  for (int t = 1; t < threads; ++t) targets.push_back(n * static_cast<std::size_t>(t) / threads);
  return targets;
}

/// Splits a record into fields at `p` (up to `end`, a record end), calling on_field(index,
/// text); returns the position after the record. A quoted field not closed within `max_quoted`
/// bytes of its opening quote by a quote followed by a comma, a line end or `end` sets
/// `unterminated` and ends the record at the end of the line on which it opened (as
/// scan_record_ends). Quoted fields are unquoted into `scratch` (a CR before a newline inside
/// one is dropped, as at the end of a line); a CR ending the record is dropped. Counts the
/// newlines it passes.
template <class OnField>
const char* split_record(const char* p, const char* end, std::size_t max_quoted,
                         std::string& scratch, std::uint64_t& newlines, bool& unterminated,
                         OnField on_field) {
  unterminated = false;
  for (std::size_t field = 0;; ++field) {
    std::string_view text;
    if (p < end && *p == '"') {
      const char* const quote = p;
      const std::uint64_t newlines_before = newlines;
      scratch.clear();
      bool closed = false;
      for (++p; p < end && static_cast<std::size_t>(p - quote) <= max_quoted; ++p) {
        const char c = *p;
        if (c != '"') {
          if (c == '\n') {
            ++newlines;
            if (!scratch.empty() && scratch.back() == '\r') scratch.pop_back();
          }
          scratch += c;
        } else if (p + 1 < end && p[1] == '"') {
          scratch += '"';
          ++p;
        } else {
          ++p;  // the closing quote, if a comma or a line end follows
          if (p < end && *p == '\r' && (p + 1 == end || p[1] == '\n')) ++p;
          closed = p == end || *p == ',' || *p == '\n';
          break;
        }
      }
      if (!closed) {
        unterminated = true;
        newlines = newlines_before;
        const void* nl = std::memchr(quote + 1, '\n', static_cast<std::size_t>(end - quote - 1));
        if (nl == nullptr) return end;
        ++newlines;
        return static_cast<const char*>(nl) + 1;
      }
      text = scratch;
    } else {
      const char* start = p;
      while (p < end && *p != ',' && *p != '\n') ++p;
      text = std::string_view(start, static_cast<std::size_t>(p - start));
    }
    const bool last = p >= end || *p == '\n';
    if (last && !text.empty() && text.back() == '\r') text.remove_suffix(1);
    on_field(field, text);
    if (last) {
      if (p < end) {
        ++newlines;
        ++p;
      }
      return p;
    }
    ++p;  // the comma
  }
}

/// Parses `text` into row `row` of column `c` (typed); returns ok or why not.
Parsed store_cell(CsvPiece& piece, std::size_t c, const Field& field, std::string_view text,
                  std::size_t row) {
  std::byte* cell = piece.columns->data[c].data() + row * type_width(field.type.id);
  const auto put = [&](auto v) { std::memcpy(cell, &v, sizeof v); };
  switch (field.type.id) {
    case TypeId::timestamp: {
      std::int64_t v = 0;
      switch (parse_timestamp_text(text, field.type.unit, v)) {
        case TimeParse::ok:
          put(v);
          return Parsed::ok;
        case TimeParse::bad:
          return Parsed::bad;
        case TimeParse::out_of_range:
          return Parsed::out_of_range;
      }
      return Parsed::bad;
    }
    case TypeId::i32:
    case TypeId::i64: {
      std::int64_t v = 0;
      const Parsed parsed = parse_number(text, v);
      if (parsed != Parsed::ok) return parsed;
      if (field.type.id != TypeId::i32) {
        put(v);
      } else if (v < std::numeric_limits<std::int32_t>::min() ||
                 v > std::numeric_limits<std::int32_t>::max()) {
        return Parsed::out_of_range;
      } else {
        put(static_cast<std::int32_t>(v));
      }
      return Parsed::ok;
    }
    case TypeId::u32:
    case TypeId::u64: {
      std::uint64_t v = 0;
      const Parsed parsed = parse_number(text, v);
      if (parsed != Parsed::ok) return parsed;
      if (field.type.id == TypeId::u64) {
        put(v);
      } else if (v > std::numeric_limits<std::uint32_t>::max()) {
        return Parsed::out_of_range;
      } else {
        put(static_cast<std::uint32_t>(v));
      }
      return Parsed::ok;
    }
    case TypeId::f32:
    case TypeId::f64: {
      double v = 0;
      const Parsed parsed = parse_number(text, v);
      if (parsed != Parsed::ok) return parsed;
      if (field.type.id == TypeId::f64) {
        put(v);
      } else if (std::isfinite(v) && std::fabs(v) > FLT_MAX) {
        return Parsed::out_of_range;
      } else {
        put(static_cast<float>(v));
      }
      return Parsed::ok;
    }
    case TypeId::boolean: {
      bool v = false;
      const Parsed parsed = parse_bool(text, v);
      if (parsed == Parsed::ok) put(static_cast<std::uint8_t>(v ? 1 : 0));
      return parsed;
    }
    case TypeId::string:
      put(piece.strings[c].code(text));
      return Parsed::ok;
  }
  return Parsed::bad;
}

/// Parses the records of a piece into its columns. Under `stop_at_problem` parsing stops at the
/// first malformed row (the rows before it are kept).
void parse_piece(CsvPiece& piece, const Schema& schema, const std::vector<int>& column_of_field,
                 std::size_t header_fields, std::size_t max_quoted, bool stop_at_problem) {
  const std::size_t max_rows =
      static_cast<std::size_t>(std::count(piece.begin, piece.end, '\n')) + 1;
  piece.columns->data.resize(schema.size());
  piece.strings.resize(schema.size());
  for (std::size_t c = 0; c < schema.size(); ++c)
    piece.columns->data[c].resize(max_rows * type_width(schema.field(c).type.id) + 1);
  std::string scratch;
  std::uint64_t newlines = 0;
  const char* p = piece.begin;
  while (p < piece.end) {
    // Blank lines (a CR alone included) are no records.
    if (*p == '\n' || (*p == '\r' && (p + 1 == piece.end || p[1] == '\n'))) {
      p += *p == '\r' && p + 1 < piece.end ? 2 : 1;
      if (p[-1] == '\n') ++newlines;
      continue;
    }
    const std::uint64_t record_line = newlines;
    std::size_t fields = 0;
    std::string problem;  // the first cell that does not fit
    bool unterminated = false;
    p = split_record(p, piece.end, max_quoted, scratch, newlines, unterminated,
                     [&](std::size_t field, std::string_view text) {
                       ++fields;
                       if (!problem.empty() || field >= column_of_field.size()) return;
                       const int c = column_of_field[field];
                       if (c < 0) return;
                       const Field& f = schema.field(static_cast<std::size_t>(c));
                       const Parsed parsed =
                           store_cell(piece, static_cast<std::size_t>(c), f, text, piece.rows);
                       if (parsed != Parsed::ok) problem = cell_problem(f, text, parsed);
                     });
    if (unterminated)
      problem = "unterminated quoted field";
    else if (fields != header_fields)
      problem = "expected " + std::to_string(header_fields) + " fields (as in the header), found " +
                std::to_string(fields);
    if (problem.empty()) {
      ++piece.rows;
      continue;
    }
    piece.problems.push_back({record_line, std::move(problem)});
    if (stop_at_problem) break;
  }
  piece.lines = newlines;
}

}  // namespace

CsvReader::CsvReader(std::istream& in, std::string name, const Schema& schema,
                     DictionaryPtr dictionary, CsvOptions options)
    : in_(in),
      name_(std::move(name)),
      schema_(schema),
      dictionary_(std::move(dictionary)),
      options_(options) {
  if (options_.diagnostics == nullptr) options_.diagnostics = &std::cerr;
  options_.block_bytes = std::max<std::size_t>(options_.block_bytes, 1);
  options_.max_quoted_bytes = std::max<std::size_t>(options_.max_quoted_bytes, 1);
  if (dictionary_ == nullptr) dictionary_ = std::make_shared<StringDictionary>();
  read_header();
}

CsvReader::~CsvReader() = default;

// Reads more input after the carried bytes until the block holds block_bytes (or twice, four
// times... that, until it holds a whole record), or the input ends; false when nothing is left.
// So a block is the same bytes whatever came before its first one (see offset()).
Error CsvReader::read_error() const {
  return Error(ErrorCode::io_error, name_ + ":" + std::to_string(line_ + 1) + ": read error");
}

void CsvReader::read_live() {
  using Clock = std::chrono::steady_clock;
  // Bytes carried over from a block hold no whole record: only bytes read now can end one.
  // What the header left may hold records.
  std::size_t scanned = carry_may_hold_records_ ? 0 : block_used_;
  bool got_any = false;
  Clock::time_point first;
  for (;;) {
    const std::streamsize got = in_.readsome(
        block_.data() + block_used_, static_cast<std::streamsize>(block_.size() - block_used_));
    if (in_.bad()) throw read_error();
    if (got > 0) {
      if (!got_any) first = Clock::now();
      got_any = true;
      block_used_ += static_cast<std::size_t>(got);
      if (block_used_ == block_.size()) return;
      continue;
    }
    if (in_.eof()) {
      eof_ = true;
      return;
    }
    // Nothing is ready. With a line break read, the block goes once it has gathered input for
    // live_gather (polling meanwhile); without one, wait for input.
    if (std::memchr(block_.data() + scanned, '\n', block_used_ - scanned) != nullptr) {
      if (!got_any) return;  // the header's leftovers: parse them now
      const Clock::duration waited = Clock::now() - first;
      if (waited >= options_.live_gather) return;
      std::this_thread::sleep_for(
          std::min<Clock::duration>(std::chrono::milliseconds(1), options_.live_gather - waited));
      continue;
    }
    scanned = block_used_;
    if (in_.peek() == std::istream::traits_type::eof()) {
      if (in_.bad()) throw read_error();
      eof_ = true;
      return;
    }
  }
}

bool CsvReader::fill_block() {
  if (carry_ > 0 && block_used_ > carry_)
    std::memmove(block_.data(), block_.data() + (block_used_ - carry_), carry_);
  block_offset_ = consumed_;
  block_used_ = carry_;
  carry_ = 0;
  piece_cuts_known_ = false;
  std::size_t block_bytes = options_.block_bytes;
  for (;;) {
    if (block_.size() < block_bytes) block_.resize(block_bytes);
    if (!eof_ && block_used_ < block_bytes && options_.live) {
      read_live();
    } else if (!eof_ && block_used_ < block_bytes) {
      in_.read(block_.data() + block_used_,
               static_cast<std::streamsize>(block_.size() - block_used_));
      const auto got = static_cast<std::size_t>(in_.gcount());
      if (in_.bad()) throw read_error();
      block_used_ += got;
      if (in_.eof() || got == 0) eof_ = true;
    }
    if (eof_) {
      consumed_ = block_offset_ + block_used_;
      return block_used_ > 0;
    }
    // The block ends after its last whole record; the rest waits for the next block.
    carry_may_hold_records_ = false;
    std::size_t last_end = 0;
    if (std::memchr(block_.data(), '"', block_used_) == nullptr) {
      for (std::size_t i = block_used_; i > 0; --i)
        if (block_[i - 1] == '\n') {
          last_end = i;
          break;
        }
    } else {
      // Quotes: record ends need a serial scan; the same scan finds where the threads' pieces
      // start (near even shares of what is read; parse_block drops those past the last record).
      const std::vector<std::size_t> targets = piece_targets(block_used_);
      std::size_t next = 0;
      piece_cuts_.clear();
      scan_record_ends(block_.data(), block_used_, options_.max_quoted_bytes, false,
                       [&](std::size_t e) {
                         last_end = e;
                         while (next < targets.size() && targets[next] < e) {
                           piece_cuts_.push_back(e);
                           ++next;
                         }
                       });
      piece_cuts_known_ = true;
    }
    if (last_end > 0) {
      carry_ = block_used_ - last_end;
      consumed_ = block_offset_ + last_end;
      return true;
    }
    // Not one whole record yet: read on into a larger block.
    block_bytes *= 2;
  }
}

void CsvReader::read_header() {
  // Blank lines before the header are skipped, as between records; a block may hold nothing
  // else (a small block, or blank lines longer than one), and then the next one is read.
  std::uint64_t newlines = 0;
  const char* begin = nullptr;
  const char* end = nullptr;
  for (;;) {
    if (!fill_block()) {
      throw Error(ErrorCode::malformed_input, name_ + ": empty input (expected a header row)");
    }
    begin = block_.data();
    end = block_.data() + (block_used_ - carry_);
    while (begin < end && (*begin == '\n' || *begin == '\r')) {
      if (*begin == '\n') ++newlines;
      ++begin;
    }
    if (begin < end) break;
    // Only blank lines: the next fill_block() drops them and keeps the bytes carried after them.
  }
  std::vector<std::string> names;
  std::string scratch;
  bool unterminated = false;
  const char* after =
      split_record(begin, end, options_.max_quoted_bytes, scratch, newlines, unterminated,
                   [&](std::size_t, std::string_view text) { names.emplace_back(text); });
  if (unterminated) {
    throw Error(ErrorCode::malformed_input, name_ + ": unterminated quoted field in the header");
  }
  line_ = newlines + (after > begin && after[-1] != '\n' ? 1 : 0);
  // The header's bytes are consumed: the first block starts after it.
  const std::size_t consumed = static_cast<std::size_t>(after - block_.data());
  std::memmove(block_.data(), after, block_used_ - consumed);
  block_used_ -= consumed;
  header_fields_ = names.size();
  // A UTF-8 byte order mark is not part of the first column's name.
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (names[0].starts_with(kBom)) names[0].erase(0, kBom.size());
  std::string header;
  for (std::size_t i = 0; i < names.size(); ++i) header += (i ? ", " : "") + names[i];
  for (const std::string& n : names) header_names_.emplace_back(trim_blanks(n));
  column_of_field_.assign(names.size(), -1);
  for (std::size_t c = 0; c < schema_.size(); ++c) {
    const Field& field = schema_.field(c);
    std::size_t found = names.size();
    for (std::size_t i = 0; i < names.size() && found == names.size(); ++i) {
      if (trim_blanks(names[i]) == field.name && column_of_field_[i] < 0) found = i;
    }
    if (found == names.size()) {
      throw Error(ErrorCode::unknown_column, name_ + ": column " + quote(field.name) +
                                                 " of the schema is not in the CSV header (" +
                                                 header + ")");
    }
    column_of_field_[found] = static_cast<int>(c);
  }
  // What the header left of the first block is parsed with the next call.
  carry_ = block_used_;
  carry_may_hold_records_ = true;
  consumed_ = block_offset_ + consumed;
}

void CsvReader::seek(std::uint64_t offset) {
  if (offset < consumed_)
    throw Error(ErrorCode::invalid_argument, name_ + ": cannot resume at byte " +
                                                 std::to_string(offset) + ", inside the header");
  // The lines before `offset`, for messages.
  in_.clear();
  in_.seekg(0);
  std::uint64_t newlines = 0;
  std::uint64_t left = offset;
  std::vector<char> chunk(std::size_t{1} << 20);
  while (left > 0 && in_) {
    in_.read(chunk.data(),
             static_cast<std::streamsize>(std::min<std::uint64_t>(left, chunk.size())));
    const auto got = static_cast<std::size_t>(in_.gcount());
    newlines += static_cast<std::uint64_t>(std::count(chunk.data(), chunk.data() + got, '\n'));
    left -= got;
    if (got == 0) break;
  }
  if (left > 0 || in_.bad())
    throw Error(ErrorCode::io_error, name_ + ": cannot resume at byte " + std::to_string(offset) +
                                         ": the input is shorter (" +
                                         std::to_string(offset - left) + " bytes)");
  in_.clear();
  in_.seekg(static_cast<std::streamoff>(offset));
  if (!in_)
    throw Error(ErrorCode::io_error, name_ + ": cannot seek to byte " + std::to_string(offset));
  ready_.clear();
  pending_error_.clear();
  block_used_ = 0;
  carry_ = 0;
  eof_ = false;
  consumed_ = offset;
  block_offset_ = offset;
  line_ = newlines;
}

void CsvReader::parse_block() {
  const std::size_t n = block_used_ - carry_;
  const char* text = block_.data();
  // One piece per thread, cut at record ends near even shares of the bytes.
  std::vector<std::size_t> cuts{0};
  if (piece_cuts_known_) {
    for (std::size_t e : piece_cuts_)
      if (e < n) cuts.push_back(e);
  } else if (n > 0) {
    const std::vector<std::size_t> targets = piece_targets(n);
    if (std::memchr(text, '"', n) == nullptr) {
      for (std::size_t target : targets) {
        const void* nl = std::memchr(text + target, '\n', n - target);
        if (nl != nullptr)
          cuts.push_back(static_cast<std::size_t>(static_cast<const char*>(nl) - text) + 1);
      }
    } else {
      std::size_t next = 0;
      scan_record_ends(text, n, options_.max_quoted_bytes, eof_ && carry_ == 0, [&](std::size_t e) {
        while (next < targets.size() && targets[next] < e) {
          cuts.push_back(e);
          ++next;
        }
      });
    }
  }
  cuts.push_back(n);
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::vector<std::unique_ptr<CsvPiece>> pieces;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    auto piece = std::make_unique<CsvPiece>();
    piece->begin = text + cuts[i];
    piece->end = text + cuts[i + 1];
    pieces.push_back(std::move(piece));
  }
  const bool stop = options_.on_malformed == OnMalformed::fail;
  const auto count = static_cast<std::int64_t>(pieces.size());
  if (count > 1) {
#pragma omp parallel for schedule(static, 1)
    for (std::int64_t i = 0; i < count; ++i)
      parse_piece(*pieces[static_cast<std::size_t>(i)], schema_, column_of_field_, header_fields_,
                  options_.max_quoted_bytes, stop);
  } else if (count == 1) {
    parse_piece(*pieces[0], schema_, column_of_field_, header_fields_, options_.max_quoted_bytes,
                stop);
  }
  // In input order: strings get the dictionary's codes in order of first appearance, problems
  // are reported with their lines, and the pieces are queued.
  std::vector<std::size_t> string_columns;
  for (std::size_t c = 0; c < schema_.size(); ++c)
    if (schema_.field(c).type.id == TypeId::string) string_columns.push_back(c);
  constexpr std::uint32_t kUncoded = 0xffffffffu;
  std::vector<std::vector<std::uint32_t>> codes(schema_.size());
  for (auto& piece : pieces) {
    // Row by row, column by column, as a serial reader meets them (the strings of malformed
    // rows are never coded).
    piece->dictionary = dictionary_;
    std::vector<std::uint32_t*> columns;
    for (std::size_t c : string_columns) {
      codes[c].assign(piece->strings[c].size(), kUncoded);
      columns.push_back(reinterpret_cast<std::uint32_t*>(piece->columns->data[c].data()));
    }
    for (std::size_t r = 0; r < piece->rows; ++r) {
      for (std::size_t j = 0; j < string_columns.size(); ++j) {
        const std::size_t c = string_columns[j];
        std::uint32_t& code = codes[c][columns[j][r]];
        if (code == kUncoded) code = dictionary_->intern(piece->strings[c].at(columns[j][r]));
        columns[j][r] = code;
      }
    }
    for (const CsvPiece::Problem& problem : piece->problems) {
      ++malformed_;
      std::string message =
          name_ + ":" + std::to_string(line_ + 1 + problem.line) + ": " + problem.message;
      if (stop) {
        pending_error_ = std::move(message);
        break;
      }
      report(message);
    }
    line_ += piece->lines;
    if (eof_ && carry_ == 0 && piece.get() == pieces.back().get() && piece->end > piece->begin &&
        piece->end[-1] != '\n')
      ++line_;  // a last line without a newline
    ready_.push_back(std::move(piece));
    if (!pending_error_.empty()) break;
  }
  // The block's records are parsed; its bytes are no longer read (strings were copied).
}

bool CsvReader::next(Batch& out) {
  while (ready_.empty()) {
    if (!pending_error_.empty()) throw Error(ErrorCode::malformed_input, pending_error_);
    if (!fill_block()) {
      finish_input();
      return false;
    }
    parse_block();
  }
  std::unique_ptr<CsvPiece> piece = std::move(ready_.front());
  ready_.pop_front();
  std::vector<const void*> data;
  std::vector<DictionaryPtr> dictionaries;
  for (std::size_t c = 0; c < schema_.size(); ++c) {
    data.push_back(piece->columns->data[c].data());
    dictionaries.push_back(schema_.field(c).type.id == TypeId::string ? piece->dictionary
                                                                      : nullptr);
  }
  out = Batch::wrap(schema_, std::move(data), piece->rows, std::move(dictionaries), piece->columns);
  rows_ += piece->rows;
  return true;
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
