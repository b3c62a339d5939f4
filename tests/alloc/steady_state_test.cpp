// Hot-path discipline: after warm-up, steady-state rounds of a job make no heap allocations.
// This binary replaces the global operator new, and (without AddressSanitizer, which owns them)
// malloc and its family, to count them on every thread: ingest, the dispatcher, workers,
// OpenMP threads, emission. So it holds only these tests.
#include <execinfo.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "sluice/sluice.hpp"

namespace {

std::atomic<bool> counting{false};
std::atomic<std::uint64_t> allocations{0};
constexpr int kTracesShown = 4;

/// Counts an allocation while counting; prints the first few call stacks to stderr (without
/// allocating: backtrace_symbols_fd writes straight to the descriptor).
void note_allocation(std::size_t bytes) {
  if (!counting.load(std::memory_order_relaxed)) return;
  const std::uint64_t n = allocations.fetch_add(1, std::memory_order_relaxed);
  if (n >= kTracesShown) return;
  char line[96];
  const int len = std::snprintf(line, sizeof line, "--- allocation %llu: %zu bytes\n",
                                static_cast<unsigned long long>(n + 1), bytes);
  if (len > 0) (void)!write(2, line, static_cast<std::size_t>(len));
  void* frames[24];
  const int depth = backtrace(frames, 24);
  backtrace_symbols_fd(frames, depth, 2);
}

}  // namespace

// The C allocator, counted: glibc's own entry points do the work.
#if !defined(__SANITIZE_ADDRESS__)
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);

void* malloc(std::size_t n) {
  note_allocation(n);
  return __libc_malloc(n);
}
void* calloc(std::size_t count, std::size_t n) {
  note_allocation(count * n);
  return __libc_calloc(count, n);
}
void* realloc(void* p, std::size_t n) {
  note_allocation(n);
  return __libc_realloc(p, n);
}
void free(void* p) { __libc_free(p); }
void* aligned_alloc(std::size_t alignment, std::size_t n) {
  note_allocation(n);
  return __libc_memalign(alignment, n);
}
void* memalign(std::size_t alignment, std::size_t n) {
  note_allocation(n);
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t n) {
  note_allocation(n);
  *out = __libc_memalign(alignment, n);
  return *out == nullptr ? 12 /* ENOMEM */ : 0;
}
}
#endif

