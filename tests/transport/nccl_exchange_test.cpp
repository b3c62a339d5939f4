// NcclExchange on a GPU machine: a one-rank communicator (one GPU) against what the local
// exchange would deliver: device rows of this rank read in place, host rows over the rank
// transport, the watermark through ncclAllReduce. Two ranks need two GPUs. Skips with the
// reason where NCCL is not built or no GPU works.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "host/cuda_probe.hpp"
#include "transport/thread_ranks.hpp"
#ifdef SLUICE_WITH_NCCL
#include <cuda_runtime.h>

#include "transport/nccl/nccl_exchange.hpp"
#endif

namespace sluice::detail {
namespace {

using namespace std::chrono_literals;

TEST(NcclExchange, OneRankDeliversItsOwnRowsAndTheMinimum) {
#ifndef SLUICE_WITH_NCCL
  GTEST_SKIP() << "this Sluice was built without NCCL";
#else
  std::string why;
  if (!cuda_device_available(&why)) GTEST_SKIP() << "no usable GPU: " << why;
  auto group = std::make_shared<ThreadRankGroup>(1, 10s);
  NcclExchange exchange(std::make_shared<ThreadRanks>(group, 0), 0, 10s);
  // Device rows: 5 rows of 4 words, poisoned around them.
  std::vector<std::uint64_t> host(4 * 7, 0xdeadbeefdeadbeefULL);
  for (std::uint64_t i = 0; i < 20; ++i) host[4 + i] = i * 3 + 1;
  std::uint64_t* device = nullptr;
  ASSERT_EQ(cudaMalloc(&device, host.size() * sizeof(std::uint64_t)), cudaSuccess);
  ASSERT_EQ(
      cudaMemcpy(device, host.data(), host.size() * sizeof(std::uint64_t), cudaMemcpyHostToDevice),
      cudaSuccess);
  const std::vector<PartDescriptor> parts{{1, 5}};
  std::vector<ReceivedPart> received;
  exchange.all_to_all(0, parts, OutboxView{device, 0, 4}, received, nullptr);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].source, 0);
  EXPECT_EQ(received[0].part.first_row, 1u);
  EXPECT_EQ(received[0].part.rows, 5u);
  EXPECT_EQ(received[0].outbox.data, device);  // read in place, as the local exchange does
  EXPECT_EQ(exchange.all_reduce_min(0, -42), -42);
  EXPECT_EQ(exchange.all_reduce_min(0, 7), 7);
  // Host rows go over the rank transport.
  const std::vector<std::uint64_t> times{1, 2, 3, 4};
  exchange.all_to_all(0, std::vector<PartDescriptor>{{0, 1}}, OutboxView{times.data(), -1, 4},
                      received, nullptr);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].outbox.data, times.data());
  exchange.barrier(0);
  cudaFree(device);
#endif
}

}  // namespace
}  // namespace sluice::detail
