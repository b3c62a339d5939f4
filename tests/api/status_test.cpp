// Tests of Status, Error and the names of error codes.
#include "sluice/status.hpp"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(Status, OkByDefault) {
  const Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::ok);
  EXPECT_EQ(s.to_string(), "ok");
  EXPECT_TRUE(Status::success().ok());
}

TEST(Status, ErrorText) {
  const Status s(ErrorCode::parse_error, "bad thing at position 3");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.to_string(), "parse_error: bad thing at position 3");
}

TEST(Status, CodeNames) {
  EXPECT_STREQ(to_string(ErrorCode::ok), "ok");
  EXPECT_STREQ(to_string(ErrorCode::invalid_argument), "invalid_argument");
  EXPECT_STREQ(to_string(ErrorCode::unknown_column), "unknown_column");
  EXPECT_STREQ(to_string(ErrorCode::type_mismatch), "type_mismatch");
  EXPECT_STREQ(to_string(ErrorCode::parse_error), "parse_error");
  EXPECT_STREQ(to_string(ErrorCode::malformed_input), "malformed_input");
  EXPECT_STREQ(to_string(ErrorCode::io_error), "io_error");
  EXPECT_STREQ(to_string(ErrorCode::backend_unavailable), "backend_unavailable");
  EXPECT_STREQ(to_string(ErrorCode::arithmetic_overflow), "arithmetic_overflow");
  EXPECT_STREQ(to_string(ErrorCode::out_of_memory), "out_of_memory");
  EXPECT_STREQ(to_string(ErrorCode::device_error), "device_error");
  EXPECT_STREQ(to_string(ErrorCode::internal), "internal");
}

TEST(Status, ErrorCarriesStatus) {
  const Error e(ErrorCode::io_error, "cannot open 'x.csv'");
  EXPECT_EQ(e.code(), ErrorCode::io_error);
  EXPECT_STREQ(e.what(), "cannot open 'x.csv'");
  EXPECT_EQ(e.status().to_string(), "io_error: cannot open 'x.csv'");
}

}  // namespace
}  // namespace sluice
