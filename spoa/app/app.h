// The agent's wiring: probes -> policy -> decision board -> SPOP workers, plus the refusal
// endpoint and the event log. Owns every long-lived component; the process lifecycle (signals,
// admin endpoint) is spoa/process.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "probes/snapshot.h"
#include "spoa/alerts/alerter.h"
#include "spoa/app/decision_board.h"
#include "spoa/app/route_handler.h"
#include "spoa/config/config.h"
#include "spoa/events/event_log.h"
#include "spoa/policy/policy.h"
#include "spoa/writer_actions/writer_actions.h"

namespace myspoa::probes {
class ProbeEngine;
}
namespace myspoa::server {
class SpopServer;
}
namespace myspoa::consistency {
class ConsistencyScheduler;
}

namespace myspoa::refusal {
class RefusalEndpoint;
}

namespace myspoa::app {

class App {
 public:
  explicit App(config::Config config);
  ~App();

  // Starts every component; false with `error` set (bind failure...) after stopping what started.
  bool start(std::string& error);
  void stop();

  // Operator actions (admin endpoint). Each returns "" on success or why it was refused.
  std::string drain(const std::string& server, bool drained);
  std::string promote(const std::string& server, bool force);
  void set_inconsistent(const std::string& server, bool inconsistent);

  // The current configuration, never null. Hold the pointer (not a reference into it) while
  // using it: a reload replaces it, and the old one lives as long as somebody holds it.
  config::ConfigPtr config() const;
  // Validates the file, then applies it without closing SPOP connections: probes restart with the
  // state of servers that stayed (same name and address). Returns "" or why the old
  // configuration was kept. Settings that need a restart (listen addresses, threads) are kept
  // and named in the event log.
  std::string reload(const std::string& path);
  policy::DecisionPtr decision() const { return board_.latest(); }
  probes::SnapshotPtr snapshot() const;
  policy::Overrides overrides() const;
  events::EventLog& events() { return events_; }
  const RouteHandler& route_handler() const { return handler_; }
  const server::SpopServer* spop_server() const { return spop_.get(); }
  int64_t started_unix_ms() const { return started_unix_ms_; }
  // Consistency checks (consistency/): always available for on-demand runs (admin POST
  // /checksum/run, /checksum/cancel, GET /checksum); scheduled when consistency.enabled.
  // nullptr before start().
  consistency::ConsistencyScheduler* consistency() { return consistency_.get(); }
  // Cooperating agents: why this agent may not act on the cluster (it is not the primary), naming
  // the primary when known; "" in standalone mode and on the primary.
  std::string not_primary_reason() const;
  uint64_t failovers() const { return failovers_.load(std::memory_order_relaxed); }

  // Runs the configured alert command (alerts.command) with the event on the alerter's thread;
  // never blocks. kind: "writer-change", "split-brain", "backup-mode", "inconsistency", ...
  void alert(const std::string& kind, const std::string& server, const std::string& message);
  alerts::AlertCounters alert_counters() const;
  // Fencing / read_only management / session cuts (spoa/writer_actions/writer_actions.h).
  writer_actions::WriterActionCounters writer_action_counters() const;
  // Servers held Down as flapping since the probe engine (re)started.
  uint64_t flap_holds() const;

  // Text the refusal endpoint sends to a refused client.
  std::string refusal_message() const;

 private:
  void start_probes(probes::SnapshotPtr seed);
  void on_round(probes::SnapshotPtr snapshot);
  void log_server_changes(const probes::Snapshot& before, const probes::Snapshot& after);
  void log_role_change(const policy::Decision& d, const probes::Snapshot& snap);
  void on_consistency_verdict(const std::string& server, bool inconsistent);
  void alert_round(const policy::Decision& d, const probes::Snapshot& snap);

  mutable std::mutex config_mu_;  // guards the config_ pointer (swapped by reload)
  config::ConfigPtr config_;
  std::mutex reload_mu_;
  DecisionBoard board_;
  RouteHandler handler_;
  events::EventLog events_;
  mutable std::mutex probes_mu_;  // guards the probes_ pointer (swapped by reload)
  std::unique_ptr<probes::ProbeEngine> probes_;
  std::unique_ptr<server::SpopServer> spop_;
  std::unique_ptr<refusal::RefusalEndpoint> refusal_;
  std::unique_ptr<consistency::ConsistencyScheduler> consistency_;
  std::unique_ptr<alerts::Alerter> alerter_;
  std::unique_ptr<writer_actions::WriterActions> writer_actions_;

  mutable std::mutex overrides_mu_;
  policy::Overrides overrides_;

  // Touched by the probe thread only.
  policy::DecisionPtr previous_;
  probes::SnapshotPtr previous_snapshot_;

  std::atomic<uint64_t> failovers_{0};
  int64_t started_unix_ms_ = 0;
};

}  // namespace myspoa::app
