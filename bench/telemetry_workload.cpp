// Telemetry workload: event generation (untimed) and the timed push of batches through a Job.
#include "bench/telemetry_workload.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <set>

#include "bench/device_memory.hpp"
#include "bench/json_writer.hpp"
#include "host/query_compiler.hpp"

namespace sluice::bench {
namespace {

constexpr std::int64_t kStartMs = 1'700'000'000'000;  // 2023-11-14, any fixed epoch will do

// Counter-based generator: row i's numbers do not depend on other rows, so generation is
// parallel and deterministic for a seed.
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform in [0, n) from 32 random bits (Lemire's multiply-shift).
std::uint32_t below(std::uint32_t bits, std::uint64_t n) {
  return static_cast<std::uint32_t>((static_cast<std::uint64_t>(bits) * n) >> 32);
}

}  // namespace

Schema telemetry_schema() {
  return Schema({{"ts", DataType::timestamp(TimeUnit::ms)},
                 {"host", TypeId::string},
                 {"cpu", TypeId::f32},
                 {"status", TypeId::i32}});
}

std::string host_name(std::uint32_t code) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "host-%06u", code);
  return buf;
}

const char* to_string(FeedMode mode) noexcept {
  return mode == FeedMode::resident ? "resident" : "host-fed";
}

TelemetryData generate_telemetry(const TelemetryOptions& options, HostMemory memory) {
  TelemetryData data;
  const std::size_t n = options.events;
  data.keys = options.keys;
  data.memory = memory;
  // One allocation, 8-byte column first: ts | host | cpu | status. Not zeroed: every byte is
  // written below by the thread that generates its rows (first touch).
  const std::size_t bytes = n * kBytesPerEvent;
  if (memory == HostMemory::pinned)
    data.storage = allocate_pinned(bytes);
  else
    data.storage = std::shared_ptr<std::byte>(new std::byte[bytes > 0 ? bytes : 1],
                                              std::default_delete<std::byte[]>());
  std::byte* base = data.storage.get();
  data.ts = {reinterpret_cast<std::int64_t*>(base), n};
  data.host = {reinterpret_cast<std::uint32_t*>(base + 8 * n), n};
  data.cpu = {reinterpret_cast<float*>(base + 12 * n), n};
  data.status = {reinterpret_cast<std::int32_t*>(base + 16 * n), n};

  const std::uint64_t rate = std::max<std::uint64_t>(1, options.time_rate);
  std::uint64_t passing = 0;
#pragma omp parallel for schedule(static) reduction(+ : passing)
  for (std::int64_t s = 0; s < static_cast<std::int64_t>(n); ++s) {
    const auto i = static_cast<std::uint64_t>(s);
    const std::uint64_t a = splitmix64(options.seed ^ (2 * i));
    const std::uint64_t b = splitmix64(options.seed ^ (2 * i + 1));
    const auto nominal = static_cast<std::int64_t>(i * 1000 / rate);
    const auto jitter = static_cast<std::int64_t>(below(static_cast<std::uint32_t>(a), kJitterMs));
    data.ts[i] = kStartMs + nominal - jitter;
    data.host[i] = below(static_cast<std::uint32_t>(a >> 32), options.keys);
    data.cpu[i] = static_cast<float>(static_cast<std::uint32_t>(b) >> 8) * (100.0f / 16777216.0f);
    const std::uint32_t roll = below(static_cast<std::uint32_t>(b >> 32), 100);
    data.status[i] = roll < 90 ? 200 : (roll < 95 ? 404 : 500);
    passing += data.status[i] == 200 && data.cpu[i] > 10.0f ? 1 : 0;
  }
  data.passing = passing;
  return data;
}

namespace {

void write_array(const std::filesystem::path& path, const void* data, std::size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  if (!out) throw Error(ErrorCode::io_error, "cannot write " + path.string());
}

}  // namespace

