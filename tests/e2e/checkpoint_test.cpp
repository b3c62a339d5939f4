// Checkpoints and exactly-once restart through the public API: a job checkpointed at random
// points and abandoned at random points, again and again, then resumed from its newest
// checkpoint (sometimes after the newest file was torn), gives the output of a run that never
// stopped: the same result batches in the same order, the same late rows and the same counters,
// for 1 to 3 workers, batches and single rows, broadcast state, string reclaims, stateless
// queries; and every misuse is a named error.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../api/expect_error.hpp"
#include "churn_stream.hpp"
#include "harness.hpp"
#include "host/engine/checkpoint_store.hpp"

namespace sluice::e2e {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// Everything the sinks received, in order, as text: "W ..." for a result row, "L ..." for a
/// late row, "R ..." for a row of a query without windows. A resumed job truncates it to the
/// checkpoint's sink position, as a sink truncates its file.
struct SinkLog {
  std::mutex mutex;
  std::vector<std::vector<std::string>> entries;  // one per sink call

  std::uint64_t size() {
    std::lock_guard lock(mutex);
    return entries.size();
  }
  void truncate(std::uint64_t to) {
    std::lock_guard lock(mutex);
    ASSERT_LE(to, entries.size()) << "a sink position beyond what the sinks received";
    entries.resize(static_cast<std::size_t>(to));
  }
  /// The result rows in order, and the late and plain rows sorted (several workers deliver
  /// those in any order).
  std::pair<std::vector<std::string>, std::vector<std::string>> split() {
    std::lock_guard lock(mutex);
    std::vector<std::string> windows, rows;
    for (const auto& e : entries)
      for (const std::string& line : e) (line[0] == 'W' ? windows : rows).push_back(line);
    std::sort(rows.begin(), rows.end());
    return {windows, rows};
  }
};

std::string row_text(char tag, const Batch& b, std::size_t r) {
  std::string s(1, tag);
  for (std::size_t c = 0; c < b.num_columns(); ++c) s += ' ' + to_string(b.at(r, c));
  return s;
}

Query with_log(Query query, const std::shared_ptr<SinkLog>& log) {
  const auto record = [log](char tag) {
    return [log, tag](const Batch& b) {
      std::vector<std::string> lines;
      for (std::size_t r = 0; r < b.rows(); ++r) lines.push_back(row_text(tag, b, r));
      std::lock_guard lock(log->mutex);
      log->entries.push_back(std::move(lines));
    };
  };
  if (query.is_windowed())
    query.sink(BatchSink(record('W')));
  else
    query.sink(RowSink(record('R')));
  query.late_sink(record('L'));
  return query;
}

/// A broadcast update: rows pushed with push_broadcast before event `at`.
struct BroadcastUpdate {
  std::size_t at;
  Batch rows;
};

/// One job's input: its events, how they are pushed, and broadcast updates between them.
struct Feed {
  const std::vector<Event>* events;
  PushMode mode = PushMode::builder;  ///< builder or rows
  std::vector<BroadcastUpdate> updates;
  std::size_t max_chunk = 500;
  /// Where pushes of batches end, drawn once: every run of the feed pushes the same batches
  /// (the engine looks at its dictionary, and so reclaims strings, after a push).
  std::vector<std::size_t> cuts;

