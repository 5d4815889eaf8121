// Answers HAProxy's "myspoa-route" message: for a connection with intent write or read, the backend
// to use (from the decision the worker holds), the scenario, the server and a refusal
// flag, as session variables. Runs on SPOP worker threads; no allocation, no lock, no I/O.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "spoa/app/decision_board.h"
#include "spoa/server/notify_handler.h"

namespace myspoa::app {

enum class Intent : uint8_t { Write = 0, Read = 1 };
enum class RouteResult : uint8_t { Routed = 0, Refused = 1 };
inline const char* to_string(Intent i) {
  return i == Intent::Write ? "write" : "read";
}
inline const char* to_string(RouteResult r) {
  return r == RouteResult::Routed ? "routed" : "refused";
}

// The HAProxy backend that answers refused connections with a MySQL error (haproxy/haproxy.cfg).
inline constexpr const char* kRefusalBackend = "be_myspoa_refuse";

struct RouteCounters {
  // decisions[intent][result]
  std::array<std::array<std::atomic<uint64_t>, 2>, 2> decisions{};
  std::atomic<uint64_t> unknown_messages{0};
};

class RouteHandler : public server::NotifyHandler {
 public:
  explicit RouteHandler(DecisionBoard& board);

  void on_notify(const spop::Notify& notify, spop::AckWriter& ack, int worker_index) override;

  uint64_t decisions(Intent i, RouteResult r) const;
  uint64_t unknown_messages() const;

 private:
  struct alignas(64) WorkerState {
    uint64_t read_cursor = 0;  // spreads reads over the pool by weight, per worker
    RouteCounters counters;
  };
  void answer(Intent intent, const policy::Decision& d, WorkerState& w, spop::AckWriter& ack);

  DecisionBoard& board_;
  std::vector<WorkerState> workers_;
};

// Pure: which read-pool member the n-th read connection goes to (weighted, interleaved so that
// consecutive connections spread across servers). Returns -1 when the pool is empty.
int pick_reader(const policy::Decision& d, uint64_t n);

}  // namespace myspoa::app
