// WindowSpec: validated factories for tumbling, sliding and global windows, and parse_window.
#include "sluice/window.hpp"

#include <string>

#include "sluice/status.hpp"
#include "text.hpp"

namespace sluice {
namespace {

void check_positive(const char* what, Duration d) {
  if (d.count() <= 0) {
    throw Error(ErrorCode::invalid_argument,
                std::string(what) + " must be positive (got " + to_string(d) + ")");
  }
}

// The offset only shifts the grid start = offset + k * slide, so it is kept in [0, slide).
void check_offset(const char* kind, Duration offset, Duration slide, const char* slide_name) {
  if (offset.count() < 0 || offset >= slide) {
    throw Error(ErrorCode::invalid_argument,
                std::string(kind) + " window offset must be in [0, " + slide_name + ") (got " +
                    to_string(offset) + " with " + slide_name + " " + to_string(slide) + ")");
  }
}

}  // namespace

WindowSpec WindowSpec::tumbling(Duration size, Duration offset) {
  check_positive("tumbling window size", size);
  check_offset("tumbling", offset, size, "size");
  WindowSpec spec;
  spec.kind = Kind::tumbling;
  spec.size = size;
  spec.slide = size;
  spec.offset = offset;
  return spec;
}

WindowSpec WindowSpec::sliding(Duration size, Duration slide, Duration offset) {
  check_positive("sliding window size", size);
  check_positive("sliding window slide", slide);
  check_offset("sliding", offset, slide, "slide");
  WindowSpec spec;
  spec.kind = Kind::sliding;
  spec.size = size;
  spec.slide = slide;
  spec.offset = offset;
  return spec;
}

WindowSpec WindowSpec::global() { return WindowSpec{}; }

WindowSpec WindowSpec::cumulate(Duration size, Duration step, Duration offset) {
  check_positive("cumulate window size", size);
  check_positive("cumulate window step", step);
  if (size.count() % step.count() != 0)
    throw Error(ErrorCode::invalid_argument, "cumulate window size " + to_string(size) +
                                                 " must be a multiple of its step " +
                                                 to_string(step));
  check_offset("cumulate", offset, size, "size");
  WindowSpec spec;
  spec.kind = Kind::cumulate;
  spec.size = size;
  spec.slide = step;
  spec.offset = offset;
  return spec;
}

WindowSpec parse_window(std::string_view text) {
  const std::string_view body = detail::trim(text);
  const auto fail = [&](const std::string& why) {
    throw Error(ErrorCode::parse_error, "bad window " + detail::quoted(text) + ": " + why);
  };
  const auto duration = [&](std::string_view part, const char* what) {
    try {
      return parse_duration(part);
    } catch (const Error& e) {
      fail(std::string("bad ") + what + ": " + e.what());
    }
    return Duration{0};
  };
  if (body == "global") return WindowSpec::global();

  const std::size_t colon = body.find(':');
  const std::string_view kind = detail::trim(body.substr(0, colon));
  if (colon == std::string_view::npos ||
      (kind != "tumbling" && kind != "sliding" && kind != "cumulate")) {
    fail(
        "expected tumbling:SIZE[@OFFSET], sliding:SIZE/SLIDE[@OFFSET], "
        "cumulate:SIZE/STEP[@OFFSET] or global");
  }
  std::string_view rest = body.substr(colon + 1);
  Duration offset{0};
  if (const std::size_t at = rest.find('@'); at != std::string_view::npos) {
    offset = duration(rest.substr(at + 1), "offset");
    rest = rest.substr(0, at);
  }
  try {
    if (kind == "tumbling") {
      if (rest.find('/') != std::string_view::npos) {
        fail("a tumbling window takes no slide (use sliding:SIZE/SLIDE)");
      }
      return WindowSpec::tumbling(duration(rest, "size"), offset);
    }
    const std::size_t slash = rest.find('/');
    if (kind == "cumulate") {
      if (slash == std::string_view::npos) fail("expected cumulate:SIZE/STEP");
      return WindowSpec::cumulate(duration(rest.substr(0, slash), "size"),
                                  duration(rest.substr(slash + 1), "step"), offset);
    }
    if (slash == std::string_view::npos) fail("expected sliding:SIZE/SLIDE");
    return WindowSpec::sliding(duration(rest.substr(0, slash), "size"),
                               duration(rest.substr(slash + 1), "slide"), offset);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::parse_error) throw;
    fail(e.what());
  }
  return WindowSpec::global();
}

std::string to_string(const WindowSpec& window) {
  const std::string offset =
      window.offset.count() != 0 ? "@" + to_string(window.offset) : std::string();
  switch (window.kind) {
    case WindowSpec::Kind::tumbling:
      return "tumbling:" + to_string(window.size) + offset;
    case WindowSpec::Kind::sliding:
      return "sliding:" + to_string(window.size) + "/" + to_string(window.slide) + offset;
    case WindowSpec::Kind::cumulate:
      return "cumulate:" + to_string(window.size) + "/" + to_string(window.slide) + offset;
    case WindowSpec::Kind::global:
      return "global";
  }
  return "global";
}

}  // namespace sluice
