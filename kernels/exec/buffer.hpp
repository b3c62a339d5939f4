// Buffer<T, Exec>: an owning, growable array in an executor's memory (host or device).
#pragma once

#include <cstddef>
#include <utility>

namespace sluice::detail {

/// @brief Owning array of trivially copyable T allocated through `Exec::allocate`. Growth is
/// geometric so a steady-state pipeline stops allocating after warm-up.
template <class T, class Exec>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(Exec& exec, std::size_t n = 0) : exec_(&exec) { resize_discard(n); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept { swap(o); }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      release();
      swap(o);
    }
    return *this;
  }
  ~Buffer() { release(); }

  void bind(Exec& exec) { exec_ = &exec; }
  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + size_; }

  /// @brief Sets the size to n; contents are unspecified when it had to grow.
  void resize_discard(std::size_t n) {
    if (n > capacity_) {
      release();
      const std::size_t cap = grow_to(n);
      data_ = static_cast<T*>(exec_->allocate(cap * sizeof(T)));
      capacity_ = cap;
    }
    size_ = n;
  }
  /// @brief Sets the size to n keeping the first min(n, size()) elements.
  void resize_keep(std::size_t n) {
    if (n > capacity_) {
      const std::size_t cap = grow_to(n);
      T* fresh = static_cast<T*>(exec_->allocate(cap * sizeof(T)));
      if (size_ > 0) exec_->copy_within(fresh, data_, size_ * sizeof(T));
      const std::size_t old_size = size_;
      release();
      data_ = fresh;
      capacity_ = cap;
      size_ = old_size;
    }
    size_ = n;
  }

 private:
  std::size_t grow_to(std::size_t n) const {
    std::size_t cap = capacity_ == 0 ? 64 : capacity_;
    while (cap < n) cap += cap / 2 + 64;
    return cap;
  }
  void release() {
    if (data_ != nullptr) exec_->deallocate(data_, capacity_ * sizeof(T));
    data_ = nullptr;
    capacity_ = 0;
    size_ = 0;
  }
  void swap(Buffer& o) noexcept {
    std::swap(exec_, o.exec_);
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(capacity_, o.capacity_);
  }

  Exec* exec_ = nullptr;
  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

/// @brief Owning array of trivially copyable T in host memory the executor copies to and from
/// asynchronously (pinned on CUDA). Grows geometrically; contents are lost when it grows.
template <class T, class Exec>
class HostBuffer {
 public:
  explicit HostBuffer(Exec& exec) : exec_(&exec) {}
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  HostBuffer(HostBuffer&& o) noexcept : exec_(o.exec_), data_(o.data_), capacity_(o.capacity_) {
    o.data_ = nullptr;
    o.capacity_ = 0;
  }
  HostBuffer& operator=(HostBuffer&& o) noexcept {
    if (this != &o) {
      release();
      exec_ = o.exec_;
      data_ = o.data_;
      capacity_ = o.capacity_;
      o.data_ = nullptr;
      o.capacity_ = 0;
    }
    return *this;
  }
  ~HostBuffer() { release(); }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t capacity() const noexcept { return capacity_; }

  /// @brief Makes room for n elements.
  void reserve_discard(std::size_t n) {
    if (n <= capacity_) return;
    release();
    std::size_t cap = 64;
    while (cap < n) cap += cap / 2 + 64;
    data_ = static_cast<T*>(exec_->allocate_host(cap * sizeof(T)));
    capacity_ = cap;
  }

 private:
  void release() noexcept {
    if (data_ != nullptr) exec_->deallocate_host(data_, capacity_ * sizeof(T));
    data_ = nullptr;
    capacity_ = 0;
  }

  Exec* exec_;
  T* data_ = nullptr;
  std::size_t capacity_ = 0;
};

}  // namespace sluice::detail
