// ResultWriter: CSV text of window results (header, quoting, one row per WindowResult).
#include "host/cli/result_writer.hpp"

#include <cerrno>
#include <cstring>
#include <iostream>
#include <utility>

#include "sluice/status.hpp"

namespace sluice::cli {

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

ResultWriter::ResultWriter(std::vector<std::string> key_names,
                           std::vector<std::string> aggregate_names)
    : columns_{"window_start", "window_end"} {
  for (std::string& name : key_names) columns_.push_back(std::move(name));
  for (std::string& name : aggregate_names) columns_.push_back(std::move(name));
}

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

void ResultWriter::write_header() {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    *out_ << (i ? "," : "") << csv_field(columns_[i]);
  }
  *out_ << '\n';
}

void ResultWriter::write(std::span<const WindowResult> windows) {
  std::lock_guard lock(mutex_);
  if (stopped_ || out_ == nullptr) return;
  for (const WindowResult& w : windows) {
    line_ = std::to_string(w.window_start);
    line_ += ',';
    line_ += std::to_string(w.window_end);
    for (const Value& key : w.keys) {
      line_ += ',';
      line_ += csv_field(to_string(key));
    }
    for (const Value& value : w.values) {
      line_ += ',';
      line_ += csv_field(to_string(value));
    }
    line_ += '\n';
    out_->write(line_.data(), static_cast<std::streamsize>(line_.size()));
  }
  rows_ += windows.size();
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
