// prometheus_text(): the job's Metrics in Prometheus' text exposition format.
#include "host/observability/prometheus_text.hpp"

#include <charconv>
#include <cmath>
#include <limits>

namespace sluice::obs {
namespace {

/// A sample value as the format writes it: integers exactly, other numbers round-trip.
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, v).ptr;  // shortest that reads back
  return std::string(text, end);
}

std::string number(std::uint64_t v) { return std::to_string(v); }

/// A label value with \, " and newlines escaped.
std::string escaped(const std::string& value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

class Writer {
 public:
  void family(const char* name, const char* type, const char* help) {
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    text_ += help;
    text_ += "\n# TYPE ";
    text_ += name;
    text_ += ' ';
    text_ += type;
    text_ += '\n';
  }
  void sample(const std::string& name, const std::string& value, const std::string& labels = {}) {
    text_ += name;
    if (!labels.empty()) text_ += '{' + labels + '}';
    text_ += ' ';
    text_ += value;
    text_ += '\n';
  }
  void counter(const char* name, const char* help, std::uint64_t value) {
    family(name, "counter", help);
    sample(name, number(value));
  }
  void gauge(const char* name, const char* help, double value) {
    family(name, "gauge", help);
    sample(name, number(value));
  }
  void histogram(const char* name, const char* help, const Histogram& h) {
    family(name, "histogram", help);
    const std::string base = name;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.upper_bounds.size(); ++i) {
      cumulative += i < h.counts.size() ? h.counts[i] : 0;
      sample(base + "_bucket", number(cumulative), "le=\"" + number(h.upper_bounds[i]) + '"');
    }
    sample(base + "_bucket", number(h.count), "le=\"+Inf\"");
    sample(base + "_sum", number(h.sum));
    sample(base + "_count", number(h.count));
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

}  // namespace

std::string prometheus_text(const Metrics& m, const ExpositionContext& context) {
  Writer w;
  w.family("sluice_info", "gauge", "The running job: its backend, rank and version (always 1).");
  w.sample("sluice_info", "1",
           "backend=\"" + escaped(context.backend) + "\",rank=\"" + std::to_string(context.rank) +
               "\",ranks=\"" + std::to_string(context.ranks) + "\",version=\"" +
               escaped(context.version) + '"');
  w.counter("sluice_events_in_total", "Events pushed into the job.", m.events_in);
  w.counter("sluice_events_filtered_total", "Events the query's filter removed.",
            m.events_filtered);
  w.counter("sluice_events_late_total", "Events too late for every window (dropped).",
            m.events_late);
  w.counter("sluice_events_malformed_total",
            "Input rows rejected as malformed, and events whose time no window can represent.",
            m.events_malformed);
  w.counter("sluice_events_aggregated_total", "Events folded into windows.", m.events_aggregated);
  w.counter("sluice_batches_total", "Micro-batches processed.", m.batches);
  w.counter("sluice_windows_fired_total", "(window, key) result rows emitted, updates included.",
            m.windows_fired);
  w.counter("sluice_window_updates_total",
            "Result rows that were updates: re-emissions and early firings.", m.window_updates);
  if (context.input_bytes)
    w.counter("sluice_input_bytes_total", "Bytes read from the input.", *context.input_bytes);
  w.counter("sluice_exchange_bytes_total", "Bytes sent to other ranks.", m.exchange_bytes);
  w.counter("sluice_checkpoints_total", "Checkpoints taken.", m.checkpoints);
  w.counter("sluice_strings_reclaimed_total", "Dictionary strings dropped by reclaims.",
            m.strings_reclaimed);
  if (m.watermark != std::numeric_limits<std::int64_t>::min()) {
    w.gauge("sluice_watermark",
            "The event-time watermark windows have fired to, in the time column's unit.",
            static_cast<double>(m.watermark));
    if (context.time_unit && m.watermark != std::numeric_limits<std::int64_t>::max()) {
      const auto now_ns =
          std::chrono::duration_cast<std::chrono::nanoseconds>(context.now.time_since_epoch())
              .count();
      const double lag = static_cast<double>(now_ns) * 1e-9 -
                         static_cast<double>(m.watermark) *
                             (static_cast<double>(nanos_per_unit(*context.time_unit)) * 1e-9);
      w.gauge("sluice_watermark_lag_seconds",
              "Wall-clock time minus the watermark (event times since the epoch).", lag);
    }
  }
  w.gauge("sluice_state_entries", "Live (key, pane) entries of the window state, all workers.",
          static_cast<double>(m.state_groups));
  w.gauge("sluice_state_bytes", "Bytes the window state's tables hold, room to grow included.",
          static_cast<double>(m.state_bytes));
  w.gauge("sluice_state_slots",
          "Index slots of the window state's hash tables, free tables included (entries / slots "
          "is their load).",
          static_cast<double>(m.state_slots));
  w.gauge("sluice_dictionary_strings", "Strings the job's dictionary holds.",
          static_cast<double>(m.dictionary_strings));
  w.gauge("sluice_dictionary_bytes", "Host memory of the job's dictionary (approximate).",
          static_cast<double>(m.dictionary_bytes));
  w.histogram("sluice_round_duration_seconds",
              "Time a worker spent on one round: its micro-batches folded, exchanged, merged "
              "and fired.",
              m.round_duration);
  w.histogram("sluice_emission_latency_seconds",
              "Per emitted (window, key) row: from the first push into the micro-batches of the "
              "round that fired it to its hand-over to the sinks.",
              m.emission_latency);
  return w.take();
}

}  // namespace sluice::obs