  Feed(const std::vector<Event>& all, PushMode how, std::vector<BroadcastUpdate> ups,
       std::size_t chunk)
      : events(&all), mode(how), updates(std::move(ups)), max_chunk(chunk) {
    std::mt19937_64 rng(all.size() * 31 + chunk);
    for (std::size_t i = 0; i < all.size();) {
      i = std::min(all.size(), i + 1 + rng() % max_chunk);
      cuts.push_back(i);
    }
  }
  /// Where the push that starts at event `i` ends.
  std::size_t cut_after(std::size_t i) const {
    if (mode == PushMode::rows) return i + 1;
    std::size_t end = *std::upper_bound(cuts.begin(), cuts.end(), i);
    for (const BroadcastUpdate& u : updates)
      if (u.at > i) end = std::min(end, u.at);
    return end;
  }
};

/// Pushes the events of `feed` from `position` into `job` until `stop` or the first cut beyond
/// it, recording the position after every push; before a push, with probability
/// `checkpoint_odds`, takes a checkpoint. `position` is a cut.
void push_range(Job& job, const Feed& feed, std::size_t position, std::size_t stop,
                std::mt19937_64& rng, double checkpoint_odds) {
  std::uniform_real_distribution<double> unit(0, 1);
  BatchBuilder builder = job.make_builder();
  std::size_t i = position;
  while (i < stop) {
    if (checkpoint_odds > 0 && unit(rng) < checkpoint_odds) job.checkpoint();
    const std::size_t end = feed.cut_after(i);
    for (const BroadcastUpdate& u : feed.updates)
      if (u.at == i) job.push_broadcast("limits", u.rows);
    if (feed.mode == PushMode::rows) {
      job.push_row(event_row((*feed.events)[i]));
    } else {
      // Rows coded with the job's dictionary of the moment (it changes when strings are
      // reclaimed), as the CSV reader codes them: codes, and so the order of a result batch's
      // rows, then follow from the rows alone.
      if (builder.dictionary(kHost) != job.dictionary()) builder = job.make_builder();
      for (std::size_t k = i; k < end; ++k) detail_harness::set_event(builder, (*feed.events)[k]);
      job.push(builder.finish());
    }
    i = end;
    job.set_position(0, i);
  }
}

struct Outcome {
  std::vector<std::string> windows;  ///< result rows in order
  std::vector<std::string> rows;     ///< late and plain rows, sorted
  Metrics metrics;
  int incarnations = 0;
  int resumed = 0;    ///< incarnations that found a checkpoint
  int fell_back = 0;  ///< resumes that skipped a torn newest file
};

/// The job run once, start to finish, without checkpoints.
Outcome run_straight(const EngineConfig& config, const Query& query, const Feed& feed) {
  auto log = std::make_shared<SinkLog>();
  Engine engine(config);
  Job job = engine.start(event_schema(), with_log(query, log));
  std::mt19937_64 rng(1);
  push_range(job, feed, 0, feed.events->size(), rng, 0);
  job.finish();
  Outcome out;
  std::tie(out.windows, out.rows) = log->split();
  out.metrics = job.metrics();
  out.incarnations = 1;
  return out;
}

/// A fresh checkpoint directory for one test, removed afterwards.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(fs::temp_directory_path() /
              ("sluice-e2e-ck-" + std::to_string(::getpid()) + "-" + name)) {
    fs::remove_all(path_);
  }
  ~ScratchDir() { fs::remove_all(path_); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

/// The job run as incarnations that each resume from the newest checkpoint, push on from its
/// position and stop at a random later event without finishing (the sinks' output beyond the
/// checkpoint is dropped by the next one); the last pushes to the end and finishes. With
/// `tear_odds`, the newest checkpoint file is cut short before a resume; with
/// `alternate_threads`, incarnations alternate between one and two OpenMP threads per worker.
Outcome run_with_crashes(EngineConfig config, const Query& query, const Feed& feed,
                         const std::string& directory, int crashes, std::uint64_t seed,
                         double checkpoint_odds, double tear_odds = 0,
                         bool alternate_threads = false) {
  config.checkpoint.directory = directory;
  auto log = std::make_shared<SinkLog>();
  config.checkpoint.commit_sinks = [log] { return log->size(); };
  std::mt19937_64 rng(seed);
  Outcome out;
  const std::size_t events = feed.events->size();
  for (int life = 0; life <= crashes; ++life) {
    if (tear_odds > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < tear_odds &&
        fs::is_directory(directory)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(directory))
        if (e.path().extension() == ".sluice") files.push_back(e.path());
      if (files.size() >= 2) {
        std::sort(files.begin(), files.end());
        fs::resize_file(files.back(), fs::file_size(files.back()) / 2);
      }
    }
    if (alternate_threads) config.threads = 1 + life % 2;
    Engine engine(config);
    Job job = engine.resume(event_schema(), with_log(query, log));
    const ResumePoint& from = job.resumed_from();
    ++out.incarnations;
    if (from.checkpoint > 0) ++out.resumed;
    if (!from.rejected.empty()) ++out.fell_back;
    log->truncate(from.sink_position);
    const std::size_t position =
        from.positions.empty() ? 0 : static_cast<std::size_t>(from.positions[0]);
    EXPECT_LE(position, events);
    if (life < crashes) {
      const std::size_t stop =
          std::min(events, position + std::uniform_int_distribution<std::size_t>(
                                          0, 3 * events / static_cast<std::size_t>(crashes))(rng));
      push_range(job, feed, position, stop, rng, checkpoint_odds);
      // A crash: the job ends here (its destructor finishes it, and what that emits lies beyond
      // the last checkpoint's sink position, so the next incarnation drops it).
      continue;
    }
    push_range(job, feed, position, events, rng, checkpoint_odds);
    job.finish();
    out.metrics = job.metrics();
  }
  std::tie(out.windows, out.rows) = log->split();
  return out;
}

