// CheckpointStore: atomic writes (temporary file, fsync, rename, directory fsync), checked reads.
#include "host/engine/checkpoint_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "sluice/status.hpp"

namespace sluice::detail {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'C', 'K'};
constexpr std::uint32_t kFormatVersion = 1;
constexpr const char* kPrefix = "checkpoint-";
constexpr const char* kSuffix = ".sluice";

/// The header: magic, version, reserved, id, body words.
struct Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t reserved;
  std::uint64_t id;
  std::uint64_t words;
};
static_assert(sizeof(Header) == 32);

std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1U) != 0 ? (c >> 1) ^ 0x82F63B78U : c >> 1;
    table[i] = c;
  }
  return table;
}

Error io_error(const std::string& what, const std::string& path) {
  return Error(ErrorCode::io_error,
               "checkpoint: cannot " + what + " '" + path + "': " + std::strerror(errno));
}

void write_all(int fd, const void* data, std::size_t size, const std::string& path) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw io_error("write", path);
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

void sync_directory(const std::string& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) throw io_error("open the directory", directory);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw io_error("sync the directory", directory);
}

/// The id in a checkpoint file name, if it is one.
std::optional<std::uint64_t> id_of(const std::string& name) {
  const std::string prefix = kPrefix, suffix = kSuffix;
  if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  const std::string digits =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.empty() || digits.size() > 19 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoull(digits);
}

}  // namespace

std::uint32_t crc32c(const void* bytes, std::size_t size, std::uint32_t crc) {
  static const std::array<std::uint32_t, 256> table = make_crc_table();
  const auto* p = static_cast<const unsigned char*>(bytes);
  crc = ~crc;
  for (std::size_t i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xFFU] ^ (crc >> 8);
  return ~crc;
}

CheckpointStore::CheckpointStore(std::string directory, int keep)
    : directory_(std::move(directory)), keep_(std::max(1, keep)) {
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec || !fs::is_directory(directory_))
    throw Error(ErrorCode::io_error, "checkpoint: cannot create the directory '" + directory_ +
                                         "'" + (ec ? ": " + ec.message() : std::string()));
}

std::string CheckpointStore::path_of(std::uint64_t id) const {
  std::string digits = std::to_string(id);
  digits.insert(0, digits.size() < 12 ? 12 - digits.size() : 0, '0');
  return (fs::path(directory_) / (kPrefix + digits + kSuffix)).string();
}

std::vector<std::uint64_t> CheckpointStore::ids() const {
  std::vector<std::uint64_t> found;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(directory_, ec))
    if (const auto id = id_of(e.path().filename().string())) found.push_back(*id);
  std::sort(found.begin(), found.end());
  return found;
}

std::string CheckpointStore::write(std::uint64_t id, std::span<const std::uint64_t> body) const {
  const std::string path = path_of(id);
  const std::string temporary = path + ".tmp";
  Header header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.version = kFormatVersion;
  header.id = id;
  header.words = body.size();
  std::uint32_t crc = crc32c(&header, sizeof header);
  crc = crc32c(body.data(), body.size_bytes(), crc);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw io_error("create", temporary);
  try {
    write_all(fd, &header, sizeof header, temporary);
    write_all(fd, body.data(), body.size_bytes(), temporary);
    write_all(fd, &crc, sizeof crc, temporary);
    if (::fsync(fd) != 0) throw io_error("sync", temporary);
  } catch (...) {
    ::close(fd);
    ::unlink(temporary.c_str());
    throw;
  }
  if (::close(fd) != 0) throw io_error("close", temporary);
  if (::rename(temporary.c_str(), path.c_str()) != 0) throw io_error("rename", temporary);
  sync_directory(directory_);
  // The oldest beyond `keep`, and temporary files a crash left.
  const std::vector<std::uint64_t> all = ids();
  for (std::size_t i = 0; i + static_cast<std::size_t>(keep_) < all.size(); ++i)
    ::unlink(path_of(all[i]).c_str());
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(directory_, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0 &&
        name.compare(0, std::strlen(kPrefix), kPrefix) == 0 && e.path() != fs::path(temporary))
      fs::remove(e.path(), ec);
  }
  return path;
}

std::optional<CheckpointStore::Found> CheckpointStore::load_latest(
    std::vector<std::string>& rejected) const {
  const std::vector<std::uint64_t> all = ids();
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    std::string why;
    if (std::optional<Found> found = load(*it, why)) return found;
    rejected.push_back(std::move(why));
  }
  return std::nullopt;
}

std::optional<CheckpointStore::Found> CheckpointStore::load(std::uint64_t id,
                                                            std::string& why) const {
  const std::string path = path_of(id);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = path + ": cannot open: " + std::strerror(errno);
    return std::nullopt;
  }
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);
  Header header{};
  if (size < sizeof header + sizeof(std::uint32_t) ||
      !in.read(reinterpret_cast<char*>(&header), sizeof header)) {
    why = path + ": torn: " + std::to_string(size) + " bytes, no whole header";
    return std::nullopt;
  }
  if (std::memcmp(header.magic, kMagic, sizeof kMagic) != 0) {
    why = path + ": not a checkpoint (bad magic)";
    return std::nullopt;
  }
  if (header.version != kFormatVersion) {
    why = path + ": format version " + std::to_string(header.version) + ", this build reads " +
          std::to_string(kFormatVersion);
    return std::nullopt;
  }
  if (header.id != id) {
    why = path + ": holds checkpoint " + std::to_string(header.id) + ", not the one its name says";
    return std::nullopt;
  }
  const std::uint64_t expected = sizeof header + header.words * 8 + sizeof(std::uint32_t);
  if (header.words > (size / 8) || size != expected) {
    why = path + ": torn: " + std::to_string(size) + " of " + std::to_string(expected) + " bytes";
    return std::nullopt;
  }
  Found found;
  found.id = header.id;
  found.path = path;
  found.body.resize(static_cast<std::size_t>(header.words));
  std::uint32_t stored = 0;
  if (!in.read(reinterpret_cast<char*>(found.body.data()),
               static_cast<std::streamsize>(found.body.size() * 8)) ||
      !in.read(reinterpret_cast<char*>(&stored), sizeof stored)) {
    why = path + ": cannot read: " + std::strerror(errno);
    return std::nullopt;
  }
  std::uint32_t crc = crc32c(&header, sizeof header);
  crc = crc32c(found.body.data(), found.body.size() * 8, crc);
  if (crc != stored) {
    why = path + ": corrupt: checksum mismatch";
    return std::nullopt;
  }
  return found;
}

std::string rank_directory(const std::string& directory, int rank, int ranks) {
  if (ranks <= 1) return directory;
  return (fs::path(directory) / ("rank-" + std::to_string(rank))).string();
}

}  // namespace sluice::detail
