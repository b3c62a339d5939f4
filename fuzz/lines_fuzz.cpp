// Fuzz target: a body (after two option bytes) is parsed as Influx line protocol or as JSON
// lines, with the precision, measurement filter and line limit those bytes pick, whole and again
// in two pieces cut at a line break: both must give the same rows, counts and problems, the
// builder must hold exactly the rows counted, and every cell must read back.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "host/io/json_lines.hpp"
#include "host/io/line_outcome.hpp"
#include "host/io/line_protocol.hpp"
#include "sluice/batch.hpp"
#include "sluice/schema.hpp"
#include "sluice/status.hpp"
#include "sluice/value.hpp"

namespace {

struct Parsed {
  sluice::detail::LineOutcome outcome;
  std::vector<std::string> cells;
};

const sluice::Schema& schema() {
  static const sluice::Schema s = sluice::parse_schema(
      "t:timestamp[ms],host:string,n:i64,u:u32,x:f64,y:f32,ok:bool,at:timestamp[s]");
  return s;
}

template <class Parse>
Parsed parse_pieces(std::string_view body, std::size_t cut, Parse parse) {
  Parsed out;
  sluice::BatchBuilder builder(schema());
  const std::size_t first_break = cut < body.size() ? body.find('\n', cut) : std::string_view::npos;
  if (first_break == std::string_view::npos) {
    out.outcome = parse(body, builder, 1);
  } else {
    const std::string_view head = body.substr(0, first_break + 1);
    out.outcome = parse(head, builder, 1);
    const auto lines = static_cast<std::uint64_t>(std::count(head.begin(), head.end(), '\n'));
    out.outcome.merge(parse(body.substr(first_break + 1), builder, 1 + lines), 1000);
  }
  if (builder.rows() != out.outcome.rows) std::abort();
  const sluice::Batch batch = builder.finish();
  for (std::size_t r = 0; r < batch.rows(); ++r)
    for (std::size_t c = 0; c < batch.num_columns(); ++c)
      out.cells.push_back(sluice::to_string(batch.at(r, c)));
  return out;
}

void same(const Parsed& a, const Parsed& b) {
  if (a.outcome.rows != b.outcome.rows || a.outcome.malformed != b.outcome.malformed ||
      a.outcome.ignored != b.outcome.ignored || a.cells != b.cells ||
      a.outcome.problems.size() != b.outcome.problems.size())
    std::abort();
  for (std::size_t i = 0; i < a.outcome.problems.size(); ++i)
    if (a.outcome.problems[i].line != b.outcome.problems[i].line ||
        a.outcome.problems[i].message != b.outcome.problems[i].message)
      std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t mode = data[0];
  const std::size_t cut = data[1] * (size / 256 + 1);
  const std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);
  const std::size_t max_line = (mode & 8) ? 40 : 1 << 16;
  if ((mode & 1) == 0) {
    constexpr std::int64_t kTicks[] = {1, 1'000, 1'000'000, 1'000'000'000};
    sluice::detail::LineProtocolOptions options;
    options.time_column = "t";
    options.tick_ns = kTicks[(mode >> 1) & 3];
    options.now_ns = 1'764'694'805'000'000'000;
    options.max_problems = 1000;
    options.max_line_bytes = max_line;
    if (mode & 16) options.measurement = "cpu";
    const sluice::detail::LineProtocolParser parser(schema(), options);
    const auto parse = [&](std::string_view text, sluice::BatchBuilder& out, std::uint64_t line) {
      return parser.parse(text, out, line);
    };
    same(parse_pieces(body, std::string_view::npos, parse), parse_pieces(body, cut, parse));
  } else {
    const sluice::detail::JsonLinesParser parser(
        schema(), {.max_problems = 1000, .max_line_bytes = max_line, .max_depth = 8});
    const auto parse = [&](std::string_view text, sluice::BatchBuilder& out, std::uint64_t line) {
      return parser.parse(text, out, line);
    };
    same(parse_pieces(body, std::string_view::npos, parse), parse_pieces(body, cut, parse));
  }
  return 0;
}
