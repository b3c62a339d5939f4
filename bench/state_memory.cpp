// sluice-bench state: N distinct keys, every one live in one long window, pushed through
// Engine/Job; reports the window state's bytes per live group against the raw state it holds,
// and the process's resident memory growth.
#include "bench/state_memory.hpp"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "bench/json_writer.hpp"
#include "sluice/sluice.hpp"

namespace sluice::bench {
namespace {

struct StateOptions {
  std::uint64_t keys = 10'000'000;
  std::uint64_t events = 20'000'000;
  int threads = 0;
  std::size_t batch_rows = std::size_t{1} << 20;
  std::string json;
};

void print_state_usage(std::ostream& out) {
  out << "usage: sluice-bench state [options]\n"
         "\n"
         "Keeps N distinct keys live: events (ts 1 ms apart, host = event number mod N as a u32\n"
         "column, cpu f32) go through Engine/Job with key_by(host), tumbling(1 day),\n"
         "aggregate(count, sum(cpu), max(cpu)), so that no window fires before finish(). After\n"
         "flush() it reports the window state's live groups and bytes (Metrics), the bytes per\n"
         "group against the raw state each holds (its key word and state words), and the growth\n"
         "of the process's resident and peak memory from before the job.\n"
         "\n"
         "options:\n"
         "  --keys N        distinct keys (default 10000000)\n"
         "  --events N      events, at least N keys (default 2 x keys)\n"
         "  --threads T     OpenMP threads of the worker (default: all cores)\n"
         "  --batch-rows R  micro-batch rows (default 1048576)\n"
         "  --json FILE     also write a machine-readable record to FILE\n";
}

/// kB of a /proc/self/status field ("VmRSS", "VmHWM").
std::uint64_t proc_status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    std::uint64_t kb = 0;
    const char* p = line.c_str() + prefix.size();
    while (*p == ' ' || *p == '\t') ++p;
    std::from_chars(p, line.c_str() + line.size(), kb);
    return kb;
  }
  return 0;
}

std::uint64_t parse_number(std::string_view flag, std::string_view text) {
  std::string digits;
  for (char c : text)
    if (c != '_') digits += c;
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || v == 0)
    throw Error(ErrorCode::invalid_argument,
                std::string(flag) + ": '" + std::string(text) + "' is not a positive number");
  return v;
}

}  // namespace

