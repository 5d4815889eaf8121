// Table tests of the routing policy: every seed scenario is a row; then transitions over time
// (recovery, flapping, failback), operator overrides and lag-aware weights.
#include "spoa/policy/policy.h"

#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

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

namespace {

using Names = std::vector<std::string>;

// The seed topology: db01 active, db02 passive, db03/db04 under db01, db05 under db02.
ClusterConfig seed_cluster(const std::string& a = "db01", const std::string& b = "db02") {
  ClusterConfig c;
  c.masters = {a, b};
  c.servers = {{a, {"127.0.0.1", 33061}, "be_" + a, "", 100},
               {b, {"127.0.0.1", 33062}, "be_" + b, "", 100},
               {"db03", {"127.0.0.1", 33063}, "be_db03", a, 100},
               {"db04", {"127.0.0.1", 33064}, "be_db04", a, 100},
               {"db05", {"127.0.0.1", 33065}, "be_db05", b, 100}};
  return c;
}

MysqlConfig mysql_cfg() {
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
};

Names read_names(const Decision& d) {
  Names out;
  for (const auto& t : d.read_pool) out.push_back(t.name);
  return out;
}

std::string writer_of(const Decision& d) {
  return d.writer ? *d.writer : "";
}

bool has_note(const Decision& d, const std::string& needle) {
  for (const auto& n : d.notes)
    if (n.find(needle) != std::string::npos) return true;
  return false;
}

const myspoa::policy::ServerVerdict& verdict(const Decision& d, const std::string& name) {
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

}  // namespace

TEST_CASE("seed table: every master situation gives the exact writer and read set", "[policy]") {
  const ClusterConfig cluster = seed_cluster();
  const std::vector<Row> rows = {
      {"all healthy",
       [](World&) {},
       "healthy",
       "db01",
       {"db01", "db02", "db03", "db04", "db05"},
       false},
      {"db02 replication broken",
       [](World& w) { w.broken("db02"); },
       "db02-replication-broken",
       "db01",
       {"db01", "db03", "db04"},
       false},
      {"db02 replication lagging",
       [](World& w) { w.lagging("db02", 12); },
       "db02-replication-broken",
       "db01",
       {"db01", "db03", "db04"},
       false},
      {"db01 replication broken",
       [](World& w) { w.broken("db01"); },
       "db01-replication-broken",
       "db02",
       {"db02", "db05"},
       false},
      {"db01 replication lagging",
       [](World& w) { w.lagging("db01", 9); },
       "db01-replication-broken",
       "db02",
       {"db02", "db05"},
       false},
      {"split brain",
       [](World& w) { w.broken("db01").broken("db02"); },
       "split-brain",
       "",
       {"db01", "db02"},
       false},
      // A down peer breaks the survivor's replication too: that must not matter.
      {"db02 down",
       [](World& w) { w.down("db02").broken("db01"); },
       "db02-down",
       "db01",
       {"db01", "db03", "db04"},
       true},
      {"db01 down",
       [](World& w) { w.down("db01").broken("db02"); },
       "db01-down",
       "db02",
       {"db02", "db05"},
       true},
      {"both masters down",
       [](World& w) { w.down("db01").down("db02"); },
       "all-masters-down",
       "",
       {},
       false},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.situation) {
      World w(cluster);
      row.apply(w);
      const Decision d = decide(w.s, cluster, mysql_cfg(), nullptr, Overrides{}, 1000);
      CHECK(d.known);
      CHECK(d.scenario == row.scenario);
      CHECK(writer_of(d) == row.writer);
      CHECK(d.writer_backend == (*row.writer ? std::string("be_") + row.writer : ""));
      CHECK(read_names(d) == row.reads);
      CHECK(d.backup_mode == row.backup_mode);
      CHECK(d.refusal.empty() == (*row.writer != '\0'));
      CHECK(d.decided_at_ms == 1000);
      CHECK(d.servers.size() == cluster.servers.size());
      int total = 0;
      for (const auto& t : d.read_pool) {
        CHECK(t.weight == 100);
        CHECK(t.backend == "be_" + t.name);
        total += t.weight;
      }
      CHECK(d.total_read_weight == total);
    }
  }
}