void expect_same_output(const Outcome& got, const Outcome& want) {
  ASSERT_EQ(got.windows.size(), want.windows.size()) << "result rows";
  for (std::size_t i = 0; i < want.windows.size(); ++i)
    ASSERT_EQ(got.windows[i], want.windows[i]) << "result row " << i;
  ASSERT_EQ(got.rows.size(), want.rows.size()) << "late and plain rows";
  EXPECT_TRUE(got.rows == want.rows) << "late or plain rows differ";
  const Metrics &g = got.metrics, &w = want.metrics;
  EXPECT_EQ(g.events_in, w.events_in);
  EXPECT_EQ(g.events_filtered, w.events_filtered);
  EXPECT_EQ(g.events_late, w.events_late);
  EXPECT_EQ(g.events_aggregated, w.events_aggregated);
  EXPECT_EQ(g.batches, w.batches);
  EXPECT_EQ(g.windows_fired, w.windows_fired);
  EXPECT_EQ(g.window_updates, w.window_updates);
  EXPECT_EQ(g.batches_per_worker, w.batches_per_worker);
}

/// Sliding windows with lateness over out-of-order events with late ones, filtered, on host.
Case sliding_case() {
  Case c;
  const WindowSpec window = WindowSpec::sliding(2s, 500ms);
  c.query.filter(col("status") != lit(std::int64_t{404}))
      .key_by({"host"})
      .event_time("ts", 300ms)
      .allowed_lateness(2s)
      .window(window)
      .aggregate({count(), sum(col("cpu")), max(col("status")), min(col("zone"))});
  c.ref.window = window;
  c.ref.delay = 300;
  c.ref.lateness = 2000;
  c.ref.filter = [](const Event& e) { return e.status != 404; };
  c.ref.keys = key_host;
  c.ref.aggregates = {{AggKind::count, {}},
                      {AggKind::sum, ev_cpu},
                      {AggKind::max, ev_status},
                      {AggKind::min, [](const Event& e) -> Value { return std::int64_t{e.zone}; }}};
  c.read_columns = {"ts", "host", "zone", "cpu", "status"};
  return c;
}

std::vector<Event> disordered_stream(std::size_t n, std::uint64_t seed) {
  StreamOptions o;
  o.events = n;
  o.keys = 60;
  o.step = 3;
  o.jitter = 400;
  o.late_fraction = 0.03;
  o.late_distance = 5000;
  o.seed = seed;
  return generate(o);
}

TEST(Checkpoint, CrashesAndResumesGiveTheOutputOfARunThatNeverStopped) {
  const std::vector<Event> events = disordered_stream(6000, 41);
  const Case c = sliding_case();
  for (int workers : {1, 2, 3})
    for (PushMode mode : {PushMode::builder, PushMode::rows}) {
      SCOPED_TRACE(std::to_string(workers) + " workers, push " + mode_name(mode));
      const EngineConfig config = make_config(workers, 256);
      Feed feed(events, mode, {}, 700);
      const Outcome straight = run_straight(config, c.query, feed);
      {
        // The uninterrupted run itself equals the brute-force reference.
        const RefResult ref = reference(events, c.ref, config.batch_rows, workers);
        expect_finals(final_values(run_job(config, c.query, events).calls), ref.finals);
        EXPECT_EQ(straight.metrics.events_late, ref.late.size());
        EXPECT_GT(ref.late.size(), 20U);
        EXPECT_GT(ref.updates, 20U);
      }
      const ScratchDir dir("crash-" + std::to_string(workers) + mode_name(mode));
      const double odds = mode == PushMode::rows ? 0.002 : 0.2;
      const Outcome crashed =
          run_with_crashes(config, c.query, feed, dir.str(), 8, 100 + workers, odds, 0.25);
      EXPECT_EQ(crashed.incarnations, 9);
      EXPECT_GE(crashed.resumed, 4) << "most incarnations resume from a checkpoint";
      expect_same_output(crashed, straight);
    }
}

