// CheckpointStore: a directory of checkpoint files, written atomically, checked when read.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sluice::detail {

/// @brief CRC-32C (Castagnoli) of `bytes`, continuing from `crc` (0 to start).
std::uint32_t crc32c(const void* bytes, std::size_t size, std::uint32_t crc = 0);

/// @brief Where rank `rank` of `ranks` keeps its checkpoints: `directory` itself in one process,
/// its subdirectory `rank-<rank>` across ranks.
std::string rank_directory(const std::string& directory, int rank, int ranks);

/// @brief Checkpoint files `checkpoint-<id>.sluice` in one directory. A file is a header (magic,
/// format version, id, body length), the body's words and a CRC-32C of both: a file cut short
/// (a crash during the write) or changed is rejected when read, and the one before it used.
/// Files are written to a temporary name, synced, renamed and the directory synced, so a crash
/// leaves either the complete new file or none.
class CheckpointStore {
 public:
  /// @param keep complete checkpoints kept (older ones are removed after each write); >= 1.
  /// @throws Error(io_error) when the directory cannot be created.
  CheckpointStore(std::string directory, int keep);

  /// @brief Writes checkpoint `id` (larger than any before) and removes the oldest beyond
  /// `keep`. @return its path. @throws Error(io_error) naming the file.
  std::string write(std::uint64_t id, std::span<const std::uint64_t> body) const;

  struct Found {
    std::uint64_t id = 0;
    std::string path;
    std::vector<std::uint64_t> body;
  };
  /// @brief The newest checkpoint that reads back whole and matches its checksum; each newer
  /// file that does not is described in `rejected` ("FILE: torn: 123 of 456 bytes").
  std::optional<Found> load_latest(std::vector<std::string>& rejected) const;
  /// @brief Checkpoint `id` if it reads back whole and matches its checksum; else why not, in
  /// `why` ("FILE: torn: ...").
  std::optional<Found> load(std::uint64_t id, std::string& why) const;
  /// @brief Ids of the checkpoint files present, ascending (complete or not).
  std::vector<std::uint64_t> ids() const;

  const std::string& directory() const noexcept { return directory_; }
  std::string path_of(std::uint64_t id) const;

 private:
  std::string directory_;
  int keep_;
};

}  // namespace sluice::detail
