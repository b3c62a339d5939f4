// Consumer of an installed Sluice: counts events per key in a tumbling window and checks them.
#include <sluice/sluice.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>

int main() {
  using namespace sluice;
  Schema schema({{"ts", DataType::timestamp(TimeUnit::ms)}, {"key", TypeId::string}});
  std::map<std::pair<std::int64_t, std::string>, std::int64_t> counts;
  Query query;
  query.key_by({"key"})
      .event_time("ts")
      .window(WindowSpec::tumbling(std::chrono::seconds(1)))
      .aggregate({count()})
      .sink([&](std::span<const WindowResult> rows) {
        for (const WindowResult& r : rows)
          counts[{r.window_start, std::get<std::string>(r.keys[0])}] =
              std::get<std::int64_t>(r.values[0]);
      });
  EngineConfig config;
  config.backend = Backend::cpu;
  Engine engine(config);
  Job job = engine.start(schema, query);
  for (std::int64_t t = 0; t < 3000; t += 10)
    job.push_row({Value(t), Value(std::string(t % 20 == 0 ? "even" : "odd"))});
  job.finish();
  const bool ok = counts.size() == 6 && counts[{0, "even"}] == 50 && counts[{2000, "odd"}] == 50;
  std::printf("consumer: %zu windows, %s\n", counts.size(), ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
