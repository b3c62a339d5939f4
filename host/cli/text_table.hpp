// print_table: a plain-text table with aligned columns, for human-readable output.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace sluice::cli {

/// @brief One column of a text table.
struct TableColumn {
  std::string title;
  bool right_align = false;  ///< numbers read best right-aligned
};

/// @brief Prints `rows` (each with one cell per column) under a header and a rule, every column
/// as wide as its widest cell.
void print_table(std::ostream& out, const std::vector<TableColumn>& columns,
                 const std::vector<std::vector<std::string>>& rows);

}  // namespace sluice::cli
