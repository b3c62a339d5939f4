// MpiTransport: point-to-point all-to-all with an abort channel and a deadline, over MPI.
#include "transport/mpi/mpi_transport.hpp"

#include <mpi.h>

#include <algorithm>
#include <atomic>
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

// Each transport (one per job) has its own three tags from kTagsPerTransport * its index, so
// the messages of jobs that run at once never meet. Index 0 is the world transport's.
constexpr int kTagsPerTransport = 3;
constexpr int kSizeTag = 0;
constexpr int kDataTag = 1;
constexpr int kAbortTag = 2;
constexpr std::size_t kAbortMessageBytes = 1024;
/// The largest piece one MPI message carries (its count is an int).
constexpr std::size_t kMaxMessageBytes = std::size_t{1} << 30;

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, static_cast<std::size_t>(length));
}

void check(int code, const char* call);

/// Set once a collective of this process failed: MPI_Finalize would then wait for peers that
/// may never come (it synchronizes every rank), so the process leaves MPI without it and the
/// launcher ends the job.
std::atomic<bool> g_failed{false};

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  g_failed = true;
  throw Error(ErrorCode::peer_failure, std::string(call) + " failed: " + mpi_error_text(code));
}

/// The communicators every transport of this process shares, and the lock that makes their
/// MPI calls one at a time (MPI_THREAD_SERIALIZED).
struct MpiComms {
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Comm abort_comm = MPI_COMM_NULL;
  std::mutex mutex;
  int next_index = 0;  // of the next transport (under mutex)
  int tag_limit = 32767;

  MpiComms() {
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm), "MPI_Comm_dup");
    check(MPI_Comm_dup(MPI_COMM_WORLD, &abort_comm), "MPI_Comm_dup");
    // Errors come back as codes (and become sluice errors) instead of ending the process.
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(abort_comm, MPI_ERRORS_RETURN);
    int* limit = nullptr;
    int found = 0;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &limit, &found);
    if (found && limit != nullptr) tag_limit = *limit;
  }
  ~MpiComms() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized || g_failed) return;
    MPI_Comm_free(&comm);
    MPI_Comm_free(&abort_comm);
  }
};

/// Everything MPI may still read or write after a failed collective (its requests are left to
/// finish on their own: sends cannot be cancelled, a matched receive cannot either): a failed
/// transport leaks it rather than free memory that MPI may touch.
struct MpiBuffers {
  std::vector<MPI_Request> requests;
  std::vector<int> peers;  // of each request
  std::vector<std::uint64_t> sizes_out;
  std::vector<std::uint64_t> sizes_in;
  std::vector<std::uint64_t> words_out;
  std::vector<std::uint64_t> words_in;
  std::vector<std::byte> inbox;  // swapped with the caller's buffer after each all-to-all
  std::vector<std::byte> abort_in;
  std::string abort_out;
  std::vector<MPI_Request> abort_sends;
  MPI_Request abort_request = MPI_REQUEST_NULL;
};

class MpiTransport final : public RankTransport {
 public:
  MpiTransport(std::shared_ptr<MpiComms> comms, std::chrono::milliseconds timeout)
      : shared_(std::move(comms)),
        mutex_(shared_->mutex),
        comm_(shared_->comm),
        abort_comm_(shared_->abort_comm),
        timeout_(timeout),
        b_(std::make_unique<MpiBuffers>()) {
    std::lock_guard lock(mutex_);
    const int index = shared_->next_index++;
    if (index > (shared_->tag_limit - kTagsPerTransport) / kTagsPerTransport)
      throw Error(ErrorCode::invalid_argument,
                  "this process has started more jobs across ranks "
                  "than MPI has message tags for");
    size_tag_ = index * kTagsPerTransport + kSizeTag;
    data_tag_ = index * kTagsPerTransport + kDataTag;
    abort_tag_ = index * kTagsPerTransport + kAbortTag;
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    b_->abort_in.resize(kAbortMessageBytes);
    check(MPI_Irecv(b_->abort_in.data(), static_cast<int>(b_->abort_in.size()), MPI_CHAR,
                    MPI_ANY_SOURCE, abort_tag_, abort_comm_, &b_->abort_request),
          "MPI_Irecv");
    b_->sizes_out.resize(static_cast<std::size_t>(size_));
    b_->sizes_in.resize(static_cast<std::size_t>(size_));
  }

