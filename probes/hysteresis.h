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
  void seed(Liveness s) {
    state_ = candidate_ = s;
    streak_ = 0;
  }

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
  void seed(ReplHealth s) {
    state_ = candidate_ = s;
    streak_ = 0;
  }

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

// Flap damping: a server whose liveness changes (Up <-> Down, after rise/fall) more than
// `threshold` times within `window_ms` is held Down ("flapping: N transitions in W s") until it
// has gone `hold_ms` without a liveness change. threshold 0 disables it. Only liveness counts:
// replication flaps are already damped by rise/fall, and holding a master Down because its lag
// hovers around max_lag_s would itself move the writer.
struct FlapDamping {
  int threshold = 0;
  int64_t window_ms = 60000;
  int64_t hold_ms = 30000;
};

// Both trackers of one server plus its published ServerState.
class ServerHealth {
 public:
  ServerHealth(std::string name, Thresholds t, double max_lag_s, FlapDamping flap = {});

  struct Update {
    Transition liveness = Transition::Unchanged;
    Transition replication = Transition::Unchanged;
    std::vector<std::string> messages;  // one line per Changed transition, for the log
    bool flap_hold_started = false;     // the server is now held Down as flapping
    bool flap_hold_ended = false;       // stable for hold_ms: its real state is published again
  };
  Update observe(const ProbeResult& r);

  // The published state: liveness Down with why "flapping: ..." while held.
  const ServerState& state() const { return held_ ? held_state_ : state_; }
  bool flapping() const { return held_; }
  // Carries a server's state across a configuration reload.
  void seed(const ServerState& previous);

 private:
  void damp(int64_t now_ms, bool liveness_changed, Update& u);
  void refresh_held();

  LivenessTracker live_;
  ReplicationTracker repl_;
  double max_lag_s_;
  FlapDamping flap_;
  ServerState state_;           // after rise/fall, ignoring flap damping
  std::vector<int64_t> flips_;  // times of liveness changes within the window
  bool held_ = false;
  int64_t last_flip_ms_ = 0;
  int64_t held_since_ms_ = 0;
  std::string held_why_;
  ServerState held_state_;  // state_ with liveness Down and the flapping reason
};

}  // namespace myspoa::probes
