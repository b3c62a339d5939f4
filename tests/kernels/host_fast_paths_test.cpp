// Host fast paths against the portable operators they must agree with, on the same inputs:
// filter_project_vector vs filter_project, local_preaggregate vs reduce_partials.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <random>
#include <vector>

#include "host/query_compiler.hpp"
#include "kernel_test_util.hpp"
#include "kernels/filter_project.hpp"
#include "kernels/host/filter_project_vector.hpp"
#include "kernels/host/local_preaggregate.hpp"
#include "kernels/reduce_partials.hpp"
#include "sluice/sluice.hpp"

namespace sluice::test {
namespace {

using detail::InputColumns;
using detail::ProgramSetView;

constexpr std::size_t kSizes[] = {0, 1, 31, 1000, 100003};

/// Random columns of every type and a compiled query reading all of them.
struct ProjectionCase {
  std::vector<std::int64_t> ts;
  std::vector<std::int32_t> status;
  std::vector<float> cpu;
  std::vector<std::uint32_t> host;
  std::vector<std::uint8_t> ok;
  std::vector<double> load;
  detail::CompiledQuery query;
  InputColumns in;
};

ProjectionCase make_case(std::size_t n, std::mt19937_64& rng, bool with_filter) {
  ProjectionCase c;
  Schema schema({{"ts", DataType::timestamp(TimeUnit::ms)},
                 {"status", TypeId::i32},
                 {"cpu", TypeId::f32},
                 {"host", TypeId::string},
                 {"ok", TypeId::boolean},
                 {"load", TypeId::f64}});
  StringDictionary dictionary;
  for (int h = 0; h < 50; ++h) dictionary.intern("h" + std::to_string(h));
  Query q;
  if (with_filter)
    q.filter(
        parse_expression("(cpu > 20.5 and status != 500) or (host == 'h7' and not ok) or "
                         "load / 3 >= -1.5 * cpu"));
  q.map("double_cpu", col("cpu") * lit(2.0))
      .key_by({"host", "double_cpu"})
      .event_time("ts")
      .window(WindowSpec::tumbling(std::chrono::seconds(1)))
      .aggregate(
          {count(), sum(col("status") - lit(7)), max(col("load") + col("cpu")), avg(col("ts"))});
  c.query = detail::compile_query(schema, q, dictionary, 1, {});
  std::uniform_real_distribution<double> u(-100, 100);
  for (std::size_t i = 0; i < n; ++i) {
    c.ts.push_back(static_cast<std::int64_t>(rng() % 100000) - 50000);
    c.status.push_back(rng() % 3 == 0 ? 500 : 200);
    c.cpu.push_back(rng() % 17 == 0 ? -0.0f : static_cast<float>(u(rng)));
    c.host.push_back(static_cast<std::uint32_t>(rng() % 50));
    c.ok.push_back(static_cast<std::uint8_t>(rng() % 2));
    c.load.push_back(u(rng));
  }
  const void* data[] = {c.ts.data(),   c.status.data(), c.cpu.data(),
                        c.host.data(), c.ok.data(),     c.load.data()};
  c.in.count = static_cast<int>(c.query.read_columns.size());
  for (int r = 0; r < c.in.count; ++r) {
    c.in.data[r] = data[c.query.read_columns[r]];
    c.in.type[r] = c.query.plan.input_types[r];
  }
  return c;
}

TEST(HostFastPaths, VectorFilterProjectAgreesWithPortable) {
  SLUICE_SEEDED_RNG(rng);
  HostExec exec;
  for (bool with_filter : {false, true}) {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE(::testing::Message() << "n=" << n << " filter=" << with_filter);
      ProjectionCase c = make_case(n, rng, with_filter);
      const detail::PipelinePlan& plan = c.query.plan;
      const ProgramSetView programs{plan.code.data(), plan.programs.data()};
      const std::size_t outputs = static_cast<std::size_t>(plan.projection.num_outputs);
      // Outputs poisoned so an unwritten element shows.
      std::vector<std::uint32_t> rows_a(n + 1, 0xdeadbeef), rows_b(n + 1, 0xdeadbeef);
      std::vector<std::uint64_t> words_a(outputs * (n + 1), 0xbadbadbadULL);
      std::vector<std::uint64_t> words_b(outputs * (n + 1), 0xbadbadbadULL);
      std::vector<std::uint32_t> scratch;
      const std::size_t kept_a = detail::filter_project(exec, c.in, n, programs, plan.projection,
                                                        rows_a.data(), words_a.data(), n + 1);
      const std::size_t kept_b = detail::filter_project_vector(
          exec, c.in, n, programs, plan.projection, rows_b.data(), words_b.data(), n + 1, scratch);
      ASSERT_EQ(kept_a, kept_b);
      if (with_filter && n >= 1000) {
        EXPECT_GT(kept_a, 0u);
        EXPECT_LT(kept_a, n);
      }
      EXPECT_EQ(rows_a, rows_b);
      EXPECT_EQ(words_a, words_b);
    }
  }
}

/// Random singleton partials: few keys (colliding hashes under a narrow mask), panes, cuts
/// (some late) and states of every kind.
Partials<HostExec> make_partials(HostExec& exec, std::size_t n, std::size_t keys,
                                 std::mt19937_64& rng, const detail::StateSpec& spec) {
  Partials<HostExec> p(exec, 2, spec.count);
  p.resize_discard(n);
  PartialsView v = p.view();
  std::uniform_real_distribution<double> u(-1000, 1000);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t k = rng() % 10 < 7 ? 0 : rng() % keys;  // skewed: 70% one key
    v.keys[i] = k;
    v.keys[v.stride + i] = k * 31 % 7;
    v.hash[i] = ref_key_hash(&k, 1, 0x3);  // four hash values: many collisions
    v.pane[i] = static_cast<std::int64_t>(rng() % 5) - 2;
    const std::uint64_t cut_roll = rng() % 20;
    v.cut[i] = cut_roll == 0 ? kLateCut : static_cast<std::uint32_t>(cut_roll % 3);
    v.states[0 * v.stride + i] = 1;
    v.states[1 * v.stride + i] =
        static_cast<std::uint64_t>(static_cast<std::int64_t>(rng() % 2001) - 1000);
    v.states[2 * v.stride + i] = detail::double_bits(u(rng));
    v.states[3 * v.stride + i] = detail::double_bits(u(rng));
    v.states[4 * v.stride + i] = static_cast<std::uint64_t>(static_cast<std::int64_t>(rng()) >> 8);
  }
  return p;
}