TEST_CASE("split brain refusal says why; both-down refusal names the masters", "[policy]") {
  const ClusterConfig cluster = seed_cluster();
  World w(cluster);
  w.broken("db01").broken("db02");
  const Decision sb = decide(w.s, cluster, mysql_cfg(), nullptr, {}, 0);
  CHECK(sb.refusal.find("split brain") == 0);
  World w2(cluster);
  w2.down("db01").down("db02");
  const Decision dn = decide(w2.s, cluster, mysql_cfg(), nullptr, {}, 0);
  CHECK(dn.refusal == "all masters down (db01, db02)");
  CHECK(dn.total_read_weight == 0);
}

TEST_CASE("scenario names come from the configured master names", "[policy]") {
  const ClusterConfig cluster = seed_cluster("alpha", "beta");
  World w(cluster);
  w.down("beta");
  const Decision d = decide(w.s, cluster, mysql_cfg(), nullptr, {}, 0);
  CHECK(d.scenario == "beta-down");
  CHECK(writer_of(d) == "alpha");
  CHECK(read_names(d) == Names{"alpha", "db03", "db04"});
  World w2(cluster);
  w2.broken("alpha");
  CHECK(decide(w2.s, cluster, mysql_cfg(), nullptr, {}, 0).scenario == "alpha-replication-broken");
}

TEST_CASE("unknown at start-up: no guess", "[policy]") {
  const ClusterConfig cluster = seed_cluster();
  World w(cluster);
  w.incomplete();  // every server looks fine, but not every one has been seen yet
  const Decision d = decide(w.s, cluster, mysql_cfg(), nullptr, {}, 5);
  CHECK_FALSE(d.known);
  CHECK_FALSE(d.writer);
  CHECK(d.writer_backend.empty());
  CHECK(d.refusal == "state not yet known");
  CHECK(d.scenario == "starting");
  CHECK(d.read_pool.empty());
  CHECK(d.total_read_weight == 0);
  CHECK(d.generation == 1);
  CHECK(d.writer_change.empty());
  // The first complete round then decides and explains it.
  World w2(cluster);
  const Decision d2 = decide(w2.s, cluster, mysql_cfg(), &d, {}, 6);
  CHECK(d2.known);
  CHECK(writer_of(d2) == "db01");
  CHECK(d2.writer_change == "db01 takes writes (healthy)");
  CHECK(d2.generation == 2);
}

TEST_CASE("replica lag past max_lag_s leaves reads; the scenario stays the masters'", "[policy]") {
  const ClusterConfig cluster = seed_cluster();
  World w(cluster);
  w.lagging("db03", 8.0);
  const Decision d = decide(w.s, cluster, mysql_cfg(), nullptr, {}, 0);
  CHECK(d.scenario == "healthy");
  CHECK(writer_of(d) == "db01");
  CHECK(read_names(d) == Names{"db01", "db02", "db04", "db05"});
  CHECK(has_note(d, "db03"));
  CHECK_FALSE(verdict(d, "db03").readable);
  CHECK(verdict(d, "db03").why.find("lagging") != std::string::npos);

  SECTION("a broken replica too") {
    World w2(cluster);
    w2.broken("db05");
    const Decision d2 = decide(w2.s, cluster, mysql_cfg(), nullptr, {}, 0);
    CHECK(d2.scenario == "healthy");
    CHECK(read_names(d2) == Names{"db01", "db02", "db03", "db04"});
  }
  SECTION("a replica that is down") {
    World w2(cluster);
    w2.down("db04");
    CHECK(read_names(decide(w2.s, cluster, mysql_cfg(), nullptr, {}, 0)) ==
          Names{"db01", "db02", "db03", "db05"});
  }
}

TEST_CASE("lag past max_lag_s on a master moves it out of reads and writes", "[policy]") {
  const ClusterConfig cluster = seed_cluster();
  World w(cluster);
  w.lagging("db01", 30.0);
  const Decision d = decide(w.s, cluster, mysql_cfg(), nullptr, {}, 0);
  CHECK(d.scenario == "db01-replication-broken");
  CHECK(writer_of(d) == "db02");
  CHECK(read_names(d) == Names{"db02", "db05"});
  CHECK(verdict(d, "db03").why.find("db01 is not current") != std::string::npos);
}

