// Test helper: run a callable that must throw sluice::Error and return its message.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "sluice/status.hpp"

namespace sluice::test {

/// @brief Runs `f`, expects a sluice::Error with `code`, and returns its message ("" if none).
template <class F>
std::string error_message(F&& f, ErrorCode code) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << "message: " << e.what();
    EXPECT_EQ(e.status().code(), code);
    EXPECT_EQ(e.status().message(), e.what());
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected sluice::Error, got std::exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected sluice::Error(" << to_string(code) << "), nothing was thrown";
  return {};
}

inline ::testing::AssertionResult contains(std::string_view text, std::string_view part) {
  if (text.find(part) != std::string_view::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

}  // namespace sluice::test
