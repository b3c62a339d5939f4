// Stateless operators on CudaExec against HostExec and references: filter_project,
// make_event_partials + collect_late_rows, reduce_partials, partition_partials + unpack_partials.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <ostream>
#include <random>
#include <tuple>
#include <vector>

#include "gpu/gpu_test_util.hpp"
#include "kernels/event_partials.hpp"
#include "kernels/filter_project.hpp"
#include "kernels/filter_project_fixture.hpp"
#include "kernels/partials_reference.hpp"
#include "kernels/partition.hpp"
#include "kernels/partition_reference.hpp"
#include "kernels/reduce_partials.hpp"

namespace sluice::test {
namespace {

using detail::ColumnType;
using detail::InputColumns;
using detail::Instr;
using detail::OpCode;
using detail::ProgramRef;
using detail::ProgramSetView;
using detail::ProjectionSpec;
using detail::ValueKind;

constexpr std::size_t kHuge = 10000000;  // the largest batch, where an operator's batch can be

// =============================================================================================
// filter_project

Batch random_columns(std::size_t n, std::mt19937_64& rng) {
  Batch c;
  std::uniform_int_distribution<std::int32_t> small(-20, 20);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  for (std::size_t r = 0; r < n; ++r) {
    c.i32.push_back(r % 97 == 5 ? 0 : small(rng));
    const int pick = static_cast<int>(rng() % 10);
    c.i64.push_back(pick == 0 ? std::numeric_limits<std::int64_t>::max() -
                                    static_cast<std::int64_t>(rng() % 400)
                    : pick == 1 ? std::numeric_limits<std::int64_t>::min() + 3
                                : static_cast<std::int64_t>(rng() % 201) - 100);
    c.u32.push_back(static_cast<std::uint32_t>(rng()));
    c.u64.push_back(rng());
    c.f32.push_back(static_cast<float>(unit(rng)));
    const int fz = static_cast<int>(rng() % 8);
    c.f64.push_back(fz == 0   ? -0.0
                    : fz == 1 ? std::numeric_limits<double>::quiet_NaN()
                              : unit(rng) / 3.0);
    c.boolean.push_back(static_cast<std::uint8_t>(rng() % 2));
    c.ts.push_back(static_cast<std::int64_t>(rng() % 2000000) - 1000000);
    c.str.push_back(static_cast<std::uint32_t>(rng() % 10));
  }
  return c;
}

/// The columns in an executor's memory.
template <class Exec>
struct ExecColumns {
  std::vector<ExecBuffer<std::uint8_t, Exec>> buffers;
  InputColumns in;

