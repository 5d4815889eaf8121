// Rise/fall hysteresis for one server: raw probe results in, thresholded states out.
// Pure: no clock (callers pass now_ms), no I/O, no logging (transitions come back as messages
// that the probe engine logs once). Transitions are explicit, like Envoy's health checker:
// Unchanged, Changed, or Pending ("different, but the threshold isn't met yet").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "probes/snapshot.h"

namespace myspoa::probes {

enum class Transition : uint8_t { Unchanged, Changed, Pending };
const char* to_string(Transition t);

struct Thresholds {
  int rise = 2;  // consecutive good observations to become Up / Ok
  int fall = 2;  // consecutive bad observations to become Down / Broken / Lagging
};

// Up/Down from probe success. Unknown until `rise` successes or `fall` failures in a row.
class LivenessTracker {
 public:
  explicit LivenessTracker(Thresholds t) : t_(t) {}
  Transition observe(bool ok);
  Liveness state() const { return state_; }
  // Starts from a state known before (configuration reload): no new rise/fall needed.
  void seed(Liveness s) { state_ = candidate_ = s; streak_ = 0; }

 private:
  Thresholds t_;
  Liveness state_ = Liveness::Unknown;
  Liveness candidate_ = Liveness::Unknown;
  int streak_ = 0;
};

// Ok / Broken / Lagging / NotReplica. A good candidate (Ok, NotReplica) needs `rise` equal
// observations in a row, a bad one (Broken, Lagging) needs `fall`.
class ReplicationTracker {
 public:
  explicit ReplicationTracker(Thresholds t) : t_(t) {}
  Transition observe(ReplHealth observed);
  ReplHealth state() const { return state_; }
  void seed(ReplHealth s) { state_ = candidate_ = s; streak_ = 0; }

 private:
  Thresholds t_;
  ReplHealth state_ = ReplHealth::Unknown;
  ReplHealth candidate_ = ReplHealth::Unknown;
  int streak_ = 0;
};

// What one successful probe says about replication, with the reason in words.
struct ReplObservation {
  ReplHealth health = ReplHealth::Unknown;
  std::optional<double> lag_s;  // heartbeat lag when present, else Seconds_Behind_Master
  std::string why;              // "Slave_SQL_Running=No, Last_SQL_Error=..." or "lag 7.2 s > 5 s"
};
ReplObservation classify_replication(const ProbeResult& r, double max_lag_s);

// Both trackers of one server plus its published ServerState.
class ServerHealth {
 public:
  ServerHealth(std::string name, Thresholds t, double max_lag_s);

  struct Update {
    Transition liveness = Transition::Unchanged;
    Transition replication = Transition::Unchanged;
    std::vector<std::string> messages;  // one line per Changed transition, for the log
  };
  Update observe(const ProbeResult& r);

  const ServerState& state() const { return state_; }
  // Carries a server's state across a configuration reload.
  void seed(const ServerState& previous);

 private:
  LivenessTracker live_;
  ReplicationTracker repl_;
  double max_lag_s_;
  ServerState state_;
};

}  // namespace myspoa::probes