TEST_CASE("replicas whose master is unhealthy are excluded, even when they look fine", "[policy]") {
  ClusterConfig cluster = seed_cluster();
  cluster.servers.push_back({"db06", {"127.0.0.1", 33066}, "be_db06", "db03", 100});  // chained
  World w(cluster);
  SECTION("healthy chain reads") {
    CHECK(read_names(decide(w.s, cluster, mysql_cfg(), nullptr, {}, 0)) ==
          Names{"db01", "db02", "db03", "db04", "db05", "db06"});
  }
  SECTION("db02 stale: db05 out") {
    w.broken("db02");
    const Decision d = decide(w.s, cluster, mysql_cfg(), nullptr, {}, 0);
    CHECK_FALSE(verdict(d, "db05").readable);
    CHECK(has_note(d, "db05 out of reads: its source db02 is not current"));
  }
  SECTION("db03 broken: its own replica db06 out as well") {
    w.broken("db03");
    CHECK(read_names(decide(w.s, cluster, mysql_cfg(), nullptr, {}, 0)) ==
          Names{"db01", "db02", "db04", "db05"});
  }
  SECTION("db01 down: db03, db04 and db06 out") {
    w.down("db01").broken("db02");
    CHECK(read_names(decide(w.s, cluster, mysql_cfg(), nullptr, {}, 0)) == Names{"db02", "db05"});
  }
}

TEST_CASE("recovery back to healthy walks through the table and counts generations", "[policy]") {
  const ClusterConfig cluster = seed_cluster();
  struct Step {
    std::function<void(World&)> apply;
    const char* scenario;
    const char* writer;
    const char* change;  // expected writer_change, "" none
  };
  const std::vector<Step> steps = {
      {[](World&) {}, "healthy", "db01", "db01 takes writes (healthy)"},
      {[](World& w) { w.down("db01").broken("db02"); }, "db01-down", "db02",
       "db01 down: db02 takes writes (backup mode)"},
      // db01 is back but still catching up on db02's writes: db02 keeps writes.
      {[](World& w) { w.lagging("db01", 40); }, "db01-replication-broken", "db02", ""},
      {[](World&) {}, "healthy", "db01",
       "failback: db01 preferred and healthy, takes writes back from db02"},
      {[](World&) {}, "healthy", "db01", ""},
  };
  Decision prev;
  const Decision* p = nullptr;
  uint64_t gen = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    INFO("step " << i);
    World w(cluster);
    steps[i].apply(w);
    Decision d = decide(w.s, cluster, mysql_cfg(), p, {}, static_cast<int64_t>(i));
    CHECK(d.scenario == steps[i].scenario);
    CHECK(writer_of(d) == steps[i].writer);
    CHECK(d.writer_change == steps[i].change);
    if (i == 4)
      CHECK(d.generation == gen);  // nothing changed
    else
      CHECK(d.generation == gen + 1);
    gen = d.generation;
    prev = std::move(d);
    p = &prev;
  }
}

TEST_CASE("flapping inputs: each decision follows its snapshot, generation tracks changes",
          "[policy]") {
  const ClusterConfig cluster = seed_cluster();
  Decision prev;
  const Decision* p = nullptr;
  uint64_t changes = 0;
  std::string last_scenario;
  for (int i = 0; i < 20; ++i) {
    World w(cluster);
    const bool flap = (i % 3) != 0;  // irregular pattern, repeats some states
    if (flap) w.down("db02").broken("db01");
    Decision d = decide(w.s, cluster, mysql_cfg(), p, {}, i);
    CHECK(writer_of(d) == "db01");  // db01 never moves
    CHECK(d.writer_change == (p ? "" : "db01 takes writes (healthy)"));
    CHECK(d.scenario == (flap ? "db02-down" : "healthy"));
    CHECK(d.backup_mode == flap);
    CHECK(read_names(d) ==
          (flap ? Names{"db01", "db03", "db04"} : Names{"db01", "db02", "db03", "db04", "db05"}));
    if (d.scenario != last_scenario) ++changes;
    CHECK(d.generation == changes);
    last_scenario = d.scenario;
    prev = std::move(d);
    p = &prev;
  }
}

