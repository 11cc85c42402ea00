// Saturating time arithmetic: a timeout of milliseconds::max() (or 400 years) means
// "practically forever", never an overflow that wraps to "already expired".
// Internal to the engine (not installed).
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>

namespace omni::log {

// d in the clock's own duration, clamped instead of overflowing.
template <typename Duration, typename Rep, typename Period>
constexpr Duration saturating_cast(std::chrono::duration<Rep, Period> d) {
  using To = Duration;
  // Compare in long double: exact enough for a clamp, and it cannot overflow.
  const long double v = static_cast<long double>(d.count()) * Period::num / Period::den;
  const long double max = static_cast<long double>(To::max().count()) * To::period::num / To::period::den;
  const long double min = static_cast<long double>(To::min().count()) * To::period::num / To::period::den;
  if (v >= max) return To::max();
  if (v <= min) return To::min();
  return std::chrono::duration_cast<To>(d);
}

// now + d, clamped to the clock's largest time point. A negative d counts as zero.
template <typename Clock, typename Rep, typename Period>
typename Clock::time_point deadline_after(typename Clock::time_point now,
                                          std::chrono::duration<Rep, Period> d) {
  using D = typename Clock::duration;
  if (d.count() <= 0) return now;
  const D dd = saturating_cast<D>(d);
  if (now.time_since_epoch() > D::max() - dd) return Clock::time_point::max();
  return now + dd;
}

// now_ns - d in nanoseconds since the epoch, clamped to INT64_MIN (so a retention
// of 400 years means "nothing is old enough", not "everything is").
template <typename Rep, typename Period>
std::int64_t ns_before(std::int64_t now_ns, std::chrono::duration<Rep, Period> d) {
  using std::chrono::nanoseconds;
  const nanoseconds dd = saturating_cast<nanoseconds>(d);
  if (dd.count() <= 0) return now_ns;
  if (now_ns < std::numeric_limits<std::int64_t>::min() + dd.count()) {
    return std::numeric_limits<std::int64_t>::min();
  }
  return now_ns - dd.count();
}

}  // namespace omni::log
