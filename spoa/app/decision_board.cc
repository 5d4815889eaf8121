#include "spoa/app/decision_board.h"

namespace myspoa::app {

namespace {
policy::Decision starting_decision() {
  policy::Decision d;
  d.known = false;
  d.refusal = "state not yet known (first probe round not complete)";
  d.scenario = "starting";
  return d;
}
}  // namespace

DecisionBoard::DecisionBoard(int workers) : slots_(static_cast<size_t>(workers)) {
  latest_ = std::make_shared<const policy::Decision>(starting_decision());
  for (auto& s : slots_) s.current = latest_;
}

DecisionBoard::~DecisionBoard() {
  for (auto& s : slots_) delete s.mailbox.exchange(nullptr);
}

void DecisionBoard::publish(policy::DecisionPtr decision) {
  for (auto& s : slots_) {
    // Each worker gets a reference to the same decision; an unread older one is ours again and
    // is dropped.
    delete s.mailbox.exchange(new policy::DecisionPtr(decision), std::memory_order_acq_rel);
  }
  std::lock_guard lock(latest_mutex_);
  latest_ = std::move(decision);
}

policy::DecisionPtr DecisionBoard::latest() const {
  std::lock_guard lock(latest_mutex_);
  return latest_;
}

const policy::Decision& DecisionBoard::for_worker(int w) {
  auto& s = slots_[static_cast<size_t>(w)];
  if (s.mailbox.load(std::memory_order_relaxed) != nullptr) {
    if (auto* fresh = s.mailbox.exchange(nullptr, std::memory_order_acq_rel)) {
      s.current = std::move(*fresh);
      delete fresh;
    }
  }
  return *s.current;
}

}  // namespace myspoa::app
