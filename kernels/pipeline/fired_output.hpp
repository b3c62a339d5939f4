// FiredOutput: the rows a fire emits, and their copy to host memory on the copy-out lane.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/exec/buffer.hpp"
#include "kernels/exec/lane.hpp"
#include "kernels/pipeline/worker_pipeline.hpp"
#include "kernels/table/window_state.hpp"

namespace sluice::detail {

/// @brief Fired rows in executor memory and their pinned host mirror. copy_out() queues the
/// copy after the fire on the copy-out lane; the round's settle() waits for that lane (so the
/// pipeline's one synchronization per round also completes the previous copy), and
/// collect() waits only when no settle came in between.
template <class Exec>
class FiredOutput {
 public:
  FiredOutput(Exec& exec, int key_words, int state_words)
      : exec_(&exec),
        key_words_(key_words),
        state_words_(state_words),
        rows_(exec),
        window_(exec),
        keys_(exec),
        update_(exec),
        states_(exec),
        count_(exec) {
    count_.reserve_discard(1);
  }

  FiredRows<Exec>& rows() { return rows_; }

  /// @brief Queues the copy of the last fire's rows (at most `bound`) to the host.
  void copy_out(std::size_t bound) {
    bound_ = bound;
    const auto k = static_cast<std::size_t>(key_words_);
    const auto s = static_cast<std::size_t>(state_words_);
    window_.reserve_discard(bound);
    keys_.reserve_discard(k * bound);
    update_.reserve_discard(bound);
    states_.reserve_discard(s * bound);
    exec_->record(fired_, Lane::compute);
    exec_->wait(Lane::copy_out, fired_);
    exec_->copy_to_host_on(Lane::copy_out, count_.data(), rows_.count.data(),
                           sizeof(unsigned long long));
    if (bound > 0) {
      const std::size_t stride = rows_.capacity;
      exec_->copy_to_host_on(Lane::copy_out, window_.data(), rows_.window.data(),
                             bound * sizeof(std::int64_t));
      for (std::size_t j = 0; j < k; ++j)
        exec_->copy_to_host_on(Lane::copy_out, keys_.data() + j * bound,
                               rows_.keys.data() + j * stride, bound * sizeof(std::uint64_t));
      exec_->copy_to_host_on(Lane::copy_out, update_.data(), rows_.update.data(), bound);
      for (std::size_t j = 0; j < s; ++j)
        exec_->copy_to_host_on(Lane::copy_out, states_.data() + j * bound,
                               rows_.states.data() + j * stride, bound * sizeof(std::uint64_t));
    }
    exec_->record(copied_, Lane::copy_out);
    pending_ = true;
    complete_ = false;
  }

  /// @brief The copy-out lane has been waited for (the round's settle).
  void mark_complete() { complete_ = true; }

  /// @brief The last fire's rows on the host (empty before any fire).
  const FiredView& collect() {
    if (pending_ && !complete_) {
      exec_->wait_host(copied_);
      complete_ = true;
    }
    if (pending_) {
      view_.size = static_cast<std::size_t>(count_.data()[0]);
      view_.stride = bound_;
      view_.window = window_.data();
      view_.keys = keys_.data();
      view_.update = update_.data();
      view_.states = states_.data();
    } else {
      view_ = FiredView{};
    }
    return view_;
  }

  /// @brief Forgets the last fire's rows once emitted.
  void clear() {
    pending_ = false;
    view_ = FiredView{};
  }

 private:
  Exec* exec_;
  int key_words_;
  int state_words_;
  FiredRows<Exec> rows_;
  HostBuffer<std::int64_t, Exec> window_;
  HostBuffer<std::uint64_t, Exec> keys_;
  HostBuffer<std::uint8_t, Exec> update_;
  HostBuffer<std::uint64_t, Exec> states_;
  HostBuffer<unsigned long long, Exec> count_;
  typename Exec::Event fired_;
  typename Exec::Event copied_;
  std::size_t bound_ = 0;
  bool pending_ = false;
  bool complete_ = false;
  FiredView view_;
};

}  // namespace sluice::detail
