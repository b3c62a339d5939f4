// Triggers end to end against the brute-force reference: early firings of every open window
// (TriggerSpec::every) and of the (window, key)s whose events passed a count or met a
// condition (TriggerSpec::count, TriggerSpec::on), after each round.
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

std::ostream& operator<<(std::ostream& os, const TriggerCase& c) { return os << c.name; }

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

struct EventTriggerCase {
  const char* name;
  WindowSpec window;
  Duration lateness;
  std::uint64_t count;   ///< count:N; 0: on(status == 500 or cpu > 90)
  bool count_aggregate;  ///< the query has count() (whose state a count trigger shares)
};

std::ostream& operator<<(std::ostream& os, const EventTriggerCase& c) { return os << c.name; }

class EventTriggers : public ::testing::TestWithParam<EventTriggerCase> {};

// A (window, key) fires early at the end of each round in which its events passed a multiple
// of N (or one of them met the condition), unless the round's watermark fires it finally; the
// reference does the same per round, and 1 to 3 workers (rounds of as many batches) agree.
TEST_P(EventTriggers, AWindowFiresEarlyForItsKeyAtTheRoundItsEventsTriggerIt) {
  const EventTriggerCase t = GetParam();
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{777}, std::size_t{5003}}) {
    StreamOptions o;
    o.events = n;
    o.keys = 9;
    o.seed = n + 11;
    const std::vector<Event> events = generate(o);
    Case c;
    c.query = Query()
                  .filter(col("status") != lit(404))
                  .event_time("ts", 300ms)
                  .allowed_lateness(t.lateness)
                  .key_by({"host"})
                  .window(t.window);
    std::vector<AggregateSpec> aggregates = {sum(col("cpu")), min(col("zone"))};
    c.ref.window = t.window;
    c.ref.delay = 300;
    c.ref.lateness = static_cast<std::int64_t>(t.lateness / 1ms);
    c.ref.filter = [](const Event& e) { return e.status != 404; };
    c.ref.keys = key_host;
    c.ref.aggregates = {{AggKind::sum, ev_cpu}, {AggKind::min, [](const Event& e) -> Value {
                                                   return std::int64_t{e.zone};
                                                 }}};
    if (t.count_aggregate) {
      aggregates.push_back(count());
      c.ref.aggregates.push_back({AggKind::count, {}});
    }
    c.query.aggregate(aggregates);
    if (t.count > 0) {
      c.query.trigger(TriggerSpec::count(t.count));
      c.ref.early_count = t.count;
    } else {
      c.query.trigger(parse_trigger("on:status == 500 or cpu > 90"));
      c.ref.early_count = 1;
      c.ref.trigger_on = [](const Event& e) { return e.status == 500 || e.cpu > 90; };
    }
    c.read_columns = {"ts", "host", "zone", "cpu", "status"};
    for (int workers : {1, 2, 3}) {
      SCOPED_TRACE(std::string(t.name) + ", " + std::to_string(n) + " events");
      RunResult run;
      const RefResult ref = run_and_check(c, events, workers, 200, PushMode::builder, &run);
      if (n > 1000) {
        EXPECT_GT(ref.updates, 0u);
      }
      EXPECT_EQ(run.metrics.window_updates, ref.updates);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Windows, EventTriggers,
    ::testing::Values(
        EventTriggerCase{"tumbling_count_1", WindowSpec::tumbling(1s), 0s, 1, true},
        EventTriggerCase{"tumbling_count_7", WindowSpec::tumbling(1s), 0s, 7, false},
        EventTriggerCase{"tumbling_lateness_count_40", WindowSpec::tumbling(700ms), 2s, 40, true},
        EventTriggerCase{"sliding_count_13", WindowSpec::sliding(2s, 500ms), 1s, 13, true},
        EventTriggerCase{"sliding_count_5", WindowSpec::sliding(1500ms, 500ms), 0s, 5, false},
        EventTriggerCase{"global_count_100", WindowSpec::global(), 0s, 100, false},
        EventTriggerCase{"tumbling_on", WindowSpec::tumbling(1s), 500ms, 0, true},
        EventTriggerCase{"sliding_on", WindowSpec::sliding(1500ms, 500ms), 0s, 0, false},
        EventTriggerCase{"global_on", WindowSpec::global(), 0s, 0, true}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Triggers, CountTriggerOnAGlobalWindowEmitsEveryNthCount) {
  // One key, one event per batch and round: the global window's count is emitted early each
  // time it reaches a multiple of 4, and finally once.
  std::vector<Event> events;
  for (int i = 0; i < 18; ++i) {
    Event e;
    e.ts = 1000 + i;
    e.host = "a";
    e.status = 200;
    events.push_back(e);
  }
  auto result = std::make_shared<RunResult>();
  auto mutex = std::make_shared<std::mutex>();
  const Query q = with_sinks(Query()
                                 .event_time("ts", 0ms)
                                 .key_by({"host"})
                                 .trigger(TriggerSpec::count(4))
                                 .aggregate({count()}),
                             result, mutex);
  Engine engine(make_config(1, 1));
  Job job = engine.start(event_schema(), q);
  for (const Event& e : events) {
    BatchBuilder b = job.make_builder();
    detail_harness::set_event(b, e);
    job.push(b.finish());
  }
  job.finish();
  std::vector<std::pair<std::int64_t, bool>> got;
  for (const auto& call : result->calls)
    for (const WindowResult& r : call)
      got.emplace_back(std::get<std::int64_t>(r.values.at(0)), r.update);
  const std::vector<std::pair<std::int64_t, bool>> want = {
      {4, true}, {8, true}, {12, true}, {16, true}, {18, false}};
  EXPECT_EQ(got, want);
}

TEST(Triggers, OnTriggerReadsBroadcastStateAndANullConditionDoesNotFire) {
  // on:cpu > limits.max_cpu: hosts without a limits row never fire early (the condition is
  // null), the others fire at the round of each event over their limit.
  std::vector<Event> events;
  const double cpus[] = {10, 95, 20, 99, 30, 40};
  for (int i = 0; i < 6; ++i)
    for (const char* host : {"a", "b"}) {
      Event e;
      e.ts = 1000 + i;
      e.host = host;
      e.cpu = cpus[i];
      e.status = 200;
      events.push_back(e);
    }
  auto result = std::make_shared<RunResult>();
  auto mutex = std::make_shared<std::mutex>();
  const Schema limits_schema({{"host", TypeId::string}, {"max_cpu", TypeId::f64}});
  const Query q = with_sinks(Query()
                                 .broadcast("limits", limits_schema, "host")
                                 .event_time("ts", 0ms)
                                 .key_by({"host"})
                                 .trigger(parse_trigger("on:cpu > limits.max_cpu"))
                                 .aggregate({count(), max(col("cpu"))}),
                             result, mutex);
  Engine engine(make_config(1, 2));
  Job job = engine.start(event_schema(), q);
  BatchBuilder limits(limits_schema);
  limits.set_string(0, "a");
  limits.set_double(1, 90.0);
  limits.end_row();
  job.push_broadcast("limits", limits.finish());
  for (std::size_t at = 0; at < events.size(); at += 2) {  // one batch (a, b) per time
    BatchBuilder b = job.make_builder();
    detail_harness::set_event(b, events[at]);
    detail_harness::set_event(b, events[at + 1]);
    job.push(b.finish());
  }
  job.finish();
  std::vector<std::tuple<std::string, std::int64_t, bool>> got;
  for (const auto& call : result->calls)
    for (const WindowResult& r : call)
      got.emplace_back(std::get<std::string>(r.keys.at(0)), std::get<std::int64_t>(r.values.at(0)),
                       r.update);
  const std::vector<std::tuple<std::string, std::int64_t, bool>> want = {
      {"a", 2, true}, {"a", 4, true}, {"a", 6, false}, {"b", 6, false}};
  EXPECT_EQ(got, want);
}

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
  EXPECT_TRUE(test::contains(message([] { parse_trigger("count:0"); }, ErrorCode::parse_error),
                             "must be positive"));
  EXPECT_TRUE(test::contains(message([] { parse_trigger("count:5x"); }, ErrorCode::parse_error),
                             "positive integer"));
  EXPECT_TRUE(test::contains(message([] { parse_trigger("on:status =="); }, ErrorCode::parse_error),
                             "bad condition"));
  EXPECT_TRUE(test::contains(message([] { parse_trigger("punctuation"); }, ErrorCode::parse_error),
                             "expected watermark, every:INTERVAL"));
  EXPECT_TRUE(test::contains(
      message([] { Query().trigger(TriggerSpec::count(0)); }, ErrorCode::invalid_argument),
      "positive count"));
  EXPECT_TRUE(test::contains(
      message(
          [] {
            Engine engine(make_config(1, 64));
            engine.start(
                event_schema(),
                Query().key_by({"host"}).trigger(parse_trigger("on:cpu + 1")).aggregate({count()}));
          },
          ErrorCode::type_mismatch),
      "trigger condition must be a bool"));
  EXPECT_TRUE(test::contains(message(
                                 [] {
                                   Engine engine(make_config(1, 64));
                                   engine.start(event_schema(),
                                                Query()
                                                    .key_by({"host"})
                                                    .trigger(parse_trigger("on:nope > 1"))
                                                    .aggregate({count()}));
                                 },
                                 ErrorCode::unknown_column),
                             "nope"));
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
  EXPECT_EQ(parse_trigger("count:1000").events, 1000u);
  for (const char* text : {"watermark", "every:5s", "count:7", "on:(status == 500)"})
    EXPECT_EQ(to_string(parse_trigger(text)), text);
}

}  // namespace
}  // namespace sluice::e2e
