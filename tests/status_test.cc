#include "omni/status.h"

#include <gtest/gtest.h>

namespace omni {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.to_string(), "OK");
}

TEST(StatusTest, CarriesCodeAndMessage) {
  Status s = Status::conflict("key 'a' is at version 3, expected 2");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kConflict);
  EXPECT_EQ(s.to_string(), "Conflict: key 'a' is at version 3, expected 2");
}

TEST(ResultTest, HoldsValueOrStatus) {
  Result<int> v = 7;
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 7);
  EXPECT_TRUE(v.status().ok());

  Result<int> e = Status::not_found("no event with seq 9");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kNotFound);
}

// A Result built from an OK status is a bug in the caller, not bad input.
TEST(ResultTest, OkStatusIsNotAValue) {
  Result<int> r = Status();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_EQ(status_code_name(StatusCode::kInternal), "Internal");
}

Result<int> half(int x) {
  if (x % 2) return Status::invalid_argument(std::to_string(x) + " is odd");
  return x / 2;
}

Result<int> quarter(int x) {
  OMNI_ASSIGN_OR_RETURN(const int h, half(x));
  OMNI_ASSIGN_OR_RETURN(int q, half(h));
  return q;
}

TEST(ResultTest, AssignOrReturnPropagatesTheFirstError) {
  EXPECT_EQ(*quarter(12), 3);
  EXPECT_EQ(quarter(6).status().message(), "3 is odd");
  EXPECT_EQ(quarter(5).status().message(), "5 is odd");
}

TEST(ResultDeathTest, ValueOfErrorAborts) {
  Result<int> e = Status::io_error("disk gone");
  EXPECT_DEATH((void)e.value(), "IOError: disk gone");
}

}  // namespace
}  // namespace omni
