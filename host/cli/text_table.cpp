// print_table: column widths, alignment and the header rule of a plain-text table.
#include "host/cli/text_table.hpp"

#include <algorithm>
#include <ostream>

namespace sluice::cli {
namespace {

void print_cell(std::ostream& out, const std::string& text, std::size_t width, bool right) {
  const std::string pad(width - std::min(width, text.size()), ' ');
  out << (right ? pad + text : text + pad);
}

void print_row(std::ostream& out, const std::vector<TableColumn>& columns,
               const std::vector<std::size_t>& widths, const std::vector<std::string>& cells) {
  for (std::size_t c = 0; c < columns.size(); ++c) {
    if (c > 0) out << "  ";
    const std::string& text = c < cells.size() ? cells[c] : std::string();
    print_cell(out, text, c + 1 == columns.size() && !columns[c].right_align ? 0 : widths[c],
               columns[c].right_align);
  }
  out << '\n';
}

}  // namespace

void print_table(std::ostream& out, const std::vector<TableColumn>& columns,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  std::vector<std::string> titles;
  for (const TableColumn& column : columns) {
    widths.push_back(column.title.size());
    titles.push_back(column.title);
  }
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < std::min(row.size(), widths.size()); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  print_row(out, columns, widths, titles);
  std::size_t total = 0;
  for (const std::size_t w : widths) total += w;
  out << std::string(total + 2 * (widths.empty() ? 0 : widths.size() - 1), '-') << '\n';
  for (const auto& row : rows) print_row(out, columns, widths, row);
}

}  // namespace sluice::cli