TEST_CASE("failback auto vs manual", "[policy]") {
  ClusterConfig cluster = seed_cluster();
  auto run = [&](Failback fb) {
    cluster.failback = fb;
    std::vector<std::string> writers;
    Decision prev;
    const Decision* p = nullptr;
    const std::vector<std::function<void(World&)>> steps = {
        [](World&) {}, [](World& w) { w.down("db01").broken("db02"); },
        [](World&) {},                    // db01 healthy again
        [](World&) {}, [](World& w) { w.down("db02").broken("db01"); },  // manual: now it must move
        [](World&) {},
    };
    for (const auto& s : steps) {
      World w(cluster);
      s(w);
      prev = decide(w.s, cluster, mysql_cfg(), p, {}, 0);
      p = &prev;
      writers.push_back(writer_of(prev));
    }
    return writers;
  };
  CHECK(run(Failback::Auto) == Names{"db01", "db02", "db01", "db01", "db01", "db01"});
  CHECK(run(Failback::Manual) == Names{"db01", "db02", "db02", "db02", "db01", "db01"});

  SECTION("manual: the writer also moves when its replication breaks") {
    cluster.failback = Failback::Manual;
    World w(cluster);
    Decision prev = decide(w.s, cluster, mysql_cfg(), nullptr, {}, 0);
    prev.writer = "db02";  // where a previous failover left it
    World w2(cluster);
    w2.broken("db02");
    const Decision d = decide(w2.s, cluster, mysql_cfg(), &prev, {}, 0);
    CHECK(writer_of(d) == "db01");
    CHECK(d.writer_change.find("db02 replication broken") == 0);
  }
}

TEST_CASE("drained servers leave reads and are never the writer", "[policy]") {
  const ClusterConfig cluster = seed_cluster();
  World w(cluster);
  Overrides ov;
  SECTION("drained replica") {
    ov.drained = {"db03"};
    const Decision d = decide(w.s, cluster, mysql_cfg(), nullptr, ov, 0);
    CHECK(read_names(d) == Names{"db01", "db02", "db04", "db05"});
    CHECK(has_note(d, "db03 out of reads: drained by operator"));
  }
  SECTION("drained active master: db02 writes, db01's replicas still read") {
    ov.drained = {"db01"};
    const Decision d = decide(w.s, cluster, mysql_cfg(), nullptr, ov, 0);
    CHECK(d.scenario == "healthy");
    CHECK(writer_of(d) == "db02");
    CHECK_FALSE(d.backup_mode);
    CHECK(read_names(d) == Names{"db02", "db03", "db04", "db05"});
  }
  SECTION("drained survivor: nobody writes") {
    ov.drained = {"db01"};
    w.down("db02").broken("db01");
    const Decision d = decide(w.s, cluster, mysql_cfg(), nullptr, ov, 0);
    CHECK_FALSE(d.writer);
    CHECK(d.refusal.find("db01 drained by operator") != std::string::npos);
    CHECK(read_names(d) == Names{"db03", "db04"});
  }
}

TEST_CASE("inconsistent replicas follow cluster.drain_inconsistent", "[policy]") {
  ClusterConfig cluster = seed_cluster();
  World w(cluster);
  Overrides ov;
  ov.inconsistent = {"db04"};
  const Decision drained = decide(w.s, cluster, mysql_cfg(), nullptr, ov, 0);
  CHECK(read_names(drained) == Names{"db01", "db02", "db03", "db05"});
  CHECK(verdict(drained, "db04").why.find("inconsistent") != std::string::npos);
  cluster.drain_inconsistent = false;
  const Decision kept = decide(w.s, cluster, mysql_cfg(), nullptr, ov, 0);
  CHECK(read_names(kept) == Names{"db01", "db02", "db03", "db04", "db05"});
  CHECK(has_note(kept, "db04 inconsistent but kept"));
}

