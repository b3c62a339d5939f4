// FileShare: line-aligned byte ranges of a file, and a stream buffer over one.
#include "host/io/file_share.hpp"

#include <algorithm>

#include "sluice/status.hpp"

namespace sluice::detail {
namespace {

constexpr std::size_t kChunkBytes = std::size_t{1} << 20;

/// The first line start at or after `at` (>= `data_start`): the byte after the first line
/// break at or after at - 1.
std::uint64_t line_start_from(std::istream& file, std::uint64_t at, std::uint64_t data_start,
                              std::uint64_t size) {
  if (at <= data_start) return data_start;
  if (at >= size) return size;
  file.clear();
  file.seekg(static_cast<std::streamoff>(at - 1));
  std::vector<char> buffer(64 * 1024);
  std::uint64_t position = at - 1;
  while (position < size) {
    file.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<std::size_t>(file.gcount());
    if (got == 0) break;
    const auto newline =
        std::find(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(got), '\n');
    if (newline != buffer.begin() + static_cast<std::ptrdiff_t>(got))
      return position + static_cast<std::uint64_t>(newline - buffer.begin()) + 1;
    position += got;
  }
  return size;
}

}  // namespace

ByteRange share_of(std::istream& file, int rank, int ranks, std::string& header) {
  file.clear();
  file.seekg(0, std::ios::end);
  const auto end = file.tellg();
  if (end < 0) throw Error(ErrorCode::io_error, "cannot find the size of the input");
  const auto size = static_cast<std::uint64_t>(end);
  file.seekg(0);
  header.clear();
  std::getline(file, header);
  if (!file.eof()) header.push_back('\n');
  const std::uint64_t data_start = std::min<std::uint64_t>(header.size(), size);
  const std::uint64_t data = size - data_start;
  const auto bound = [&](int r) {
    const auto n = static_cast<std::uint64_t>(ranks);
    const auto k = static_cast<std::uint64_t>(r);
    return data_start + data / n * k + data % n * k / n;  // data * k / n without overflow
  };
  ByteRange range;
  range.begin = line_start_from(file, bound(rank), data_start, size);
  range.end = rank + 1 == ranks ? size : line_start_from(file, bound(rank + 1), data_start, size);
  range.end = std::max(range.end, range.begin);
  file.clear();
  return range;
}

FileShareBuffer::FileShareBuffer(std::istream& file, std::string header, ByteRange range)
    : file_(file),
      header_(std::move(header)),
      begin_(range.begin),
      at_(range.begin),
      end_(range.end) {}

FileShareBuffer::int_type FileShareBuffer::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  if (!header_done_) {
    header_done_ = true;
    if (!header_.empty()) {
      setg(header_.data(), header_.data(), header_.data() + header_.size());
      return traits_type::to_int_type(*gptr());
    }
  }
  if (at_ >= end_) return traits_type::eof();
  chunk_.resize(kChunkBytes);
  file_.clear();
  file_.seekg(static_cast<std::streamoff>(at_));
  const auto want = static_cast<std::streamsize>(std::min<std::uint64_t>(kChunkBytes, end_ - at_));
  file_.read(chunk_.data(), want);
  const auto got = static_cast<std::size_t>(file_.gcount());
  if (got == 0) throw Error(ErrorCode::io_error, "the input ended before its share did");
  at_ += got;
  setg(chunk_.data(), chunk_.data(), chunk_.data() + got);
  return traits_type::to_int_type(*gptr());
}

FileShareBuffer::pos_type FileShareBuffer::seekoff(off_type offset, std::ios_base::seekdir dir,
                                                   std::ios_base::openmode which) {
  // Where reading stands: in the header, or in the share (less what the chunk holds unread).
  const bool in_header = header_done_ && !header_.empty() && eback() == header_.data();
  std::uint64_t now = 0;
  if (!header_done_)
    now = 0;
  else if (in_header)
    now = static_cast<std::uint64_t>(gptr() - eback());
  else
    now = header_.size() + (at_ - begin_) - static_cast<std::uint64_t>(egptr() - gptr());
  const std::uint64_t size = header_.size() + (end_ - begin_);
  const std::uint64_t base = dir == std::ios_base::beg ? 0 : dir == std::ios_base::cur ? now : size;
  if (offset < 0 && static_cast<std::uint64_t>(-offset) > base) return pos_type(off_type(-1));
  return seekpos(pos_type(static_cast<off_type>(base + static_cast<std::uint64_t>(offset))), which);
}

FileShareBuffer::pos_type FileShareBuffer::seekpos(pos_type position,
                                                   std::ios_base::openmode which) {
  if ((which & std::ios_base::in) == 0 || position < 0) return pos_type(off_type(-1));
  const auto at = static_cast<std::uint64_t>(static_cast<off_type>(position));
  if (at > header_.size() + (end_ - begin_)) return pos_type(off_type(-1));
  header_done_ = true;
  if (at < header_.size()) {
    setg(header_.data(), header_.data() + at, header_.data() + header_.size());
    at_ = begin_;
  } else {
    setg(nullptr, nullptr, nullptr);
    at_ = begin_ + (at - header_.size());
  }
  return position;
}

}  // namespace sluice::detail
