// NcclExchange: counts over the rank transport, rows over NCCL on the exchange's stream.
#include "transport/nccl/nccl_exchange.hpp"

#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "sluice/status.hpp"

namespace sluice::detail {
namespace {

void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    throw Error(ErrorCode::device_error, std::string(what) + " failed: " + cudaGetErrorString(e));
}

}  // namespace

struct NcclExchange::Device {
  int device = 0;
  int rank = 0;
  int ranks = 1;
  RankTransport* transport = nullptr;  // to tell the peers before aborting
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  std::uint64_t* inbox = nullptr;  // received rows
  std::size_t inbox_words = 0;
  std::int64_t* scalar = nullptr;            // the all-reduce's value, on the device
  std::int64_t* pinned = nullptr;            // and in pinned host memory
  bool aborted = false;                      // comm aborted (by the worker's thread)
  std::atomic<bool> abort_requested{false};  // by abort(), from any thread

  /// Polls until `ready()` (the communicator's error, the peers' aborts and the deadline
  /// watched meanwhile); aborts the communicator on failure.
  template <class Ready>
  void poll(std::chrono::milliseconds timeout, const std::string& what, Ready ready) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      if (abort_requested) fail(what + ": the job failed on this rank");
      ncclResult_t state = ncclSuccess;
      if (const ncclResult_t r = ncclCommGetAsyncError(comm, &state); r != ncclSuccess)
        fail(what + ": ncclCommGetAsyncError: " + ncclGetErrorString(r));
      if (state != ncclSuccess && state != ncclInProgress)
        fail(what + ": " + ncclGetErrorString(state));
      if (state == ncclSuccess && ready()) return;
      try {
        transport->check_peers();
      } catch (const Error&) {
        abort_comm();
        throw;
      }
      if (timeout.count() > 0 && std::chrono::steady_clock::now() - start > timeout)
        fail(what + " did not complete within " + std::to_string(timeout.count()) + " ms");
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  /// Waits until the NCCL calls issued so far are enqueued (a non-blocking communicator may
  /// still be working on them: nothing else may go on the stream before).
  void wait_enqueued(std::chrono::milliseconds timeout, const std::string& what) {
    poll(timeout, what, [] { return true; });
  }

  /// Waits until the stream has run everything queued on it.
  void wait_stream(std::chrono::milliseconds timeout, const std::string& what) {
    poll(timeout, what, [&] {
      const cudaError_t done = cudaStreamQuery(stream);
      if (done == cudaSuccess) return true;
      if (done != cudaErrorNotReady) fail(what + ": " + cudaGetErrorString(done));
      return false;
    });
  }

  /// Tells the peers first (they wait on the rank transport too), then aborts the communicator.
  [[noreturn]] void fail(const std::string& why) {
    const std::string message = "rank " + std::to_string(rank) + ", NCCL: " + why;
    if (transport != nullptr) transport->abort(message);
    abort_comm();
    throw Error(ErrorCode::peer_failure, message);
  }

  void abort_comm() noexcept {
    if (comm != nullptr && !aborted) {
      ncclCommAbort(comm);
      aborted = true;
      comm = nullptr;
    }
  }

  /// Before a call on the communicator: it must still be there.
  void require_comm() {
    if (aborted || comm == nullptr)
      throw Error(ErrorCode::peer_failure,
                  "rank " + std::to_string(rank) + ": the NCCL communicator was aborted");
  }

  void check(ncclResult_t r, const char* what) {
    if (r != ncclSuccess && r != ncclInProgress)
      fail(std::string(what) + ": " + ncclGetErrorString(r));
  }

  /// Frees what the device state holds (the communicator apart).
  void release() noexcept {
    if (inbox != nullptr) cudaFreeAsync(inbox, stream);
    if (stream != nullptr) cudaStreamSynchronize(stream);
    if (scalar != nullptr) cudaFree(scalar);
    if (pinned != nullptr) cudaFreeHost(pinned);
    if (stream != nullptr) cudaStreamDestroy(stream);
    inbox = nullptr;
    scalar = nullptr;
    pinned = nullptr;
    stream = nullptr;
  }
};