TEST_CASE("operator pin moves the writer only to an eligible master", "[policy]") {
  const ClusterConfig cluster = seed_cluster();
  World healthy(cluster);
  const Decision before = decide(healthy.s, cluster, mysql_cfg(), nullptr, {}, 0);
  Overrides ov;
  ov.writer_pin = "db02";
  SECTION("healthy: honoured") {
    const Decision d = decide(healthy.s, cluster, mysql_cfg(), &before, ov, 1);
    CHECK(writer_of(d) == "db02");
    CHECK(d.writer_backend == "be_db02");
    CHECK(d.writer_change == "operator pin: db02 takes writes (was db01)");
    CHECK(d.generation == before.generation + 1);
    CHECK(read_names(d) == read_names(before));
  }
  SECTION("pinned master's replication broken: ignored") {
    World w(cluster);
    w.broken("db02");
    const Decision d = decide(w.s, cluster, mysql_cfg(), &before, ov, 1);
    CHECK(writer_of(d) == "db01");
    CHECK(has_note(d, "operator pin db02 ignored: db02 replication broken"));
  }
  SECTION("pinned master down: ignored") {
    World w(cluster);
    w.down("db02").broken("db01");
    const Decision d = decide(w.s, cluster, mysql_cfg(), &before, ov, 1);
    CHECK(writer_of(d) == "db01");
    CHECK(has_note(d, "operator pin db02 ignored: db02 down"));
  }
  SECTION("pinned master drained: ignored") {
    ov.drained = {"db02"};
    CHECK(writer_of(decide(healthy.s, cluster, mysql_cfg(), &before, ov, 1)) == "db01");
  }
  SECTION("pin survives the preferred master's failure and its return") {
    World w(cluster);
    w.down("db01").broken("db02");
    CHECK(writer_of(decide(w.s, cluster, mysql_cfg(), &before, ov, 1)) == "db02");
    CHECK(writer_of(decide(healthy.s, cluster, mysql_cfg(), &before, ov, 2)) == "db02");
  }
  SECTION("split brain: refused whatever the pin") {
    World w(cluster);
    w.broken("db01").broken("db02");
    const Decision d = decide(w.s, cluster, mysql_cfg(), &before, ov, 1);
    CHECK_FALSE(d.writer);
    CHECK(has_note(d, "ignored: split brain"));
    CHECK(d.writer_change.find("writes refused (was db01)") != std::string::npos);
  }
  SECTION("a replica cannot be pinned") {
    ov.writer_pin = "db03";
    const Decision d = decide(healthy.s, cluster, mysql_cfg(), &before, ov, 1);
    CHECK(writer_of(d) == "db01");
    CHECK(has_note(d, "db03 is not a configured master"));
  }
}

TEST_CASE("read weights decrease with lag, down to 10 % at max_lag_s", "[policy]") {
  CHECK(lag_adjusted_weight(100, std::nullopt, 5.0) == 100);
  CHECK(lag_adjusted_weight(100, 0.0, 5.0) == 100);
  CHECK(lag_adjusted_weight(100, 2.5, 5.0) == 55);
  CHECK(lag_adjusted_weight(100, 5.0, 5.0) == 10);
  CHECK(lag_adjusted_weight(100, 50.0, 5.0) == 10);
  CHECK(lag_adjusted_weight(1, 5.0, 5.0) == 1);  // never 0 while in the pool
  CHECK(lag_adjusted_weight(0, 0.0, 5.0) == 0);
  int last = 1000;
  for (int i = 0; i <= 60; ++i) {
    const int w = lag_adjusted_weight(200, i * 0.1, 5.0);
    CHECK(w <= last);
    last = w;
  }

  ClusterConfig cluster = seed_cluster();
  cluster.servers[3].weight = 50;  // db04
  World w(cluster);
  w.lag("db03", 1.0).lag("db04", 2.5).lag("db05", 7.0);  // db05 Ok yet past the limit: 10 %
  const Decision d = decide(w.s, cluster, mysql_cfg(), nullptr, {}, 0);
  REQUIRE(read_names(d) == Names{"db01", "db02", "db03", "db04", "db05"});
  CHECK(d.read_pool[2].weight == 82);
  CHECK(d.read_pool[3].weight == 28);  // 50 * 0.55 = 27.5, rounded away from zero
  CHECK(d.read_pool[4].weight == 10);
  CHECK(d.total_read_weight == 100 + 100 + 82 + 28 + 10);
  // Same input twice: same weights, same generation.
  const Decision again = decide(w.s, cluster, mysql_cfg(), &d, {}, 1);
  CHECK(again.generation == d.generation);
  // Lag changing a weight is a read pool change.
  w.lag("db03", 3.0);
  CHECK(decide(w.s, cluster, mysql_cfg(), &d, {}, 2).generation == d.generation + 1);
}

