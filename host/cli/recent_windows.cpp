// RecentWindows: a bounded ring of the JSON lines written to it.
#include "host/cli/recent_windows.hpp"

#include <algorithm>

namespace sluice::cli {

void RecentWindows::append(const char* text, std::size_t count) {
  const std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < count; ++i) {
    if (text[i] != '\n') {
      partial_ += text[i];
      continue;
    }
    ++total_;
    if (capacity_ == 0) {
      partial_.clear();
      continue;
    }
    if (rows_.size() == capacity_) rows_.pop_front();
    rows_.push_back(std::move(partial_));
    partial_.clear();
  }
}

RecentWindows::int_type RecentWindows::overflow(int_type c) {
  if (!traits_type::eq_int_type(c, traits_type::eof())) {
    const char byte = traits_type::to_char_type(c);
    append(&byte, 1);
  }
  return traits_type::not_eof(c);
}

std::streamsize RecentWindows::xsputn(const char* text, std::streamsize count) {
  append(text, static_cast<std::size_t>(count));
  return count;
}

std::string RecentWindows::json(std::size_t limit) const {
  const std::lock_guard lock(mutex_);
  const std::size_t n = std::min(limit, rows_.size());
  std::string out = "[";
  for (std::size_t i = rows_.size() - n; i < rows_.size(); ++i) {
    if (out.size() > 1) out += ',';
    out += rows_[i];
  }
  out += "]\n";
  return out;
}

std::uint64_t RecentWindows::total() const {
  const std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace sluice::cli
