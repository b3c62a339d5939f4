// Balancer: round-robin, random and smooth weighted round-robin.
#include "host/engine/balancer.hpp"

#include <sstream>
#include <string>

#include "sluice/status.hpp"

namespace sluice::detail {

Balancer::Balancer(BalancePolicy policy, int workers, std::vector<double> weights,
                   std::uint64_t seed)
    : policy_(policy), workers_(workers), weights_(std::move(weights)), rng_(seed) {
  if (policy_ != BalancePolicy::weighted) return;
  if (static_cast<int>(weights_.size()) != workers_)
    throw Error(ErrorCode::invalid_argument,
                "weighted balancing needs one weight per worker: " + std::to_string(workers_) +
                    " workers, " + std::to_string(weights_.size()) + " weights");
  for (std::size_t i = 0; i < weights_.size(); ++i) {
    if (!(weights_[i] >= 0))
      throw Error(ErrorCode::invalid_argument,
                  "weight " + std::to_string(i + 1) + " must not be negative");
    total_ += weights_[i];
  }
  if (!(total_ > 0)) throw Error(ErrorCode::invalid_argument, "weights must not all be zero");
  credit_.assign(weights_.size(), 0.0);
}

int Balancer::next() {
  switch (policy_) {
    case BalancePolicy::round_robin: {
      const int w = cursor_;
      cursor_ = (cursor_ + 1) % workers_;
      return w;
    }
    case BalancePolicy::random:
      return static_cast<int>(rng_() % static_cast<std::uint64_t>(workers_));
    case BalancePolicy::weighted: {
      int best = 0;
      for (int i = 0; i < workers_; ++i) {
        credit_[i] += weights_[i];
        if (credit_[i] > credit_[best]) best = i;
      }
      credit_[best] -= total_;
      return best;
    }
  }
  return 0;
}

void Balancer::save(WordWriter& out) const {
  out.put(static_cast<std::uint64_t>(policy_));
  out.put(static_cast<std::uint64_t>(workers_));
  out.put(static_cast<std::uint64_t>(cursor_));
  out.put(credit_.size());
  for (double c : credit_) out.put_f64(c);
  std::ostringstream rng;
  rng << rng_;
  out.put_string(rng.str());
}

void Balancer::restore(WordReader& in) {
  const std::uint64_t policy = in.get();
  const std::uint64_t workers = in.get();
  if (policy != static_cast<std::uint64_t>(policy_) ||
      workers != static_cast<std::uint64_t>(workers_))
    in.fail("a balancer of another policy or number of workers");
  const std::uint64_t cursor = in.get();
  if (cursor >= workers) in.fail("a balancer at worker " + std::to_string(cursor));
  cursor_ = static_cast<int>(cursor);
  const std::size_t credits = in.get_count();
  if (credits != credit_.size()) in.fail("a balancer of " + std::to_string(credits) + " weights");
  for (double& c : credit_) c = in.get_f64();
  std::istringstream rng(in.get_string());
  rng >> rng_;
  if (!rng) in.fail("a balancer whose random state does not read back");
}

}  // namespace sluice::detail