TEST_CASE("configuration options: masters out of reads, weight 0", "[policy]") {
  ClusterConfig cluster = seed_cluster();
  cluster.masters_in_read_pool = false;
  cluster.servers[4].weight = 0;  // db05
  World w(cluster);
  const Decision d = decide(w.s, cluster, mysql_cfg(), nullptr, {}, 0);
  CHECK(writer_of(d) == "db01");
  CHECK(read_names(d) == Names{"db03", "db04"});
}

TEST_CASE("failover waits until the new writer has applied its relay log", "[policy][promotion]") {
  ClusterConfig cluster = seed_cluster();
  cluster.promotion_wait_ms = 5000;
  const auto mysql = mysql_cfg();
  World w(cluster);
  const Decision healthy = decide(w.s, cluster, mysql, nullptr, {}, 0);
  REQUIRE(writer_of(healthy) == "db01");

  // db01 dies while db02 still has 200 bytes of db01's binlog to apply.
  myspoa::probes::ReplicationStatus r;
  r.master_log_file = r.relay_master_log_file = "db01-bin.000001";
  r.read_master_log_pos = 1200;
  r.exec_master_log_pos = 1000;
  w.down("db01");
  w.at("db02").last.replication = r;

  const Decision waiting = decide(w.s, cluster, mysql, &healthy, {}, 1000);
  CHECK(writer_of(waiting) == "");
  REQUIRE(waiting.promoting == std::optional<std::string>("db02"));
  CHECK(waiting.promoting_since_ms == 1000);
  CHECK_THAT(waiting.refusal, Catch::Matchers::Contains("promoting db02"));
  CHECK_THAT(waiting.refusal, Catch::Matchers::Contains("executed db01-bin.000001:1000"));
  CHECK(read_names(waiting) == Names{"db02", "db05"});  // reads are not held back
  CHECK(waiting.scenario == "db01-down");

  // Still behind 3 s later: still waiting, from the same start.
  const Decision still = decide(w.s, cluster, mysql, &waiting, {}, 4000);
  CHECK(writer_of(still) == "");
  CHECK(still.promoting_since_ms == 1000);
  CHECK(still.generation == waiting.generation);  // the elapsed time alone is no change

  // Caught up: db02 takes writes, and the change says it waited.
  w.at("db02").last.replication->exec_master_log_pos = 1200;
  const Decision promoted = decide(w.s, cluster, mysql, &still, {}, 4250);
  CHECK(writer_of(promoted) == "db02");
  CHECK(promoted.backup_mode);
  CHECK_FALSE(promoted.promoting);
  CHECK_THAT(promoted.writer_change, Catch::Matchers::Contains("after applying its relay log"));
  CHECK_THAT(promoted.writer_change, Catch::Matchers::Contains("waited 3250 ms"));
}

