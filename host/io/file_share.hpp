// FileShare: one rank's share of a headed text file, split on line boundaries.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <streambuf>
#include <string>
#include <vector>

namespace sluice::detail {

/// @brief Bytes [begin, end) of a file: the lines that start in the rank's equal share of the
/// data after the header, so that the shares of all ranks hold every line exactly once.
struct ByteRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

/// @brief The header line (with its line break) and rank `rank`'s range of `file` among `ranks`
/// ranks. @pre the file is open in binary mode. @throws Error(io_error) when it cannot be read.
ByteRange share_of(std::istream& file, int rank, int ranks, std::string& header);

/// @brief A stream buffer that reads `header`, then bytes `range` of `file`, in chunks.
class FileShareBuffer final : public std::streambuf {
 public:
  FileShareBuffer(std::istream& file, std::string header, ByteRange range);

 protected:
  int_type underflow() override;
  /// Positions count the header's bytes, then the share's: what a reader of the share resumes
  /// at (CsvReader::seek).
  pos_type seekoff(off_type offset, std::ios_base::seekdir dir,
                   std::ios_base::openmode which) override;
  pos_type seekpos(pos_type position, std::ios_base::openmode which) override;

 private:
  std::istream& file_;
  std::string header_;
  bool header_done_ = false;
  std::uint64_t begin_;
  std::uint64_t at_;
  std::uint64_t end_;
  std::vector<char> chunk_;
};

}  // namespace sluice::detail
