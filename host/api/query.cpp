// Query: the builder methods, which record steps and settings after checking obvious misuse.
#include "sluice/query.hpp"

#include <cctype>
#include <optional>
#include <string>
#include <utility>

#include "sluice/status.hpp"
#include "text.hpp"

namespace sluice {
namespace {

[[noreturn]] void misuse(const std::string& message) {
  throw Error(ErrorCode::invalid_argument, message);
}

void check_names(const char* step, const std::vector<std::string>& names) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) {
      misuse(std::string(step) + ": column name " + std::to_string(i + 1) + " is empty");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (names[j] == names[i]) {
        misuse(std::string(step) + ": column " + detail::quoted(names[i]) + " is listed twice");
      }
    }
  }
}

void check_non_negative(const char* what, Duration d) {
  if (d.count() < 0) misuse(std::string(what) + " must not be negative (got " + to_string(d) + ")");
}

}  // namespace

Query& Query::filter(Expr predicate) {
  if (!predicate.valid()) misuse("filter: the predicate is empty");
  Step step{Step::Kind::filter, std::move(predicate), {}, {}};
  steps_.push_back(std::move(step));
  return *this;
}

Query& Query::having(Expr condition) {
  if (!condition.valid()) misuse("having: the condition is empty");
  having_ = having_ ? (*having_ && condition) : std::move(condition);
  return *this;
}

Query& Query::map(std::string name, Expr value) {
  if (name.empty()) misuse("map: the column name is empty");
  if (!value.valid()) misuse("map: the expression for " + detail::quoted(name) + " is empty");
  Step step{Step::Kind::map, std::move(value), std::move(name), {}};
  steps_.push_back(std::move(step));
  return *this;
}

Query& Query::project(std::vector<std::string> columns) {
  if (columns.empty()) misuse("project: no columns given");
  check_names("project", columns);
  Step step{Step::Kind::project, Expr(), {}, std::move(columns)};
  steps_.push_back(std::move(step));
  return *this;
}

Query& Query::key_by(std::vector<std::string> columns) {
  check_names("key_by", columns);
  keys_ = std::move(columns);
  return *this;
}

Query& Query::event_time(std::string column, Duration max_out_of_orderness) {
  if (column.empty()) misuse("event_time: the column name is empty");
  check_non_negative("event_time: max out-of-orderness", max_out_of_orderness);
  time_column_ = std::move(column);
  max_delay_ = max_out_of_orderness;
  return *this;
}

Query& Query::allowed_lateness(Duration lateness) {
  check_non_negative("allowed_lateness", lateness);
  lateness_ = lateness;
  return *this;
}

Query& Query::window(WindowSpec spec) {
  // WindowSpec is a plain struct, so re-run the factory checks (they also normalise slide).
  switch (spec.kind) {
    case WindowSpec::Kind::tumbling:
      window_ = WindowSpec::tumbling(spec.size, spec.offset);
      break;
    case WindowSpec::Kind::sliding:
      window_ = WindowSpec::sliding(spec.size, spec.slide, spec.offset);
      break;
    case WindowSpec::Kind::cumulate:
      window_ = WindowSpec::cumulate(spec.size, spec.slide, spec.offset);
      break;
    case WindowSpec::Kind::global:
      window_ = WindowSpec::global();
      break;
  }
  return *this;
}

Query& Query::aggregate(std::vector<AggregateSpec> aggregates) {
  if (aggregates.empty()) misuse("aggregate: no aggregates given");
  for (std::size_t i = 0; i < aggregates.size(); ++i) {
    const AggregateSpec& a = aggregates[i];
    if (a.name.empty()) misuse("aggregate " + std::to_string(i + 1) + " has an empty name");
    if (a.kind != AggKind::count && (!a.input || !a.input->valid())) {
      misuse("aggregate " + detail::quoted(a.name) + " has no input expression");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (aggregates[j].name == a.name) {
        misuse("aggregate: the name " + detail::quoted(a.name) +
               " is used twice (rename one with .as())");
      }
    }
  }
  aggregates_ = std::move(aggregates);
  return *this;
}

Query& Query::sink(ResultSink sink) {
  if (!sink) misuse("sink: the result sink is empty");
  result_sink_ = std::move(sink);
  batch_sink_ = nullptr;
  return *this;
}

Query& Query::sink(BatchSink sink) {
  if (!sink) misuse("sink: the sink is empty");
  batch_sink_ = std::move(sink);
  result_sink_ = nullptr;
  return *this;
}

Query& Query::late_sink(LateSink sink) {
  if (!sink) misuse("late_sink: the sink is empty");
  late_sink_ = std::move(sink);
  return *this;
}

Query& Query::trigger(TriggerSpec spec) {
  if (spec.kind == TriggerSpec::Kind::every && spec.interval.count() <= 0)
    misuse("trigger: an every trigger needs a positive interval (got " + to_string(spec.interval) +
           ")");
  if (spec.kind == TriggerSpec::Kind::count && spec.events == 0)
    misuse("trigger: a count trigger needs a positive count");
  if (spec.kind == TriggerSpec::Kind::on && !spec.condition)
    misuse("trigger: an on trigger needs a condition");
  trigger_ = std::move(spec);
  return *this;
}

Query& Query::broadcast(std::string name, Schema schema, std::string key) {
  const auto identifier = [](const std::string& s) {
    if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    for (char c : s)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
    return true;
  };
  if (!identifier(name))
    misuse("broadcast: the name " + detail::quoted(name) +
           " must be an identifier (letters, digits, '_'), as expressions read name.column");
  for (const BroadcastSpec& b : broadcasts_)
    if (b.name == name) misuse("broadcast: " + detail::quoted(name) + " is declared twice");
  if (broadcasts_.size() >= 4) misuse("broadcast: a query may declare at most 4 broadcast inputs");
  const std::optional<std::size_t> k = schema.find(key);
  if (!k)
    misuse("broadcast " + detail::quoted(name) + ": its key column " + detail::quoted(key) +
           " is not in its schema " + schema.to_string());
  const TypeId id = schema.field(*k).type.id;
  if (id == TypeId::f32 || id == TypeId::f64 || id == TypeId::boolean)
    misuse("broadcast " + detail::quoted(name) + ": its key column " + detail::quoted(key) +
           " must be an integer or string column");
  broadcasts_.push_back({std::move(name), std::move(schema), std::move(key)});
  return *this;
}

}  // namespace sluice
