// UploadArena: small host-built tables (directories, spans) copied to the executor without a
// synchronization, from pinned staging that is reused only once the executor has read it.
#pragma once

#include <cstddef>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/exec/buffer.hpp"
#include "kernels/exec/lane.hpp"

namespace sluice::detail {

/// @brief Two generations of (pinned host staging, executor memory) blocks. upload() copies
/// into the current generation on the compute lane; next_generation() switches to the other,
/// whose uploads the executor must have consumed by then (the pipeline calls it once per
/// round, after the round's one synchronization, which follows every earlier round's work).
/// Blocks only grow, so a warm arena allocates nothing.
template <class Exec>
class UploadArena {
 public:
  explicit UploadArena(Exec& exec) : exec_(&exec) {}

  /// @brief Starts a generation; pointers from the generation before the previous one die.
  void next_generation() {
    current_ = 1 - current_;
    for (Block& b : generations_[current_]) b.used = 0;
    block_ = 0;
  }

  /// @brief Copies n values of T to the executor (asynchronously on the compute lane) and
  /// returns where they will be; valid until the generation after next starts.
  template <class T>
  T* upload(const T* values, std::size_t n) {
    const std::size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    std::vector<Block>& blocks = generations_[current_];
    while (block_ < blocks.size() && blocks[block_].used + bytes > blocks[block_].capacity)
      ++block_;
    if (block_ == blocks.size()) {
      std::size_t capacity = std::size_t{64} << 10;
      while (capacity < bytes) capacity *= 2;
      blocks.emplace_back(*exec_, capacity);
    }
    Block& b = blocks[block_];
    std::byte* host = b.host.data() + b.used;
    std::byte* device = b.device.data() + b.used;
    if (n > 0) std::memcpy(host, values, n * sizeof(T));
    exec_->copy_from_host_on(Lane::compute, device, host, n * sizeof(T));
    b.used += bytes;
    return reinterpret_cast<T*>(device);
  }

 private:
  struct Block {
    Block(Exec& exec, std::size_t bytes) : host(exec), device(exec, bytes), capacity(bytes) {
      host.reserve_discard(bytes);
    }
    HostBuffer<std::byte, Exec> host;
    Buffer<std::byte, Exec> device;
    std::size_t capacity = 0;
    std::size_t used = 0;
  };
  Exec* exec_;
  std::vector<Block> generations_[2];
  int current_ = 0;
  std::size_t block_ = 0;
};

}  // namespace sluice::detail
