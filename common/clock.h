// The agent's clocks, in one place: steady time for deadlines, intervals and decisions (never
// jumps), Unix time for what people read (events, alerts, reports, heartbeats). Header-only and
// dependency-free so that probes/, consistency/ and spoa/ can all use it.
//
// Components whose logic depends on time take a `clock::Source` (default: clock::steady_ms) so a
// test can drive time by hand instead of sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace myspoa::clock {

// Milliseconds; a component that injects time takes one of these.
using Source = std::function<int64_t()>;

template <class Unit, class C>
int64_t since_epoch() {
  return std::chrono::duration_cast<Unit>(C::now().time_since_epoch()).count();
}

inline int64_t steady_ns() {
  return since_epoch<std::chrono::nanoseconds, std::chrono::steady_clock>();
}
inline int64_t steady_us() {
  return since_epoch<std::chrono::microseconds, std::chrono::steady_clock>();
}
inline int64_t steady_ms() {
  return since_epoch<std::chrono::milliseconds, std::chrono::steady_clock>();
}
inline int64_t unix_us() {
  return since_epoch<std::chrono::microseconds, std::chrono::system_clock>();
}
inline int64_t unix_ms() {
  return since_epoch<std::chrono::milliseconds, std::chrono::system_clock>();
}

}  // namespace myspoa::clock