TEST(Checkpoint, CheckpointsChangeNothing) {
  const std::vector<Event> events = disordered_stream(3000, 42);
  for (int workers : {1, 2}) {
    EngineConfig config = make_config(workers, 128);
    const Feed feed(events, PushMode::builder, {}, 300);
    const Outcome straight = run_straight(config, sliding_case().query, feed);
    const ScratchDir dir("nothing");
    const Outcome manual =
        run_with_crashes(config, sliding_case().query, feed, dir.str(), 0, 7, 0.5);
    expect_same_output(manual, straight);
    config.checkpoint.every = 1ns;
    const ScratchDir dir2("nothing2");
    const Outcome automatic =
        run_with_crashes(config, sliding_case().query, feed, dir2.str(), 0, 7, 0);
    expect_same_output(automatic, straight);
  }
}

TEST(Checkpoint, ResumesWithAnotherNumberOfThreadsPerWorker) {
  // The window state of two threads (two partitions) restored into one, and back. Aggregates
  // exact in any order: two threads may add floats in another order than one.
  const std::vector<Event> events = disordered_stream(4000, 47);
  Query query = sliding_case().query;
  query.aggregate({count(), max(col("cpu")), min(col("zone")), sum(col("status"))});
  const Feed feed(events, PushMode::builder, {}, 300);
  for (int workers : {1, 2}) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    const EngineConfig config = make_config(workers, 128);
    const Outcome straight = run_straight(config, query, feed);
    const ScratchDir dir("threads-" + std::to_string(workers));
    const Outcome crashed =
        run_with_crashes(config, query, feed, dir.str(), 6, 51 + workers, 0.25, 0, true);
    EXPECT_GE(crashed.resumed, 3);
    expect_same_output(crashed, straight);
  }
}

TEST(Checkpoint, AutomaticCheckpointsOnEveryPush) {
  const std::vector<Event> events = disordered_stream(3000, 42);
  EngineConfig config = make_config(2, 128);
  config.checkpoint.every = 1ns;  // due at every push
  const Feed feed(events, PushMode::builder, {}, 300);
  const Outcome straight = run_straight(make_config(2, 128), sliding_case().query, feed);
  const ScratchDir dir("auto");
  const Outcome crashed = run_with_crashes(config, sliding_case().query, feed, dir.str(), 5, 7, 0);
  EXPECT_GE(crashed.resumed, 3);
  EXPECT_GT(crashed.metrics.checkpoints, 10U);
  EXPECT_GT(crashed.metrics.checkpoint_bytes, 0U);
  expect_same_output(crashed, straight);
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.str()))
    files += e.path().extension() == ".sluice";
  EXPECT_EQ(files, 3U) << "keep = 3";
}

Schema limits_schema() {
  return Schema({{"region", TypeId::i64}, {"max_cpu", TypeId::f64}, {"tier", TypeId::string}});
}

TEST(Checkpoint, BroadcastStateIsRestored) {
  const std::vector<Event> events = disordered_stream(5000, 43);
  std::mt19937_64 rng(5);
  Feed feed(events, PushMode::builder, {}, 400);
  for (std::size_t at : {std::size_t{0}, std::size_t{900}, std::size_t{2100}, std::size_t{3000},
                         std::size_t{4321}}) {
    BatchBuilder b(limits_schema());
    for (std::int64_t region = 0; region < 60; ++region) {
      if (rng() % 3 == 0) continue;
      b.set_int(0, region);
      b.set_double(1, static_cast<double>(rng() % 100));
      b.set_string(2, rng() % 2 ? "gold" : "tier-" + std::to_string(at));
      b.end_row();
    }
    feed.updates.push_back({at, b.finish()});
  }
  Query query;
  query.broadcast("limits", limits_schema(), "region")
      .filter(parse_expression("cpu > limits.max_cpu or limits.tier == 'gold'"))
      .key_by({"host"})
      .event_time("ts", 200ms)
      .window(WindowSpec::tumbling(1s))
      .aggregate({count(), sum(col("cpu"))});
  for (int workers : {1, 3}) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    const EngineConfig config = make_config(workers, 200);
    const Outcome straight = run_straight(config, query, feed);
    EXPECT_GT(straight.metrics.events_filtered, 100U);
    EXPECT_LT(straight.metrics.events_filtered, 4900U);
    const ScratchDir dir("broadcast-" + std::to_string(workers));
    const Outcome crashed = run_with_crashes(config, query, feed, dir.str(), 6, 11 + workers, 0.25);
    EXPECT_GE(crashed.resumed, 3);
    expect_same_output(crashed, straight);
  }
}

