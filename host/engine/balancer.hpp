// Balancer: assigns sealed batches to workers by a BalancePolicy.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "host/engine/snapshot_words.hpp"

#include "sluice/engine.hpp"

namespace sluice::detail {

/// @brief Picks the worker of each batch. round_robin: 0, 1, ..., N-1, 0, ...; random: uniform
/// from a seeded generator; weighted: smooth weighted round-robin, so over any window of
/// sum(weights) batches (integral weights) worker i gets weights[i] of them.
class Balancer {
 public:
  /// @throws Error(invalid_argument) when weights do not match the workers or are not positive.
  Balancer(BalancePolicy policy, int workers, std::vector<double> weights, std::uint64_t seed);
  int next();
  /// @brief Writes where the policy stands (a checkpoint); restore() loads it into a balancer
  /// of the same policy and workers.
  void save(WordWriter& out) const;
  void restore(WordReader& in);

 private:
  BalancePolicy policy_;
  int workers_;
  int cursor_ = 0;
  std::vector<double> weights_;
  std::vector<double> credit_;
  double total_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace sluice::detail
