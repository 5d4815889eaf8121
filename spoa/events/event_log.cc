#include "spoa/events/event_log.h"

#include "common/clock.h"

namespace myspoa::events {

Event EventLog::add(std::string kind, std::string server, std::string message) {
  const int64_t now = clock::unix_ms();
  std::lock_guard lock(mu_);
  Event e{next_seq_++, now, std::move(kind), std::move(server), std::move(message)};
  events_.push_back(e);
  while (events_.size() > capacity_) events_.pop_front();
  return e;
}

std::vector<Event> EventLog::since(uint64_t seq) const {
  std::lock_guard lock(mu_);
  std::vector<Event> out;
  for (const auto& e : events_)
    if (e.seq > seq) out.push_back(e);
  return out;
}

}  // namespace myspoa::events
