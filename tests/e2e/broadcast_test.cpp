// Broadcast state end to end: expressions that read a broadcast input, updated while the job
// runs, against the brute-force reference with the state each event was pushed under.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "../api/expect_error.hpp"
#include "harness.hpp"

namespace sluice::e2e {
namespace {

template <class F>
void expect_error(ErrorCode code, std::string_view part, F&& f) {
  EXPECT_TRUE(test::contains(test::error_message(std::forward<F>(f), code), part));
}

/// Per-region limits: region:i64 (the key), max_cpu:f64, weight:i32, tier:string, strict:bool.
Schema limits_schema() {
  return Schema({{"region", TypeId::i64},
                 {"max_cpu", TypeId::f64},
                 {"weight", TypeId::i32},
                 {"tier", TypeId::string},
                 {"strict", TypeId::boolean}});
}

struct Limit {
  double max_cpu = 0;
  std::int64_t weight = 0;
  std::string tier;
  bool strict = false;
};
using LimitTable = std::map<std::int64_t, Limit>;

/// One update: the rows pushed with push_broadcast before event `at`.
struct Update {
  std::size_t at = 0;
  LimitTable rows;
};

/// Random updates at random points (the first before any event, or not), over regions of which
/// some never get a row. Later rows for a region replace earlier ones.
std::vector<Update> random_updates(std::size_t events, std::size_t keys, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Update> out;
  const int count = 1 + static_cast<int>(rng() % 4);
  std::vector<std::size_t> at;
  for (int i = 0; i < count; ++i) at.push_back(events == 0 ? 0 : rng() % (events + 1));
  if (rng() % 2 == 0) at[0] = 0;
  std::sort(at.begin(), at.end());
  const char* tiers[] = {"gold", "silver", "bronze"};
  for (std::size_t a : at) {
    Update u;
    u.at = a;
    const std::size_t rows = 1 + rng() % (keys + 2);
    for (std::size_t r = 0; r < rows; ++r) {
      const auto region = static_cast<std::int64_t>(rng() % (keys + 3));  // some beyond the keys
      if (region % 5 == 4) continue;                                      // never any row
      u.rows[region] = {static_cast<double>(rng() % 100), static_cast<std::int64_t>(rng() % 7) - 3,
                        tiers[rng() % 3], rng() % 2 == 0};
    }
    out.push_back(std::move(u));
  }
  return out;
}

Batch limits_batch(const LimitTable& rows) {
  BatchBuilder b(limits_schema());
  for (const auto& [region, l] : rows) {
    b.set_int(0, region);
    b.set_double(1, l.max_cpu);
    b.set_int(2, l.weight);
    b.set_string(3, l.tier);
    b.set_bool(4, l.strict);
    b.end_row();
  }
  return b.finish();
}

/// The state each event was pushed under, by event index.
struct StateAt {
  std::vector<LimitTable> by_event;
  std::optional<Limit> at(const std::vector<Event>& events, const Event& e) const {
    const LimitTable& t = by_event[static_cast<std::size_t>(&e - events.data())];
    auto it = t.find(e.region);
    if (it == t.end()) return std::nullopt;
    return it->second;
  }
};

StateAt states_of(std::size_t events, const std::vector<Update>& updates) {
  StateAt s;
  LimitTable current;
  std::size_t u = 0;
  for (std::size_t i = 0; i <= events; ++i) {
    for (; u < updates.size() && updates[u].at == i; ++u)
      for (const auto& [k, v] : updates[u].rows) current[k] = v;
    if (i < events) s.by_event.push_back(current);
  }
  return s;
}

/// Batch sizes when every update seals the forming batch first.
std::vector<std::size_t> batch_sizes(std::size_t events, const std::vector<Update>& updates,
                                     std::size_t batch_rows) {
  std::vector<std::size_t> cuts{0};
  for (const Update& u : updates) cuts.push_back(u.at);
  cuts.push_back(events);
  std::vector<std::size_t> sizes;
  for (std::size_t c = 0; c + 1 < cuts.size(); ++c)
    for (std::size_t i = cuts[c]; i < cuts[c + 1]; i += batch_rows)
      sizes.push_back(std::min(batch_rows, cuts[c + 1] - i));
  return sizes;
}

/// Runs `query` with pushes cut at the updates, which go in between.
RunResult run_with_updates(const EngineConfig& config, Query query,
                           const std::vector<Event>& events, const std::vector<Update>& updates,
                           PushMode mode) {
  auto result = std::make_shared<RunResult>();
  auto mutex = std::make_shared<std::mutex>();
  query = with_sinks(std::move(query), result, mutex);
  Engine engine(config);
  Job job = engine.start(event_schema(), query);
  std::size_t from = 0;
  for (std::size_t u = 0; u <= updates.size(); ++u) {
    const std::size_t to = u < updates.size() ? updates[u].at : events.size();
    const std::vector<Event> part(events.begin() + static_cast<std::ptrdiff_t>(from),
                                  events.begin() + static_cast<std::ptrdiff_t>(to));
    push_events(job, part, mode, 7 + u, config.batch_rows * 5 / 2);
    if (u < updates.size()) job.push_broadcast("limits", limits_batch(updates[u].rows));
    from = to;
  }
  job.finish();
  result->metrics = job.metrics();
  std::lock_guard lock(*mutex);
  return std::move(*result);
}

Query with_limits(Query q) { return q.broadcast("limits", limits_schema(), "region"); }

struct BroadcastCase {
  const char* name;
  Query query;
  std::function<RefQuery(const std::vector<Event>&, const StateAt&)> ref;
  std::vector<std::string> read_columns;
};

std::vector<BroadcastCase> cases() {
  std::vector<BroadcastCase> out;
  // A per-region threshold; the weight of the matching row in an aggregate.
  out.push_back(
      {"threshold",
       with_limits(Query())
           .filter(parse_expression("cpu > limits.max_cpu"))
           .event_time("ts", std::chrono::milliseconds(200))
           .key_by({"host"})
           .window(WindowSpec::tumbling(std::chrono::seconds(1)))
           .aggregate({count(), sum(col("cpu")), sum(parse_expression("limits.weight * 2"))}),
       [](const std::vector<Event>& ev, const StateAt& s) {
         RefQuery r;
         r.window = WindowSpec::tumbling(std::chrono::seconds(1));
         r.delay = 200;
         r.filter = [&ev, &s](const Event& e) {
           const auto l = s.at(ev, e);
           return l && e.cpu > l->max_cpu;
         };
         r.keys = key_host;
         r.aggregates = {{AggKind::count, {}},
                         {AggKind::sum, ev_cpu},
                         {AggKind::sum, [&ev, &s](const Event& e) -> Value {
                            return std::int64_t{s.at(ev, e)->weight * 2};
                          }}};
         return r;
       },
       {"ts", "host", "region", "cpu"}});
  // Three-valued logic: not (null) is null, null or true is true, null and false is false.
  out.push_back(
      {"three_valued",
       with_limits(Query())
           .filter(
               parse_expression("not (cpu > limits.max_cpu and limits.strict) or status == 500 or "
                                "(limits.tier == 'gold' and false) or "
                                "(cpu != limits.max_cpu and status == 404)"))
           .event_time("ts", std::chrono::milliseconds(100))
           .key_by({"region"})
           .window(WindowSpec::sliding(std::chrono::seconds(2), std::chrono::milliseconds(500)))
           .aggregate({count(), max(col("cpu"))}),
       [](const std::vector<Event>& ev, const StateAt& s) {
         RefQuery r;
         r.window = WindowSpec::sliding(std::chrono::seconds(2), std::chrono::milliseconds(500));
         r.delay = 100;
         r.filter = [&ev, &s](const Event& e) {
           const auto l = s.at(ev, e);
           if (e.status == 500) return true;
           if (!l) return false;  // null or false or (null and false) or null is null
           return !(e.cpu > l->max_cpu && l->strict) || (e.cpu != l->max_cpu && e.status == 404);
         };
         r.keys = key_region;
         r.aggregates = {{AggKind::count, {}}, {AggKind::max, ev_cpu}};
         return r;
       },
       {"ts", "region", "cpu", "status"}});
  // A logic result compared with ==: decided where it is true or false, not only where the
  // lookups found rows (null or true is true, so it equals true).
  out.push_back({"decided_equality",
                 with_limits(Query())
                     .filter(parse_expression("(limits.strict or status == 500) == true"))
                     .event_time("ts", std::chrono::milliseconds(100))
                     .key_by({"zone"})
                     .window(WindowSpec::tumbling(std::chrono::seconds(1)))
                     .aggregate({count()}),
                 [](const std::vector<Event>& ev, const StateAt& s) {
                   RefQuery r;
                   r.window = WindowSpec::tumbling(std::chrono::seconds(1));
                   r.delay = 100;
                   r.filter = [&ev, &s](const Event& e) {
                     if (e.status == 500) return true;
                     const auto l = s.at(ev, e);
                     return l && l->strict;
                   };
                   r.keys = [](const Event& e) { return std::vector<Value>{std::int64_t{e.zone}}; };
                   r.aggregates = {{AggKind::count, {}}};
                   return r;
                 },
                 {"ts", "region", "zone", "status"}});
  // A mapped broadcast column as the key: events without a row drop out (inner lookup join).
  out.push_back({"key_from_broadcast",
                 with_limits(Query())
                     .map("tier", parse_expression("limits.tier"))
                     .event_time("ts", std::chrono::milliseconds(300))
                     .key_by({"tier"})
                     .window(WindowSpec::tumbling(std::chrono::milliseconds(700)))
                     .aggregate({count(), avg(col("cpu"))}),
                 [](const std::vector<Event>& ev, const StateAt& s) {
                   RefQuery r;
                   r.window = WindowSpec::tumbling(std::chrono::milliseconds(700));
                   r.delay = 300;
                   r.filter = [&ev, &s](const Event& e) { return s.at(ev, e).has_value(); };
                   r.keys = [&ev, &s](const Event& e) {
                     return std::vector<Value>{s.at(ev, e)->tier};
                   };
                   r.aggregates = {{AggKind::count, {}}, {AggKind::avg, ev_cpu}};
                   return r;
                 },
                 {"ts", "region", "cpu"}});
  return out;
}

class BroadcastE2E : public ::testing::TestWithParam<int> {};

TEST_P(BroadcastE2E, EveryWindowMatchesTheReferenceWithTheStateOfEachPush) {
  const int workers = GetParam();
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{997}, std::size_t{6000}}) {
    for (std::uint64_t seed : {1u, 2u}) {
      StreamOptions o;
      o.events = n;
      o.keys = 12;
      o.seed = seed * 31 + n;
      const std::vector<Event> events = generate(o);
      const std::vector<Update> updates = random_updates(n, o.keys, seed + n);
      const StateAt states = states_of(n, updates);
      const std::size_t batch_rows = 256;
      for (BroadcastCase& c : cases()) {
        for (PushMode mode : {PushMode::builder, PushMode::rows}) {
          if (mode == PushMode::rows && n > 1000) continue;
          SCOPED_TRACE(std::string(c.name) + ", " + std::to_string(n) + " events, seed " +
                       std::to_string(seed) + ", " + std::to_string(workers) + " worker(s), " +
                       mode_name(mode));
          const RefQuery ref_query = c.ref(events, states);
          const RefResult ref =
              reference_of_batches(events, ref_query, batch_sizes(n, updates, batch_rows), workers);
          const RunResult run =
              run_with_updates(make_config(workers, batch_rows), c.query, events, updates, mode);
          expect_matches(run, events, ref, c.read_columns, workers == 1);
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Workers, BroadcastE2E, ::testing::Values(1, 2, 3, 4));

TEST(Broadcast, StatelessOutputsKeepOnlyEventsWithARow) {
  StreamOptions o;
  o.events = 3000;
  o.keys = 9;
  const std::vector<Event> events = generate(o);
  const std::vector<Update> updates = random_updates(o.events, o.keys, 5);
  const StateAt states = states_of(o.events, updates);
  for (int workers : {1, 3}) {
    Query q = with_limits(Query())
                  .filter(parse_expression("status != 404"))
                  .map("headroom", parse_expression("limits.max_cpu - cpu"))
                  .project({"host", "headroom", "limits.tier"});
    const RunResult run =
        run_with_updates(make_config(workers, 128), q, events, updates, PushMode::builder);
    std::vector<std::vector<Value>> want;
    for (const Event& e : events) {
      const auto l = states.at(events, e);
      if (e.status == 404 || !l) continue;
      want.push_back({e.host, l->max_cpu - e.cpu, l->tier});
    }
    std::vector<std::vector<Value>> got;
    for (const Batch& b : run.rows)
      for (std::size_t r = 0; r < b.rows(); ++r)
        got.push_back({b.at(r, 0), b.at(r, 1), b.at(r, 2)});
    ASSERT_EQ(got.size(), want.size()) << workers << " worker(s)";
    for (std::size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], want[i]) << "row " << i << ", " << workers << " worker(s)";
    EXPECT_EQ(run.metrics.events_filtered, events.size() - want.size());
  }
}

TEST(Broadcast, StringKeysLookUpByTextWhateverTheDictionary) {
  // Keyed by host (a string): the table's own dictionary differs from the job's.
  const Schema owners({{"host", TypeId::string}, {"team", TypeId::string}});
  auto dict = std::make_shared<StringDictionary>();
  dict->intern("decoy");
  BatchBuilder b(owners, {dict, dict});
  for (int h = 0; h < 6; h += 2) {
    b.set_string(0, "host-" + std::to_string(h));
    b.set_string(1, h == 0 ? "core" : "edge");
    b.end_row();
  }
  const Batch table = b.finish();
  StreamOptions o;
  o.events = 2000;
  o.keys = 6;
  const std::vector<Event> events = generate(o);
  for (int workers : {1, 2}) {
    auto counts = std::make_shared<std::map<std::string, std::int64_t>>();
    Query q = Query()
                  .broadcast("owners", owners, "host")
                  .filter(parse_expression("owners.team != 'core'"))
                  .key_by({"host"})
                  .aggregate({count()})
                  .sink(ResultSink([counts](std::span<const WindowResult> rows) {
                    for (const WindowResult& r : rows)
                      (*counts)[std::get<std::string>(r.keys.at(0))] =
                          std::get<std::int64_t>(r.values.at(0));
                  }));
    Engine engine(make_config(workers, 100));
    Job job = engine.start(event_schema(), q);
    job.push_broadcast("owners", table);
    push_events(job, events, PushMode::builder, 3, 250);
    job.finish();
    std::map<std::string, std::int64_t> want;
    for (const Event& e : events)
      if (e.host == "host-2" || e.host == "host-4") ++want[e.host];
    EXPECT_EQ(*counts, want) << workers << " worker(s)";
  }
}

TEST(Broadcast, BadUseIsAClearError) {
  const auto start = [](const Query& q) {
    Engine engine(make_config(1, 64));
    return engine.start(event_schema(), q);
  };
  const Query base = with_limits(Query()).key_by({"host"}).aggregate({count()});
  expect_error(ErrorCode::unknown_column, "has no column 'max_mem'",
               [&] { start(Query(base).filter(parse_expression("cpu > limits.max_mem"))); });
  expect_error(ErrorCode::unknown_column, "broadcast inputs: limits",
               [&] { start(Query(base).filter(parse_expression("cpu > limit.max_cpu"))); });
  expect_error(ErrorCode::unknown_column, "not in scope", [&] {
    start(Query(base).project({"host", "cpu"}).filter(parse_expression("cpu > limits.max_cpu")));
  });
  expect_error(ErrorCode::type_mismatch, "keyed by integer values", [&] {
    start(Query()
              .broadcast("limits", Schema({{"host", TypeId::i64}, {"x", TypeId::f64}}), "host")
              .filter(parse_expression("limits.x > 1"))
              .aggregate({count()}));
  });
  expect_error(ErrorCode::type_mismatch, "must be a bool",
               [&] { start(Query(base).filter(parse_expression("limits.max_cpu"))); });
  expect_error(ErrorCode::invalid_argument, "key column 'zone' is not in its schema",
               [] { Query().broadcast("limits", limits_schema(), "zone"); });
  expect_error(ErrorCode::invalid_argument, "must be an integer or string column", [] {
    Query().broadcast("f", Schema({{"x", TypeId::f64}}), "x");
  });
  expect_error(ErrorCode::invalid_argument, "declared twice", [] {
    Query().broadcast("a", limits_schema(), "region").broadcast("a", limits_schema(), "region");
  });
  Job job = start(Query(base).filter(parse_expression("cpu > limits.max_cpu")));
  expect_error(ErrorCode::invalid_argument, "declares no broadcast 'rules'",
               [&] { job.push_broadcast("rules", limits_batch({})); });
  expect_error(ErrorCode::invalid_argument, "is not the declared", [&] {
    job.push_broadcast("limits", BatchBuilder(Schema({{"region", TypeId::i64}})).finish());
  });
  job.finish();
  expect_error(ErrorCode::invalid_argument, "after finish",
               [&] { job.push_broadcast("limits", limits_batch({})); });
}

}  // namespace
}  // namespace sluice::e2e