  ~MpiTransport() override {
    std::lock_guard lock(mutex_);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;
    if (b_->abort_request != MPI_REQUEST_NULL) {
      // Pending and unmatched (no peer aborted): cancelling a receive is allowed.
      MPI_Cancel(&b_->abort_request);
      MPI_Wait(&b_->abort_request, MPI_STATUS_IGNORE);
    }
    int sent = 1;
    if (!b_->abort_sends.empty())
      MPI_Testall(static_cast<int>(b_->abort_sends.size()), b_->abort_sends.data(), &sent,
                  MPI_STATUSES_IGNORE);
    bool pending = sent == 0;
    for (const MPI_Request& r : b_->requests) pending = pending || r != MPI_REQUEST_NULL;
    if (pending) (void)b_.release();  // MPI may still touch them: see MpiBuffers
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* name() const override { return "MPI"; }
  std::chrono::milliseconds peer_timeout() const override { return timeout_; }

  void check_peers() override {
    std::lock_guard lock(mutex_);
    throw_if_failed();
    poll_abort();
  }

  /// Not a collective call of MPI: the k-th duplicate of every rank takes the same tags.
  std::shared_ptr<RankTransport> duplicate() override {
    {
      std::lock_guard lock(mutex_);
      throw_if_failed();
    }
    return std::make_shared<MpiTransport>(shared_, timeout_);
  }

  void all_to_all(std::span<const std::byte> send, std::span<const std::size_t> offsets,
                  std::vector<std::byte>& received,
                  std::vector<std::size_t>& received_offsets) override {
    const auto n = static_cast<std::size_t>(size_);
    if (offsets.size() != n + 1)
      throw Error(ErrorCode::internal, "all_to_all: " + std::to_string(offsets.size()) +
                                           " offsets for " + std::to_string(n) +
                                           " ranks in MPI_COMM_WORLD");
    std::unique_lock lock(mutex_);
    throw_if_failed();
    const auto me = static_cast<std::size_t>(rank_);
    // The sizes first, then the bytes, in pieces of at most kMaxMessageBytes.
    begin_requests();
    for (std::size_t p = 0; p < n; ++p) {
      if (p == me) continue;
      b_->sizes_out[p] = offsets[p + 1] - offsets[p];
      post_recv(&b_->sizes_in[p], 1, MPI_UINT64_T, static_cast<int>(p), size_tag_);
      post_send(&b_->sizes_out[p], 1, MPI_UINT64_T, static_cast<int>(p), size_tag_);
    }
    wait_all(lock, "the sizes of an all-to-all");
    received_offsets.assign(n + 1, 0);
    for (std::size_t p = 0; p < n; ++p)
      received_offsets[p + 1] = received_offsets[p] + (p == me ? 0 : b_->sizes_in[p]);
    std::vector<std::byte>& inbox = b_->inbox;
    inbox.resize(received_offsets[n]);
    begin_requests();
    for (std::size_t p = 0; p < n; ++p) {
      if (p == me) continue;
      for (std::size_t at = received_offsets[p]; at < received_offsets[p + 1];
           at += kMaxMessageBytes)
        post_recv(inbox.data() + at,
                  static_cast<int>(std::min(kMaxMessageBytes, received_offsets[p + 1] - at)),
                  MPI_BYTE, static_cast<int>(p), data_tag_);
      for (std::size_t at = offsets[p]; at < offsets[p + 1]; at += kMaxMessageBytes)
        post_send(send.data() + at,
                  static_cast<int>(std::min(kMaxMessageBytes, offsets[p + 1] - at)), MPI_BYTE,
                  static_cast<int>(p), data_tag_);
    }
    wait_all(lock, "an all-to-all");
    // The caller's buffer becomes the next inbox: no copy, and no memory MPI writes escapes.
    received.swap(inbox);
  }

  std::int64_t all_reduce_min(std::int64_t value) override {
    std::int64_t m = value;
    exchange_words(
        std::span<const std::uint64_t>(reinterpret_cast<const std::uint64_t*>(&value), 1),
        [&](std::span<const std::uint64_t> theirs) {
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
      // A failure a peer told us of needs no telling; one of our own (a peer silent for the
      // timeout included) is told once.
      if (from_peer_ || told_) return;
      told_ = true;
      g_failed = true;
      if (!failed_) failed_ = "rank " + std::to_string(rank_) + " failed: " + why;
      b_->abort_out =
          ("rank " + std::to_string(rank_) + " failed: " + why).substr(0, kAbortMessageBytes - 1);
      for (int p = 0; p < size_; ++p) {
        if (p == rank_) continue;
        MPI_Request r;
        if (MPI_Isend(b_->abort_out.data(), static_cast<int>(b_->abort_out.size()), MPI_CHAR, p,
                      abort_tag_, abort_comm_, &r) == MPI_SUCCESS)
          b_->abort_sends.push_back(r);
      }
      // Short messages leave at once; give them a moment, never block on a lost peer.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      int done = 0;
      while (!done && std::chrono::steady_clock::now() < deadline) {
        MPI_Testall(static_cast<int>(b_->abort_sends.size()), b_->abort_sends.data(), &done,
                    MPI_STATUSES_IGNORE);
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
  void begin_requests() {
    b_->requests.clear();
    b_->peers.clear();
  }
  void post_recv(void* data, int count, MPI_Datatype type, int peer, int tag) {
    b_->requests.emplace_back();
    b_->peers.push_back(peer);
    check(MPI_Irecv(data, count, type, peer, tag, comm_, &b_->requests.back()), "MPI_Irecv");
  }
  void post_send(const void* data, int count, MPI_Datatype type, int peer, int tag) {
    b_->requests.emplace_back();
    b_->peers.push_back(peer);
    check(MPI_Isend(data, count, type, peer, tag, comm_, &b_->requests.back()), "MPI_Isend");
  }

  /// Sends `mine` to every rank and calls `fold` with what each other rank sent.
  template <class Fold>
  void exchange_words(std::span<const std::uint64_t> mine, Fold fold) {
    std::unique_lock lock(mutex_);
    throw_if_failed();
    const std::size_t n = mine.size();
    b_->words_out.assign(mine.begin(), mine.end());
    b_->words_in.resize(n * static_cast<std::size_t>(size_));
    begin_requests();
    for (int p = 0; p < size_; ++p) {
      if (p == rank_) continue;
      post_recv(b_->words_in.data() + static_cast<std::size_t>(p) * n, static_cast<int>(n),
                MPI_UINT64_T, p, size_tag_);
      post_send(b_->words_out.data(), static_cast<int>(n), MPI_UINT64_T, p, size_tag_);
    }
    wait_all(lock, "an all-reduce");
    for (int p = 0; p < size_; ++p)
      if (p != rank_)
        fold(std::span<const std::uint64_t>(b_->words_in.data() + static_cast<std::size_t>(p) * n,
                                            n));
  }

  void throw_if_failed() const {
    if (failed_) throw Error(ErrorCode::peer_failure, *failed_);
  }

  /// Fails with the peer's message when one has aborted.
  void poll_abort() {
    int arrived = 0;
    MPI_Status status;
    MPI_Test(&b_->abort_request, &arrived, &status);
    if (!arrived) return;
    int length = 0;
    MPI_Get_count(&status, MPI_CHAR, &length);
    failed_ = std::string(reinterpret_cast<const char*>(b_->abort_in.data()),
                          static_cast<std::size_t>(std::max(length, 0)));
    if (failed_->empty()) failed_ = "rank " + std::to_string(status.MPI_SOURCE) + " failed";
    from_peer_ = true;
    g_failed = true;
    b_->abort_request = MPI_REQUEST_NULL;
    throw Error(ErrorCode::peer_failure, *failed_);
  }

  /// Waits for every posted request, watching the abort channel and the deadline (which
  /// restarts whenever a request completes); the lock is released between polls so that
  /// abort() can run. On a failure the requests stay posted (see MpiBuffers).
  void wait_all(std::unique_lock<std::mutex>& lock, const char* what) {
    auto last_progress = std::chrono::steady_clock::now();
    auto pause = std::chrono::microseconds(0);
    std::vector<MPI_Request>& requests = b_->requests;
    indices_.resize(requests.size());
    for (;;) {
      int completed = 0;
      check(MPI_Testsome(static_cast<int>(requests.size()), requests.data(), &completed,
                         indices_.data(), MPI_STATUSES_IGNORE),
            "MPI_Testsome");
      if (completed == MPI_UNDEFINED) return;  // none was left active
      if (completed > 0) {
        last_progress = std::chrono::steady_clock::now();
        pause = std::chrono::microseconds(0);
        continue;
      }
      poll_abort();
      throw_if_failed();
      if (timeout_.count() > 0 && std::chrono::steady_clock::now() - last_progress > timeout_) {
        // The peers of the requests still pending, each named once.
        std::vector<char> silent(static_cast<std::size_t>(size_), 0);
        for (std::size_t i = 0; i < requests.size(); ++i)
          if (requests[i] != MPI_REQUEST_NULL) silent[static_cast<std::size_t>(b_->peers[i])] = 1;
        std::string missing;
        for (int p = 0; p < size_; ++p)
          if (silent[static_cast<std::size_t>(p)])
            missing += (missing.empty() ? "" : ", ") + std::to_string(p);
        failed_ = "rank " + missing + " did not answer within " + std::to_string(timeout_.count()) +
                  " ms (rank " + std::to_string(rank_) + " waited in " + what + ")";
        g_failed = true;
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

  std::shared_ptr<MpiComms> shared_;
  std::mutex& mutex_;
  MPI_Comm comm_;
  MPI_Comm abort_comm_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<MpiBuffers> b_;
  int size_tag_ = 0;
  int data_tag_ = 0;
  int abort_tag_ = 0;
  int rank_ = 0;
  int size_ = 1;
  std::vector<int> indices_;  // of MPI_Testsome
  std::optional<std::string> failed_;
  bool from_peer_ = false;  ///< failed_ came from a peer's abort message
  bool told_ = false;       ///< this rank's abort was sent
};

bool g_we_initialized = false;

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && !g_failed) MPI_Finalize();
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
  static std::shared_ptr<MpiComms> comms;  // for the process's lifetime, under init_mutex
  if (!comms) comms = std::make_shared<MpiComms>();
  return std::make_shared<MpiTransport>(comms, timeout);
}

void mpi_abort_job(int exit_code) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

}  // namespace sluice::detail