TEST(Checkpoint, StringReclaimsBetweenCheckpoints) {
  const std::vector<Event> events = churn::churning_stream(120, 60, 20, 9);
  EngineConfig config = make_config(2, 64);
  config.string_reclaim_threshold = 256;
  const Feed feed(events, PushMode::builder, {}, 150);
  const Outcome straight = run_straight(config, churn::churn_query(), feed);
  EXPECT_GT(straight.metrics.string_reclaims, 3U);
  const ScratchDir dir("reclaim");
  const Outcome crashed =
      run_with_crashes(config, churn::churn_query(), feed, dir.str(), 6, 3, 0.15);
  EXPECT_GE(crashed.resumed, 3);
  expect_same_output(crashed, straight);
  EXPECT_EQ(crashed.metrics.string_reclaims, straight.metrics.string_reclaims);
}

TEST(Checkpoint, TriggersAndFirstLastResume) {
  // Early firings by count and by condition keep their counts across a restart; first and last
  // by event time keep their times.
  const std::vector<Event> events = disordered_stream(5000, 46);
  for (TriggerSpec trigger :
       {TriggerSpec::count(7), TriggerSpec::on(col("status") == lit(std::int64_t{500}))}) {
    Query query;
    query.key_by({"region"})
        .event_time("ts", 300ms)
        .allowed_lateness(1s)
        .window(WindowSpec::sliding(2s, 1s))
        .trigger(trigger)
        .aggregate({count(), avg(col("cpu")), first(col("cpu")), last(col("status"))});
    for (int workers : {1, 2}) {
      SCOPED_TRACE(std::to_string(workers) + " workers");
      const EngineConfig config = make_config(workers, 100);
      const Feed feed(events, PushMode::builder, {}, 250);
      const Outcome straight = run_straight(config, query, feed);
      EXPECT_GT(straight.metrics.window_updates, 100U) << "early firings";
      const ScratchDir dir("trigger-" + std::to_string(workers));
      const Outcome crashed = run_with_crashes(config, query, feed, dir.str(), 6, 31, 0.2);
      EXPECT_GE(crashed.resumed, 3);
      expect_same_output(crashed, straight);
    }
  }
}

TEST(Checkpoint, StatelessQueryResumes) {
  const std::vector<Event> events = disordered_stream(4000, 44);
  Query query;
  query.filter(col("cpu") > lit(40.0)).project({"ts", "host", "cpu"});
  for (int workers : {1, 2}) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    const EngineConfig config = make_config(workers, 128);
    const Feed feed(events, PushMode::builder, {}, 300);
    const Outcome straight = run_straight(config, query, feed);
    EXPECT_GT(straight.rows.size(), 1000U);
    const ScratchDir dir("stateless-" + std::to_string(workers));
    const Outcome crashed = run_with_crashes(config, query, feed, dir.str(), 5, 21, 0.2);
    expect_same_output(crashed, straight);
  }
}

TEST(Checkpoint, ResumeWithoutACheckpointStartsFromTheBeginning) {
  const ScratchDir dir("fresh");
  EngineConfig config = make_config(1, 64);
  config.checkpoint.directory = dir.str() + "/not/yet/made";
  Engine engine(config);
  Job job =
      engine.resume(event_schema(), sliding_case().query.sink(BatchSink([](const Batch&) {})));
  EXPECT_EQ(job.resumed_from().checkpoint, 0U);
  EXPECT_TRUE(job.resumed_from().positions.empty());
  EXPECT_EQ(job.resumed_from().sink_position, 0U);
  EXPECT_TRUE(fs::is_directory(config.checkpoint.directory)) << "the directory is made";
  job.checkpoint();
  job.checkpoint();
  EXPECT_EQ(job.metrics().checkpoints, 2U);
  job.finish();
  Job again =
      engine.resume(event_schema(), sliding_case().query.sink(BatchSink([](const Batch&) {})));
  EXPECT_EQ(again.resumed_from().checkpoint, 2U);
  EXPECT_EQ(again.metrics().checkpoints, 2U) << "a resumed job counts on";
}

