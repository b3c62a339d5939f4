// Schema inference: sampling a CSV's first rows (also from live input), and the type of each
// column that reads all of its sampled cells.
#include "host/cli/schema_inference.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <istream>
#include <sstream>
#include <thread>

#include "host/api/text.hpp"
#include "host/io/csv_reader.hpp"
#include "host/io/time_text.hpp"
#include "sluice/status.hpp"

namespace sluice::cli {
namespace {

bool is_integer(std::string_view t) {
  if (!t.empty() && (t.front() == '+' || t.front() == '-')) t.remove_prefix(1);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  return !t.empty() && ec == std::errc() && end == t.data() + t.size();
}

bool is_float(std::string_view t) {
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  return !t.empty() && ec == std::errc() && end == t.data() + t.size();
}

bool is_bool(std::string_view t) {
  std::string lower(t);
  for (char& c : lower) c = static_cast<char>(c | 0x20);
  return lower == "true" || lower == "false";
}

/// The fraction digits of an RFC 3339 time, or -1 when `t` is not one.
int rfc3339_digits(std::string_view t) {
  if (t.size() < 10 || t[4] != '-') return -1;
  std::int64_t v = 0;
  if (detail::parse_timestamp_text(t, TimeUnit::ns, v) != detail::TimeParse::ok &&
      detail::parse_timestamp_text(t, TimeUnit::s, v) != detail::TimeParse::ok)
    return -1;
  const std::size_t point = t.find_first_of(".,", 17);
  if (point == std::string_view::npos) return 0;
  int digits = 0;
  for (std::size_t i = point + 1; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i) ++digits;
  return digits;
}

/// What every sampled cell of a column could be.
struct Candidates {
  bool boolean = true, integer = true, floating = true, time = true;
  int time_digits = 0;
  double largest = 0;  ///< of the numbers, in magnitude
  std::size_t cells = 0;

