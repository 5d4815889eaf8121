// What the agent does on the MySQL servers and on HAProxy when writes move (issue 8): fencing
// (read_only on a reachable master that writes left, cluster.fence), read_only management
// (cluster.manage_read_only) and cutting the old writer's write sessions through HAProxy's runtime
// API (haproxy.runtime_api).
//
// Ordering, per probe round (App::on_round): before_publish() issues the read_only changes, then
// the decision is published, then after_publish() cuts sessions. So:
// - The fence of the old writer is sent before the new writer is published, but not awaited: it
//   runs on the probe engine's loop right after the round (one loopback round trip), so new
//   sessions may reach the new writer a few milliseconds before the old one is read_only. In the
//   common failover path the policy's promotion wait (writes refused until the new writer has
//   applied its relay log) lies between the two, and the fence is done long before.
// - read_only=0 on the new writer (manage_read_only) is sent while it waits for its relay log
//   (decision.promoting), so it is normally writable before writes reach it.
// - Sessions are cut only after the new decision is published, so clients that reconnect at once
//   are routed to the new writer, not back to the old one. A second cut ~1 s later catches a
//   session whose routing answer was computed just before the switch.
//
// Why the runtime API and not agent-check/on-marked-down: be_dbNN backends carry reads as well
// as writes, and marking db01 down would cut its read sessions and its reads; `show sess` tells
// each session's frontend, so only sessions of the write frontend (haproxy.write_frontend) in the
// old writer's backend are shut down (`shutdown session <id>`), with no HAProxy config change.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "probes/mysql_client.h"
#include "probes/snapshot.h"
#include "spoa/config/config.h"
#include "spoa/executor/executor.h"
#include "spoa/policy/decision.h"

namespace myspoa::writer_actions {

struct ReadOnlyAction {
  std::string server;
  bool read_only = true;  // true: fence; false: make writable (manage_read_only)
  std::string why;
};

// Pure: the read_only changes called for by the decision and the servers' observed read_only.
// `left`: masters writes have moved away from (fenced without manage_read_only).
// - fence read_only + manage_read_only: every up master that is neither the writer nor promoting
//   and is seen writable gets read_only=1.
// - fence read_only alone: only masters in `left` (seen writable, not the writer).
// - manage_read_only: the writer, or the master waiting to take writes, seen read_only gets
//   read_only=0.
std::vector<ReadOnlyAction> plan_read_only(const policy::Decision& d, const probes::Snapshot& snap,
                                           const config::ClusterConfig& cluster,
                                           const std::set<std::string>& left);

// SQL of one action; `super_read_only` when the server has it (MySQL), from the last probe.
std::string read_only_sql(bool read_only, bool has_super_read_only);

struct WriterActionCounters {
  uint64_t fences = 0;    // read_only=1 statements that succeeded
  uint64_t unfences = 0;  // read_only=0 statements that succeeded
  uint64_t read_only_failures = 0;
  uint64_t session_cuts = 0;  // cut passes run
  uint64_t sessions_cut = 0;  // sessions shut down
  uint64_t runtime_api_failures = 0;
};

class WriterActions {
 public:
  // Runs SQL on a server through the probe engine (ProbeEngine::execute).
  using Execute = std::function<void(const std::string& server, std::string sql,
                                     std::function<void(probes::QueryOutcome&&)> done)>;
  // Reports what was done ("fence", "session-cut"...) to the event log / alerts.
  using Report = std::function<void(const std::string& kind, const std::string& server,
                                    const std::string& message, bool failed)>;

  // Starts the thread that cuts sessions (its executor).
  WriterActions(Execute execute, Report report);
  ~WriterActions();
  WriterActions(const WriterActions&) = delete;
  WriterActions& operator=(const WriterActions&) = delete;

  // Drops the session cuts not yet run, waits for the running one. Idempotent.
  void stop();

  // On the probe thread, every round. `now_ms`: steady clock.
  void before_publish(const config::Config& cfg, const policy::Decision* previous,
                      const policy::Decision& d, const probes::Snapshot& snap, int64_t now_ms);
  void after_publish(const config::Config& cfg, const policy::Decision* previous,
                     const policy::Decision& d, const probes::Snapshot& snap);

  WriterActionCounters counters() const;

 private:
  struct CutJob {
    std::vector<std::string> sockets;
    std::string frontend, backend, server;
    int timeout_ms = 1000;
  };
  void cut(const CutJob& job);

  Execute execute_;
  Report report_;

  // Probe thread only.
  std::set<std::string> left_;
  int64_t none_writable_since_ms_ = 0;  // majority mode: no master seen writable since (0: one is)
  struct InFlight {
    bool busy = false;
    bool last_read_only = false;  // value of the last statement sent
    int64_t retry_at_ms = 0;      // no new statement for the same value before this
  };
  std::map<std::string, InFlight> sql_state_;  // per server; busy also read by callbacks (mu_)

  mutable std::mutex mu_;
  WriterActionCounters counters_;
  executor::Executor cuts_;  // last: stopped before the members its tasks use go
};

}  // namespace myspoa::writer_actions