int run_state_command(const std::vector<std::string_view>& args) {
  StateOptions o;
  bool events_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view flag = args[i];
    if (flag == "-h" || flag == "--help") {
      print_state_usage(std::cout);
      return 0;
    }
    if (i + 1 >= args.size()) {
      std::cerr << "sluice-bench: " << flag << " needs a value\n";
      return 2;
    }
    const std::string_view value = args[++i];
    try {
      if (flag == "--keys") {
        o.keys = parse_number(flag, value);
      } else if (flag == "--events") {
        o.events = parse_number(flag, value);
        events_given = true;
      } else if (flag == "--threads") {
        o.threads = static_cast<int>(parse_number(flag, value));
      } else if (flag == "--batch-rows") {
        o.batch_rows = parse_number(flag, value);
      } else if (flag == "--json") {
        o.json = std::string(value);
      } else {
        std::cerr << "sluice-bench: unknown option " << flag
                  << " (see sluice-bench state --help)\n";
        return 2;
      }
    } catch (const Error& e) {
      std::cerr << "sluice-bench: " << e.what() << "\n";
      return 2;
    }
  }
  if (!events_given) o.events = 2 * o.keys;
  if (o.events < o.keys || o.keys > 0xffffffffULL) {
    std::cerr << "sluice-bench: --events must be at least --keys, and --keys below 2^32\n";
    return 2;
  }
  const std::size_t n = o.events;
  // Events from midnight on, 1 ms apart: up to 86.4 M events share the day's window.
  constexpr std::int64_t kDayStart = 19'675LL * 86'400'000;
  if (n > 86'400'000) {
    std::cerr << "sluice-bench: --events at most 86400000 (one day of 1 ms apart)\n";
    return 2;
  }
  std::vector<std::int64_t> ts(n);
  std::vector<std::uint32_t> host(n);
  std::vector<float> cpu(n);
  for (std::size_t i = 0; i < n; ++i) {
    ts[i] = kDayStart + static_cast<std::int64_t>(i);
    host[i] = static_cast<std::uint32_t>(i % o.keys);
    cpu[i] = static_cast<float>((i * 2654435761u) % 10000) / 100.0f;
  }
  const Schema schema(
      {{"ts", DataType::timestamp(TimeUnit::ms)}, {"host", TypeId::u32}, {"cpu", TypeId::f32}});
  std::uint64_t rows_out = 0;
  Query q;
  q.key_by({"host"})
      .event_time("ts")
      .window(WindowSpec::tumbling(std::chrono::hours(24)))
      .aggregate({count(), sum(col("cpu")), max(col("cpu"))})
      .sink([&](const Batch& b) { rows_out += b.rows(); });
  EngineConfig config;
  config.backend = Backend::cpu;
  config.workers = 1;
  config.threads = o.threads;
  config.batch_rows = o.batch_rows;
  const std::uint64_t rss_before = proc_status_kb("VmRSS");
  const std::uint64_t hwm_before = proc_status_kb("VmHWM");
  Engine engine(config);
  Job job = engine.start(schema, q);
  for (std::size_t at = 0; at < n; at += o.batch_rows) {
    const std::size_t rows = std::min(o.batch_rows, n - at);
    job.push(Batch::wrap(schema, {ts.data() + at, host.data() + at, cpu.data() + at}, rows));
  }
  job.flush();
  const Metrics m = job.metrics();
  const std::uint64_t rss_live = proc_status_kb("VmRSS");
  const std::uint64_t hwm_live = proc_status_kb("VmHWM");
  job.finish();
  const bool ok = m.state_groups == o.keys && rows_out == o.keys;
  constexpr std::uint64_t kRawBytes = 8 * (1 + 3);  // the key word and three state words
  const double groups = static_cast<double>(m.state_groups);
  const double per_group = groups > 0 ? static_cast<double>(m.state_bytes) / groups : 0;
  const double rss_per_group =
      groups > 0 ? static_cast<double>(rss_live - rss_before) * 1024.0 / groups : 0;
  const double hwm_per_group =
      groups > 0
          ? static_cast<double>(hwm_live > hwm_before ? hwm_live - rss_before : 0) * 1024.0 / groups
          : 0;
  std::printf(
      "sluice-bench state: %llu keys, %llu events, batch rows %zu\n"
      "live groups     %llu (one pane: every key's window is open)\n"
      "state bytes     %llu  = %.1f bytes per live group (Metrics::state_bytes)\n"
      "raw state       %llu bytes per group (key word + 3 state words)  ratio %.2f\n"
      "resident growth %.1f bytes per live group from before the job (peak %.1f)\n"
      "results         %llu rows at finish: %s\n",
      static_cast<unsigned long long>(o.keys), static_cast<unsigned long long>(n), o.batch_rows,
      static_cast<unsigned long long>(m.state_groups),
      static_cast<unsigned long long>(m.state_bytes), per_group,
      static_cast<unsigned long long>(kRawBytes), per_group / kRawBytes, rss_per_group,
      hwm_per_group, static_cast<unsigned long long>(rows_out), ok ? "OK" : "MISMATCH");
  if (!o.json.empty()) {
    JsonWriter j;
    j.begin_object();
    j.member("benchmark", "state")
        .member("keys", o.keys)
        .member("events", static_cast<std::uint64_t>(n))
        .member("live_groups", m.state_groups)
        .member("state_bytes", m.state_bytes)
        .member("bytes_per_group", per_group)
        .member("raw_bytes_per_group", kRawBytes)
        .member("ratio_to_raw", per_group / kRawBytes)
        .member("resident_growth_per_group", rss_per_group)
        .member("peak_growth_per_group", hwm_per_group)
        .member("ok", ok);
    j.end_object();
    std::ofstream(o.json) << j.str();
  }
  return ok ? 0 : 3;
}

}  // namespace sluice::bench
