// prometheus_text(): the exposition parses back line by line as the text format defines it,
// every family has its HELP and TYPE before its samples, and each value is the Metrics field.
#include "host/observability/prometheus_text.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "host/engine/histogram_recorder.hpp"

namespace sluice::obs {
namespace {

struct Exposition {
  std::map<std::string, std::string> types;              // family -> type
  std::map<std::string, double> values;                  // "name{labels}" -> value
  std::vector<std::pair<std::string, double>> in_order;  // the samples as written
};

/// Parses the text format, failing the test on any line it does not define.
Exposition parse(const std::string& text) {
  static const std::regex kHelp(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$)");
  static const std::regex kType(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (\S+)$)");
  Exposition e;
  std::set<std::string> helped;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_match(line, m, kHelp)) {
      EXPECT_TRUE(helped.insert(m[1]).second) << "HELP twice: " << line;
      continue;
    }
    if (std::regex_match(line, m, kType)) {
      EXPECT_TRUE(helped.count(m[1])) << "TYPE before HELP: " << line;
      EXPECT_TRUE(e.types.emplace(m[1], m[2]).second) << "TYPE twice: " << line;
      continue;
    }
    if (!std::regex_match(line, m, kSample)) {
      ADD_FAILURE() << "not a line of the text format: '" << line << "'";
      continue;
    }
    std::string family = m[1];
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (!e.types.count(family) && family.ends_with(suffix))
        family.resize(family.size() - std::string(suffix).size());
    EXPECT_TRUE(e.types.count(family)) << "sample before its TYPE: " << line;
    const std::string value = m[5];
    const double v = value == "+Inf" ? INFINITY : value == "NaN" ? NAN : std::stod(value);
    e.values[m[1].str() + m[2].str()] = v;
    e.in_order.emplace_back(m[1].str() + m[2].str(), v);
  }
  EXPECT_TRUE(text.empty() || text.back() == '\n');
  return e;
}

Metrics sample_metrics() {
  Metrics m;
  m.events_in = 1000;
  m.events_filtered = 100;
  m.events_late = 7;
  m.events_malformed = 3;
  m.events_aggregated = 893;
  m.batches = 12;
  m.windows_fired = 40;
  m.window_updates = 2;
  m.exchange_bytes = 4096;
  m.checkpoints = 1;
  m.watermark = 1'700'000'000'000;  // ms
  m.state_groups = 55;
  m.state_bytes = 1 << 20;
  m.state_slots = 128;
  m.dictionary_strings = 9;
  m.dictionary_bytes = 300;
  detail::HistogramRecorder rounds, latency;
  for (int i = 1; i <= 10; ++i) rounds.observe(1e-4 * i);
  latency.observe(0.2, 30);
  latency.observe(3.0, 10);
  m.round_duration = rounds.snapshot();
  m.emission_latency = latency.snapshot();
  return m;
}

TEST(PrometheusText, EveryLineIsOfTheFormatAndValuesAreTheMetrics) {
  ExpositionContext c;
  c.backend = "cpu";
  c.version = "1.2.3";
  c.input_bytes = 123456;
  const Exposition e = parse(prometheus_text(sample_metrics(), c));
  EXPECT_EQ(e.values.at("sluice_events_in_total"), 1000);
  EXPECT_EQ(e.values.at("sluice_events_filtered_total"), 100);
  EXPECT_EQ(e.values.at("sluice_events_late_total"), 7);
  EXPECT_EQ(e.values.at("sluice_events_malformed_total"), 3);
  EXPECT_EQ(e.values.at("sluice_events_aggregated_total"), 893);
  EXPECT_EQ(e.values.at("sluice_batches_total"), 12);
  EXPECT_EQ(e.values.at("sluice_windows_fired_total"), 40);
  EXPECT_EQ(e.values.at("sluice_window_updates_total"), 2);
  EXPECT_EQ(e.values.at("sluice_input_bytes_total"), 123456);
  EXPECT_EQ(e.values.at("sluice_exchange_bytes_total"), 4096);
  EXPECT_EQ(e.values.at("sluice_watermark"), 1.7e12);
  EXPECT_EQ(e.values.at("sluice_state_entries"), 55);
  EXPECT_EQ(e.values.at("sluice_state_bytes"), 1 << 20);
  EXPECT_EQ(e.values.at("sluice_state_slots"), 128);
  EXPECT_EQ(e.values.at("sluice_dictionary_strings"), 9);
  EXPECT_EQ(e.values.at(R"(sluice_info{backend="cpu",rank="0",ranks="1",version="1.2.3"})"), 1);
  for (const auto& [family, type] : e.types)
    if (type == "counter") {
      EXPECT_TRUE(family.ends_with("_total")) << family;
    }
  // Without a timestamp time column there is no lag to tell.
  EXPECT_FALSE(e.values.count("sluice_watermark_lag_seconds"));
}

