// Table tests of the routing policy: every seed scenario is a row, then replica and master lag,
// unhealthy sources, lag-aware read weights and configuration options.

#include "tests/unit/policy/policy_fixture.h"

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