NcclExchange::NcclExchange(std::shared_ptr<RankTransport> ranks, int device,
                           std::chrono::milliseconds timeout)
    : ranks_(std::move(ranks)),
      host_(ranks_, 1),
      device_(std::make_unique<Device>()),
      timeout_(timeout) {
  Device& d = *device_;
  d.device = device;
  d.rank = ranks_->rank();
  d.ranks = ranks_->size();
  d.transport = ranks_.get();
  // Rank 0's unique id, to every rank (empty parts if it could not make one).
  ncclUniqueId id;
  const auto n = static_cast<std::size_t>(d.ranks);
  std::vector<std::byte> out;
  std::vector<std::size_t> offsets(n + 1, 0);
  bool have_id = true;
  if (d.rank == 0) {
    have_id = ncclGetUniqueId(&id) == ncclSuccess;
    for (std::size_t q = 1; q < n; ++q) {
      if (have_id)
        out.insert(out.end(), reinterpret_cast<const std::byte*>(&id),
                   reinterpret_cast<const std::byte*>(&id) + sizeof id);
      offsets[q + 1] = out.size();
    }
  }
  std::vector<std::byte> in;
  std::vector<std::size_t> in_offsets;
  ranks_->all_to_all(out, offsets, in, in_offsets);
  try {
    if (!have_id) throw Error(ErrorCode::device_error, "ncclGetUniqueId failed on rank 0");
    if (d.rank != 0) {
      if (in_offsets[1] - in_offsets[0] != sizeof id)
        throw Error(ErrorCode::peer_failure, "rank 0 sent no NCCL id");
      std::memcpy(&id, in.data() + in_offsets[0], sizeof id);
    }
    cuda_check(cudaSetDevice(device), "cudaSetDevice");
    cuda_check(cudaStreamCreateWithFlags(&d.stream, cudaStreamNonBlocking), "cudaStreamCreate");
    cuda_check(cudaMalloc(&d.scalar, sizeof(std::int64_t)), "cudaMalloc");
    cuda_check(cudaMallocHost(&d.pinned, sizeof(std::int64_t)), "cudaMallocHost");
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;  // every call returns at once; the waits poll, and may abort
    d.check(ncclCommInitRankConfig(&d.comm, d.ranks, id, d.rank, &config),
            "ncclCommInitRankConfig");
    d.wait_enqueued(timeout_, "communicator set-up");
  } catch (const Error& e) {
    // The peers wait for this rank in the set-up: tell them, then free what was made.
    ranks_->abort(e.what());
    d.abort_comm();
    d.release();
    throw;
  }
}

