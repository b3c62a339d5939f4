// ResultWriter: CSV text of result batches (header, quoting, typed cells written from columns).
#include "host/cli/result_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <iostream>
#include <sstream>
#include <utility>

#include "host/cli/text_table.hpp"
#include "host/io/time_text.hpp"
#include "sluice/status.hpp"

namespace sluice::cli {
namespace {

template <class T>
T cell(const ColumnView& c, std::size_t row) {
  T v;
  std::memcpy(&v, static_cast<const std::byte*>(c.data) + row * sizeof(T), sizeof(T));
  return v;
}

template <class T>
void append_number(std::string& out, T v) {
  char buffer[64];
  const auto r = std::to_chars(buffer, buffer + sizeof(buffer), v);
  out.append(buffer, r.ptr);
}

/// A floating value in JSON: NaN and infinities have no number there.
template <class T>
void append_json_number(std::string& out, T v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  append_number(out, v);
}

void append_quoted(std::string& out, std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(text);
    return;
  }
  out += '"';
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20) {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

/// Appends one cell in `style`'s format; `quote` applies CSV quoting (or JSON string syntax)
/// to text cells, off for table cells.
void append_cell(std::string& out, const ColumnView& c, std::size_t row, OutputColumn::Print print,
                 const OutputStyle& style) {
  const bool json = style.format == OutputFormat::jsonl;
  const bool csv = style.format == OutputFormat::csv;
  if (print == OutputColumn::Print::window_bound && style.global_window) {
    if (json) out += "null";
    return;
  }
  switch (c.type.id) {
    case TypeId::i32:
      return append_number(out, cell<std::int32_t>(c, row));
    case TypeId::i64:
      return append_number(out, cell<std::int64_t>(c, row));
    case TypeId::timestamp:
      if (style.time_format == TimeFormat::iso) {
        if (json) out += '"';
        detail::append_rfc3339(out, cell<std::int64_t>(c, row), c.type.unit);
        if (json) out += '"';
        return;
      }
      return append_number(out, cell<std::int64_t>(c, row));
    case TypeId::u32:
      return append_number(out, cell<std::uint32_t>(c, row));
    case TypeId::u64:
      return append_number(out, cell<std::uint64_t>(c, row));
    case TypeId::f32:
      return json ? append_json_number(out, cell<float>(c, row))
                  : append_number(out, cell<float>(c, row));
    case TypeId::f64: {
      const double v = cell<double>(c, row);
      if (print == OutputColumn::Print::as_f32) {
        const auto f = static_cast<float>(v);
        return json ? append_json_number(out, f) : append_number(out, f);
      }
      return json ? append_json_number(out, v) : append_number(out, v);
    }
    case TypeId::boolean:
      out += cell<std::uint8_t>(c, row) != 0 ? "true" : "false";
      return;
    case TypeId::string: {
      const std::string_view text = c.dictionary->at(cell<std::uint32_t>(c, row));
      if (json) return append_json_string(out, text);
      if (csv) return append_quoted(out, text);
      out.append(text);
      return;
    }
  }
}

bool is_number(TypeId id) {
  return id != TypeId::string && id != TypeId::boolean && id != TypeId::timestamp;
}

}  // namespace

std::string csv_field(std::string_view text) {
  std::string out;
  append_quoted(out, text);
  return out;
}

ResultWriter::ResultWriter(std::vector<OutputColumn> columns, OutputStyle style, UpdateRows updates)
    : columns_(std::move(columns)), style_(style), updates_(updates) {}

ResultWriter::ResultWriter(OutputStyle style) : style_(style), result_batches_(false) {}

void ResultWriter::open(const std::string& path) {
  path_ = path;
  if (path == "-") {
    out_ = &std::cout;
    return;
  }
  file_.open(path, std::ios::out | std::ios::trunc);
  if (!file_) {
    throw Error(ErrorCode::io_error, "cannot open output '" + path + "': " + std::strerror(errno));
  }
  out_ = &file_;
}

void ResultWriter::open(std::ostream& out, std::string name) {
  path_ = std::move(name);
  out_ = &out;
}

void ResultWriter::open_at(const std::string& path, std::uint64_t bytes) {
  path_ = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error(ErrorCode::io_error,
                "cannot resume output '" + path + "': " + std::strerror(errno));
  if (static_cast<std::uint64_t>(st.st_size) < bytes)
    throw Error(ErrorCode::io_error, "cannot resume output '" + path + "': it holds " +
                                         std::to_string(st.st_size) + " bytes, fewer than the " +
                                         std::to_string(bytes) +
                                         " its checkpoint committed (was it changed?)");
  if (::truncate(path.c_str(), static_cast<off_t>(bytes)) != 0)
    throw Error(ErrorCode::io_error,
                "cannot truncate output '" + path + "': " + std::strerror(errno));
  file_.open(path, std::ios::out | std::ios::app);
  if (!file_) {
    throw Error(ErrorCode::io_error, "cannot open output '" + path + "': " + std::strerror(errno));
  }
  out_ = &file_;
  bytes_ = bytes;
}

std::uint64_t ResultWriter::commit() {
  std::lock_guard lock(mutex_);
  if (out_ == nullptr) return 0;
  out_->flush();
  if (!*out_) throw Error(ErrorCode::io_error, "cannot write output '" + path_ + "'");
  if (out_ == &file_) {
    // fsync applies to the file, whichever descriptor names it.
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    const bool synced = fd >= 0 && ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
    if (!synced)
      throw Error(ErrorCode::io_error,
                  "cannot sync output '" + path_ + "': " + std::strerror(errno));
  }
  return bytes_;
}

void ResultWriter::append_csv_header() {
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    if (i > 0) text_ += ',';
    append_quoted(text_, columns_[i].name);
  }
  if (result_batches_ && updates_ == UpdateRows::column) text_ += ",update";
  text_ += '\n';
}

