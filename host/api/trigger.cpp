// TriggerSpec: its constructors and parse_trigger.
#include "sluice/trigger.hpp"

#include <charconv>
#include <string>

#include "sluice/status.hpp"
#include "text.hpp"

namespace sluice {

TriggerSpec TriggerSpec::every(Duration interval) {
  TriggerSpec t;
  t.kind = Kind::every;
  t.interval = interval;
  return t;
}

TriggerSpec TriggerSpec::count(std::uint64_t n) {
  TriggerSpec t;
  t.kind = Kind::count;
  t.events = n;
  return t;
}

TriggerSpec TriggerSpec::on(Expr condition) {
  TriggerSpec t;
  t.kind = Kind::on;
  t.condition = std::move(condition);
  return t;
}

TriggerSpec parse_trigger(std::string_view text) {
  const std::string_view body = detail::trim(text);
  const auto fail = [&](const std::string& why) {
    throw Error(ErrorCode::parse_error, "bad trigger " + detail::quoted(text) + ": " + why);
  };
  if (body == "watermark") return TriggerSpec::watermark();
  if (body.starts_with("every:")) {
    Duration interval{0};
    try {
      interval = parse_duration(body.substr(6));
    } catch (const Error& e) {
      fail(std::string("bad interval: ") + e.what());
    }
    if (interval.count() <= 0) fail("the interval must be positive");
    return TriggerSpec::every(interval);
  }
  if (body.starts_with("count:")) {
    const std::string_view digits = detail::trim(body.substr(6));
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
      fail("the count must be a positive integer (e.g. count:1000)");
    if (n == 0) fail("the count must be positive");
    return TriggerSpec::count(n);
  }
  if (body.starts_with("on:")) {
    try {
      return TriggerSpec::on(parse_expression(body.substr(3)));
    } catch (const Error& e) {
      fail(std::string("bad condition: ") + e.what());
    }
  }
  fail("expected watermark, every:INTERVAL (e.g. every:5s), count:N or on:EXPR");
  return {};
}

std::string to_string(const TriggerSpec& trigger) {
  switch (trigger.kind) {
    case TriggerSpec::Kind::watermark:
      break;
    case TriggerSpec::Kind::every:
      return "every:" + to_string(trigger.interval);
    case TriggerSpec::Kind::count:
      return "count:" + std::to_string(trigger.events);
    case TriggerSpec::Kind::on:
      return "on:" + (trigger.condition ? trigger.condition->to_string() : std::string());
  }
  return "watermark";
}

}  // namespace sluice
