#include "api/errors.h"

#include <gtest/gtest.h>

#include "common/status.h"

namespace kefu::api {

// A storage failure is the server's trouble, not the client's: 503 unavailable
// (the client may retry), never 500 internal or 429 rate_limited.
TEST(Errors, UnavailableIs503) {
  EXPECT_EQ(HttpStatusFor(ErrorCode::kUnavailable), 503);
  EXPECT_EQ(ErrorCodeName(ErrorCode::kUnavailable), "unavailable");
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInternal), 500);
}

}  // namespace kefu::api
