// Job metrics of the window state: live groups and the bytes their tables hold.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

#include "harness.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

/// A global window keeps every (host, zone) group live until finish(): after flush() the state
/// holds exactly the distinct groups of the events that passed the filter, whatever the number
/// of workers, and nothing once the job has finished.
TEST(Metrics, StateGroupsAreTheLiveGroups) {
  StreamOptions o;
  o.events = 20000;
  o.keys = 300;
  o.seed = 91;
  const std::vector<Event> events = generate(o);
  std::set<std::pair<std::string, std::int32_t>> groups;
  for (const Event& e : events)
    if (e.status == 200) groups.insert({e.host, e.zone});
  for (int workers : {1, 2, 3}) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    Query q;
    q.filter(col("status") == lit(200))
        .key_by({"host", "zone"})
        .event_time("ts")
        .window(WindowSpec::global())
        .aggregate({count(), sum(col("cpu"))})
        .sink([](const Batch&) {});
    Engine engine(make_config(workers, 1000));
    Job job = engine.start(event_schema(), q);
    push_events(job, events, PushMode::builder, 5, 3000);
    job.flush();
    const Metrics live = job.metrics();
    EXPECT_EQ(live.state_groups, groups.size());
    // Each group holds its key words and states; the tables hold more (index, room to grow),
    // but not without bound.
    EXPECT_GE(live.state_bytes, live.state_groups * 4 * sizeof(std::uint64_t));
    EXPECT_LE(live.state_bytes, live.state_groups * 64 * sizeof(std::uint64_t) + (1u << 22));
    job.finish();
    EXPECT_EQ(job.metrics().state_groups, 0u);
  }
}

}  // namespace
}  // namespace sluice::e2e
