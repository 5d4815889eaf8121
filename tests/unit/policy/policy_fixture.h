// Shared setup of the policy table tests: the seed topology, a snapshot builder (World) and
// small readers of a Decision. Each *_test.cc of this folder includes it.
#pragma once

#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

#include "spoa/policy/policy.h"

namespace policy_test {

using myspoa::config::ClusterConfig;
using myspoa::config::Failback;
using myspoa::config::MysqlConfig;
using myspoa::config::ServerConfig;
using myspoa::policy::decide;
using myspoa::policy::Decision;
using myspoa::policy::lag_adjusted_weight;
using myspoa::policy::Overrides;
using myspoa::probes::Liveness;
using myspoa::probes::ReplHealth;
using myspoa::probes::ServerState;
using myspoa::probes::Snapshot;

using Names = std::vector<std::string>;

// The seed topology: db01 active, db02 passive, db03/db04 under db01, db05 under db02.
inline ClusterConfig seed_cluster(const std::string& a = "db01", const std::string& b = "db02") {
  ClusterConfig c;
  c.masters = {a, b};
  c.servers = {{a, {"127.0.0.1", 33061}, "be_" + a, "", 100},
               {b, {"127.0.0.1", 33062}, "be_" + b, "", 100},
               {"db03", {"127.0.0.1", 33063}, "be_db03", a, 100},
               {"db04", {"127.0.0.1", 33064}, "be_db04", a, 100},
               {"db05", {"127.0.0.1", 33065}, "be_db05", b, 100}};
  return c;
}

inline MysqlConfig mysql_cfg() {
  MysqlConfig m;
  m.max_lag_s = 5.0;
  return m;
}

// Tiny snapshot builder: every configured server starts up and replicating with no lag.
struct World {
  Snapshot s;
  explicit World(const ClusterConfig& c) {
    s.complete = true;
    s.round = 1;
    for (const auto& sc : c.servers) {
      ServerState st;
      st.name = sc.name;
      st.liveness = Liveness::Up;
      st.replication = ReplHealth::Ok;
      st.lag_s = 0.0;
      s.servers.push_back(st);
    }
  }
  ServerState& at(const std::string& n) {
    for (auto& st : s.servers)
      if (st.name == n) return st;
    FAIL("no server " << n);
    throw 0;
  }
  World& down(const std::string& n) {
    at(n).liveness = Liveness::Down;
    at(n).replication = ReplHealth::Unknown;
    at(n).lag_s.reset();
    return *this;
  }
  World& broken(const std::string& n) {
    at(n).replication = ReplHealth::Broken;
    at(n).lag_s.reset();
    at(n).why = "Slave_SQL_Running=No";
    return *this;
  }
  World& lagging(const std::string& n, double lag) {
    at(n).replication = ReplHealth::Lagging;
    at(n).lag_s = lag;
    return *this;
  }
  World& lag(const std::string& n, double lag) {  // still Ok (below the limit or before hysteresis)
    at(n).lag_s = lag;
    return *this;
  }
  World& incomplete() {
    s.complete = false;
    return *this;
  }
  // Held Down by flap damping while its probes answer (`ok_streak` good probes in a row).
  World& flapping(const std::string& n, uint32_t ok_streak) {
    at(n).liveness = Liveness::Down;
    at(n).probed = Liveness::Up;
    at(n).flapping = true;
    at(n).ok_streak = ok_streak;
    at(n).why = "flapping: 5 transitions in 60 s";
    return *this;
  }
  // What the last probe of an up server said about @@read_only.
  World& read_only(const std::string& n, bool ro) {
    at(n).last.ok = true;
    at(n).last.read_only = ro;
    return *this;
  }
  // n's IO thread is connected to 127.0.0.1:port (the lab's ports are 33061 + i).
  World& io_from(const std::string& n, uint16_t port, int64_t progress_at_ms = 0) {
    at(n).last.ok = true;
    myspoa::probes::ReplicationStatus r;
    r.io_running = r.sql_running = true;
    r.io_state = "Yes";
    r.master_host = "127.0.0.1";
    r.master_port = port;
    at(n).last.replication = r;
    at(n).io_progress_at_ms = progress_at_ms;
    return *this;
  }
  // This agent's share of the election locks (cluster.cooperation: majority).
  World& locks(int mine, int elsewhere) {
    auto& c = s.coordination;
    c.enabled = true;
    c.servers = static_cast<int>(s.servers.size());
    c.locks_held = mine;
    c.locks_held_elsewhere = elsewhere;
    c.primary = mine * 2 > c.servers;
    return *this;
  }
};

inline Names read_names(const Decision& d) {
  Names out;
  for (const auto& t : d.read_pool) out.push_back(t.name);
  return out;
}

inline std::string writer_of(const Decision& d) {
  return d.writer ? *d.writer : "";
}

inline bool has_note(const Decision& d, const std::string& needle) {
  for (const auto& n : d.notes)
    if (n.find(needle) != std::string::npos) return true;
  return false;
}

inline const myspoa::policy::ServerVerdict& verdict(const Decision& d, const std::string& name) {
  for (const auto& v : d.servers)
    if (v.name == name) return v;
  FAIL("no verdict for " << name);
  throw 0;
}

struct Row {
  const char* situation;
  std::function<void(World&)> apply;
  const char* scenario;
  const char* writer;  // "" = refused
  Names reads;
  bool backup_mode;
};

}  // namespace policy_test

using namespace policy_test;  // NOLINT: test files only