  template <class T>
  void add(Exec& exec, const std::vector<T>& v, ColumnType type) {
    std::vector<std::uint8_t> bytes(v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(bytes.data(), v.data(), bytes.size());
    buffers.push_back(upload(exec, bytes));
    in.type[in.count] = type;
    in.data[in.count] = buffers.back().data();
    ++in.count;
  }
  ExecColumns(Exec& exec, const Batch& c) {
    buffers.reserve(kNumCols);
    add(exec, c.i32, kTypes[kI32]);
    add(exec, c.i64, kTypes[kI64]);
    add(exec, c.u32, kTypes[kU32]);
    add(exec, c.u64, kTypes[kU64]);
    add(exec, c.f32, kTypes[kF32]);
    add(exec, c.f64, kTypes[kF64]);
    add(exec, c.boolean, kTypes[kBool]);
    add(exec, c.ts, kTypes[kTs]);
    add(exec, c.str, kTypes[kStr]);
  }
};

struct Filter {
  const char* name;
  std::function<int(ProgramSet&)> build;
  std::function<bool(const Batch&, std::size_t)> want;
};

std::vector<Filter> filters() {
  return {
      {"(i64 > 10 and f64 < 0.25) or not bool",
       [](ProgramSet& s) {
         return s.start(ValueKind::boolean)
             .load(kI64)
             .push_i(10)
             .op(OpCode::gt_i)
             .load(kF64)
             .push_f(0.25)
             .op(OpCode::lt_f)
             .op(OpCode::logical_and)
             .load(kBool)
             .op(OpCode::logical_not)
             .op(OpCode::logical_or)
             .done();
       },
       [](const Batch& c, std::size_t r) {
         return (c.i64[r] > 10 && c.f64[r] < 0.25) || !c.boolean[r];
       }},
      {"str == 3 and f32 >= 0.25 or u32 > 4000000000",
       [](ProgramSet& s) {
         return s.start(ValueKind::boolean)
             .load(kStr)
             .push_i(3)
             .op(OpCode::eq_i)
             .load(kF32)
             .push_f(0.25)
             .op(OpCode::ge_f)
             .op(OpCode::logical_and)
             .load(kU32)
             .push_i(4000000000LL)
             .op(OpCode::gt_i)
             .op(OpCode::logical_or)
             .done();
       },
       [](const Batch& c, std::size_t r) {
         return (c.str[r] == 3 && static_cast<double>(c.f32[r]) >= 0.25) || c.u32[r] > 4000000000u;
       }},
  };
}

struct Output {
  const char* name;
  std::function<void(ProgramSet&)> build;
  std::function<std::uint64_t(const Batch&, std::size_t)> want;
};

std::uint64_t u(std::int64_t v) { return static_cast<std::uint64_t>(v); }

// Output 0 is the (float) key; every column type; wrapping integer and float arithmetic.
std::vector<Output> outputs() {
  return {
      {"f64 key", [](ProgramSet& s) { s.start(ValueKind::f64).load(kF64).done(); },
       [](const Batch& c, std::size_t r) { return detail::float_key_word(c.f64[r]); }},
      {"i32", [](ProgramSet& s) { s.start(ValueKind::i64).load(kI32).done(); },
       [](const Batch& c, std::size_t r) { return u(c.i32[r]); }},
      {"i64", [](ProgramSet& s) { s.start(ValueKind::i64).load(kI64).done(); },
       [](const Batch& c, std::size_t r) { return u(c.i64[r]); }},
      {"u32", [](ProgramSet& s) { s.start(ValueKind::i64).load(kU32).done(); },
       [](const Batch& c, std::size_t r) { return std::uint64_t{c.u32[r]}; }},
      {"u64", [](ProgramSet& s) { s.start(ValueKind::i64).load(kU64).done(); },
       [](const Batch& c, std::size_t r) { return c.u64[r]; }},
      {"f32", [](ProgramSet& s) { s.start(ValueKind::f64).load(kF32).done(); },
       [](const Batch& c, std::size_t r) { return dbits(static_cast<double>(c.f32[r])); }},
      {"f64 raw bits", [](ProgramSet& s) { s.start(ValueKind::f64).load(kF64).done(); },
       [](const Batch& c, std::size_t r) { return dbits(c.f64[r]); }},
      {"bool", [](ProgramSet& s) { s.start(ValueKind::boolean).load(kBool).done(); },
       [](const Batch& c, std::size_t r) { return std::uint64_t{c.boolean[r] != 0}; }},
      {"timestamp", [](ProgramSet& s) { s.start(ValueKind::i64).load(kTs).done(); },
       [](const Batch& c, std::size_t r) { return u(c.ts[r]); }},
      {"string code", [](ProgramSet& s) { s.start(ValueKind::i64).load(kStr).done(); },
       [](const Batch& c, std::size_t r) { return std::uint64_t{c.str[r]}; }},
      {"i64 + i32 * 2 - 1 (wraps)",
       [](ProgramSet& s) {
         s.start(ValueKind::i64)
             .load(kI64)
             .load(kI32)
             .push_i(2)
             .op(OpCode::mul_i)
             .op(OpCode::add_i)
             .push_i(1)
             .op(OpCode::sub_i)
             .done();
       },
       [](const Batch& c, std::size_t r) { return u(c.i64[r]) + u(c.i32[r]) * 2 - 1; }},
      {"i64 / i32 as floats",
       [](ProgramSet& s) {
         s.start(ValueKind::f64)
             .load(kI64)
             .op(OpCode::to_f64)
             .load(kI32)
             .op(OpCode::to_f64)
             .op(OpCode::div_f)
             .done();
       },
       [](const Batch& c, std::size_t r) {
         return dbits(static_cast<double>(c.i64[r]) / static_cast<double>(c.i32[r]));
       }},
      {"-(f32 * 2.5) + ts / 1000",
       [](ProgramSet& s) {
         s.start(ValueKind::f64)
             .load(kF32)
             .push_f(2.5)
             .op(OpCode::mul_f)
             .op(OpCode::neg_f)
             .load(kTs)
             .op(OpCode::to_f64)
             .push_f(1000.0)
             .op(OpCode::div_f)
             .op(OpCode::add_f)
             .done();
       },
       [](const Batch& c, std::size_t r) {
         const double product = static_cast<double>(c.f32[r]) * 2.5;
         const double quotient = static_cast<double>(c.ts[r]) / 1000.0;
         return dbits(-product + quotient);
       }},
  };
}

/// Equal words; for a float output any NaN matches any NaN (0/0 gives a NaN whose sign and
/// payload differ between x86 and CUDA, and no aggregate or key tells NaNs apart).
bool same_word(bool is_float, std::uint64_t a, std::uint64_t b) {
  return a == b || (is_float && std::isnan(bitsd(a)) && std::isnan(bitsd(b)));
}

/// What one filter_project run wrote: rows (n + 1 entries, the last one past the capacity) and
/// words (stride * outputs + 1), read back whole.
struct ProjectRun {
  std::size_t kept = 0;
  std::vector<std::uint32_t> rows;
  std::vector<std::uint64_t> words;
};

template <class Exec>
ProjectRun run_filter_project(Exec& exec, const Batch& c, const ProgramSet& set,
                              const ProjectionSpec& spec, std::size_t stride) {
  const std::size_t n = c.size();
  const ExecColumns<Exec> columns(exec, c);
  const auto code = upload(exec, set.code);
  const auto programs = upload(exec, set.programs);
  const std::size_t words = stride * static_cast<std::size_t>(spec.num_outputs) + 1;
  auto rows = poisoned_buffer<std::uint32_t>(exec, n + 1);
  auto out = poisoned_buffer<std::uint64_t>(exec, words);
  ProjectRun run;
  run.kept =
      detail::filter_project(exec, columns.in, n, ProgramSetView{code.data(), programs.data()},
                             spec, rows.data(), out.data(), stride);
  run.rows = download(exec, rows.data(), n + 1);
  run.words = download(exec, out.data(), words);
  return run;
}

void check_filter_project(const Batch& c, const Filter* f, std::size_t extra_stride = 0) {
  const std::size_t n = c.size();
  ProgramSet set;
  const int filter = f ? f->build(set) : -1;
  const std::vector<Output> outs = outputs();
  const int first_output = static_cast<int>(set.programs.size());
  for (const Output& o : outs) o.build(set);
  ProjectionSpec spec;
  spec.filter = filter;
  spec.first_output = first_output;
  spec.num_outputs = static_cast<int>(outs.size());
  spec.key_begin = 0;
  spec.key_end = 1;
  const std::size_t stride = n + extra_stride;

  DevExec dev;
  detail::HostExec host;
  const ProjectRun got = run_filter_project(dev, c, set, spec, stride);
  const ProjectRun base = run_filter_project(host, c, set, spec, stride);

  std::vector<std::uint32_t> want_rows;
  for (std::size_t r = 0; r < n; ++r)
    if (!f || f->want(c, r)) want_rows.push_back(static_cast<std::uint32_t>(r));
  if (f && n >= 1000) {
    ASSERT_GT(want_rows.size(), 0u) << "premise: the filter keeps some rows";
    ASSERT_LT(want_rows.size(), n) << "premise: the filter drops some rows";
  }
  std::vector<bool> is_float;
  for (std::size_t j = 0; j < outs.size(); ++j)
    is_float.push_back(set.programs[first_output + j].kind == ValueKind::f64);
  const std::uint64_t poison64 = poison_value<std::uint64_t>();
  for (const ProjectRun* run : {&got, &base}) {
    SCOPED_TRACE(run == &got ? "device executor" : "host executor");
    ASSERT_EQ(run->kept, want_rows.size());
    for (std::size_t i = 0; i < run->kept; ++i)
      ASSERT_EQ(run->rows[i], want_rows[i]) << "kept row " << i;
    ASSERT_EQ(run->rows[n], poison_value<std::uint32_t>()) << "written past the rows' capacity";
    for (std::size_t j = 0; j < outs.size(); ++j) {
      for (std::size_t i = 0; i < run->kept; ++i)
        ASSERT_TRUE(
            same_word(is_float[j], run->words[j * stride + i], outs[j].want(c, want_rows[i])))
            << "output '" << outs[j].name << "' kept row " << i << " (input row " << want_rows[i]
            << "): got " << run->words[j * stride + i] << " (" << bitsd(run->words[j * stride + i])
            << ")";
      for (std::size_t i = run->kept; i < stride; ++i)
        ASSERT_EQ(run->words[j * stride + i], poison64)
            << "output '" << outs[j].name << "' written past the kept rows at " << i;
    }
    ASSERT_EQ(run->words.back(), poison64) << "written past the output columns";
  }
  // Device and host agree word for word (unwritten words are poison in both).
  ASSERT_EQ(got.kept, base.kept);
  for (std::size_t k = 0; k + 1 < got.words.size(); ++k)
    ASSERT_TRUE(same_word(is_float[k / stride], got.words[k], base.words[k]))
        << "word " << k << " (output " << k / stride << "): device " << got.words[k] << " host "
        << base.words[k];
  for (std::size_t i = 0; i < got.kept; ++i) ASSERT_EQ(got.rows[i], base.rows[i]);
}

class FilterProjectGpu : public GpuTestWithParam<std::size_t> {};

TEST_P(FilterProjectGpu, EveryFilterAndColumnTypeMatchesHostAndReference) {
  const std::size_t n = GetParam();
  SLUICE_GPU_RNG(rng);
  const Batch c = random_columns(n, rng);
  const std::vector<Filter> fs = filters();
  for (const Filter& f : fs) {
    SCOPED_TRACE(f.name);
    check_filter_project(c, &f);
    if (n >= kLarge) break;  // one filter for the large batches
  }
}

TEST_P(FilterProjectGpu, NoFilterKeepsEveryRowInOrder) {
  SLUICE_GPU_RNG(rng);
  check_filter_project(random_columns(GetParam(), rng), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Sizes, FilterProjectGpu,
                         ::testing::Values(std::size_t{0}, std::size_t{1}, std::size_t{31},
                                           std::size_t{1000}, kLarge, kHuge));

using FilterProjectGpuCases = GpuTest;

TEST_F(FilterProjectGpuCases, OutputStrideLargerThanRows) {
  SLUICE_GPU_RNG(rng);
  const Batch c = random_columns(1000, rng);
  const std::vector<Filter> fs = filters();
  check_filter_project(c, &fs[0], 37);
  check_filter_project(c, nullptr, 5);
}

// =============================================================================================
// make_event_partials and collect_late_rows

/// Projected events: output 0 a double input, 1 the time, [2, 2 + kw) the key words, 2 + kw an
/// integer input; column stride m + 3.
struct Events {
  std::size_t m = 0;
  int key_words = 1;
  std::size_t stride = 0;
  std::vector<std::uint64_t> words;
  int int_input() const { return 2 + key_words; }
  std::uint64_t& at(int output, std::size_t i) { return words[output * stride + i]; }
  std::uint64_t at(int output, std::size_t i) const { return words[output * stride + i]; }
};

struct EventParams {
  std::size_t m;
  int key_words;
  std::size_t keys;
  KeyDist dist;
};

std::ostream& operator<<(std::ostream& os, const EventParams& p) {
  return os << p.m << " events, " << p.key_words << " key words, " << p.keys << " keys "
            << to_string(p.dist);
}

/// Out-of-order events: times trail a clock by up to 3000, one in 50 by up to 20000.
Events random_events(const EventParams& p, std::mt19937_64& rng) {
  Events e;
  e.m = p.m;
  e.key_words = p.key_words;
  e.stride = p.m + 3;
  e.words.assign(e.stride * (3 + p.key_words), 0);
  KeyDrawer draw(p.dist, p.keys);
  const std::uint64_t salt = rng();
  const std::int64_t start = std::uniform_int_distribution<std::int64_t>(-5000, 5000)(rng);
  for (std::size_t i = 0; i < p.m; ++i) {
    const std::int64_t clock = start + static_cast<std::int64_t>(i / 64);
    const std::int64_t behind = rng() % 50 == 0 ? static_cast<std::int64_t>(rng() % 20000)
                                                : static_cast<std::int64_t>(rng() % 3000);
    e.at(0, i) = random_f64_word(rng);
    e.at(1, i) = static_cast<std::uint64_t>(clock - behind);
    const Key k = key_words_of(draw(rng), p.key_words, salt);
    for (int j = 0; j < p.key_words; ++j) e.at(2 + j, i) = k[j];
    e.at(e.int_input(), i) = static_cast<std::uint64_t>(static_cast<std::int64_t>(rng()) >> 20);
  }
  return e;
}

struct EventRun {
  std::size_t late = 0;
  HostRows rows;
  std::size_t collected = 0;
  std::vector<std::uint32_t> late_rows;  // m + 1 entries
};

template <class Exec>
EventRun run_event_partials(Exec& exec, const Events& e, const detail::StateSpec& states,
                            const PaneSpec& panes, std::int64_t wm, KeyHasher hasher,
                            const std::vector<std::uint32_t>& batch_rows) {
  const auto words = upload(exec, e.words);
  Partials<Exec> out(exec, e.key_words, states.count);
  out.resize_discard(e.m);
  poison_partials(exec, out.view());
  const detail::EventLayout layout{words.data(), e.stride, 1, 2};
  EventRun run;
  run.late = detail::make_event_partials(exec, layout, e.m, states, panes, wm, hasher, out.view());
  run.rows = download_rows(exec, out.view());
  const auto rows = upload(exec, batch_rows);
  auto late_rows = poisoned_buffer<std::uint32_t>(exec, e.m + 1);
  run.collected = detail::collect_late_rows(exec, out.view(), rows.data(), late_rows.data());
  run.late_rows = download(exec, late_rows.data(), e.m + 1);
  return run;
}

void check_event_partials(const Events& e, const PaneSpec& panes, std::int64_t wm,
                          KeyHasher hasher) {
  SCOPED_TRACE(::testing::Message() << "wm " << wm << " mask " << hasher.mask);
  // count, sum of the double, min of the integer, max of the double.
  const detail::StateSpec states =
      make_states({StateOp::sum_i64, StateOp::sum_f64, StateOp::min_i64, StateOp::max_f64},
                  {-1, 0, e.int_input(), 0});
  // Batch rows of the events: increasing with gaps (a filter dropped the others).
  std::vector<std::uint32_t> batch_rows(e.m);
  for (std::size_t i = 0; i < e.m; ++i) batch_rows[i] = static_cast<std::uint32_t>(3 * i + 1);
  DevExec dev;
  detail::HostExec host;
  const EventRun got = run_event_partials(dev, e, states, panes, wm, hasher, batch_rows);
  const EventRun base = run_event_partials(host, e, states, panes, wm, hasher, batch_rows);

  std::vector<std::uint32_t> want_late_rows;
  for (const EventRun* run : {&got, &base}) {
    SCOPED_TRACE(run == &got ? "device executor" : "host executor");
    const HostRows& r = run->rows;
    ASSERT_EQ(r.size(), e.m);
    want_late_rows.clear();
    for (std::size_t i = 0; i < e.m; ++i) {
      const auto t = static_cast<std::int64_t>(e.at(1, i));
      std::uint64_t key[kMaxTestKeyWords] = {};
      for (int j = 0; j < e.key_words; ++j) key[j] = e.at(2 + j, i);
      ASSERT_EQ(r.hash[i], ref_key_hash(key, e.key_words, hasher.mask)) << "event " << i;
      for (int j = 0; j < e.key_words; ++j)
        ASSERT_EQ(r.keys[i * e.key_words + j], key[j]) << "event " << i;
      const std::int64_t pane = ref_pane_of(panes, t);
      ASSERT_EQ(r.pane[i], pane) << "event " << i << " time " << t;
      const std::uint32_t cut = ref_event_cut(panes, pane, wm);
      ASSERT_EQ(r.cut[i], cut) << "event " << i << " time " << t;
      if (cut == kLateCut) want_late_rows.push_back(batch_rows[i]);
      ASSERT_EQ(r.state(i, 0), 1u) << "event " << i;
      ASSERT_EQ(r.state(i, 1), e.at(0, i)) << "event " << i;
      ASSERT_EQ(r.state(i, 2), e.at(e.int_input(), i)) << "event " << i;
      ASSERT_EQ(r.state(i, 3), e.at(0, i)) << "event " << i;
    }
    ASSERT_EQ(run->late, want_late_rows.size());
    ASSERT_EQ(run->collected, want_late_rows.size());
    for (std::size_t i = 0; i < run->collected; ++i)
      ASSERT_EQ(run->late_rows[i], want_late_rows[i]) << "late row " << i;
    for (std::size_t i = run->collected; i <= e.m; ++i)
      ASSERT_EQ(run->late_rows[i], poison_value<std::uint32_t>()) << "written past the late rows";
  }
  // Every word is an integer or a copied input: device and host agree exactly.
  ASSERT_EQ(got.rows.hash, base.rows.hash);
  ASSERT_EQ(got.rows.keys, base.rows.keys);
  ASSERT_EQ(got.rows.pane, base.rows.pane);
  ASSERT_EQ(got.rows.cut, base.rows.cut);
  ASSERT_EQ(got.rows.states, base.rows.states);
  ASSERT_EQ(got.late_rows, base.late_rows);
}

const std::vector<std::pair<const char*, PaneSpec>>& pane_cases() {
  static const std::vector<std::pair<const char*, PaneSpec>> cases = {
      {"tumbling 1000 lateness 500", make_panes(1000, 1000, 0, 500)},
      {"sliding 1000/250 offset 3", make_panes(1000, 250, 3, 0)},
      {"sliding 700/300 offset -7 lateness 2000", make_panes(700, 300, -7, 2000)},
      {"slide 500 > size 300 (gaps)", make_panes(300, 500, 11, 100)},
      {"global", make_global_panes()}};
  return cases;
}

class EventPartialsGpu : public GpuTestWithParam<EventParams> {};

TEST_P(EventPartialsGpu, MatchesHostAndPerEventReference) {
  const EventParams p = GetParam();
  SLUICE_GPU_RNG(rng);
  const Events e = random_events(p, rng);
  // A watermark among the event times, so some events are late and some are not.
  const std::int64_t mid = e.m == 0 ? 0 : static_cast<std::int64_t>(e.at(1, e.m / 2));
  for (const auto& [name, panes] : pane_cases()) {
    SCOPED_TRACE(name);
    check_event_partials(e, panes, kNoWatermark, KeyHasher{});
    check_event_partials(e, panes, mid, KeyHasher{});
    if (p.m >= kLarge) break;  // one geometry for the large batches
  }
}

INSTANTIATE_TEST_SUITE_P(SizesKeysSkew, EventPartialsGpu,
                         ::testing::Values(EventParams{0, 1, 1, KeyDist::uniform},
                                           EventParams{1, 2, 1, KeyDist::uniform},
                                           EventParams{31, 1, 100, KeyDist::uniform},
                                           EventParams{1000, 2, 100, KeyDist::zipf},
                                           EventParams{1000, 1, 100000, KeyDist::uniform},
                                           EventParams{kLarge, 2, 100000, KeyDist::zipf},
                                           EventParams{kLarge, 1, 10000000, KeyDist::uniform},
                                           EventParams{kHuge, 1, 100, KeyDist::zipf}));

using EventPartialsGpuCases = GpuTest;

TEST_F(EventPartialsGpuCases, NarrowedHashAndAllLate) {
  SLUICE_GPU_RNG(rng);
  const Events e = random_events(EventParams{5000, 2, 300, KeyDist::uniform}, rng);
  const PaneSpec panes = make_panes(1000, 250, 0, 100);
  check_event_partials(e, panes, 0, KeyHasher{0x7});
  check_event_partials(e, panes, 0, KeyHasher{0});
  check_event_partials(e, panes, std::numeric_limits<std::int64_t>::max() / 2, KeyHasher{});
}

// =============================================================================================
// reduce_partials

/// Random partial rows (partials_reference.hpp's random_rows) whose float sums are of values that
/// round.
HostRows random_partials(const RowsParams& p, std::mt19937_64& rng) {
  return random_rows(p, rng, [](StateOp op, std::mt19937_64& r) {
    return op == StateOp::sum_f64 ? random_f64_word(r) : random_state_value(op, r);
  });
}

using RefGroup = GroupOf<RefState>;

/// Indices of `rows` in (key words, pane, cut) order.
std::vector<std::size_t> canonical_order(const HostRows& rows) {
  std::vector<std::size_t> idx(rows.size());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
    const Key ka = rows.key(a), kb = rows.key(b);
    return std::tie(ka, rows.pane[a], rows.cut[a]) < std::tie(kb, rows.pane[b], rows.cut[b]);
  });
  return idx;
}

template <class Exec>
HostRows run_reduce(Exec& exec, const HostRows& rows, Partials<Exec>& in, Partials<Exec>& out,
                    detail::ReduceScratch<Exec>& scratch) {
  upload_rows(exec, rows, in);
  // Poisoned output of at least as many rows as there are groups (reduce keeps its memory).
  out.resize_discard(rows.size());
  poison_partials(exec, out.view());
  detail::reduce_partials(exec, in.view(), make_states(kAllOps), out, scratch);
  return download_rows(exec, out.view());
}

void check_reduce(const HostRows& got, const HostRows& base, const std::vector<RefGroup>& want) {
  for (const HostRows* run : {&got, &base}) {
    SCOPED_TRACE(run == &got ? "device executor" : "host executor");
    const HostRows& r = *run;
    ASSERT_EQ(r.size(), want.size());
    // Documented order: (hash, key words, pane, cut) strictly increasing.
    for (std::size_t i = 1; i < r.size(); ++i) {
      const Key a = r.key(i - 1), b = r.key(i);
      ASSERT_TRUE(std::tie(r.hash[i - 1], a, r.pane[i - 1], r.cut[i - 1]) <
                  std::tie(r.hash[i], b, r.pane[i], r.cut[i]))
          << "output rows " << i - 1 << " and " << i << " out of order or not merged";
    }
    const std::vector<std::size_t> order = canonical_order(r);
    for (std::size_t g = 0; g < want.size(); ++g) {
      const std::size_t i = order[g];
      ASSERT_EQ(r.key(i), want[g].key) << "group " << g;
      ASSERT_EQ(r.pane[i], want[g].pane) << "group " << g;
      ASSERT_EQ(r.cut[i], want[g].cut) << "group " << g;
      ASSERT_EQ(r.hash[i], want[g].hash) << "group " << g;
      for (std::size_t s = 0; s < kAllOps.size(); ++s)
        ASSERT_TRUE(state_close(kAllOps[s], r.state(i, s), want[g].states.value[s],
                                want[g].states.magnitude[s]))
            << "group " << g << " state " << s;
    }
  }
  // The order is total: device and host rows line up one to one.
  ASSERT_EQ(got.hash, base.hash);
  ASSERT_EQ(got.keys, base.keys);
  ASSERT_EQ(got.pane, base.pane);
  ASSERT_EQ(got.cut, base.cut);
  const std::vector<std::size_t> order = canonical_order(base);
  for (std::size_t g = 0; g < want.size(); ++g) {
    const std::size_t i = order[g];
    for (std::size_t s = 0; s < kAllOps.size(); ++s)
      ASSERT_TRUE(
          state_close(kAllOps[s], got.state(i, s), base.state(i, s), want[g].states.magnitude[s]))
          << "device vs host, group " << g << " state " << s;
  }
}

class ReducePartialsGpu : public GpuTestWithParam<RowsParams> {};

TEST_P(ReducePartialsGpu, MatchesHostAndSortAndFold) {
  const RowsParams p = GetParam();
  SLUICE_GPU_RNG(rng);
  const HostRows rows = random_partials(p, rng);
  const std::vector<RefGroup> want = reference<RefState>(rows);
  if (p.rows >= 1000 && p.keys > 1) {
    ASSERT_GT(want.size(), 1u) << "premise: several groups";
  }
  DevExec dev;
  detail::HostExec host;
  const int states = static_cast<int>(kAllOps.size());
  Partials<DevExec> din(dev, p.key_words, states), dout(dev, p.key_words, states);
  Partials<detail::HostExec> hin(host, p.key_words, states), hout(host, p.key_words, states);
  detail::ReduceScratch<DevExec> dscratch(dev);
  detail::ReduceScratch<detail::HostExec> hscratch(host);
  const HostRows got = run_reduce(dev, rows, din, dout, dscratch);
  const HostRows base = run_reduce(host, rows, hin, hout, hscratch);
  check_reduce(got, base, want);
}

INSTANTIATE_TEST_SUITE_P(
    SizesKeysSkew, ReducePartialsGpu,
    ::testing::Values(
        RowsParams{0, 1, KeyDist::uniform, 1}, RowsParams{1, 1, KeyDist::uniform, 2},
        RowsParams{31, 1, KeyDist::uniform, 1}, RowsParams{31, 100, KeyDist::uniform, 2},
        RowsParams{1000, 100, KeyDist::zipf, 1}, RowsParams{1000, 100000, KeyDist::uniform, 2},
        RowsParams{kLarge, 1, KeyDist::uniform, 1}, RowsParams{kLarge, 100, KeyDist::zipf, 2},
        RowsParams{kLarge, 100000, KeyDist::zipf, 1},
        RowsParams{kLarge, 10000000, KeyDist::uniform, 2},
        RowsParams{kHuge, 100000, KeyDist::zipf, 1},
        RowsParams{kHuge, 10000000, KeyDist::uniform, 1},
        // Forced hash collisions: equal hashes never merge distinct keys.
        RowsParams{1000, 100, KeyDist::uniform, 2, 0x7},
        RowsParams{100000, 5000, KeyDist::zipf, 1, 0x7},
        RowsParams{20000, 1000, KeyDist::uniform, 2, 0x0}));

using ReducePartialsGpuCases = GpuTest;

TEST_F(ReducePartialsGpuCases, ReusesScratchAndOutput) {
  SLUICE_GPU_RNG(rng);
  DevExec dev;
  detail::HostExec host;
  Partials<DevExec> din(dev, 2, 6), dout(dev, 2, 6);
  Partials<detail::HostExec> hin(host, 2, 6), hout(host, 2, 6);
  detail::ReduceScratch<DevExec> dscratch(dev);
  detail::ReduceScratch<detail::HostExec> hscratch(host);
  for (std::size_t n : {100000u, 31u, 0u, 1000u, 1u, 20000u}) {
    SCOPED_TRACE(::testing::Message() << n << " rows");
    const HostRows rows = random_partials(RowsParams{n, 1 + n / 10, KeyDist::zipf, 2}, rng);
    const HostRows got = run_reduce(dev, rows, din, dout, dscratch);
    const HostRows base = run_reduce(host, rows, hin, hout, hscratch);
    check_reduce(got, base, reference<RefState>(rows));
    if (HasFatalFailure()) return;
  }
}

// =============================================================================================
// partition_partials and unpack_partials

using detail::Partitioner;

/// Rows whose first key word suits the partitioner: integers around the boundaries (negative
/// too), doubles (some on a boundary, some -0.0), or key numbers drawn from `dist`.
HostRows random_partition_rows(std::size_t n, int key_words, std::size_t keys, KeyDist dist,
                               PartKind kind, std::mt19937_64& rng) {
  HostRows rows;
  rows.key_words = key_words;
  rows.state_words = 3;
  rows.reserve(n);
  KeyDrawer draw(dist, keys);
  const std::uint64_t salt = rng();
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t key_number = draw(rng);
    Key k = key_words_of(key_number, key_words, salt);
    if (kind == PartKind::range_i64 || kind == PartKind::key3 || kind == PartKind::key7) {
      const std::int64_t edge[] = {-501, -500, -1, 0, 1, 2, 699, 700, 701};
      k[0] = static_cast<std::uint64_t>(
          rng() % 4 == 0 ? edge[rng() % 9] : static_cast<std::int64_t>(key_number % 3001) - 1500);
    } else if (kind == PartKind::range_f64) {
      const double edge[] = {-2.5, 0.0, -0.0, 3.0, 7.75, -1e300, 1e300};
      const double v =
          rng() % 4 == 0 ? edge[rng() % 7] : static_cast<double>(key_number % 2001) / 100.0 - 10.0;
      k[0] = rng() % 2 ? detail::float_key_word(v) : dbits(v);
    }
    const auto pane = static_cast<std::int64_t>(rng() % 2001) - 1000;
    const std::uint32_t cut = rng() % 10 == 0 ? kLateCut : static_cast<std::uint32_t>(rng() % 4);
    rows.push(k, pane, cut, {rng(), rng(), rng()});
  }
  return rows;
}

struct PartitionRun {
  std::vector<std::size_t> sizes;
  std::vector<std::uint64_t> packed;  // n * width + 1 words
  HostRows all;                       // unpack of the whole buffer
  std::vector<HostRows> slices;       // unpack of each destination's rows
};

template <class Exec>
PartitionRun run_partition(Exec& exec, const HostRows& rows, const Partitioner& p,
                           detail::PartitionScratch<Exec>& scratch) {
  Partials<Exec> in(exec, rows.key_words, rows.state_words);
  upload_rows(exec, rows, in);
  const std::size_t width = detail::packed_row_words(rows.key_words, rows.state_words);
  auto packed = poisoned_buffer<std::uint64_t>(exec, rows.size() * width + 1);
  PartitionRun run;
  run.sizes = detail::partition_partials(exec, in.view(), p, packed.data(), scratch);
  run.packed = download(exec, packed.data(), rows.size() * width + 1);
  Partials<Exec> back(exec, rows.key_words, rows.state_words);
  back.resize_discard(rows.size());
  poison_partials(exec, back.view());
  detail::unpack_partials(exec, packed.data(), rows.size(), back);
  run.all = download_rows(exec, back.view());
  std::size_t offset = 0;
  for (std::size_t size : run.sizes) {
    poison_partials(exec, back.view());
    detail::unpack_partials(exec, packed.data() + offset * width, size, back);
    run.slices.push_back(download_rows(exec, back.view()));
    offset += size;
  }
  return run;
}

bool same_rows(const HostRows& a, const HostRows& b) {
  return a.hash == b.hash && a.keys == b.keys && a.pane == b.pane && a.cut == b.cut &&
         a.states == b.states;
}

/// Rows `idx` of `rows`, in that order.
HostRows select_rows(const HostRows& rows, const std::vector<std::size_t>& idx) {
  HostRows out;
  out.key_words = rows.key_words;
  out.state_words = rows.state_words;
  for (std::size_t i : idx) {
    out.hash.push_back(rows.hash[i]);
    for (int j = 0; j < rows.key_words; ++j) out.keys.push_back(rows.keys[i * rows.key_words + j]);
    out.pane.push_back(rows.pane[i]);
    out.cut.push_back(rows.cut[i]);
    for (int s = 0; s < rows.state_words; ++s) out.states.push_back(rows.state(i, s));
  }
  return out;
}

void check_partition(const HostRows& rows, PartKind kind,
                     detail::PartitionScratch<DevExec>& dscratch,
                     detail::PartitionScratch<detail::HostExec>& hscratch, DevExec& dev,
                     detail::HostExec& host) {
  SCOPED_TRACE(to_string(kind));
  const Partitioner p = make_partitioner(kind);
  const std::size_t width = detail::packed_row_words(rows.key_words, rows.state_words);
  std::vector<std::vector<std::size_t>> dest(static_cast<std::size_t>(p.parts));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const int d = ref_destination(kind, p, rows, i);
    ASSERT_GE(d, 0);
    ASSERT_LT(d, p.parts);
    dest[d].push_back(i);
  }
  std::vector<std::uint64_t> want;
  want.reserve(rows.size() * width + 1);
  std::vector<std::size_t> in_dest_order;
  for (const std::vector<std::size_t>& d : dest)
    for (std::size_t i : d) {
      append_packed(rows, i, want);
      in_dest_order.push_back(i);
    }
  want.push_back(poison_value<std::uint64_t>());  // nothing written past the packed rows
  const HostRows want_all = select_rows(rows, in_dest_order);

