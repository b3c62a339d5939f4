// window_results: the row adapter of result batches.
#include <string>

#include "sluice/result.hpp"
#include "sluice/status.hpp"

namespace sluice {

std::vector<WindowResult> window_results(const Batch& results, std::size_t key_columns) {
  const std::size_t columns = results.num_columns();
  if (columns < 3 + key_columns || results.schema().field(0).name != "window_start" ||
      results.schema().field(columns - 1).name != "update")
    throw Error(ErrorCode::invalid_argument, "window_results: not a result batch with " +
                                                 std::to_string(key_columns) +
                                                 " key columns: " + results.schema().to_string());
  std::vector<WindowResult> rows(results.rows());
  const std::span<const std::int64_t> start = results.values<std::int64_t>(0);
  const std::span<const std::int64_t> end = results.values<std::int64_t>(1);
  const std::span<const std::uint8_t> update = results.values<std::uint8_t>(columns - 1);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    WindowResult& w = rows[r];
    w.window_start = start[r];
    w.window_end = end[r];
    w.update = update[r] != 0;
    for (std::size_t k = 0; k < key_columns; ++k) w.keys.push_back(results.at(r, 2 + k));
    for (std::size_t a = 2 + key_columns; a + 1 < columns; ++a)
      w.values.push_back(results.at(r, a));
  }
  return rows;
}

}  // namespace sluice
