// Where the current routing decision lives. The probe thread publishes one immutable Decision
// (shared_ptr<const Decision>); each SPOP worker picks up a reference to it through its own
// lock-free single-slot mailbox (no lock shared with the probes on the hot path, no copy of the
// decision); the admin and refusal endpoints read the latest pointer under a mutex (cold path).
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

  // Hot path, worker `w` only: the decision the worker holds, refreshed from its mailbox if a
  // newer one was posted. Valid until this worker's next call (the worker's reference keeps it).
  // Taking a newer one may free the older on this thread, once per published decision.
  const policy::Decision& for_worker(int w);

  int workers() const { return static_cast<int>(slots_.size()); }

 private:
  struct alignas(64) Slot {
    // A heap-held reference, owned by the slot while posted: one small allocation per worker per
    // publish on the probe thread; the worker takes it with one exchange.
    std::atomic<policy::DecisionPtr*> mailbox{nullptr};
    policy::DecisionPtr current;  // touched by the worker only
  };
  std::vector<Slot> slots_;
  mutable std::mutex latest_mutex_;
  policy::DecisionPtr latest_;
};

}  // namespace myspoa::app