  const PartitionRun got = run_partition(dev, rows, p, dscratch);
  const PartitionRun base = run_partition(host, rows, p, hscratch);
  for (const PartitionRun* run : {&got, &base}) {
    SCOPED_TRACE(run == &got ? "device executor" : "host executor");
    ASSERT_EQ(run->sizes.size(), dest.size());
    for (std::size_t d = 0; d < dest.size(); ++d)
      ASSERT_EQ(run->sizes[d], dest[d].size()) << "destination " << d;
    ASSERT_EQ(run->packed.size(), want.size());
    for (std::size_t k = 0; k < want.size(); ++k)
      ASSERT_EQ(run->packed[k], want[k]) << "packed word " << k << " (row " << k / width << ")";
    ASSERT_TRUE(same_rows(run->all, want_all)) << "unpack(pack(rows)) differs";
    for (std::size_t d = 0; d < dest.size(); ++d)
      ASSERT_TRUE(same_rows(run->slices[d], select_rows(rows, dest[d])))
          << "unpack of destination " << d << " differs";
  }
}

struct PartitionParams {
  std::size_t rows;
  int key_words;
  std::size_t keys;
  KeyDist dist;
};

std::ostream& operator<<(std::ostream& os, const PartitionParams& p) {
  return os << p.rows << " rows, " << p.key_words << " key words, " << p.keys << " keys "
            << to_string(p.dist);
}