void dump_telemetry(const TelemetryData& data, const TelemetryOptions& options,
                    const std::string& dir) {
  const std::filesystem::path root(dir);
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) throw Error(ErrorCode::io_error, "cannot create " + dir + ": " + ec.message());
  const std::size_t n = data.size();
  write_array(root / "ts.i64", data.ts.data(), n * sizeof(std::int64_t));
  write_array(root / "host.u32", data.host.data(), n * sizeof(std::uint32_t));
  write_array(root / "cpu.f32", data.cpu.data(), n * sizeof(float));
  write_array(root / "status.i32", data.status.data(), n * sizeof(std::int32_t));
  JsonWriter j;
  j.begin_object();
  j.member("events", static_cast<std::uint64_t>(n))
      .member("keys", static_cast<std::uint64_t>(options.keys))
      .member("seed", options.seed)
      .member("time_rate", options.time_rate)
      .member("passing", data.passing)
      .member("host_names", "host-%06u (host.u32 holds the number)")
      .member("window_ms", static_cast<std::uint64_t>(10'000))
      .member("max_delay_ms", static_cast<std::uint64_t>(kMaxDelayMs))
      .member("filter", "status = 200 AND cpu > 10")
      .member("aggregates", "count, sum(cpu), max(cpu)");
  j.key("files").begin_object();
  j.member("ts", "ts.i64")
      .member("host", "host.u32")
      .member("cpu", "cpu.f32")
      .member("status", "status.i32");
  j.end_object();
  j.end_object();
  std::ofstream meta(root / "meta.json");
  meta << j.str();
  if (!meta) throw Error(ErrorCode::io_error, "cannot write " + (root / "meta.json").string());
}

/// The broadcast input of TelemetryOptions::broadcast.
Schema limits_schema() { return Schema({{"host", TypeId::string}, {"max_cpu", TypeId::f64}}); }

Query telemetry_query(BatchSink sink, bool broadcast, TriggerSpec trigger,
                      const std::string& like) {
  Query q;
  q.trigger(trigger);
  if (broadcast) q.broadcast("limits", limits_schema(), "host");
  Expr keep =
      col("status") == lit(200) && col("cpu") > (broadcast ? col("limits.max_cpu") : lit(10));
  if (!like.empty()) keep = keep && sluice::like(col("host"), like);
  q.filter(keep)
      .key_by({"host"})
      .event_time("ts", std::chrono::milliseconds(kMaxDelayMs))
      .window(WindowSpec::tumbling(std::chrono::seconds(10)))
      .aggregate({count(), sum(col("cpu")), max(col("cpu"))})
      .sink(std::move(sink));
  return q;
}

std::size_t read_bytes_per_event() {
  const Schema schema = telemetry_schema();
  StringDictionary dictionary;
  const detail::CompiledQuery compiled = detail::compile_query(
      schema, telemetry_query([](const Batch&) {}), dictionary, 1, PartitionSpec{});
  std::size_t bytes = 0;
  for (std::size_t c : compiled.read_columns) bytes += type_width(schema.field(c).type.id);
  return bytes;
}

namespace {

// Filled by the result sink (one engine thread at a time), read after finish().
struct Tally {
  std::uint64_t rows = 0;
  std::uint64_t updates = 0;  ///< early rows (not in the sums)
  std::uint64_t count_sum = 0;
  double cpu_sum = 0;
  double cpu_max = -std::numeric_limits<double>::infinity();
  std::set<std::int64_t> windows;
};

/// Reads the result columns: window_start (0), then after the host key count (3), sum(cpu) (4)
/// and max(cpu) (5).
BatchSink tally_sink(Tally* tally) {
  return [tally](const Batch& results) {
    const std::span<const std::int64_t> start = results.values<std::int64_t>(0);
    const std::span<const std::int64_t> counts = results.values<std::int64_t>(3);
    const std::span<const double> sums = results.values<double>(4);
    const std::span<const double> maxima = results.values<double>(5);
    const std::span<const std::uint8_t> update = results.values<std::uint8_t>(6);
    std::int64_t last = INT64_MIN;
    for (std::size_t i = 0; i < results.rows(); ++i) {
      if (update[i] != 0) {  // an early firing: the final row follows
        ++tally->updates;
        continue;
      }
      ++tally->rows;
      tally->count_sum += static_cast<std::uint64_t>(counts[i]);
      tally->cpu_sum += sums[i];
      tally->cpu_max = std::max(tally->cpu_max, maxima[i]);
      if (start[i] != last) tally->windows.insert(last = start[i]);
    }
  };
}

}  // namespace

RunResult run_telemetry(const Engine& engine, const TelemetryData& data,
                        const TelemetryOptions& options) {
  const auto s0 = std::chrono::steady_clock::now();
  const Schema schema = telemetry_schema();
  Tally tally;
  Job job = engine.start(schema, telemetry_query(tally_sink(&tally), options.broadcast,
                                                 options.trigger, options.like));

  // Intern every host name into the job's dictionary so that the generated codes are the
  // job's own codes; remap only if the dictionary already held other strings.
  const DictionaryPtr dictionary = job.make_builder().dictionary(1);
  std::vector<std::uint32_t> remap(data.keys);
  bool identity = true;
  for (std::uint32_t k = 0; k < data.keys; ++k) {
    remap[k] = dictionary->intern(host_name(k));
    identity = identity && remap[k] == k;
  }
  std::vector<std::uint32_t> remapped;
  const std::uint32_t* host = data.host.data();
  if (!identity) {
    remapped.resize(data.host.size());
    for (std::size_t i = 0; i < remapped.size(); ++i) remapped[i] = remap[data.host[i]];
    host = remapped.data();
  }

  if (options.broadcast) {
    BatchBuilder limits(limits_schema(), {dictionary, nullptr});
    for (std::uint32_t k = 0; k < data.keys; ++k) {
      limits.set_string(0, host_name(k));
      limits.set_double(1, 10.0);
      limits.end_row();
    }
    job.push_broadcast("limits", limits.finish());
  }

  std::vector<Batch> batches;
  const std::size_t n = data.size();
  const std::size_t step = std::max<std::size_t>(1, options.batch_rows);
  const auto rank = static_cast<std::size_t>(engine.ranks().rank());
  const auto ranks = static_cast<std::size_t>(engine.ranks().size());
  for (std::size_t begin = rank * step; begin < n; begin += step * ranks) {
    const std::size_t rows = std::min(step, n - begin);
    batches.push_back(Batch::wrap(
        schema,
        {data.ts.data() + begin, host + begin, data.cpu.data() + begin, data.status.data() + begin},
        rows, {nullptr, dictionary, nullptr, nullptr}));
  }

  const auto t0 = std::chrono::steady_clock::now();
  for (const Batch& batch : batches) job.push(batch);
  job.finish();
  const auto t1 = std::chrono::steady_clock::now();

  const Metrics m = job.total_metrics();
  RunResult r;
  r.ranks = static_cast<int>(ranks);
  r.exchange_bytes = m.exchange_bytes;
  r.partial_bytes = m.partial_bytes;
  r.round_seconds = m.round_seconds;
  r.exchange_seconds = m.exchange_seconds;
  r.round_duration = m.round_duration;
  r.emission_latency = m.emission_latency;
  r.seconds = std::chrono::duration<double>(t1 - t0).count();
  r.setup_seconds = std::chrono::duration<double>(t0 - s0).count();
  r.events_in = m.events_in;
  r.events_timed = m.events_in;
  r.passed = m.events_in - m.events_filtered;
  r.late = m.events_late;
  r.result_rows = tally.rows;
  r.update_rows = tally.updates;
  r.windows = tally.windows.size();
  r.count_sum = tally.count_sum;
  r.cpu_sum = tally.cpu_sum;
  r.cpu_max = tally.cpu_max;
  r.batches = m.batches;
  return r;
}

}  // namespace sluice::bench