  void see(std::string_view cell) {
    cell = detail::trim(cell);
    if (cell.empty()) return;
    ++cells;
    boolean = boolean && is_bool(cell);
    const bool int_cell = is_integer(cell);
    integer = integer && int_cell;
    const bool float_cell = int_cell || is_float(cell);
    floating = floating && float_cell;
    if (float_cell) {
      double v = 0;
      std::from_chars(cell.data() + (cell.front() == '+' ? 1 : 0), cell.data() + cell.size(), v);
      largest = std::max(largest, std::fabs(v));
    }
    const int digits = rfc3339_digits(cell);
    time = time && digits >= 0;
    time_digits = std::max(time_digits, digits);
  }
};

TimeUnit unit_of_digits(int digits) {
  return digits == 0   ? TimeUnit::s
         : digits <= 3 ? TimeUnit::ms
         : digits <= 6 ? TimeUnit::us
                       : TimeUnit::ns;
}

/// Epoch numbers of this era: 1.7e9 s, 1.7e12 ms, 1.7e15 us, 1.7e18 ns.
TimeUnit unit_of_magnitude(double largest) {
  return largest < 1e11   ? TimeUnit::s
         : largest < 1e14 ? TimeUnit::ms
         : largest < 1e17 ? TimeUnit::us
                          : TimeUnit::ns;
}

}  // namespace

std::optional<TimeUnit> time_unit_of_cell(std::string_view cell) {
  cell = detail::trim(cell);
  if (const int digits = rfc3339_digits(cell); digits >= 0) return unit_of_digits(digits);
  if (cell.empty() || !(is_integer(cell) || is_float(cell))) return std::nullopt;
  double v = 0;
  std::from_chars(cell.data() + (cell.front() == '+' ? 1 : 0), cell.data() + cell.size(), v);
  return unit_of_magnitude(std::fabs(v));
}

CsvSample sample_csv(std::istream& in, bool live, std::size_t max_rows, std::size_t max_bytes,
                     int pause) {
  using Clock = std::chrono::steady_clock;
  CsvSample sample;
  std::size_t lines = 0;  // line breaks among the sampled bytes: the header's, then the rows'
  char buffer[65536];
  auto last_input = Clock::now();
  bool ended = false;
  while (lines <= max_rows && sample.read.size() < max_bytes) {
    std::streamsize got = 0;
    if (live) {
      got = in.readsome(buffer, sizeof buffer);
      if (got == 0) {
        if (in.eof()) {
          ended = true;
          break;
        }
        // Nothing ready: with a row read, wait a little more, then take what there is.
        if (lines >= 2) {
          if (Clock::now() - last_input >= std::chrono::milliseconds(pause)) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          continue;
        }
        if (in.peek() == std::istream::traits_type::eof()) {
          ended = true;
          break;
        }
        continue;
      }
    } else {
      in.read(buffer, sizeof buffer);
      got = in.gcount();
      ended = in.eof();
    }
    if (got <= 0) break;
    last_input = Clock::now();
    const std::size_t before = sample.read.size();
    sample.read.append(buffer, static_cast<std::size_t>(got));
    for (std::size_t i = before; i < sample.read.size() && lines <= max_rows; ++i)
      if (sample.read[i] == '\n') {
        ++lines;
        sample.whole = i + 1;
      }
    if (ended) break;
  }
  // At the end of input, a last line without a break is a row too.
  if (ended && lines <= max_rows && sample.whole < sample.read.size()) {
    sample.whole = sample.read.size();
    ++lines;
  }
  sample.rows = lines > 0 ? lines - 1 : 0;
  return sample;
}

std::vector<InferredColumn> infer_columns(const CsvSample& sample, const std::string& name,
                                          const std::string& time_column,
                                          std::string_view overrides) {
  std::vector<std::string> names;
  {
    std::istringstream in{std::string(sample.text())};
    detail::CsvReader header(in, name, Schema(), nullptr, {.block_bytes = 1 << 16});
    names = header.header_names();
  }
  std::vector<Field> fields;
  for (const std::string& n : names) fields.push_back({n, TypeId::string});
  // Columns named twice: the first is read (as the reader matches them).
  std::vector<Field> distinct;
  for (const Field& f : fields)
    if (std::none_of(distinct.begin(), distinct.end(),
                     [&](const Field& d) { return d.name == f.name; }))
      distinct.push_back(f);
  std::vector<Candidates> candidates(distinct.size());
  {
    std::istringstream in{std::string(sample.text())};
    std::ostringstream quiet;
    auto dictionary = std::make_shared<StringDictionary>();
    detail::CsvReader reader(in, name, Schema(distinct), dictionary,
                             {.max_reported = 0, .diagnostics = &quiet, .block_bytes = 1 << 20});
    Batch batch;
    while (reader.next(batch)) {
      for (std::size_t c = 0; c < distinct.size(); ++c) {
        const auto codes = batch.values<std::uint32_t>(c);
        for (std::size_t r = 0; r < batch.rows(); ++r)
          candidates[c].see(batch.dictionary(c)->at(codes[r]));
      }
    }
  }
  std::vector<InferredColumn> out;
  for (std::size_t c = 0; c < distinct.size(); ++c) {
    const Candidates& k = candidates[c];
    InferredColumn col{distinct[c].name, TypeId::string, "text"};
    const bool is_time = distinct[c].name == time_column;
    if (k.cells == 0) {
      col.reason = "no values in the sampled rows";
    } else if (k.boolean) {
      col = {distinct[c].name, TypeId::boolean, "true/false"};
    } else if (k.floating && is_time) {
      col = {distinct[c].name, DataType::timestamp(unit_of_magnitude(k.largest)),
             std::string(k.integer ? "integers" : "decimals") +
                 " of the event time, unit from their size"};
    } else if (k.integer) {
      col = {distinct[c].name, TypeId::i64, "integers"};
    } else if (k.floating) {
      col = {distinct[c].name, TypeId::f64, "numbers"};
    } else if (k.time) {
      col = {distinct[c].name, DataType::timestamp(unit_of_digits(k.time_digits)),
             "RFC 3339 times with " + std::to_string(k.time_digits) + " fraction digits"};
    }
    out.push_back(std::move(col));
  }
  if (!overrides.empty()) {
    const Schema given = parse_schema(overrides);
    for (std::size_t i = 0; i < given.size(); ++i) {
      const Field& f = given.field(i);
      const auto it = std::find_if(out.begin(), out.end(),
                                   [&](const InferredColumn& c) { return c.name == f.name; });
      if (it == out.end())
        throw Error(ErrorCode::invalid_argument,
                    "--types: column '" + f.name + "' is not in the header of " + name);
      it->type = f.type;
      it->reason = "--types";
      it->overridden = true;
    }
  }
  return out;
}

Schema schema_of(const std::vector<InferredColumn>& columns,
                 const std::vector<std::string>& names) {
  std::vector<Field> fields;
  for (const InferredColumn& c : columns)
    if (std::find(names.begin(), names.end(), c.name) != names.end())
      fields.push_back({c.name, c.type});
  return Schema(std::move(fields));
}

ReplayBuffer::ReplayBuffer(std::string prefix, std::streambuf* rest)
    : prefix_(std::move(prefix)), rest_(rest), chunk_(1 << 16) {
  setg(prefix_.data(), prefix_.data(), prefix_.data() + prefix_.size());
}

ReplayBuffer::int_type ReplayBuffer::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  prefix_done_ = true;
  // What is ready now, or (waiting) at least one byte.
  std::streamsize ready = rest_->in_avail();
  if (ready <= 0) {
    if (traits_type::eq_int_type(rest_->sgetc(), traits_type::eof())) return traits_type::eof();
    ready = std::max<std::streamsize>(1, rest_->in_avail());
  }
  const std::streamsize got =
      rest_->sgetn(chunk_.data(), std::min<std::streamsize>(ready, chunk_.size()));
  if (got <= 0) return traits_type::eof();
  setg(chunk_.data(), chunk_.data(), chunk_.data() + got);
  return traits_type::to_int_type(*gptr());
}

std::streamsize ReplayBuffer::showmanyc() {
  const std::streamsize rest = rest_->in_avail();
  return rest < 0 ? (prefix_done_ ? -1 : 0) : rest;
}

}  // namespace sluice::cli