namespace {

/// operator new: counted once (through malloc where malloc is counted, here otherwise).
void* allocate(std::size_t bytes, std::size_t alignment) {
#if defined(__SANITIZE_ADDRESS__)
  note_allocation(bytes);
#endif
  void* p = nullptr;
  if (alignment <= alignof(std::max_align_t)) {
    p = std::malloc(bytes == 0 ? 1 : bytes);
  } else if (posix_memalign(&p, alignment, bytes == 0 ? alignment : bytes) != 0) {
    p = nullptr;
  }
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t n) { return allocate(n, alignof(std::max_align_t)); }
void* operator new[](std::size_t n) { return allocate(n, alignof(std::max_align_t)); }
void* operator new(std::size_t n, std::align_val_t a) {
  return allocate(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return allocate(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n, alignof(std::max_align_t));
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n, alignof(std::max_align_t));
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace sluice {
namespace {

using namespace std::chrono_literals;

/// Telemetry columns: 1 event per ms with up to 2 s of disorder, `keys` hosts.
struct Telemetry {
  std::vector<std::int64_t> ts;
  std::vector<std::uint32_t> host;
  std::vector<float> cpu;
  std::vector<std::int32_t> status;
};

Telemetry make_telemetry(std::size_t n, std::uint32_t keys, bool late, std::mt19937_64& rng) {
  Telemetry t;
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t ts =
        1'000'000 + static_cast<std::int64_t>(i) - static_cast<std::int64_t>(rng() % 2000);
    if (late && rng() % 200 == 0) ts -= static_cast<std::int64_t>(rng() % 30'000);
    t.ts.push_back(ts);
    t.host.push_back(static_cast<std::uint32_t>(rng() % keys));
    t.cpu.push_back(static_cast<float>(rng() % 10000) / 100.0f);
    t.status.push_back(rng() % 10 == 0 ? 500 : 200);
  }
  return t;
}

Schema telemetry_schema() {
  return Schema({{"ts", DataType::timestamp(TimeUnit::ms)},
                 {"host", TypeId::string},
                 {"cpu", TypeId::f32},
                 {"status", TypeId::i32}});
}

struct Case {
  const char* name;
  WindowSpec window;
  std::uint32_t keys;
  int workers;
  bool ordered;
  std::size_t push_rows = 1 << 14;  ///< rows per push: < 1/16 of a batch are copied
  Duration lateness{0};
  bool late_events = false;  ///< one event in 200 up to 30 s late
  bool stateless = false;    ///< filter and projection only
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

class SteadyState : public ::testing::TestWithParam<Case> {};

/// Batches wrapped with the job's dictionary (read in place when large, copied into
/// micro-batches when small) are pushed in two phases: warm-up (tables and pools grow to the
/// stream's size), then as many again with allocations counted, through flush(). The second
/// phase allocates nothing.
TEST_P(SteadyState, RoundsAfterWarmUpAllocateNothing) {
  const Case c = GetParam();
  constexpr std::size_t kBatchRows = 1 << 14;
  constexpr std::size_t kWarmBatches = 24;
  constexpr std::size_t kCountedBatches = 24;
  std::mt19937_64 rng(c.keys);
  const Telemetry t =
      make_telemetry((kWarmBatches + kCountedBatches) * kBatchRows, c.keys, c.late_events, rng);

  EngineConfig config;
  config.backend = Backend::cpu;
  config.workers = c.workers;
  config.batch_rows = kBatchRows;
  config.ordered_results = c.ordered;
  Engine engine(config);
  Query query;
  std::uint64_t rows_out = 0;
  std::uint64_t late_out = 0;
  query.filter(col("status") == lit(200) && col("cpu") > lit(10));
  if (c.stateless) {
    query.map("load", col("cpu") * lit(2)).project({"ts", "host", "load"});
  } else {
    query.key_by({"host"})
        .event_time("ts", 2s)
        .allowed_lateness(c.lateness)
        .window(c.window)
        .aggregate({count(), sum(col("cpu")), max(col("cpu"))})
        .late_sink([&](const Batch& b) { late_out += b.rows(); });
  }
  query.sink([&](const Batch& b) { rows_out += b.rows(); });
  Job job = engine.start(telemetry_schema(), query);
  const DictionaryPtr dict = job.make_builder().dictionary(1);
  for (std::uint32_t k = 0; k < c.keys; ++k) dict->intern("host-" + std::to_string(k));
  const std::size_t pushes_per_batch = kBatchRows / c.push_rows;
  std::vector<Batch> pushes;
  for (std::size_t at = 0; at < t.ts.size(); at += c.push_rows)
    pushes.push_back(
        Batch::wrap(telemetry_schema(),
                    {t.ts.data() + at, t.host.data() + at, t.cpu.data() + at, t.status.data() + at},
                    c.push_rows, {nullptr, dict, nullptr, nullptr}));
  void* frames[4];
  (void)backtrace(frames, 4);  // loads the unwinder before counting starts

  const std::size_t warm_pushes = kWarmBatches * pushes_per_batch;
  for (std::size_t p = 0; p < warm_pushes; ++p) job.push(pushes[p]);
  job.flush();
  const std::uint64_t warm_rows = rows_out;
  counting = true;
  for (std::size_t p = warm_pushes; p < pushes.size(); ++p) job.push(pushes[p]);
  job.flush();
  counting = false;
  const std::uint64_t during = allocations.exchange(0);
  job.finish();
  EXPECT_GT(warm_rows, 0u);
  EXPECT_GT(rows_out, warm_rows) << "the counted rounds fired windows";
  if (c.late_events) {
    EXPECT_GT(late_out, 0u) << "late events reached the late sink";
  }
  EXPECT_EQ(during, 0u) << "heap allocations in " << kCountedBatches
                        << " steady-state batches (the first call stacks are on stderr)";
}

INSTANTIATE_TEST_SUITE_P(
    Queries, SteadyState,
    ::testing::Values(
        Case{"tumbling_100_keys", WindowSpec::tumbling(10s), 100, 1, true},
        Case{"tumbling_5000_keys_unordered", WindowSpec::tumbling(10s), 5000, 1, false},
        Case{"sliding_1000_keys", WindowSpec::sliding(10s, 2s), 1000, 1, true},
        Case{"tumbling_two_workers", WindowSpec::tumbling(10s), 1000, 2, true},
        Case{"small_pushes_copied", WindowSpec::tumbling(10s), 1000, 1, true, 512},
        Case{"late_events_and_updates", WindowSpec::tumbling(10s), 1000, 1, true, 1 << 14, 20s,
             true},
        Case{"stateless", WindowSpec::global(), 1000, 1, true, 1 << 14, 0s, false, true},
        Case{"stateless_two_workers", WindowSpec::global(), 1000, 2, true, 1 << 14, 0s, false,
             true}),
    [](const auto& info) { return std::string(info.param.name); });

/// The counter counts: a test that cannot fail is no test.
TEST(SteadyStateCounter, CountsAllocations) {
  counting = true;
  auto* p = new std::vector<int>(100);
  counting = false;
  delete p;
  EXPECT_GE(allocations.exchange(0), 2u);
}

}  // namespace
}  // namespace sluice
