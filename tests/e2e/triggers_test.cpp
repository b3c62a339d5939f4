// Triggers end to end: early firings of the open windows (TriggerSpec::every) against the
// brute-force reference, which emits every open window's value after each round.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "../api/expect_error.hpp"
#include "harness.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

struct TriggerCase {
  const char* name;
  WindowSpec window;
  Duration lateness;
};

class EveryRound : public ::testing::TestWithParam<TriggerCase> {};

// An interval of 1 ns: every round outlasts it, so every round fires the open windows early,
// which makes the emissions deterministic.
TEST_P(EveryRound, EveryRoundEmitsTheOpenWindowsSoFarAndTheFinalFiringStillComes) {
  const TriggerCase t = GetParam();
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{1500}, std::size_t{5003}}) {
    StreamOptions o;
    o.events = n;
    o.keys = 7;
    o.seed = n + 3;
    const std::vector<Event> events = generate(o);
    Case c;
    c.query = Query()
                  .filter(col("status") != lit(404))
                  .event_time("ts", 300ms)
                  .allowed_lateness(t.lateness)
                  .key_by({"host"})
                  .window(t.window)
                  .trigger(TriggerSpec::every(1ns))
                  .aggregate({count(), sum(col("cpu")), max(col("zone"))});
    c.ref.window = t.window;
    c.ref.delay = 300;
    c.ref.lateness = static_cast<std::int64_t>(t.lateness / 1ms);
    c.ref.filter = [](const Event& e) { return e.status != 404; };
    c.ref.keys = key_host;
    c.ref.aggregates = {
        {AggKind::count, {}}, {AggKind::sum, ev_cpu}, {AggKind::max, [](const Event& e) -> Value {
                                                         return std::int64_t{e.zone};
                                                       }}};
    c.ref.early_every_round = true;
    c.read_columns = {"ts", "host", "zone", "cpu", "status"};
    for (int workers : {1, 2, 3}) {
      SCOPED_TRACE(std::string(t.name) + ", " + std::to_string(n) + " events");
      RunResult run;
      const RefResult ref = run_and_check(c, events, workers, 400, PushMode::builder, &run);
      if (n > 1000) {
        EXPECT_GT(ref.updates, 0u);
      }
      EXPECT_EQ(run.metrics.window_updates, ref.updates);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Windows, EveryRound,
    ::testing::Values(TriggerCase{"tumbling", WindowSpec::tumbling(1s), 0s},
                      TriggerCase{"tumbling_lateness", WindowSpec::tumbling(700ms), 2s},
                      TriggerCase{"sliding", WindowSpec::sliding(2s, 500ms), 1s},
                      TriggerCase{"global", WindowSpec::global(), 0s}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Triggers, ProcessingTimeFiresWhileTheInputIsSlow) {
  // 40 ms between pushes and an early firing every 10 ms of wall time: open windows are
  // emitted as updates before the input ends, and the final values are the reference's.
  StreamOptions o;
  o.events = 2000;
  o.keys = 5;
  const std::vector<Event> events = generate(o);
  auto result = std::make_shared<RunResult>();
  auto mutex = std::make_shared<std::mutex>();
  const Query q = with_sinks(Query()
                                 .event_time("ts", 200ms)
                                 .key_by({"host"})
                                 .window(WindowSpec::global())
                                 .trigger(parse_trigger("every:10ms"))
                                 .aggregate({count()}),
                             result, mutex);
  Engine engine(make_config(1, 100));
  Job job = engine.start(event_schema(), q);
  BatchBuilder b = job.make_builder();
  for (std::size_t at = 0; at < events.size(); at += 100) {
    for (std::size_t i = at; i < std::min(events.size(), at + 100); ++i)
      detail_harness::set_event(b, events[i]);
    job.push(b.finish());
    std::this_thread::sleep_for(40ms);
  }
  const std::uint64_t updates_before_finish = [&] {
    std::lock_guard lock(*mutex);
    std::uint64_t u = 0;
    for (const auto& call : result->calls)
      for (const WindowResult& r : call) u += r.update ? 1 : 0;
    return u;
  }();
  job.finish();
  EXPECT_GT(updates_before_finish, 0u) << "no early firing while the input was slow";
  std::map<std::string, std::int64_t> want;
  for (const Event& e : events) ++want[e.host];
  std::map<std::string, std::int64_t> got;
  for (const auto& call : result->calls)
    for (const WindowResult& r : call)
      got[std::get<std::string>(r.keys.at(0))] = std::get<std::int64_t>(r.values.at(0));
  EXPECT_EQ(got, want);
  EXPECT_FALSE(result->calls.back().front().update) << "the last firing is the final one";
}

TEST(Triggers, BadUseIsAClearError) {
  const auto message = [](auto&& f, ErrorCode code) { return test::error_message(f, code); };
  EXPECT_TRUE(test::contains(message([] { parse_trigger("every:0s"); }, ErrorCode::parse_error),
                             "must be positive"));
  EXPECT_TRUE(test::contains(message([] { parse_trigger("count:5"); }, ErrorCode::parse_error),
                             "expected watermark or every:INTERVAL"));
  EXPECT_TRUE(test::contains(
      message([] { Query().trigger(TriggerSpec::every(0s)); }, ErrorCode::invalid_argument),
      "positive interval"));
  EXPECT_TRUE(test::contains(
      message(
          [] {
            Engine engine(make_config(1, 64));
            engine.start(event_schema(),
                         Query().filter(col("cpu") > lit(1)).trigger(TriggerSpec::every(1s)));
          },
          ErrorCode::invalid_argument),
      "a trigger needs a windowed query"));
  EXPECT_EQ(parse_trigger(" watermark ").kind, TriggerSpec::Kind::watermark);
  EXPECT_EQ(parse_trigger("every:5s").interval, Duration(5s));
}

}  // namespace
}  // namespace sluice::e2e
