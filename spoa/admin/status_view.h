// What the admin endpoint shows, as pure functions of plain data: the /status and /events JSON,
// the Prometheus text of /metrics and the seed's xinetd-style health checks. No App, no I/O, no
// clock reads: AdminServer gathers a StatusInputs and calls these, tests build one by hand.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "probes/snapshot.h"
#include "spoa/alerts/alerter.h"
#include "spoa/config/config.h"
#include "spoa/events/event_log.h"
#include "spoa/policy/decision.h"
#include "spoa/policy/policy.h"
#include "spoa/server/counters.h"
#include "spoa/writer_actions/writer_actions.h"

namespace myspoa::admin {

// Routing decisions taken by the SPOP workers, [intent][result] as in app::RouteCounters:
// intent 0 write, 1 read; result 0 routed, 1 refused.
using DecisionCounts = std::array<std::array<uint64_t, 2>, 2>;

struct StatusInputs {
  const config::Config* config = nullptr;  // required
  config::ConfigPtr config_owner;          // keeps *config alive when it is the agent's (reload)
  probes::SnapshotPtr snapshot;            // may be null (probes not started)
  policy::DecisionPtr decision;            // may be null
  policy::Overrides overrides;
  server::CountersSnapshot spop;  // summed over workers
  bool spop_running = false;
  DecisionCounts decisions{};
  double decisions_per_s = 0.0;
  uint64_t failovers = 0;
  writer_actions::WriterActionCounters writer_actions;  // fencing, read_only, session cuts
  alerts::AlertCounters alerts;
  uint64_t flap_holds = 0;  // servers held Down by flap damping since the probes (re)started
  int64_t started_unix_ms = 0;
  int64_t now_unix_ms = 0;
  std::string version;
  // Per-server verdict of the checksum runner ("consistent", ...) when one is configured. A server
  // in overrides.inconsistent is "inconsistent, requires rebuild" whatever this says.
  std::map<std::string, std::string> consistency;
};

// Verdict strings of the consistency column.
inline constexpr const char* kInconsistent = "inconsistent, requires rebuild";
inline constexpr const char* kConsistent = "consistent";
inline constexpr const char* kConsistencyUnknown = "unknown";

nlohmann::json render_status_json(const StatusInputs& in);
nlohmann::json render_events_json(const std::vector<events::Event>& events);
// Prometheus text exposition format 0.0.4; never contains a password.
std::string render_metrics(const StatusInputs& in);

// A plain-text health check answer for HAProxy's `option httpchk` (one line, newline-terminated).
struct CheckAnswer {
  int status = 200;  // 200, 503, or 404 for an unknown server
  std::string body;
};
// 200 "db03 is up" / 503 "db03 is down: <why>", from the last raw probe (HAProxy applies its own
// rise/fall, like it did on the seed's xinetd scripts).
CheckAnswer check_server_status(const StatusInputs& in, const std::string& server);
// 200 when the last probe saw both replication threads running and lag <= mysql.max_lag_s.
CheckAnswer check_server_replication(const StatusInputs& in, const std::string& server);

// Decisions per second over a sliding window, from monotonically increasing totals. Pure: the
// caller passes the time. Not thread-safe (the admin server guards it).
class RateMeter {
 public:
  explicit RateMeter(int64_t window_ms = 10000) : window_ms_(window_ms) {}
  // Records (now, total) and returns the rate over the window; 0 until two samples exist.
  double update(int64_t now_ms, uint64_t total);

 private:
  struct Sample {
    int64_t at_ms;
    uint64_t total;
  };
  int64_t window_ms_;
  std::vector<Sample> samples_;  // oldest first, bounded by the window (and a hard cap)
};

}  // namespace myspoa::admin