void ResultWriter::write_header() {
  std::lock_guard lock(mutex_);
  if (out_ == nullptr || style_.format != OutputFormat::csv) return;
  if (!result_batches_) {
    header_due_ = true;  // named by the first batch
    return;
  }
  text_.clear();
  append_csv_header();
  write_text();
  out_->flush();
}

void ResultWriter::write_text() {
  out_->write(text_.data(), static_cast<std::streamsize>(text_.size()));
  bytes_ += text_.size();
  text_.clear();
}

void ResultWriter::write(const Batch& batch) {
  std::lock_guard lock(mutex_);
  if (stopped_ || out_ == nullptr) return;
  if (!result_batches_ && columns_.empty()) {
    for (std::size_t c = 0; c < batch.num_columns(); ++c)
      columns_.push_back({batch.schema().field(c).name, OutputColumn::Print::value, c});
  }
  const std::size_t columns = columns_.size();
  views_.clear();
  for (std::size_t c = 0; c < columns; ++c) views_.push_back(batch.column(columns_[c].source));
  // The rows this output takes, by their `update` flag.
  kept_.clear();
  const bool filtered =
      result_batches_ && updates_ != UpdateRows::column && updates_ != UpdateRows::every;
  const auto* update =
      result_batches_ ? static_cast<const std::uint8_t*>(batch.column(batch.num_columns() - 1).data)
                      : nullptr;
  for (std::size_t r = 0; r < batch.rows(); ++r)
    if (!filtered || (update[r] != 0) == (updates_ == UpdateRows::only))
      kept_.push_back(static_cast<std::uint32_t>(r));
  const bool update_column = result_batches_ && updates_ == UpdateRows::column;
  text_.clear();
  if (header_due_) {
    append_csv_header();
    header_due_ = false;
  }
  if (style_.format == OutputFormat::table) {
    if (kept_.empty()) return;
    std::vector<TableColumn> titles;
    for (std::size_t c = 0; c < columns; ++c)
      titles.push_back({columns_[c].name, is_number(views_[c].type.id)});
    if (update_column) titles.push_back({"update"});
    table_rows_.resize(kept_.size());
    for (std::size_t i = 0; i < kept_.size(); ++i) {
      std::vector<std::string>& cells = table_rows_[i];
      cells.resize(titles.size());
      for (std::size_t c = 0; c < columns; ++c) {
        cells[c].clear();
        append_cell(cells[c], views_[c], kept_[i], columns_[c].print, style_);
      }
      if (update_column) cells.back() = update[kept_[i]] != 0 ? "true" : "false";
    }
    std::ostringstream table;
    print_table(table, titles, table_rows_);
    text_ = table.str();
    text_ += '\n';
  } else {
    const bool json = style_.format == OutputFormat::jsonl;
    for (const std::uint32_t r : kept_) {
      if (json) text_ += '{';
      for (std::size_t c = 0; c < columns; ++c) {
        if (c > 0) text_ += ',';
        if (json) {
          append_json_string(text_, columns_[c].name);
          text_ += ':';
        }
        append_cell(text_, views_[c], r, columns_[c].print, style_);
      }
      if (update_column) {
        text_ += json ? ",\"update\":" : ",";
        text_ += update[r] != 0 ? "true" : "false";
      }
      text_ += json ? "}\n" : "\n";
      if (text_.size() >= (std::size_t{1} << 20)) write_text();
    }
  }
  write_text();
  // Each emission reaches the reader at once (a live stream's windows as they close).
  out_->flush();
  // A full disk or a closed pipe ends the run now, not at the end of the input.
  if (!*out_)
    throw Error(ErrorCode::io_error,
                "cannot write output '" + path_ + "': " + std::strerror(errno));
  rows_ += kept_.size();
}

void ResultWriter::close() {
  std::lock_guard lock(mutex_);
  if (out_ == nullptr) return;
  out_->flush();
  if (!*out_) throw Error(ErrorCode::io_error, "cannot write output '" + path_ + "'");
  if (file_.is_open()) file_.close();
}

void ResultWriter::stop() {
  std::lock_guard lock(mutex_);
  stopped_ = true;
  if (out_ != nullptr) out_->flush();
}

std::uint64_t ResultWriter::rows() const {
  std::lock_guard lock(mutex_);
  return rows_;
}

}  // namespace sluice::cli
