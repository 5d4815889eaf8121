// Recent state transitions and writer changes, with reasons and times, for /events and alerts.
// A bounded ring; written by the probe thread, read by the admin thread (cold path, mutex).
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace myspoa::events {

struct Event {
  uint64_t seq = 0;
  int64_t unix_ms = 0;  // wall clock, for humans
  std::string kind;     // "writer-change", "scenario", "server", "operator", "reload", ...
  std::string server;   // "" when not about one server
  std::string message;  // one line, with the reason
};

class EventLog {
 public:
  explicit EventLog(size_t capacity = 1000) : capacity_(capacity) {}
  Event add(std::string kind, std::string server, std::string message);
  std::vector<Event> since(uint64_t seq) const;  // events with seq > `seq`, oldest first
  std::vector<Event> all() const { return since(0); }

 private:
  size_t capacity_;
  mutable std::mutex mu_;
  std::deque<Event> events_;
  uint64_t next_seq_ = 1;
};

}  // namespace myspoa::events
