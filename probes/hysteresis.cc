#include "probes/hysteresis.h"

#include <algorithm>
#include <cstdio>

namespace myspoa::probes {
namespace {

// Shared by both trackers: count equal observations in a row, switch at the threshold.
template <typename State>
Transition step(State& state, State& candidate, int& streak, State observed, int threshold) {
  if (observed == state) {
    candidate = state;
    streak = 0;
    return Transition::Unchanged;
  }
  if (observed != candidate) {
    candidate = observed;
    streak = 0;
  }
  if (++streak >= threshold) {
    state = observed;
    streak = 0;
    return Transition::Changed;
  }
  return Transition::Pending;
}

int clamp_threshold(int t) {
  return t < 1 ? 1 : t;
}

std::string format_lag(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

std::string upper(const char* s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  return out;
}

}  // namespace

const char* to_string(Transition t) {
  switch (t) {
    case Transition::Changed:
      return "changed";
    case Transition::Pending:
      return "pending";
    default:
      return "unchanged";
  }
}

Transition LivenessTracker::observe(bool ok) {
  Liveness observed = ok ? Liveness::Up : Liveness::Down;
  return step(state_, candidate_, streak_, observed, clamp_threshold(ok ? t_.rise : t_.fall));
}

Transition ReplicationTracker::observe(ReplHealth observed) {
  if (observed == ReplHealth::Unknown) return Transition::Unchanged;
  bool good = observed == ReplHealth::Ok || observed == ReplHealth::NotReplica;
  return step(state_, candidate_, streak_, observed, clamp_threshold(good ? t_.rise : t_.fall));
}

ReplObservation classify_replication(const ProbeResult& r, double max_lag_s) {
  ReplObservation o;
  if (!r.ok) return o;  // nothing learned about replication
  if (!r.replication) {
    o.health = ReplHealth::NotReplica;
    o.why = "not a replica";
    return o;
  }
  const ReplicationStatus& s = *r.replication;
  std::string why;
  auto add = [&why](const std::string& part) {
    if (!why.empty()) why += ", ";
    why += part;
  };
  if (!s.io_running) {
    add("Slave_IO_Running=" + (s.io_state.empty() ? std::string("No") : s.io_state));
    if (!s.last_io_error.empty()) add("Last_IO_Error=" + s.last_io_error);
  }
  if (!s.sql_running) {
    add("Slave_SQL_Running=No");
    if (!s.last_sql_error.empty()) add("Last_SQL_Error=" + s.last_sql_error);
  }
  if (why.empty() && !s.seconds_behind) add("Seconds_Behind_Master=NULL");
  if (!why.empty()) {
    o.health = ReplHealth::Broken;
    o.why = std::move(why);
    return o;
  }
  if (r.heartbeat_lag_s)
    o.lag_s = *r.heartbeat_lag_s;
  else
    o.lag_s = static_cast<double>(*s.seconds_behind);
  if (*o.lag_s > max_lag_s) {
    o.health = ReplHealth::Lagging;
    o.why = "lag " + format_lag(*o.lag_s) + " > " + format_lag(max_lag_s) +
            (r.heartbeat_lag_s ? " (heartbeat)" : " (Seconds_Behind_Master)");
  } else {
    o.health = ReplHealth::Ok;
    o.why = "replicating, lag " + format_lag(*o.lag_s);
  }
  return o;
}

ServerHealth::ServerHealth(std::string name, Thresholds t, double max_lag_s, FlapDamping flap)
    : live_(t), repl_(t), max_lag_s_(max_lag_s), flap_(flap) {
  state_.name = std::move(name);
}

void ServerHealth::damp(int64_t now, bool liveness_changed, Update& u) {
  if (flap_.threshold <= 0) return;
  if (liveness_changed) {
    flips_.push_back(now);
    last_flip_ms_ = now;
  }
  std::erase_if(flips_, [&](int64_t t) { return now - t > flap_.window_ms; });
  const auto n = static_cast<int>(flips_.size());
  if (!held_ && n > flap_.threshold) {
    held_ = true;
    u.flap_hold_started = true;
    u.messages.push_back(state_.name + " FLAPPING: " + std::to_string(n) + " transitions in " +
                         std::to_string(flap_.window_ms / 1000) +
                         " s, held down until stable for " + std::to_string(flap_.hold_ms / 1000) +
                         " s");
  } else if (held_ && now - last_flip_ms_ >= flap_.hold_ms) {
    held_ = false;
    u.flap_hold_ended = true;
    flips_.clear();
    u.messages.push_back(state_.name + " stable for " + std::to_string(flap_.hold_ms / 1000) +
                         " s: flap hold released, " + to_string(state_.liveness));
  }
  if (u.flap_hold_started) {
    held_since_ms_ = now;
    held_why_ = "flapping: " + std::to_string(n) + " transitions in " +
                std::to_string(flap_.window_ms / 1000) + " s";
  }
  refresh_held();
}

void ServerHealth::refresh_held() {
  if (!held_) return;
  held_state_ = state_;
  held_state_.liveness = Liveness::Down;
  held_state_.flapping = true;
  held_state_.why = held_why_;
  held_state_.changed_at_ms = held_since_ms_;
}

void ServerHealth::seed(const ServerState& previous) {
  const std::string name = state_.name;
  state_ = previous;
  state_.name = name;
  state_.flapping = false;
  state_.probed = previous.liveness;
  live_.seed(previous.liveness);
  repl_.seed(previous.replication);
}

// Replica confirmation: the IO thread is connected and received something since the last probe.
bool io_progressed(const ProbeResult& before, const ProbeResult& now) {
  if (!now.ok || !now.replication || !now.replication->io_running) return false;
  if (!before.ok || !before.replication) return false;
  const auto& a = *before.replication;
  const auto& b = *now.replication;
  return a.master_log_file != b.master_log_file || a.read_master_log_pos != b.read_master_log_pos ||
         a.gtid_io_pos != b.gtid_io_pos;
}

ServerHealth::Update ServerHealth::observe(const ProbeResult& r) {
  Update u;
  state_.probes++;
  state_.ok_streak = r.ok ? state_.ok_streak + 1 : 0;
  if (io_progressed(state_.last, r)) state_.io_progress_at_ms = r.at_ms;
  state_.last = r;
  const Liveness before = state_.liveness;
  u.liveness = live_.observe(r.ok);
  if (u.liveness == Transition::Changed) {
    state_.liveness = state_.probed = live_.state();
    state_.why = state_.liveness == Liveness::Up ? "probe ok" : r.error;
    state_.changed_at_ms = r.at_ms;
    state_.transitions++;
    u.messages.push_back(state_.name + " " + upper(to_string(state_.liveness)) +
                         (state_.liveness == Liveness::Down ? ": " + r.error : ""));
  }
  // The first verdict (from Unknown) is not a flap.
  damp(r.at_ms, u.liveness == Transition::Changed && before != Liveness::Unknown, u);
  // A server that answers again while held must not read as "UP": it is still published Down.
  if (held_ && u.liveness == Transition::Changed && state_.liveness == Liveness::Up)
    u.messages.front() = state_.name + " answers again but stays held DOWN (" + held_why_ +
                         ", until stable for " + std::to_string(flap_.hold_ms / 1000) + " s)";
  if (!r.ok) return u;  // replication keeps its last known state while the server is unreachable

  ReplObservation o = classify_replication(r, max_lag_s_);
  state_.lag_s = o.lag_s;
  u.replication = repl_.observe(o.health);
  if (u.replication == Transition::Changed) {
    state_.replication = repl_.state();
    state_.why = o.why;
    state_.changed_at_ms = r.at_ms;
    state_.transitions++;
    u.messages.push_back(state_.name + " replication " + upper(to_string(state_.replication)) +
                         ": " + o.why);
  }
  refresh_held();  // the held copy follows replication and the last probe
  return u;
}

}  // namespace myspoa::probes
