// TriggerSpec: parse_trigger.
#include "sluice/trigger.hpp"

#include <string>

#include "sluice/status.hpp"
#include "text.hpp"

namespace sluice {

TriggerSpec parse_trigger(std::string_view text) {
  const std::string_view body = detail::trim(text);
  const auto fail = [&](const std::string& why) {
    throw Error(ErrorCode::parse_error, "bad trigger " + detail::quoted(text) + ": " + why);
  };
  if (body == "watermark") return TriggerSpec::watermark();
  if (!body.starts_with("every:")) fail("expected watermark or every:INTERVAL (e.g. every:5s)");
  Duration interval{0};
  try {
    interval = parse_duration(body.substr(6));
  } catch (const Error& e) {
    fail(std::string("bad interval: ") + e.what());
  }
  if (interval.count() <= 0) fail("the interval must be positive");
  return TriggerSpec::every(interval);
}

}  // namespace sluice
