#include "spoa/policy/policy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <vector>

#include "spoa/policy/coordination.h"

namespace myspoa::policy {
namespace {

using probes::Liveness;
using probes::ReplHealth;
using probes::ServerState;

std::string format_lag(std::optional<double> lag_s) {
  if (!lag_s) return "";
  char buf[48];
  std::snprintf(buf, sizeof buf, " (lag %.1f s)", *lag_s);
  return buf;
}

std::string backend_of(const config::ServerConfig& s) {
  return s.backend.empty() ? "be_" + s.name : s.backend;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

// Everything decide() derives about the masters, computed once.
struct MasterView {
  std::vector<std::string> names;  // cluster.masters order
  std::set<std::string> up;
  std::set<std::string> current;            // up, and replication Ok or every other master down
  std::set<std::string> eligible;           // current and not drained
  std::vector<std::string> down;            // not up, in order
  std::vector<std::string> stale;           // up but not current, in order
  std::map<std::string, int64_t> up_since;  // see ServerVerdict::up_since_ms
};

class Decider {
 public:
  Decider(const probes::Snapshot& snap, const config::ClusterConfig& cluster,
          const config::MysqlConfig& mysql, const Decision* previous, const Overrides& ov)
      : snap_(snap), cluster_(cluster), mysql_(mysql), prev_(previous), ov_(ov) {}

  Decision run(int64_t now_ms) {
    d_.decided_at_ms = now_ms;
    majority_ = cluster_.cooperation == config::ClusterConfig::Cooperation::Majority;
    d_.role = !majority_                   ? "standalone"
              : snap_.coordination.enabled ? snap_.coordination.role()
                                           : "none";
    if (!snap_.complete) {
      starting();
    } else {
      view_masters();
      d_.known = true;
      d_.scenario = scenario();
      choose_writer();
      coordinate();
      build_read_pool();
    }
    finish();
    return std::move(d_);
  }

 private:
  const ServerState* state(const std::string& name) const { return snap_.find(name); }
  bool is_master(const std::string& name) const {
    return std::find(cluster_.masters.begin(), cluster_.masters.end(), name) !=
           cluster_.masters.end();
  }
  bool up(const std::string& name) const {
    const auto* s = state(name);
    return s && (s->up() || name == flap_override_);
  }
  bool drained(const std::string& name) const { return ov_.drained.count(name) != 0; }

  // Why a master's replication is not Ok, for humans.
  std::string repl_problem(const std::string& name) const {
    const auto* s = state(name);
    if (!s) return "not probed";
    switch (s->replication) {
      case ReplHealth::Lagging:
        return "replication lagging" + format_lag(s->lag_s);
      case ReplHealth::Broken:
        return "replication broken" + (s->why.empty() ? "" : " (" + s->why + ")");
      case ReplHealth::NotReplica:
        return "not replicating from its peer";
      case ReplHealth::Unknown:
        return "replication state unknown";
      case ReplHealth::Ok:
        return "replication ok";
    }
    return "replication state unknown";
  }

  // Why a master is not eligible to take writes; "" when it is.
  std::string ineligible_reason(const std::string& name) const {
    if (!is_master(name)) return name + " is not a configured master";
    if (!up(name)) return name + " down";
    if (!mv_.current.count(name)) return name + " " + repl_problem(name);
    if (drained(name)) return name + " drained by operator";
    return "";
  }

  void starting() {
    d_.known = false;
    d_.scenario = "starting";
    d_.refusal = "state not yet known";
    for (const auto& s : cluster_.servers) {
      ServerVerdict v;
      v.name = s.name;
      v.master = is_master(s.name);
      v.why = "state not yet known";
      d_.servers.push_back(std::move(v));
    }
  }

  const ServerVerdict* previous_verdict(const std::string& name) const {
    if (!prev_ || !prev_->known) return nullptr;
    for (const auto& v : prev_->servers)
      if (v.name == name) return &v;
    return nullptr;
  }

  // When master m came up, as carried by the previous decisions (0: down, or up from the start).
  int64_t up_since(const std::string& m) const {
    if (!up(m)) return 0;
    const auto* pv = previous_verdict(m);
    if (!pv) return 0;
    return pv->up ? pv->up_since_ms : d_.decided_at_ms;
  }

  // The previous writer keeps writes while its replication from a peer that has just come back
  // (within cluster.rejoin_grace_ms) is not re-established yet: its IO thread reconnects on its
  // own schedule (MASTER_CONNECT_RETRY), and handing writes to the master that just returned
  // would move them for nothing (and before HAProxy's own checks see that master up).
  bool peers_rejoining(const std::string& m) {
    if (!prev_ || prev_->writer != m || cluster_.rejoin_grace_ms <= 0) return false;
    std::vector<std::string> rejoining;
    for (const auto& other : mv_.up) {
      if (other == m) continue;
      const int64_t since = mv_.up_since[other];
      if (since == 0 || d_.decided_at_ms - since >= cluster_.rejoin_grace_ms) return false;
      rejoining.push_back(other + " came back " + std::to_string(d_.decided_at_ms - since) +
                          " ms ago");
    }
    if (rejoining.empty()) return false;
    d_.notes.push_back(m + " keeps writes: " + repl_problem(m) + " while " + join(rejoining, ", ") +
                       " (cluster.rejoin_grace_ms " + std::to_string(cluster_.rejoin_grace_ms) +
                       ")");
    return true;
  }

  // Flap damping must not turn "a master answers well" into "no writer": when no master is up
  // and every master is held as flapping or down, a held master whose last `rise` probes all
  // answered (the previous writer first, then cluster.masters order) counts as up.
  void release_flap_hold() {
    std::string held;
    for (const auto& m : cluster_.masters) {
      const auto* st = state(m);
      if (!st || st->up()) return;
      if (!st->flapping || st->probed != Liveness::Up) continue;
      if (st->ok_streak < static_cast<uint32_t>(std::max(1, mysql_.rise))) continue;
      if (held.empty() || (prev_ && prev_->writer == m)) held = m;
    }
    if (held.empty()) return;
    flap_override_ = held;
    d_.notes.push_back(held + " takes part although held as flapping (" + state(held)->why +
                       "): every master is held or down and " + held + " answered its last " +
                       std::to_string(state(held)->ok_streak) + " probes");
  }

  void view_masters() {
    release_flap_hold();
    mv_.names = cluster_.masters;
    for (const auto& m : mv_.names) {
      if (up(m)) mv_.up.insert(m);
      mv_.up_since[m] = up_since(m);
    }
    const bool single = mv_.names.size() == 1;
    for (const auto& m : mv_.names) {
      if (!up(m)) {
        mv_.down.push_back(m);
        continue;
      }
      const bool alone = mv_.up.size() == 1;  // every other master is down
      const bool repl_ok = state(m)->replication == ReplHealth::Ok;
      // (a master up through release_flap_hold() is alone: every other master is down or held)
      if (single || alone || repl_ok || peers_rejoining(m)) {
        mv_.current.insert(m);
        if (!drained(m)) mv_.eligible.insert(m);
      } else {
        mv_.stale.push_back(m);
      }
    }
  }

  bool split_brain() const { return mv_.up.size() >= 2 && mv_.current.empty(); }

  // The masters' situation only; replica problems go to notes.
  std::string scenario() const {
    if (mv_.names.empty()) return "no-masters";
    if (mv_.up.empty()) return "all-masters-down";
    if (split_brain()) return "split-brain";
    if (!mv_.down.empty()) return join(mv_.down, "+") + "-down";
    if (!mv_.stale.empty()) return join(mv_.stale, "+") + "-replication-broken";
    return "healthy";
  }

  void choose_writer() {
    std::optional<std::string> writer;
    if (split_brain()) {
      d_.refusal = "split brain: replication broken on " + join(mv_.stale, " and ") +
                   "; writes refused until an operator fixes replication or stops one master";
      if (ov_.writer_pin)
        d_.notes.push_back("operator pin " + *ov_.writer_pin + " ignored: split brain");
    } else {
      if (ov_.writer_pin) {
        const auto& pin = *ov_.writer_pin;
        const std::string why_not = ineligible_reason(pin);
        if (why_not.empty())
          writer = pin;
        else
          d_.notes.push_back("operator pin " + pin + " ignored: " + why_not);
      }
      if (!writer && cluster_.failback == config::Failback::Manual && prev_ && prev_->writer &&
          mv_.eligible.count(*prev_->writer))
        writer = *prev_->writer;
      if (!writer)
        for (const auto& m : mv_.names)
          if (mv_.eligible.count(m)) {
            writer = m;
            break;
          }
      if (!writer) {
        if (mv_.up.empty()) {
          d_.refusal = "all masters down (" + join(mv_.names, ", ") + ")";
        } else {
          std::vector<std::string> reasons;
          for (const auto& m : mv_.names) reasons.push_back(ineligible_reason(m));
          d_.refusal = "no eligible writer: " + join(reasons, "; ");
        }
      }
    }
    if (writer && awaiting_relay_log(*writer)) writer.reset();
    d_.writer = writer;
    if (writer) {
      const auto* sc = cluster_.find(*writer);
      d_.writer_backend = sc ? backend_of(*sc) : "be_" + *writer;
      for (const auto& m : mv_.names)
        if (m != *writer && !up(m)) d_.backup_mode = true;
    }
  }

  // A master that takes writes over from another must first apply every event it received, or
  // writes acknowledged by the old writer could be overwritten or lost. True (writes refused,
  // d_.promoting set) while its relay log is not applied and cluster.promotion_wait_ms has not
  // elapsed since the wait began; past that the promotion goes ahead with a note.
  // With no known previous writer (agent start, or writes refused) the writer may be taking
  // over from a master that wrote moments ago (before an agent restart, or through HAProxy's
  // static fallback while the agent was down): it waits too.
  bool awaiting_relay_log(const std::string& w) {
    if (prev_ && prev_->known && prev_->writer == w) return false;
    const auto* st = state(w);
    if (!st || !st->last.replication || st->last.replication->relay_log_applied()) return false;
    const auto& r = *st->last.replication;
    const int64_t now = d_.decided_at_ms;
    const int64_t since = prev_ && prev_->promoting == w ? prev_->promoting_since_ms : now;
    if (now - since >= cluster_.promotion_wait_ms) {
      d_.notes.push_back("promotion wait expired after " + std::to_string(now - since) +
                         " ms: " + w + " takes writes with its relay log not applied (read " +
                         r.master_log_file + ":" + std::to_string(r.read_master_log_pos) +
                         ", executed " + r.relay_master_log_file + ":" +
                         std::to_string(r.exec_master_log_pos) + ")");
      promotion_expired_ = true;
      return false;
    }
    d_.promoting = w;
    d_.promoting_since_ms = since;
    d_.refusal = "promoting " + w + ": waiting until it applies its relay log (read " +
                 r.master_log_file + ":" + std::to_string(r.read_master_log_pos) + ", executed " +
                 r.relay_master_log_file + ":" + std::to_string(r.exec_master_log_pos) + ", " +
                 std::to_string(now - since) + " of " + std::to_string(cluster_.promotion_wait_ms) +
                 " ms)";
    return true;
  }

  // Cooperating agents. Standalone: the writer chosen above is what this agent makes writable.
  // Majority: only the primary has a target (the master it makes writable, held on an
  // unreachable writer while replicas confirm it alive); every role routes writes to the one
  // master that is up, read_only=0 by its own probes and eligible.
  void coordinate() {
    d_.writable_masters = coordination::writable_masters(snap_, cluster_);
    std::optional<std::string> target = d_.writer ? d_.writer : d_.promoting;
    if (!majority_) {
      d_.target_writer = target;
      return;
    }
    if (d_.role == "primary") {
      hold_unreachable_writer(target);
      d_.target_writer = target;
    } else {
      d_.promoting.reset();  // the primary waits for relay logs, not this agent
      d_.promoting_since_ms = 0;
    }
    route_to_writable(target);
  }

  // Before failing over from a writer it cannot reach, the primary asks the servers replicating
  // from it: while their IO threads still see it, only this agent's path is broken.
  void hold_unreachable_writer(std::optional<std::string>& target) {
    if (!prev_ || !prev_->known) return;
    const auto t = prev_->target_writer ? prev_->target_writer : prev_->writer;
    if (!t || up(*t) || target == t) return;
    const auto* st = state(*t);
    const auto confirmers =
        coordination::replicating_from(snap_, cluster_, *t, st ? st->changed_at_ms : 0);
    if (confirmers.empty()) return;
    const int64_t now = d_.decided_at_ms;
    const int64_t since = prev_->confirming == t ? prev_->confirming_since_ms : now;
    const std::string seen = *t + " unreachable from this agent but " +
                             coordination::describe(confirmers) + " still replicate from it";
    const std::string timeout = std::to_string(cluster_.master_failure_timeout_ms);
    if (now - since >= cluster_.master_failure_timeout_ms) {
      d_.notes.push_back(seen + ": failover after " + std::to_string(now - since) +
                         " ms (master_failure_timeout_ms " + timeout + ")");
      return;
    }
    target = t;
    d_.confirming = t;
    d_.confirming_since_ms = since;
    d_.promoting.reset();
    d_.promoting_since_ms = 0;
    d_.notes.push_back(seen + ": no failover (held " + std::to_string(now - since) +
                       " ms of master_failure_timeout_ms " + timeout + ")");
  }

  void route_to_writable(const std::optional<std::string>& target) {
    const auto& w = d_.writable_masters;
    const std::string chosen_refusal = d_.refusal;
    std::optional<std::string> writer;
    if (split_brain()) {
      // d_.refusal already says split brain
    } else if (w.size() > 1) {
      d_.refusal = (w.size() == 2 ? "two" : std::to_string(w.size())) +
                   " writable masters: " + join(w, ", ");
    } else if (w.size() == 1 && !mv_.eligible.count(w[0])) {
      d_.refusal = "writable master " + ineligible_reason(w[0]);
    } else if (w.size() == 1) {
      writer = w[0];
    } else {
      std::string why;
      const bool promoting = chosen_refusal.rfind("promoting ", 0) == 0;
      if (d_.confirming)
        why = d_.notes.back();
      else if (!chosen_refusal.empty() && (d_.role == "primary" || !promoting))
        why = chosen_refusal;
      else if (d_.role == "primary" && target)
        why = *target + " not made writable yet";
      else if (d_.role == "secondary")
        why = "waiting for the primary to make one writable";
      else if (d_.role == "none")
        why = "no primary agent (this agent holds " +
              std::to_string(snap_.coordination.locks_held) + " of " +
              std::to_string(snap_.coordination.servers) + " locks)";
      d_.refusal = "no writable master" + (why.empty() ? "" : ": " + why);
    }
    d_.writer = writer;
    d_.backup_mode = false;
    d_.writer_backend.clear();
    if (!writer) return;
    d_.refusal.clear();
    const auto* sc = cluster_.find(*writer);
    d_.writer_backend = sc ? backend_of(*sc) : "be_" + *writer;
    for (const auto& m : mv_.names)
      if (m != *writer && !up(m)) d_.backup_mode = true;
  }

  // A replica reads when its source is current, recursively (chains are bounded by the number
  // of servers, so a replica_of cycle ends as "not current").
  bool source_current(const std::string& source, size_t depth) const {
    if (depth > cluster_.servers.size()) return false;
    if (is_master(source)) return mv_.current.count(source) != 0;
    const auto* sc = cluster_.find(source);
    const auto* st = state(source);
    if (!sc || !st || !st->up() || !st->replicating() || sc->replica_of.empty()) return false;
    return source_current(sc->replica_of, depth + 1);
  }

  void build_read_pool() {
    const bool sb = split_brain();
    for (const auto& sc : cluster_.servers) {
      ServerVerdict v;
      v.name = sc.name;
      v.master = is_master(sc.name);
      v.writer = d_.writer && *d_.writer == sc.name;
      v.up = up(sc.name);
      if (v.master) v.up_since_ms = mv_.up_since[sc.name];
      const auto* st = state(sc.name);
      std::string excluded;  // reason, "" when readable
      if (!st) {
        excluded = "not in the probe snapshot";
      } else if (!up(sc.name)) {
        excluded = "down";
      } else if (drained(sc.name)) {
        excluded = "drained by operator";
      } else if (v.master) {
        if (!cluster_.masters_in_read_pool)
          excluded = "masters do not serve reads (cluster.masters_in_read_pool)";
        else if (!sb && !mv_.current.count(sc.name))
          excluded = repl_problem(sc.name);
      } else if (sb) {
        excluded = "split brain: replicas do not serve reads";
      } else if (sc.replica_of.empty()) {
        excluded = "neither a master nor a replica_of any server";
      } else if (!st->replicating()) {
        excluded = repl_problem(sc.name);
      } else if (!source_current(sc.replica_of, 0)) {
        excluded = "its source " + sc.replica_of + " is not current";
      } else if (cluster_.drain_inconsistent && ov_.inconsistent.count(sc.name)) {
        excluded = "inconsistent with its source (checksum)";
      }
      if (excluded.empty() && sc.weight <= 0) excluded = "configured weight is 0";

      if (excluded.empty()) {
        v.readable = true;
        v.weight = lag_adjusted_weight(sc.weight, st->lag_s, mysql_.max_lag_s);
        v.why = "in read pool" + format_lag(st->lag_s);
        d_.read_pool.push_back({sc.name, backend_of(sc), v.weight});
        d_.total_read_weight += v.weight;
      } else {
        v.why = "excluded: " + excluded;
        // Down/stale masters are the scenario already; everything else is worth a note.
        if (!v.master || drained(sc.name))
          d_.notes.push_back(sc.name + " out of reads: " + excluded);
      }
      if (v.writer) v.why = "writer; " + v.why;
      d_.servers.push_back(std::move(v));
    }
    if (!cluster_.drain_inconsistent)
      for (const auto& name : ov_.inconsistent)
        d_.notes.push_back(name + " inconsistent but kept (cluster.drain_inconsistent is false)");
  }

  // writer_change and generation, relative to the previous decision.
  void finish() {
    const std::optional<std::string> before = prev_ ? prev_->writer : std::nullopt;
    if (before != d_.writer) {
      const std::string suffix = d_.backup_mode ? " (backup mode)" : "";
      if (!d_.writer) {
        d_.writer_change = d_.refusal + ": writes refused (was " + *before + ")";
      } else if (majority_ && before) {
        d_.writer_change = *before + " is no longer the one writable master: " + *d_.writer +
                           " (read_only=0) takes writes" + suffix;
      } else if (!before && prev_ && prev_->promoting == d_.writer) {
        const std::string waited =
            std::to_string(d_.decided_at_ms - prev_->promoting_since_ms) + " ms, " + d_.scenario;
        d_.writer_change =
            promotion_expired_
                ? *d_.writer + " takes writes with its relay log NOT applied: promotion wait " +
                      "expired (waited " + waited + ")" + suffix
                : *d_.writer + " takes writes after applying its relay log (waited " + waited +
                      ")" + suffix;
      } else if (!before) {
        d_.writer_change = *d_.writer + " takes writes (" + d_.scenario + ")" + suffix;
      } else if (ov_.writer_pin && *ov_.writer_pin == *d_.writer) {
        d_.writer_change = "operator pin: " + *d_.writer + " takes writes (was " + *before + ")";
      } else {
        std::string why = d_.known ? ineligible_reason(*before) : "";
        if (why.empty())
          why = "failback: " + *d_.writer + " preferred and healthy, takes writes back from " +
                *before;
        else
          why += ": " + *d_.writer + " takes writes";
        d_.writer_change = why + suffix;
      }
    }
    bool same = prev_ && prev_->writer == d_.writer && prev_->scenario == d_.scenario &&
                prev_->promoting == d_.promoting && prev_->read_pool.size() == d_.read_pool.size();
    for (size_t i = 0; same && i < d_.read_pool.size(); ++i) {
      const auto& a = prev_->read_pool[i];
      const auto& b = d_.read_pool[i];
      same = a.name == b.name && a.backend == b.backend && a.weight == b.weight;
    }
    d_.generation = !prev_ ? 1 : same ? prev_->generation : prev_->generation + 1;
  }

  const probes::Snapshot& snap_;
  const config::ClusterConfig& cluster_;
  const config::MysqlConfig& mysql_;
  const Decision* prev_;
  const Overrides& ov_;
  MasterView mv_;
  Decision d_;
  bool majority_ = false;           // cluster.cooperation == majority
  std::string flap_override_;       // a held master counted as up (release_flap_hold)
  bool promotion_expired_ = false;  // the writer takes writes because its wait ran out
};

}  // namespace

int lag_adjusted_weight(int configured_weight, std::optional<double> lag_s, double max_lag_s) {
  if (configured_weight <= 0) return 0;
  if (!lag_s || !(max_lag_s > 0) || !(*lag_s > 0)) return configured_weight;
  const double frac = std::min(*lag_s / max_lag_s, 1.0);
  const long w = std::lround(configured_weight * (1.0 - 0.9 * frac));
  return static_cast<int>(std::max(1L, w));
}

Decision decide(const probes::Snapshot& snapshot, const config::ClusterConfig& cluster,
                const config::MysqlConfig& mysql, const Decision* previous,
                const Overrides& overrides, int64_t now_ms) {
  return Decider(snapshot, cluster, mysql, previous, overrides).run(now_ms);
}

}  // namespace myspoa::policy