TEST(PrometheusText, HistogramBucketsAreCumulativeUpToInfAndTheCount) {
  const Exposition e = parse(prometheus_text(sample_metrics(), {}));
  for (const std::string name :
       {"sluice_round_duration_seconds", "sluice_emission_latency_seconds"}) {
    EXPECT_EQ(e.types.at(name), "histogram");
    double last_le = -1, last_count = 0;
    bool saw_inf = false;
    for (const auto& [sample, value] : e.in_order) {
      if (!sample.starts_with(name + "_bucket{le=\"")) continue;
      const std::string le = sample.substr(name.size() + 12, sample.size() - name.size() - 14);
      const double bound = le == "+Inf" ? INFINITY : std::stod(le);
      EXPECT_GT(bound, last_le) << sample;
      EXPECT_GE(value, last_count) << sample;
      last_le = bound;
      last_count = value;
      saw_inf = saw_inf || le == "+Inf";
    }
    EXPECT_TRUE(saw_inf) << name;
    EXPECT_EQ(last_count, e.values.at(name + "_count")) << name;
  }
  EXPECT_EQ(e.values.at("sluice_emission_latency_seconds_count"), 40);
  EXPECT_NEAR(e.values.at("sluice_emission_latency_seconds_sum"), 0.2 * 30 + 3.0 * 10, 1e-6);
  EXPECT_EQ(e.values.at(R"(sluice_emission_latency_seconds_bucket{le="0.25"})"), 30);
  EXPECT_EQ(e.values.at(R"(sluice_emission_latency_seconds_bucket{le="2.5"})"), 30);
  EXPECT_EQ(e.values.at(R"(sluice_emission_latency_seconds_bucket{le="5"})"), 40);
  EXPECT_EQ(e.values.at("sluice_round_duration_seconds_count"), 10);
}

TEST(PrometheusText, WatermarkLagIsWallClockMinusTheWatermarkInItsUnit) {
  ExpositionContext c;
  c.time_unit = TimeUnit::ms;
  c.now = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'004'500));
  const Exposition e = parse(prometheus_text(sample_metrics(), c));
  EXPECT_NEAR(e.values.at("sluice_watermark_lag_seconds"), 4.5, 1e-3);
  c.time_unit = TimeUnit::s;  // the same count as seconds: far in the future, a negative lag
  EXPECT_LT(parse(prometheus_text(sample_metrics(), c)).values.at("sluice_watermark_lag_seconds"),
            0);
}

TEST(PrometheusText, NoWatermarkYetMeansNoWatermarkSamples) {
  Metrics m;  // watermark INT64_MIN: before the first round
  ExpositionContext c;
  c.time_unit = TimeUnit::ns;
  const Exposition e = parse(prometheus_text(m, c));
  EXPECT_FALSE(e.values.count("sluice_watermark"));
  EXPECT_FALSE(e.values.count("sluice_watermark_lag_seconds"));
  EXPECT_FALSE(e.values.count("sluice_input_bytes_total"));  // no input was named
  EXPECT_EQ(e.values.at("sluice_emission_latency_seconds_count"), 0);
}

TEST(PrometheusText, LabelValuesAreEscaped) {
  ExpositionContext c;
  c.version = "a\"b\\c\nd";
  const Exposition e = parse(prometheus_text(Metrics{}, c));
  EXPECT_TRUE(
      e.values.count(R"(sluice_info{backend="cpu",rank="0",ranks="1",version="a\"b\\c\nd"})"));
}

}  // namespace
}  // namespace sluice::obs
