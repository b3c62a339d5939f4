// key_table for the host executor.
#include "kernels/exec/host_exec.hpp"
#include "kernels/key_table.inl"

namespace sluice::detail {
template class KeyTable<HostExec>;
}  // namespace sluice::detail
