// The two clocks of the agent, in milliseconds: steady for deadlines and decisions (never jumps),
// Unix time for what people read (events, alerts, /status).
#pragma once

#include <chrono>
#include <cstdint>

namespace myspoa::app {

inline int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace myspoa::app
