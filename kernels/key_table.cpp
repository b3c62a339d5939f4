// key_table for the host executor.
#include "kernels/key_table.inl"
#include "kernels/exec/host_exec.hpp"

namespace sluice::detail {
template class KeyTable<HostExec>;
}  // namespace sluice::detail
