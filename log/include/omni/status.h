// omni::Status and omni::Result<T>: errors as values at every public API.
//
// A Status is either OK or carries a code and a message that names what was wrong
// (the key, the sequence number, the limit). Codes mirror the reference README's
// exceptions: kInvalidArgument is its ValidationError, kBackend its BackendError,
// kUnavailable its BackendConnectionError.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace omni {

// Do not renumber: codes are mapped onto boost::system::error_code values.
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // bad key, document or name; nothing was written
  kConflict = 2,         // expected_version did not match; nothing was written
  kNotFound = 3,
  kBackend = 4,          // a backend refused or failed an operation
  kUnavailable = 5,      // no backend reachable, or the store is closing/closed
  kIOError = 6,          // the local disk failed
  kCorruption = 7,       // bytes on disk are not what was written
  kTimedOut = 8,
  kInternal = 9,         // a state that cannot happen did: a bug in Omni, please report
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return {}; }
  static Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status backend(std::string m) { return {StatusCode::kBackend, std::move(m)}; }
  static Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status io_error(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status timed_out(std::string m) { return {StatusCode::kTimedOut, std::move(m)}; }
  static Status internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "Conflict: key 'user:1' is at version 7, expected 5"
  std::string to_string() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or a non-OK Status. Accessing the value of an error Result prints the
// status and aborts (exceptions never cross the public API); check ok() first.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    if (std::get<1>(v_).ok()) {
      v_.template emplace<1>(StatusCode::kInternal, "Result constructed from an OK Status");
    }
  }

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  // OK when a value is held.
  Status status() const { return ok() ? Status() : std::get<1>(v_); }

  T& value() & { check(); return std::get<0>(v_); }
  const T& value() const& { check(); return std::get<0>(v_); }
  // By value, not T&&: `for (auto& e : f().value())` must not dangle.
  T value() && { check(); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void check() const {
    if (!ok()) {
      std::fprintf(stderr, "omni::Result::value() on error: %s\n",
                   std::get<1>(v_).to_string().c_str());
      std::abort();
    }
  }
  std::variant<T, Status> v_;
};

}  // namespace omni

// Early-return helpers for implementation files.
#define OMNI_RETURN_IF_ERROR(expr)            \
  do {                                        \
    ::omni::Status omni_status_ = (expr);     \
    if (!omni_status_.ok()) return omni_status_; \
  } while (0)

// OMNI_ASSIGN_OR_RETURN(auto x, f()); evaluates f() (a Result<T>), returns its
// status on error, else declares/assigns lhs from its value (moved).
#define OMNI_CONCAT_INNER_(a, b) a##b
#define OMNI_CONCAT_(a, b) OMNI_CONCAT_INNER_(a, b)
#define OMNI_ASSIGN_OR_RETURN(lhs, rexpr) \
  OMNI_ASSIGN_OR_RETURN_IMPL_(OMNI_CONCAT_(omni_result_, __LINE__), lhs, rexpr)
#define OMNI_ASSIGN_OR_RETURN_IMPL_(result, lhs, rexpr) \
  auto result = (rexpr);                                \
  if (!result.ok()) return result.status();             \
  lhs = std::move(result).value()
