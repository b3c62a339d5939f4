// MpiTransport: point-to-point all-to-all with an abort channel and a deadline, over MPI.
#include "transport/mpi/mpi_transport.hpp"

#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sluice/status.hpp"

namespace sluice::detail {
namespace {

constexpr int kSizeTag = 11;
constexpr int kDataTag = 12;
constexpr int kAbortTag = 13;
constexpr std::size_t kAbortMessageBytes = 1024;
/// The largest piece one MPI message carries (its count is an int).
constexpr std::size_t kMaxMessageBytes = std::size_t{1} << 30;

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, static_cast<std::size_t>(length));
}

void check(int code, const char* call) {
  if (code != MPI_SUCCESS)
    throw Error(ErrorCode::peer_failure, std::string(call) + " failed: " + mpi_error_text(code));
}

class MpiTransport final : public RankTransport {
 public:
  explicit MpiTransport(std::chrono::milliseconds timeout) : timeout_(timeout) {
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    check(MPI_Comm_dup(MPI_COMM_WORLD, &abort_comm_), "MPI_Comm_dup");
    // Errors come back as codes (and become sluice errors) instead of ending the process.
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(abort_comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    abort_in_.resize(kAbortMessageBytes);
    check(MPI_Irecv(abort_in_.data(), static_cast<int>(abort_in_.size()), MPI_CHAR, MPI_ANY_SOURCE,
                    kAbortTag, abort_comm_, &abort_request_),
          "MPI_Irecv");
    sizes_out_.resize(static_cast<std::size_t>(size_));
    sizes_in_.resize(static_cast<std::size_t>(size_));
  }

  ~MpiTransport() override {
    std::lock_guard lock(mutex_);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;
    if (abort_request_ != MPI_REQUEST_NULL) {
      MPI_Cancel(&abort_request_);
      MPI_Request_free(&abort_request_);
    }
    MPI_Comm_free(&comm_);
    MPI_Comm_free(&abort_comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* name() const override { return "MPI"; }

  void all_to_all(std::span<const std::byte> send, std::span<const std::size_t> offsets,
                  std::vector<std::byte>& received,
                  std::vector<std::size_t>& received_offsets) override {
    const auto n = static_cast<std::size_t>(size_);
    if (offsets.size() != n + 1)
      throw Error(ErrorCode::internal, "all_to_all: offsets for " +
                                           std::to_string(offsets.size() - 1) + " ranks, " +
                                           std::to_string(n) + " ranks in MPI_COMM_WORLD");
    std::unique_lock lock(mutex_);
    throw_if_failed();
    const auto me = static_cast<std::size_t>(rank_);
    // The sizes first, then the bytes, in pieces of at most kMaxMessageBytes.
    requests_.clear();
    peers_.clear();
    for (std::size_t p = 0; p < n; ++p) {
      if (p == me) continue;
      sizes_out_[p] = offsets[p + 1] - offsets[p];
      post_recv(&sizes_in_[p], 1, MPI_UINT64_T, static_cast<int>(p), kSizeTag);
      post_send(&sizes_out_[p], 1, MPI_UINT64_T, static_cast<int>(p), kSizeTag);
    }
    wait_all(lock, "the sizes of an all-to-all");
    received_offsets.assign(n + 1, 0);
    for (std::size_t p = 0; p < n; ++p)
      received_offsets[p + 1] = received_offsets[p] + (p == me ? 0 : sizes_in_[p]);
    received.resize(received_offsets[n]);
    requests_.clear();
    peers_.clear();
    for (std::size_t p = 0; p < n; ++p) {
      if (p == me) continue;
      for (std::size_t at = received_offsets[p]; at < received_offsets[p + 1];
           at += kMaxMessageBytes)
        post_recv(received.data() + at,
                  static_cast<int>(std::min(kMaxMessageBytes, received_offsets[p + 1] - at)),
                  MPI_BYTE, static_cast<int>(p), kDataTag);
      for (std::size_t at = offsets[p]; at < offsets[p + 1]; at += kMaxMessageBytes)
        post_send(send.data() + at,
                  static_cast<int>(std::min(kMaxMessageBytes, offsets[p + 1] - at)), MPI_BYTE,
                  static_cast<int>(p), kDataTag);
    }
    wait_all(lock, "an all-to-all");
  }

  std::int64_t all_reduce_min(std::int64_t value) override {
    std::uint64_t word = static_cast<std::uint64_t>(value);
    std::int64_t m = value;
    exchange_words(std::span<std::uint64_t>(&word, 1), [&](std::span<const std::uint64_t> theirs) {
      m = std::min(m, static_cast<std::int64_t>(theirs[0]));
    });
    return m;
  }

  void all_reduce_sum(std::span<std::uint64_t> values) override {
    std::vector<std::uint64_t> sum(values.begin(), values.end());
    exchange_words(values, [&](std::span<const std::uint64_t> theirs) {
      for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += theirs[i];
    });
    std::copy(sum.begin(), sum.end(), values.begin());
  }

  void abort(const std::string& why) noexcept override {
    try {
      std::unique_lock lock(mutex_);
      if (failed_) return;  // a failure learned from a peer, or told already
      failed_ = "rank " + std::to_string(rank_) + " failed: " + why;
      std::string message = failed_->substr(0, kAbortMessageBytes - 1);
      std::vector<MPI_Request> sent;
      for (int p = 0; p < size_; ++p) {
        if (p == rank_) continue;
        MPI_Request r;
        if (MPI_Isend(message.data(), static_cast<int>(message.size()), MPI_CHAR, p, kAbortTag,
                      abort_comm_, &r) == MPI_SUCCESS)
          sent.push_back(r);
      }
      // Short messages leave at once; give them a moment, never block on a lost peer.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      int done = 0;
      while (!done && std::chrono::steady_clock::now() < deadline) {
        MPI_Testall(static_cast<int>(sent.size()), sent.data(), &done, MPI_STATUSES_IGNORE);
        if (!done) {
          lock.unlock();
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          lock.lock();
        }
      }
    } catch (...) {  // nothing more can be told
    }
  }

 private:
  void post_recv(void* data, int count, MPI_Datatype type, int peer, int tag) {
    requests_.emplace_back();
    peers_.push_back(peer);
    check(MPI_Irecv(data, count, type, peer, tag, comm_, &requests_.back()), "MPI_Irecv");
  }
  void post_send(const void* data, int count, MPI_Datatype type, int peer, int tag) {
    requests_.emplace_back();
    peers_.push_back(peer);
    check(MPI_Isend(data, count, type, peer, tag, comm_, &requests_.back()), "MPI_Isend");
  }

  /// Sends `mine` to every rank and calls `fold` with what each other rank sent.
  template <class Fold>
  void exchange_words(std::span<std::uint64_t> mine, Fold fold) {
    std::unique_lock lock(mutex_);
    throw_if_failed();
    const std::size_t n = mine.size();
    words_in_.resize(n * static_cast<std::size_t>(size_));
    requests_.clear();
    peers_.clear();
    for (int p = 0; p < size_; ++p) {
      if (p == rank_) continue;
      post_recv(words_in_.data() + static_cast<std::size_t>(p) * n, static_cast<int>(n),
                MPI_UINT64_T, p, kSizeTag);
      post_send(mine.data(), static_cast<int>(n), MPI_UINT64_T, p, kSizeTag);
    }
    wait_all(lock, "an all-reduce");
    for (int p = 0; p < size_; ++p)
      if (p != rank_)
        fold(std::span<const std::uint64_t>(words_in_.data() + static_cast<std::size_t>(p) * n, n));
  }

  void throw_if_failed() const {
    if (failed_) throw Error(ErrorCode::peer_failure, *failed_);
  }

  /// Fails with the peer's message when one has aborted.
  void poll_abort() {
    int arrived = 0;
    MPI_Status status;
    MPI_Test(&abort_request_, &arrived, &status);
    if (!arrived) return;
    int length = 0;
    MPI_Get_count(&status, MPI_CHAR, &length);
    failed_ = std::string(reinterpret_cast<const char*>(abort_in_.data()),
                          static_cast<std::size_t>(std::max(length, 0)));
    if (failed_->empty()) failed_ = "rank " + std::to_string(status.MPI_SOURCE) + " failed";
    abort_request_ = MPI_REQUEST_NULL;
    throw Error(ErrorCode::peer_failure, *failed_);
  }

  /// Cancels what is still pending (a collective that failed), so that nothing outlives it.
  void cancel_pending() noexcept {
    for (MPI_Request& r : requests_)
      if (r != MPI_REQUEST_NULL) {
        MPI_Cancel(&r);
        MPI_Request_free(&r);
      }
  }

  /// Waits for every posted request, watching the abort channel and the deadline; the lock is
  /// released between polls so that abort() can run.
  void wait_all(std::unique_lock<std::mutex>& lock, const char* what) {
    try {
      wait_all_or_throw(lock, what);
    } catch (...) {
      cancel_pending();
      throw;
    }
  }

  void wait_all_or_throw(std::unique_lock<std::mutex>& lock, const char* what) {
    const auto start = std::chrono::steady_clock::now();
    auto pause = std::chrono::microseconds(0);
    for (;;) {
      int done = 0;
      check(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done,
                        MPI_STATUSES_IGNORE),
            "MPI_Testall");
      if (done) return;
      poll_abort();
      throw_if_failed();
      if (timeout_.count() > 0 && std::chrono::steady_clock::now() - start > timeout_) {
        std::string missing;
        for (std::size_t i = 0; i < requests_.size(); ++i)
          if (requests_[i] != MPI_REQUEST_NULL &&
              missing.find(std::to_string(peers_[i])) == std::string::npos)
            missing += (missing.empty() ? "" : ", ") + std::to_string(peers_[i]);
        failed_ = "rank " + missing + " did not answer within " + std::to_string(timeout_.count()) +
                  " ms (rank " + std::to_string(rank_) + " waited in " + what + ")";
        throw Error(ErrorCode::peer_failure, *failed_);
      }
      // Spin briefly, then back off to at most 1 ms between polls.
      lock.unlock();
      if (pause.count() == 0)
        std::this_thread::yield();
      else
        std::this_thread::sleep_for(pause);
      pause = std::min<std::chrono::microseconds>(pause + std::chrono::microseconds(20),
                                                  std::chrono::microseconds(1000));
      lock.lock();
    }
  }

  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Comm abort_comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  std::vector<std::byte> abort_in_;
  MPI_Request abort_request_ = MPI_REQUEST_NULL;
  std::vector<MPI_Request> requests_;
  std::vector<int> peers_;  // of each request
  std::vector<std::uint64_t> sizes_out_;
  std::vector<std::uint64_t> sizes_in_;
  std::vector<std::uint64_t> words_in_;
  std::optional<std::string> failed_;
};

bool g_we_initialized = false;

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

std::shared_ptr<RankTransport> mpi_world(std::chrono::milliseconds timeout) {
  static std::mutex init_mutex;
  std::lock_guard lock(init_mutex);
  int initialized = 0;
  MPI_Initialized(&initialized);
  int provided = 0;
  if (!initialized) {
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
      throw Error(ErrorCode::backend_unavailable, "MPI_Init_thread failed");
    g_we_initialized = true;
    std::atexit(finalize_at_exit);
  } else {
    MPI_Query_thread(&provided);
  }
  if (provided < MPI_THREAD_SERIALIZED)
    throw Error(ErrorCode::backend_unavailable,
                "MPI provides thread level " + std::to_string(provided) +
                    "; Sluice's ranks need MPI_THREAD_SERIALIZED or better");
  return std::make_shared<MpiTransport>(timeout);
}

void mpi_abort_job(int exit_code) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

}  // namespace sluice::detail
