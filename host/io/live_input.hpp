// LiveInputBuffer: a stream buffer over a pipe, terminal or socket that a stop request ends.
#pragma once

#include <cstddef>
#include <streambuf>
#include <string>
#include <vector>

namespace sluice::detail {

/// @brief Reads a file descriptor that delivers input as it comes (a pipe, a FIFO, a terminal,
/// a socket). Reads wait for input or for `stop_fd` to become readable, whichever is first:
/// once it is, the input ends there (what was read stays read). showmanyc() (and so
/// `std::istream::readsome`) tells how many bytes are ready without waiting; a read error
/// throws Error(io_error) (a std::istream sets badbit). The descriptors
/// stay open and owned by the caller.
class LiveInputBuffer final : public std::streambuf {
 public:
  /// @param stop_fd a descriptor that becomes readable on a stop request; -1: none.
  explicit LiveInputBuffer(int fd, int stop_fd = -1, std::size_t buffer_bytes = 1 << 16);

  /// @brief A stop request ended the input.
  bool stopped() const noexcept { return stopped_; }

 protected:
  int_type underflow() override;
  std::streamsize showmanyc() override;
  std::streamsize xsgetn(char* out, std::streamsize count) override;

 private:
  /// Waits for input (or a stop) and reads what is there into the buffer; false at the end.
  bool refill();

  int fd_;
  int stop_fd_;
  std::vector<char> buffer_;
  bool ended_ = false;
  bool stopped_ = false;
};

/// @brief Whether `fd` is a regular file (read at full speed) rather than live input.
bool is_regular_file(int fd);

}  // namespace sluice::detail