TEST(Checkpoint, TornNewestFileFallsBackAndIsReported) {
  const ScratchDir dir("torn");
  EngineConfig config = make_config(1, 64);
  config.checkpoint.directory = dir.str();
  std::uint64_t sunk = 0;
  config.checkpoint.commit_sinks = [&sunk] { return ++sunk; };
  const Query query = sliding_case().query.sink(BatchSink([](const Batch&) {}));
  const std::vector<Event> events = disordered_stream(500, 45);
  {
    Engine engine(config);
    Job job = engine.start(event_schema(), query);
    for (std::size_t i = 0; i < events.size(); ++i) {
      job.push_row(event_row(events[i]));
      if (i == 199 || i == 399) {
        job.set_position(0, i + 1);
        job.set_position(3, 1000 + i);
        job.checkpoint();
      }
    }
  }
  const std::string newest = dir.str() + "/checkpoint-000000000002.sluice";
  ASSERT_TRUE(fs::exists(newest));
  fs::resize_file(newest, 100);
  Engine engine(config);
  Job job = engine.resume(event_schema(), query);
  const ResumePoint& from = job.resumed_from();
  EXPECT_EQ(from.checkpoint, 1U);
  EXPECT_EQ(from.positions, (std::vector<std::uint64_t>{200, 0, 0, 1199}));
  EXPECT_EQ(from.sink_position, 1U);
  EXPECT_TRUE(test::contains(from.path, "checkpoint-000000000001.sluice"));
  ASSERT_EQ(from.rejected.size(), 1U);
  EXPECT_TRUE(test::contains(from.rejected[0], newest));
  EXPECT_TRUE(test::contains(from.rejected[0], "torn"));
  EXPECT_EQ(job.metrics().events_in, 200U);
}

/// The last row per (window, key) of the result rows "W start end key values... update".
std::map<std::string, std::string> finals_of(const std::vector<std::string>& windows,
                                             std::size_t key_tokens) {
  std::map<std::string, std::string> out;
  for (const std::string& line : windows) {
    std::size_t cut = 0;
    for (std::size_t t = 0; t < 3 + key_tokens && cut != std::string::npos; ++t)
      cut = line.find(' ', cut + 1);
    const std::size_t update = line.rfind(' ');
    out[line.substr(0, cut)] = line.substr(cut, update - cut);
  }
  return out;
}

/// The same (window, key) rows with the same values: integers exactly, floats (sums in another
/// order across ranks) within 1e-9 relative.
void expect_same_finals(const std::map<std::string, std::string>& got,
                        const std::map<std::string, std::string>& want) {
  EXPECT_EQ(got.size(), want.size());
  int shown = 0;
  for (const auto& [key, values] : want) {
    const auto it = got.find(key);
    if (it == got.end()) {
      if (shown++ < 5) ADD_FAILURE() << "missing " << key;
      continue;
    }
    std::istringstream g(it->second), w(values);
    std::string a, b;
    while (w >> b) {
      if (!(g >> a)) a.clear();
      const bool same = a.find('.') == std::string::npos
                            ? a == b
                            : std::fabs(std::stod(a) - std::stod(b)) <=
                                  1e-9 * std::max(1.0, std::fabs(std::stod(b)));
      if (!same && shown++ < 5) ADD_FAILURE() << key << ": got" << it->second << ", want" << values;
      if (!same) break;
    }
  }
}

