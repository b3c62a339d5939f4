// LiveInputBuffer: poll(2) on the input and the stop descriptor, then read(2) what is there.
#include "host/io/live_input.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sluice/status.hpp"

namespace sluice::detail {

LiveInputBuffer::LiveInputBuffer(int fd, int stop_fd, std::size_t buffer_bytes)
    : fd_(fd), stop_fd_(stop_fd), buffer_(std::max<std::size_t>(buffer_bytes, 1)) {
  setg(buffer_.data(), buffer_.data(), buffer_.data());
}

bool LiveInputBuffer::refill() {
  while (!ended_) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    const int ready = ::poll(fds, stop_fd_ >= 0 ? 2 : 1, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::io_error, std::string("poll on the input: ") + std::strerror(errno));
    }
    if (stop_fd_ >= 0 && (fds[1].revents & (POLLIN | POLLHUP)) != 0) {
      stopped_ = true;
      ended_ = true;
      break;
    }
    const ssize_t got = ::read(fd_, buffer_.data(), buffer_.size());
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw Error(ErrorCode::io_error, std::string("read: ") + std::strerror(errno));
    }
    if (got == 0) {
      ended_ = true;
      break;
    }
    setg(buffer_.data(), buffer_.data(), buffer_.data() + got);
    return true;
  }
  return false;
}

LiveInputBuffer::int_type LiveInputBuffer::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  if (!refill()) return traits_type::eof();
  return traits_type::to_int_type(*gptr());
}

std::streamsize LiveInputBuffer::showmanyc() {
  if (ended_) return -1;
  pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  if (::poll(fds, stop_fd_ >= 0 ? 2 : 1, 0) <= 0) return 0;
  // A stop, or the end of input: the next read says which; until then nothing is ready.
  if (stop_fd_ >= 0 && fds[1].revents != 0) return 0;
  int bytes = 0;
  if (::ioctl(fd_, FIONREAD, &bytes) != 0 || bytes <= 0) return 0;
  return bytes;
}

std::streamsize LiveInputBuffer::xsgetn(char* out, std::streamsize count) {
  // As std::streambuf's: up to `count` bytes, fewer only at the end of input. A reader that
  // asks for no more than showmanyc() said were ready (readsome) does not wait.
  std::streamsize done = 0;
  while (done < count) {
    if (gptr() == egptr() && !refill()) break;
    const std::streamsize take = std::min<std::streamsize>(count - done, egptr() - gptr());
    std::memcpy(out + done, gptr(), static_cast<std::size_t>(take));
    gbump(static_cast<int>(take));
    done += take;
  }
  return done;
}

bool is_regular_file(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace sluice::detail