TEST_CASE("promotion wait is bounded by promotion_wait_ms", "[policy][promotion]") {
  ClusterConfig cluster = seed_cluster();
  cluster.promotion_wait_ms = 2000;
  const auto mysql = mysql_cfg();
  World w(cluster);
  const Decision healthy = decide(w.s, cluster, mysql, nullptr, {}, 0);
  myspoa::probes::ReplicationStatus r;
  r.master_log_file = r.relay_master_log_file = "db01-bin.000001";
  r.read_master_log_pos = 5000;
  r.exec_master_log_pos = 10;
  w.down("db01");
  w.at("db02").last.replication = r;
  const Decision waiting = decide(w.s, cluster, mysql, &healthy, {}, 100);
  REQUIRE(waiting.promoting);
  const Decision expired = decide(w.s, cluster, mysql, &waiting, {}, 2100);
  CHECK(writer_of(expired) == "db02");
  CHECK(has_note(expired, "promotion wait expired after 2000 ms"));
  // The change must not claim the relay log was applied.
  CHECK_THAT(expired.writer_change, Catch::Matchers::Contains("relay log NOT applied"));
  CHECK_THAT(expired.writer_change, !Catch::Matchers::Contains("after applying"));
}

TEST_CASE("no promotion wait when the writer does not change or the relay log is applied",
          "[policy][promotion]") {
  const ClusterConfig cluster = seed_cluster();
  const auto mysql = mysql_cfg();
  World w(cluster);
  myspoa::probes::ReplicationStatus behind;
  behind.master_log_file = behind.relay_master_log_file = "b.000001";
  behind.read_master_log_pos = 900;
  behind.exec_master_log_pos = 100;
  // The current writer being behind its peer does not stop it from writing.
  w.at("db01").last.replication = behind;
  const Decision healthy = decide(World(cluster).s, cluster, mysql, nullptr, {}, 0);
  REQUIRE(writer_of(healthy) == "db01");
  const Decision again = decide(w.s, cluster, mysql, &healthy, {}, 250);
  CHECK(writer_of(again) == "db01");
  CHECK_FALSE(again.promoting);
  // Failback to db01 while db01 has not applied db02's writes: it waits too.
  w.down("db02");
  World fail(cluster);
  fail.down("db01");
  const Decision on_db02 = decide(fail.s, cluster, mysql, &again, {}, 500);
  REQUIRE(writer_of(on_db02) == "db02");
  const Decision failback = decide(w.s, cluster, mysql, &on_db02, {}, 750);
  CHECK(writer_of(failback) == "");
  CHECK(failback.promoting == std::optional<std::string>("db01"));
}

TEST_CASE("a master that just came back does not take writes from the up writer",
          "[policy][rejoin]") {
  ClusterConfig cluster = seed_cluster();
  cluster.rejoin_grace_ms = 5000;
  const auto mysql = mysql_cfg();
  World w(cluster);
  const Decision healthy = decide(w.s, cluster, mysql, nullptr, {}, 0);
  w.down("db02").broken("db01");  // db01's IO thread to the dead db02: Connecting
  const Decision alone = decide(w.s, cluster, mysql, &healthy, {}, 1000);
  REQUIRE(writer_of(alone) == "db01");
  REQUIRE(alone.backup_mode);

  // db02 restarts and replicates from db01 at once; db01's IO thread reconnects later.
  w.at("db02").liveness = Liveness::Up;
  w.at("db02").replication = ReplHealth::Ok;
  const Decision back = decide(w.s, cluster, mysql, &alone, {}, 9000);
  CHECK(writer_of(back) == "db01");
  CHECK(back.writer_change.empty());
  CHECK(verdict(back, "db02").up_since_ms == 9000);
  CHECK(has_note(back, "db01 keeps writes"));
  CHECK(has_note(back, "db02 came back 0 ms ago"));
  CHECK(read_names(back) == Names{"db01", "db02", "db03", "db04", "db05"});

  const Decision later = decide(w.s, cluster, mysql, &back, {}, 13999);
  CHECK(writer_of(later) == "db01");
  CHECK(verdict(later, "db02").up_since_ms == 9000);  // carried, not reset

  SECTION("db01 reconnects within the grace: simply healthy") {
    w.at("db01").replication = ReplHealth::Ok;
    const Decision ok = decide(w.s, cluster, mysql, &later, {}, 14000);
    CHECK(writer_of(ok) == "db01");
    CHECK(ok.scenario == "healthy");
    CHECK_FALSE(has_note(ok, "keeps writes"));
  }
  SECTION("still broken after the grace: the table's 'db01 replication broken' row") {
    const Decision after = decide(w.s, cluster, mysql, &later, {}, 14000);
    CHECK(writer_of(after) == "db02");
    CHECK(after.scenario == "db01-replication-broken");
    CHECK(read_names(after) == Names{"db02", "db05"});
  }
  SECTION("both broken: the grace delays split brain, it does not hide it") {
    w.broken("db02");
    const Decision grace = decide(w.s, cluster, mysql, &back, {}, 10000);
    CHECK(writer_of(grace) == "db01");
    CHECK(read_names(grace) == Names{"db01", "db03", "db04"});
    const Decision after = decide(w.s, cluster, mysql, &grace, {}, 14000);
    CHECK(after.scenario == "split-brain");
    CHECK(writer_of(after) == "");
  }
  SECTION("rejoin_grace_ms 0 restores the immediate move") {
    cluster.rejoin_grace_ms = 0;
    const Decision now = decide(w.s, cluster, mysql, &alone, {}, 9000);
    CHECK(writer_of(now) == "db02");
  }
}