/// `ranks` in-process ranks, rank r pushing events r, r + ranks, ... from source 0 and taking
/// checkpoints at random pushes (collectively: each waits for the others); every incarnation but
/// the last ends when its first rank stops at a random point (which fails the job on the
/// others). The result rows that rank 0 gathered, and how many incarnations resumed.
std::pair<std::vector<std::string>, int> run_ranks_with_crashes(
    EngineConfig config, const Query& query, const std::vector<Event>& events, int ranks,
    int crashes, const std::string& directory, double odds = 0.5) {
  std::vector<std::vector<Event>> shares(static_cast<std::size_t>(ranks));
  for (std::size_t i = 0; i < events.size(); ++i)
    shares[i % static_cast<std::size_t>(ranks)].push_back(events[i]);
  config.checkpoint.directory = directory;
  auto log = std::make_shared<SinkLog>();
  int resumed = 0;
  std::mt19937_64 seeds(77);
  for (int life = 0; life <= crashes; ++life) {
    const std::vector<Ranks> group = Ranks::in_process(ranks, 20s);
    std::vector<std::thread> threads;
    std::mutex mutex;
    bool finished = false;
    for (int r = 0; r < ranks; ++r)
      threads.emplace_back([&, r, seed = seeds()] {
        std::mt19937_64 rng(seed);
        const std::vector<Event>& mine = shares[static_cast<std::size_t>(r)];
        const Feed feed(mine, PushMode::builder, {}, 120);
        EngineConfig c = config;
        c.ranks = group[static_cast<std::size_t>(r)];
        if (r == 0) c.checkpoint.commit_sinks = [log] { return log->size(); };
        try {
          Engine engine(c);
          Job job = engine.resume(event_schema(), r == 0 ? with_log(query, log) : query);
          const ResumePoint& from = job.resumed_from();
          if (r == 0) {
            log->truncate(from.sink_position);
            if (from.checkpoint > 0) ++resumed;
          }
          const std::size_t position =
              from.positions.empty() ? 0 : static_cast<std::size_t>(from.positions[0]);
          const std::size_t span = mine.size() / static_cast<std::size_t>(crashes + 1);
          const std::size_t stop = life < crashes
                                       ? std::min(mine.size(), position + span + rng() % (span + 1))
                                       : mine.size();
          push_range(job, feed, position, stop, rng, odds);
          if (life < crashes) return;  // a crash: destroyed unfinished, the others fail
          job.finish();
          std::lock_guard lock(mutex);
          finished = r == 0 || finished;
        } catch (const Error&) {
          // Another rank stopped: this one fails with it.
        }
      });
    for (std::thread& t : threads) t.join();
    if (life == crashes) {
      EXPECT_TRUE(finished) << "the last incarnation completes";
    }
  }
  return {log->split().first, resumed};
}

TEST(Checkpoint, RanksCheckpointTogetherAndResumeFromTheSameRound) {
  StreamOptions o;
  o.events = 6000;
  o.keys = 40;
  o.step = 3;
  o.jitter = 400;
  o.late_fraction = 0;  // with 2 s of lateness no event is dropped, whatever the rounds
  o.seed = 49;
  const std::vector<Event> events = generate(o);
  const Case c = sliding_case();
  const RefResult ref = reference(events, c.ref, 256, 1);
  const Outcome straight =
      run_straight(make_config(1, 256), c.query, Feed(events, PushMode::builder, {}, 256));
  for (int ranks : {2, 3})
    for (int workers : {1, 2}) {
      SCOPED_TRACE(std::to_string(ranks) + " ranks of " + std::to_string(workers) + " workers");
      EngineConfig config = make_config(workers, 64);
      const ScratchDir dir("ranks-" + std::to_string(ranks) + "x" + std::to_string(workers));
      const auto [windows, resumed] =
          run_ranks_with_crashes(config, c.query, events, ranks, 4, dir.str());
      EXPECT_GE(resumed, 1);
      expect_same_finals(finals_of(windows, 1), finals_of(straight.windows, 1));
      EXPECT_EQ(finals_of(windows, 1).size(), ref.finals.size());
      EXPECT_TRUE(fs::is_directory(dir.str() + "/rank-1"));
    }
}

/// Checkpoint bodies changed at random (and written with a valid checksum, as a hand-made file
/// would be) either restore into a job that then runs to its end, or are refused with a named
/// error: never a crash or a read out of bounds (the ASan build runs this too).
TEST(Checkpoint, ChangedBodiesAreRefusedOrRestoredNeverACrash) {
  const ScratchDir dir("mutated");
  EngineConfig config = make_config(2, 64);
  config.checkpoint.directory = dir.str();
  config.checkpoint.keep = 1;
  Query query;
  query.broadcast("limits", limits_schema(), "region")
      .filter(parse_expression("cpu > limits.max_cpu or status == 500"))
      .key_by({"host", "zone"})
      .event_time("ts", 100ms)
      .allowed_lateness(1s)
      .window(WindowSpec::sliding(2s, 1s))
      .aggregate({count(), sum(col("cpu")), first(col("status"))});
  query.sink(BatchSink([](const Batch&) {}));
  const std::vector<Event> events = disordered_stream(700, 48);
  {
    Engine engine(config);
    Job job = engine.start(event_schema(), query);
    BatchBuilder limits(limits_schema());
    for (std::int64_t region = 0; region < 20; ++region) {
      limits.set_int(0, region);
      limits.set_double(1, 50.0);
      limits.set_string(2, "t" + std::to_string(region));
      limits.end_row();
    }
    job.push_broadcast("limits", limits.finish());
    for (std::size_t i = 0; i < events.size(); ++i) job.push_row(event_row(events[i]));
    job.set_position(0, events.size());
    job.checkpoint();
  }
  detail::CheckpointStore store(dir.str(), 1);
  std::vector<std::string> rejected;
  const auto valid = store.load_latest(rejected);
  ASSERT_TRUE(valid.has_value());
  ASSERT_GT(valid->body.size(), 100U);
  std::mt19937_64 rng(3);
  int restored = 0, refused = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<std::uint64_t> body = valid->body;
    for (int c = 1 + static_cast<int>(rng() % 3); c > 0; --c) {
      std::uint64_t& w = body[rng() % body.size()];
      switch (rng() % 4) {
        case 0:
          w = rng();
          break;
        case 1:
          w = rng() % 16;
          break;
        case 2:
          w += (rng() % 2 ? 1 : -1);
          break;
        default:
          w ^= 1ULL << (rng() % 64);
      }
    }
    if (rng() % 8 == 0) body.resize(rng() % body.size());
    store.write(static_cast<std::uint64_t>(trial) + 2, body);
    try {
      Engine engine(config);
      Job job = engine.resume(event_schema(), query);
      for (std::size_t i = 0; i < 50; ++i) job.push_row(event_row(events[i]));
      job.finish();
      ++restored;
    } catch (const Error& e) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 50);
  EXPECT_EQ(restored + refused, 300);
}

