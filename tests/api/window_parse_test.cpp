// Tests of the WindowSpec factories and parse_window.
#include <gtest/gtest.h>

#include "expect_error.hpp"
#include "sluice/window.hpp"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using test::contains;
using test::error_message;

TEST(Window, Factories) {
  const WindowSpec t = WindowSpec::tumbling(10s);
  EXPECT_EQ(t.kind, WindowSpec::Kind::tumbling);
  EXPECT_EQ(t.size, 10s);
  EXPECT_EQ(t.slide, 10s);
  EXPECT_EQ(t.offset, 0s);
  EXPECT_EQ(WindowSpec::tumbling(10s, 2s).offset, 2s);

  const WindowSpec s = WindowSpec::sliding(10s, 2s, 1s);
  EXPECT_EQ(s.kind, WindowSpec::Kind::sliding);
  EXPECT_EQ(s.size, 10s);
  EXPECT_EQ(s.slide, 2s);
  EXPECT_EQ(s.offset, 1s);
  EXPECT_EQ(WindowSpec::sliding(2s, 5s).slide, 5s);  // hopping with gaps is allowed

  const WindowSpec g = WindowSpec::global();
  EXPECT_EQ(g.kind, WindowSpec::Kind::global);
  EXPECT_EQ(g.size, 0s);
}

TEST(Window, FactoryValidation) {
  EXPECT_TRUE(contains(error_message([] { WindowSpec::tumbling(0s); }, ErrorCode::invalid_argument),
                       "size must be positive"));
  EXPECT_TRUE(contains(
      error_message([] { WindowSpec::tumbling(-1s); }, ErrorCode::invalid_argument), "size"));
  EXPECT_TRUE(
      contains(error_message([] { WindowSpec::tumbling(10s, 10s); }, ErrorCode::invalid_argument),
               "offset"));
  EXPECT_TRUE(
      contains(error_message([] { WindowSpec::tumbling(10s, -1s); }, ErrorCode::invalid_argument),
               "offset"));
  EXPECT_TRUE(contains(
      error_message([] { WindowSpec::sliding(0s, 1s); }, ErrorCode::invalid_argument), "size"));
  EXPECT_TRUE(contains(
      error_message([] { WindowSpec::sliding(10s, 0s); }, ErrorCode::invalid_argument), "slide"));
  EXPECT_TRUE(
      contains(error_message([] { WindowSpec::sliding(10s, 2s, 2s); }, ErrorCode::invalid_argument),
               "offset"));
}

TEST(WindowParse, Forms) {
  const WindowSpec t = parse_window("tumbling:10s");
  EXPECT_EQ(t.kind, WindowSpec::Kind::tumbling);
  EXPECT_EQ(t.size, 10s);
  EXPECT_EQ(t.slide, 10s);
  EXPECT_EQ(t.offset, 0s);

  const WindowSpec to = parse_window("tumbling:10s@2s");
  EXPECT_EQ(to.size, 10s);
  EXPECT_EQ(to.offset, 2s);

  const WindowSpec s = parse_window("sliding:10s/2s");
  EXPECT_EQ(s.kind, WindowSpec::Kind::sliding);
  EXPECT_EQ(s.size, 10s);
  EXPECT_EQ(s.slide, 2s);

  const WindowSpec so = parse_window(" sliding:1m/500ms@250ms ");
  EXPECT_EQ(so.size, 1min);
  EXPECT_EQ(so.slide, 500ms);
  EXPECT_EQ(so.offset, 250ms);

  EXPECT_EQ(parse_window("global").kind, WindowSpec::Kind::global);
}

TEST(WindowParse, ErrorsNameTheText) {
  struct Case {
    const char* text;
    const char* what;
  };
  const Case cases[] = {
      {"", "expected tumbling:SIZE"},         {"hopping:10s", "expected tumbling:SIZE"},
      {"tumbling", "expected tumbling:SIZE"}, {"tumbling:", "bad size"},
      {"tumbling:10x", "bad size"},           {"tumbling:10s@", "bad offset"},
      {"tumbling:10s/2s", "takes no slide"},  {"tumbling:0s", "must be positive"},
      {"tumbling:10s@10s", "offset"},         {"sliding:10s", "expected sliding:SIZE/SLIDE"},
      {"sliding:10s/", "bad slide"},          {"sliding:/2s", "bad size"},
      {"sliding:10s/0s", "must be positive"}, {"global:10s", "expected tumbling:SIZE"},
  };
  for (const Case& c : cases) {
    const std::string message =
        error_message([&] { parse_window(c.text); }, ErrorCode::parse_error);
    EXPECT_TRUE(contains(message, std::string("bad window '") + c.text + "'")) << c.text;
    EXPECT_TRUE(contains(message, c.what)) << c.text;
  }
}

}  // namespace
}  // namespace sluice