class PartitionGpu : public GpuTestWithParam<PartitionParams> {};

TEST_P(PartitionGpu, EveryPartitionerMatchesHostAndReference) {
  const PartitionParams prm = GetParam();
  SLUICE_GPU_RNG(rng);
  DevExec dev;
  detail::HostExec host;
  detail::PartitionScratch<DevExec> dscratch(dev);
  detail::PartitionScratch<detail::HostExec> hscratch(host);
  for (PartKind kind : {PartKind::hash1, PartKind::hash3, PartKind::hash8, PartKind::hash64,
                        PartKind::key3, PartKind::key7, PartKind::range_i64, PartKind::range_f64}) {
    if (prm.rows >= kLarge && kind != PartKind::hash64 && kind != PartKind::range_f64 &&
        kind != PartKind::key7)
      continue;
    check_partition(random_partition_rows(prm.rows, prm.key_words, prm.keys, prm.dist, kind, rng),
                    kind, dscratch, hscratch, dev, host);
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(SizesKeysSkew, PartitionGpu,
                         ::testing::Values(PartitionParams{0, 1, 1, KeyDist::uniform},
                                           PartitionParams{1, 2, 1, KeyDist::uniform},
                                           PartitionParams{31, 1, 100, KeyDist::uniform},
                                           PartitionParams{511, 2, 100, KeyDist::zipf},
                                           PartitionParams{512, 1, 100, KeyDist::uniform},
                                           PartitionParams{513, 2, 100000, KeyDist::uniform},
                                           PartitionParams{1000, 1, 1, KeyDist::uniform},
                                           PartitionParams{kLarge, 2, 100000, KeyDist::zipf},
                                           PartitionParams{kLarge, 1, 10000000, KeyDist::uniform},
                                           PartitionParams{kHuge, 1, 100, KeyDist::hot90}));

}  // namespace
}  // namespace sluice::test
