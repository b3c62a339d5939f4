// Fuzz target: a CSV text (after two option bytes) is read with a small block size, threads and
// quoted-field bound picked by those bytes, and again in one block by one thread: both must
// give the same rows, messages and counts, and every cell must read back.
#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "host/io/csv_reader.hpp"
#include "sluice/batch.hpp"
#include "sluice/schema.hpp"
#include "sluice/status.hpp"
#include "sluice/value.hpp"

namespace {

struct Read {
  std::vector<std::string> cells;  // every cell as text, row by row
  std::string messages;
  std::uint64_t malformed = 0, rows = 0, lines = 0;
  bool header_error = false;
};

Read read(const std::string& text, std::size_t block, std::size_t max_quoted) {
  static const sluice::Schema schema =
      sluice::parse_schema("t:timestamp[s],n:i64,x:f64,ok:bool,s:string");
  Read out;
  std::istringstream in(text);
  std::ostringstream diagnostics;
  try {
    sluice::detail::CsvReader reader(in, "fuzz", schema, nullptr,
                                     {.max_reported = 1000,
                                      .diagnostics = &diagnostics,
                                      .block_bytes = block,
                                      .max_quoted_bytes = max_quoted});
    sluice::Batch b;
    while (reader.next(b))
      for (std::size_t r = 0; r < b.rows(); ++r)
        for (std::size_t c = 0; c < b.num_columns(); ++c)
          out.cells.push_back(sluice::to_string(b.at(r, c)));
    out.malformed = reader.malformed();
    out.rows = reader.rows();
    out.lines = reader.line();
  } catch (const sluice::Error&) {
    out.header_error = true;  // no header, or a bad one: the same for every block size
  }
  out.messages = diagnostics.str();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t blocks[] = {1, 2, 7, 64};
  const std::size_t block = blocks[data[0] % 4];
  const int threads = 1 + (data[0] >> 2) % 3;
  const std::size_t max_quoted = data[1] < 128 ? 1 + data[1] % 32 : std::size_t{1} << 20;
  const std::string text(reinterpret_cast<const char*>(data) + 2, size - 2);
  omp_set_num_threads(threads);
  const Read small = read(text, block, max_quoted);
  omp_set_num_threads(1);
  const Read whole = read(text, std::size_t{1} << 20, max_quoted);
  if (small.header_error != whole.header_error || small.cells != whole.cells ||
      small.messages != whole.messages || small.malformed != whole.malformed ||
      small.rows != whole.rows || small.lines != whole.lines)
    std::abort();  // rows must not depend on the block size or the threads
  return 0;
}
