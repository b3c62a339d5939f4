// Ranks: the processes one job spans, each with its own workers and its own share of the input.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "sluice/duration.hpp"

namespace sluice {

namespace detail {
class RankTransport;
}

/// @brief The processes (ranks) that run one job together. Every rank runs the same query with
/// the same EngineConfig::workers; the workers of all ranks share one key space (each key has
/// one owner worker on one rank), each rank pushes its own share of the input, and the
/// watermark is the minimum over the sources of all ranks (a rank whose input has ended holds
/// it back no more). Engine, Engine::start, Job::flush and Job::finish are then collective:
/// every rank calls them, in the same order.
class Ranks {
 public:
  /// @brief Detected when the Engine starts: MPI's ranks when an MPI launcher (mpirun, srun)
  /// started this process and Sluice was built with MPI, else this process alone.
  Ranks() = default;
  /// @brief This process alone.
  static Ranks single();
  /// @brief The processes of MPI_COMM_WORLD (MPI is initialized if the application has not,
  /// with MPI_THREAD_SERIALIZED or better). A collective that a peer leaves unanswered for
  /// `peer_timeout` fails naming that rank (zero: wait for ever).
  /// @throws Error(backend_unavailable) when Sluice was built without MPI.
  static Ranks mpi(Duration peer_timeout = std::chrono::seconds(20));
  /// @brief `count` ranks that are threads of this process, one Engine each: to test a
  /// multi-rank job, or to embed one, without a launcher.
  static std::vector<Ranks> in_process(int count, Duration peer_timeout = std::chrono::seconds(20));
  /// @brief Whether this Sluice was built with MPI.
  static bool mpi_available() noexcept;
  /// @brief Whether an MPI launcher started this process (its environment says so).
  static bool launched_by_mpi() noexcept;

  /// @brief Ends every process of the MPI job at once (MPI_Abort with `exit_code`), for a
  /// program about to exit with an error that its peers may still be waiting on; without MPI,
  /// ends this process (std::_Exit).
  [[noreturn]] static void abort_job(int exit_code);

  /// @brief Resolves automatic detection (the default constructor's) to a definite choice.
  Ranks resolved() const;
  bool automatic() const noexcept { return automatic_; }
  /// @brief This process's rank and the number of ranks (0 and 1 until resolved, when automatic).
  int rank() const noexcept;
  int size() const noexcept;
  /// @brief "single", "MPI", "in-process".
  const char* transport_name() const noexcept;
  /// @brief The transport (null for a single process); internal.
  const std::shared_ptr<detail::RankTransport>& transport() const noexcept { return transport_; }

 private:
  bool automatic_ = true;
  std::shared_ptr<detail::RankTransport> transport_;
};

}  // namespace sluice
