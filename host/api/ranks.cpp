// Ranks: a single process, MPI_COMM_WORLD, or ranks that are threads of one process.
#include "sluice/ranks.hpp"

#include <cstdlib>

#include "sluice/status.hpp"
#include "transport/rank_transport.hpp"
#include "transport/thread_ranks.hpp"
#ifdef SLUICE_WITH_MPI
#include "transport/mpi/mpi_transport.hpp"
#endif

namespace sluice {
namespace {

std::chrono::milliseconds to_ms(Duration d) {
  if (d < Duration::zero())
    throw Error(ErrorCode::invalid_argument, "peer_timeout must not be negative");
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

}  // namespace

Ranks Ranks::single() {
  Ranks r;
  r.automatic_ = false;
  return r;
}

Ranks Ranks::mpi([[maybe_unused]] Duration peer_timeout) {
#ifdef SLUICE_WITH_MPI
  Ranks r;
  r.automatic_ = false;
  r.transport_ = detail::mpi_world(to_ms(peer_timeout));
  return r;
#else
  throw Error(ErrorCode::backend_unavailable,
              "this Sluice was built without MPI (install OpenMPI's development files and "
              "reconfigure)");
#endif
}

std::vector<Ranks> Ranks::in_process(int count, Duration peer_timeout) {
  if (count < 1) throw Error(ErrorCode::invalid_argument, "in_process needs at least one rank");
  auto group = std::make_shared<detail::ThreadRankGroup>(count, to_ms(peer_timeout));
  std::vector<Ranks> ranks;
  for (int r = 0; r < count; ++r) {
    Ranks one;
    one.automatic_ = false;
    one.transport_ = std::make_shared<detail::ThreadRanks>(group, r);
    ranks.push_back(std::move(one));
  }
  return ranks;
}

bool Ranks::mpi_available() noexcept {
#ifdef SLUICE_WITH_MPI
  return true;
#else
  return false;
#endif
}

bool Ranks::launched_by_mpi() noexcept {
#ifdef SLUICE_WITH_MPI
  return detail::launched_by_mpi();
#else
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(name) != nullptr) return true;
  return false;
#endif
}

void Ranks::abort_job(int exit_code) {
#ifdef SLUICE_WITH_MPI
  detail::mpi_abort_job(exit_code);
#else
  std::_Exit(exit_code);
#endif
}

Ranks Ranks::resolved() const {
  if (!automatic_) return *this;
  if (mpi_available() && launched_by_mpi()) return mpi();
  return single();
}

int Ranks::rank() const noexcept { return transport_ ? transport_->rank() : 0; }
int Ranks::size() const noexcept { return transport_ ? transport_->size() : 1; }

const char* Ranks::transport_name() const noexcept {
  return transport_ ? transport_->name() : "single";
}

}  // namespace sluice
