// window_table for the host executor.
#include "kernels/window_table.inl"
#include "kernels/exec/host_exec.hpp"

namespace sluice::detail {
template class WindowTable<HostExec>;
}  // namespace sluice::detail
