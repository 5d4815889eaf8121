// Where the current routing decision lives. The probe thread publishes; SPOP workers read their own
// private copy through a lock-free single-slot mailbox (no lock shared with the probes on the hot
// path); the admin endpoint and the refusal endpoint read a shared_ptr under a mutex (cold path).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "spoa/policy/decision.h"

namespace myspoa::app {

class DecisionBoard {
 public:
  explicit DecisionBoard(int workers);
  ~DecisionBoard();
  DecisionBoard(const DecisionBoard&) = delete;
  DecisionBoard& operator=(const DecisionBoard&) = delete;

  // Probe thread: publish a new decision to every worker and to cold-path readers.
  void publish(policy::DecisionPtr decision);

  // Cold path (admin, refusal endpoint): the latest decision, never null.
  policy::DecisionPtr latest() const;

  // Hot path, worker `w` only: the worker's current copy, refreshed from its mailbox if a newer
  // one was posted. Never null. Valid until this worker's next call.
  const policy::Decision& for_worker(int w);

  int workers() const { return static_cast<int>(slots_.size()); }

 private:
  struct alignas(64) Slot {
    std::atomic<policy::Decision*> mailbox{nullptr};  // owned while posted
    std::unique_ptr<policy::Decision> current;        // touched by the worker only
  };
  std::vector<Slot> slots_;
  mutable std::mutex latest_mutex_;
  policy::DecisionPtr latest_;
};

}  // namespace myspoa::app
