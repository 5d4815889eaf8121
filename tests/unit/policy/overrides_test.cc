// Operator overrides: drained servers, inconsistent replicas, the writer pin.

#include "tests/unit/policy/policy_fixture.h"

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