TEST(Checkpoint, MisuseIsANamedError) {
  const ScratchDir dir("misuse");
  const Query query = sliding_case().query.sink(BatchSink([](const Batch&) {}));
  {
    Engine plain(make_config(1, 64));
    Job job = plain.start(event_schema(), query);
    EXPECT_TRUE(
        test::contains(test::error_message([&] { job.checkpoint(); }, ErrorCode::invalid_argument),
                       "no checkpoint directory"));
    EXPECT_TRUE(test::contains(test::error_message([&] { plain.resume(event_schema(), query); },
                                                   ErrorCode::invalid_argument),
                               "no checkpoint directory"));
    EXPECT_TRUE(test::contains(
        test::error_message([&] { job.set_position(-1, 0); }, ErrorCode::invalid_argument),
        "source -1"));
    EXPECT_TRUE(test::contains(
        test::error_message([&] { job.set_position(65536, 0); }, ErrorCode::invalid_argument),
        "source 65536"));
  }
  EngineConfig config = make_config(2, 64);
  config.checkpoint.directory = dir.str();
  {
    EngineConfig bad = config;
    bad.checkpoint.keep = 0;
    EXPECT_TRUE(test::contains(
        test::error_message([&] { Engine e(bad); }, ErrorCode::invalid_argument), "keep"));
  }
  {
    Engine engine(config);
    Job job = engine.start(event_schema(), query);
    job.push_row(event_row(disordered_stream(1, 1)[0]));
    job.checkpoint();
    job.finish();
    EXPECT_TRUE(
        test::contains(test::error_message([&] { job.checkpoint(); }, ErrorCode::invalid_argument),
                       "after finish"));
  }
  // Another query, another number of workers: the checkpoint is not theirs.
  Query other = query;
  other.aggregate({count()});
  EXPECT_TRUE(
      test::contains(test::error_message([&] { Engine(config).resume(event_schema(), other); },
                                         ErrorCode::invalid_argument),
                     "of another job"));
  EngineConfig three = config;
  three.workers = 3;
  EXPECT_TRUE(
      test::contains(test::error_message([&] { Engine(three).resume(event_schema(), query); },
                                         ErrorCode::invalid_argument),
                     "workers 2"));
  // A file where the directory should be.
  const std::string file = dir.str() + "/a-file";
  std::ofstream(file) << "x";
  EngineConfig blocked = config;
  blocked.checkpoint.directory = file;
  test::error_message([&] { Engine(blocked).start(event_schema(), query); }, ErrorCode::io_error);
  // A complete, checksummed file whose body is not a job's checkpoint.
  {
    const ScratchDir junk("junk");
    const std::vector<std::uint64_t> body = {1, 2, 3};
    const std::string path = detail::CheckpointStore(junk.str(), 1).write(5, body);
    EngineConfig c = config;
    c.checkpoint.directory = junk.str();
    EXPECT_TRUE(test::contains(test::error_message([&] { Engine(c).resume(event_schema(), query); },
                                                   ErrorCode::malformed_input),
                               path));
  }
}

}  // namespace
}  // namespace sluice::e2e
