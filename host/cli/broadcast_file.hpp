// Broadcast inputs of `sluice run`: --broadcast NAME=FILE.csv:KEY, read before the events.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "host/io/csv_reader.hpp"
#include "sluice/batch.hpp"
#include "sluice/schema.hpp"

namespace sluice::cli {

/// @brief One --broadcast item: the input's name, its CSV file and its key column.
struct BroadcastFile {
  std::string name;
  std::string path;
  std::string key;
};

/// @brief Parses "NAME=FILE.csv:KEY[,NAME=FILE.csv:KEY...]".
/// @throws UsageError naming the item at fault.
std::vector<BroadcastFile> parse_broadcast_files(std::string_view text);

/// @brief Reads a broadcast file whole (a header row, then rows; a later row for a key replaces
/// an earlier one). Column types are inferred from the values: i64 where every value is an
/// integer, f64 where every value is a number, bool where every value is true or false, else
/// string; the key column takes the type of the events' column of its name (a string or an
/// i64), so that lookups compare like with like.
/// @throws Error(io_error) when the file cannot be read; Error(unknown_column) when the key is
/// not in its header; Error(malformed_input) for a malformed row under OnMalformed::fail, or a
/// key that is not an integer where the events' column is one.
/// Malformed rows skipped are reported by the reader and added to `*malformed`.
Batch read_broadcast_file(const BroadcastFile& file, const Schema& events,
                          detail::OnMalformed on_malformed, std::uint64_t* malformed);

}  // namespace sluice::cli
