// MpiTransport: the RankTransport among the processes of MPI_COMM_WORLD (OpenMPI's mpirun,
// Slurm's srun, a Kubernetes MPI operator).
#pragma once

#include <chrono>
#include <memory>

#include "transport/rank_transport.hpp"

namespace sluice::detail {

/// @brief The RankTransport of this process in MPI_COMM_WORLD, initializing MPI (thread level
/// MPI_THREAD_SERIALIZED or better) if the application has not, and finalizing it at exit then.
/// Collectives are point-to-point messages polled together with an abort channel, so that a
/// peer's abort() or a peer silent for `timeout` (zero: no limit) ends them with an error naming
/// the rank. A peer that dies is reported by the launcher, which ends the job.
/// @throws Error(backend_unavailable) when MPI cannot be initialized at the needed thread level.
std::shared_ptr<RankTransport> mpi_world(std::chrono::milliseconds timeout);

/// @brief Whether this process was started by an MPI launcher (its environment says so).
bool launched_by_mpi();

/// @brief Ends every rank of the job at once (MPI_Abort), for a process about to exit with an
/// error that its peers may still be waiting on.
[[noreturn]] void mpi_abort_job(int exit_code);

}  // namespace sluice::detail