TEST(HostFastPaths, LocalPreaggregateAgreesWithReducePartials) {
  SLUICE_SEEDED_RNG(rng);
  HostExec exec;
  detail::StateSpec spec;
  const StateOp ops[] = {StateOp::sum_i64, StateOp::sum_i64, StateOp::sum_f64, StateOp::min_f64,
                         StateOp::max_i64};
  for (StateOp op : ops) spec.ops[spec.count++] = op;
  for (std::size_t keys : {std::size_t{1}, std::size_t{100}, std::size_t{5000}}) {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE(::testing::Message() << "n=" << n << " keys=" << keys);
      Partials<HostExec> in = make_partials(exec, n, keys, rng, spec);
      Partials<HostExec> portable(exec, 2, spec.count), fast(exec, 2, spec.count);
      detail::ReduceScratch<HostExec> scratch(exec);
      detail::LocalPreaggregateScratch local(exec);
      detail::reduce_partials(exec, in.view(), spec, portable, scratch);
      detail::local_preaggregate(exec, in.view(), spec, fast, local);
      ASSERT_EQ(portable.size(), fast.size());
      const PartialsView a = portable.view(), b = fast.view();
      for (std::size_t i = 0; i < a.size; ++i) {
        ASSERT_EQ(a.hash[i], b.hash[i]) << i;
        ASSERT_EQ(a.key(0, i), b.key(0, i)) << i;
        ASSERT_EQ(a.key(1, i), b.key(1, i)) << i;
        ASSERT_EQ(a.pane[i], b.pane[i]) << i;
        ASSERT_EQ(a.cut[i], b.cut[i]) << i;
        EXPECT_EQ(a.state(0, i), b.state(0, i)) << i;
        EXPECT_EQ(a.state(1, i), b.state(1, i)) << i;
        const double sa = detail::bits_double(a.state(2, i)),
                     sb = detail::bits_double(b.state(2, i));
        EXPECT_NEAR(sa, sb, 1e-9 * std::max(1.0, std::abs(sa))) << i;
        EXPECT_EQ(a.state(3, i), b.state(3, i)) << i;
        EXPECT_EQ(a.state(4, i), b.state(4, i)) << i;
      }
    }
  }
}

}  // namespace
}  // namespace sluice::test
