// filter_project for the host executor.
#include "kernels/filter_project.inl"
#include "kernels/exec/host_exec.hpp"

namespace sluice::detail {
SLUICE_INSTANTIATE_FILTER_PROJECT(HostExec)
}  // namespace sluice::detail