NcclExchange::~NcclExchange() {
  Device& d = *device_;
  cudaSetDevice(d.device);
  if (d.comm != nullptr) {
    // A clean end finalizes (non-blocking: polled, for at most a few seconds); an errored or
    // failed communicator, or a finalize that does not complete, is aborted.
    ncclResult_t state = ncclInternalError;
    ncclCommGetAsyncError(d.comm, &state);
    bool clean = !d.abort_requested && state == ncclSuccess;
    if (clean) {
      const ncclResult_t r = ncclCommFinalize(d.comm);
      clean = r == ncclSuccess || r == ncclInProgress;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    state = ncclInProgress;
    while (clean && state == ncclInProgress && std::chrono::steady_clock::now() < deadline) {
      if (ncclCommGetAsyncError(d.comm, &state) != ncclSuccess) break;
      if (state == ncclInProgress) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (clean && state == ncclSuccess)
      ncclCommDestroy(d.comm);
    else
      ncclCommAbort(d.comm);
    d.comm = nullptr;
  }
  d.release();
}

void NcclExchange::all_to_all(int member, std::span<const PartDescriptor> parts, OutboxView outbox,
                              std::vector<ReceivedPart>& received, RowTranslator* translator) {
  if (outbox.device < 0) {
    host_.all_to_all(member, parts, outbox, received, translator);
    return;
  }
  Device& d = *device_;
  const auto n = static_cast<std::size_t>(d.ranks);
  const auto me = static_cast<std::size_t>(d.rank);
  if (parts.size() != n)
    throw Error(ErrorCode::internal, "all_to_all: " + std::to_string(parts.size()) + " parts for " +
                                         std::to_string(n) + " ranks");
  if (translator != nullptr)
    throw Error(ErrorCode::backend_unavailable,
                "rows that need translation (string keys) cannot cross ranks on the GPU yet");
  ++rounds_;
  // The row counts first: what each rank will receive from each.
  counts_out_.clear();
  counts_offsets_.assign(1, 0);
  for (std::size_t q = 0; q < n; ++q) {
    if (q != me) {
      const std::uint64_t rows = parts[q].rows;
      counts_out_.insert(counts_out_.end(), reinterpret_cast<const std::byte*>(&rows),
                         reinterpret_cast<const std::byte*>(&rows) + sizeof rows);
    }
    counts_offsets_.push_back(counts_out_.size());
  }
  ranks_->all_to_all(counts_out_, counts_offsets_, counts_in_, counts_in_offsets_);
  std::vector<std::uint64_t> incoming(n, 0);
  std::uint64_t total = 0;
  for (std::size_t p = 0; p < n; ++p) {
    if (p == me) continue;
    if (counts_in_offsets_[p + 1] - counts_in_offsets_[p] != sizeof(std::uint64_t))
      throw Error(ErrorCode::peer_failure, "rank " + std::to_string(p) + " sent no row count");
    std::memcpy(&incoming[p], counts_in_.data() + counts_in_offsets_[p], sizeof(std::uint64_t));
    total += incoming[p];
  }
  const std::size_t words = total * outbox.row_words;
  if (outbox.device != d.device)
    throw Error(ErrorCode::internal, "the outbox is on device " + std::to_string(outbox.device) +
                                         ", the exchange's on device " + std::to_string(d.device));
  cuda_check(cudaSetDevice(d.device), "cudaSetDevice");
  d.require_comm();
  if (words > d.inbox_words) {
    // Stream-ordered: no device-wide synchronization (other jobs' NCCL kernels may be running).
    if (d.inbox != nullptr) cuda_check(cudaFreeAsync(d.inbox, d.stream), "cudaFreeAsync");
    d.inbox = nullptr;
    const std::size_t grown = words + words / 2;
    cuda_check(cudaMallocAsync(reinterpret_cast<void**>(&d.inbox), grown * sizeof(std::uint64_t),
                               d.stream),
               "cudaMallocAsync");
    d.inbox_words = grown;
  }
  // One group of sends and receives; this rank's own part is read in place. An error inside
  // the group ends the group first (NCCL discards it), then fails.
  d.check(ncclGroupStart(), "ncclGroupStart");
  const auto in_group = [&](ncclResult_t r, const char* what) {
    if (r != ncclSuccess && r != ncclInProgress) {
      ncclGroupEnd();
      d.fail(std::string(what) + ": " + ncclGetErrorString(r));
    }
  };
  std::uint64_t at = 0;
  std::vector<std::uint64_t> first(n, 0);
  for (std::size_t p = 0; p < n; ++p) {
    if (p == me) continue;
    first[p] = at;
    if (parts[p].rows > 0)
      in_group(ncclSend(outbox.data + parts[p].first_row * outbox.row_words,
                        parts[p].rows * outbox.row_words, ncclUint64, static_cast<int>(p), d.comm,
                        d.stream),
               "ncclSend");
    if (incoming[p] > 0)
      in_group(ncclRecv(d.inbox + at * outbox.row_words, incoming[p] * outbox.row_words, ncclUint64,
                        static_cast<int>(p), d.comm, d.stream),
               "ncclRecv");
    at += incoming[p];
    device_bytes_ += parts[p].rows * outbox.row_words * sizeof(std::uint64_t);
  }
  d.check(ncclGroupEnd(), "ncclGroupEnd");
  d.wait_stream(timeout_, "the all-to-all of round " + std::to_string(rounds_));
  received.clear();
  for (std::size_t p = 0; p < n; ++p) {
    if (p == me) {
      if (parts[p].rows > 0) received.push_back({static_cast<int>(p), parts[p], outbox});
    } else if (incoming[p] > 0) {
      received.push_back({static_cast<int>(p), PartDescriptor{first[p], incoming[p]},
                          OutboxView{d.inbox, d.device, outbox.row_words}});
    }
  }
}

std::int64_t NcclExchange::all_reduce_min(int /*member*/, std::int64_t value) {
  Device& d = *device_;
  cuda_check(cudaSetDevice(d.device), "cudaSetDevice");
  d.require_comm();
  const std::string what = "the watermark all-reduce of round " + std::to_string(rounds_);
  *d.pinned = value;
  cuda_check(cudaMemcpyAsync(d.scalar, d.pinned, sizeof value, cudaMemcpyHostToDevice, d.stream),
             "cudaMemcpyAsync");
  d.check(ncclAllReduce(d.scalar, d.scalar, 1, ncclInt64, ncclMin, d.comm, d.stream),
          "ncclAllReduce");
  // Nothing more on the stream until NCCL has enqueued the reduction.
  d.wait_enqueued(timeout_, what);
  cuda_check(cudaMemcpyAsync(d.pinned, d.scalar, sizeof value, cudaMemcpyDeviceToHost, d.stream),
             "cudaMemcpyAsync");
  d.wait_stream(timeout_, what);
  return *d.pinned;
}

void NcclExchange::barrier(int member) { host_.barrier(member); }

void NcclExchange::abort(int member, const std::string& why) {
  // The communicator belongs to the worker's thread: it aborts it at its next wait. The peers
  // learn of the failure over the rank transport (their waits watch it).
  device_->abort_requested = true;
  host_.abort(member, why);
}

std::uint64_t NcclExchange::bytes_sent() const { return host_.bytes_sent() + device_bytes_; }

}  // namespace sluice::detail