TEST_CASE("the rejoin grace needs history: no grace at start or for a non-writer",
          "[policy][rejoin]") {
  const ClusterConfig cluster = seed_cluster();
  const auto mysql = mysql_cfg();
  World w(cluster);
  w.broken("db01");
  // Agent start: nothing says db02 just came back.
  const Decision first = decide(w.s, cluster, mysql, nullptr, {}, 0);
  CHECK(writer_of(first) == "db02");
  CHECK(verdict(first, "db02").up_since_ms == 0);

  // db01 down, db02 writer; db01 comes back replicating while db02's IO thread reconnects:
  // db02 keeps being current, db01 is current and preferred, so writes fail back to db01.
  World v(cluster);
  const Decision healthy = decide(v.s, cluster, mysql, nullptr, {}, 0);
  v.down("db01").broken("db02");
  const Decision failover = decide(v.s, cluster, mysql, &healthy, {}, 1000);
  REQUIRE(writer_of(failover) == "db02");
  v.at("db01").liveness = Liveness::Up;
  v.at("db01").replication = ReplHealth::Ok;
  const Decision back = decide(v.s, cluster, mysql, &failover, {}, 5000);
  CHECK(writer_of(back) == "db01");
  CHECK(back.scenario == "healthy");
}

// After an agent restart nothing says who wrote last: db02 may have taken writes a moment ago
// (before the restart, or through HAProxy's static fallback). db01 waits for its relay log too.
TEST_CASE("at start the chosen writer also waits for its relay log", "[policy][promotion]") {
  const ClusterConfig cluster = seed_cluster();
  const auto mysql = mysql_cfg();
  World w(cluster);
  myspoa::probes::ReplicationStatus behind;
  behind.master_log_file = behind.relay_master_log_file = "db02-bin.000003";
  behind.read_master_log_pos = 900;
  behind.exec_master_log_pos = 100;
  w.at("db01").last.replication = behind;
  Decision starting = decide(World(cluster).incomplete().s, cluster, mysql, nullptr, {}, 0);
  REQUIRE_FALSE(starting.known);
  const Decision* const starts[] = {nullptr, &starting};
  for (const Decision* prev : starts) {
    const Decision first = decide(w.s, cluster, mysql, prev, {}, 100);
    CHECK(writer_of(first) == "");
    CHECK(first.promoting == std::optional<std::string>("db01"));
    CHECK_THAT(first.refusal, Catch::Matchers::Contains("promoting db01"));
  }
  const Decision first = decide(w.s, cluster, mysql, &starting, {}, 100);
  w.at("db01").last.replication->exec_master_log_pos = 900;
  const Decision applied = decide(w.s, cluster, mysql, &first, {}, 350);
  CHECK(writer_of(applied) == "db01");
  CHECK_THAT(applied.writer_change, Catch::Matchers::Contains("after applying its relay log"));
  // Applied from the start: no wait at all.
  const Decision clean = decide(w.s, cluster, mysql, nullptr, {}, 0);
  CHECK(writer_of(clean) == "db01");
}
