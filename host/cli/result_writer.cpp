// ResultWriter: CSV text of result batches (header, quoting, typed cells written from columns).
#include "host/cli/result_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <iostream>
#include <utility>

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

void append_cell(std::string& out, const ColumnView& c, std::size_t row) {
  switch (c.type.id) {
    case TypeId::i32:
      return append_number(out, cell<std::int32_t>(c, row));
    case TypeId::i64:
    case TypeId::timestamp:
      return append_number(out, cell<std::int64_t>(c, row));
    case TypeId::u32:
      return append_number(out, cell<std::uint32_t>(c, row));
    case TypeId::u64:
      return append_number(out, cell<std::uint64_t>(c, row));
    case TypeId::f32:
      return append_number(out, static_cast<double>(cell<float>(c, row)));
    case TypeId::f64:
      return append_number(out, cell<double>(c, row));
    case TypeId::boolean:
      out += cell<std::uint8_t>(c, row) != 0 ? "true" : "false";
      return;
    case TypeId::string:
      return append_quoted(out, c.dictionary->at(cell<std::uint32_t>(c, row)));
  }
}

}  // namespace

std::string csv_field(std::string_view text) {
  std::string out;
  append_quoted(out, text);
  return out;
}

ResultWriter::ResultWriter(std::vector<std::string> columns) : columns_(std::move(columns)) {}

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

void ResultWriter::write_header() {
  std::lock_guard lock(mutex_);
  std::string line;
  for (std::size_t i = 0; i < columns_.size(); ++i) line += (i ? "," : "") + csv_field(columns_[i]);
  line += '\n';
  *out_ << line;
  bytes_ += line.size();
}

void ResultWriter::write(const Batch& results) {
  std::lock_guard lock(mutex_);
  if (stopped_ || out_ == nullptr) return;
  const std::size_t columns = results.num_columns() - 1;  // all but `update`
  std::vector<ColumnView>& views = views_;
  views.clear();
  for (std::size_t c = 0; c < columns; ++c) views.push_back(results.column(c));
  text_.clear();
  for (std::size_t r = 0; r < results.rows(); ++r) {
    for (std::size_t c = 0; c < columns; ++c) {
      if (c > 0) text_ += ',';
      append_cell(text_, views[c], r);
    }
    text_ += '\n';
    if (text_.size() >= (std::size_t{1} << 20)) {
      out_->write(text_.data(), static_cast<std::streamsize>(text_.size()));
      bytes_ += text_.size();
      text_.clear();
    }
  }
  out_->write(text_.data(), static_cast<std::streamsize>(text_.size()));
  bytes_ += text_.size();
  // A full disk or a closed pipe ends the run now, not at the end of the input.
  if (!*out_)
    throw Error(ErrorCode::io_error,
                "cannot write output '" + path_ + "': " + std::strerror(errno));
  rows_ += results.rows();
}

void ResultWriter::close() {
  std::lock_guard lock(mutex_);
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
