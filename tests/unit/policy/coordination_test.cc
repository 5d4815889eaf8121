// Cooperating agents (cluster.cooperation: majority, issue 12): every agent routes writes to the
// one master its probes see up, writable and eligible; only the primary has a target writer, and
// it holds a failover while replicas still replicate from the unreachable writer.
#include "tests/unit/policy/policy_fixture.h"

using Catch::Matchers::Contains;

namespace {

ClusterConfig majority() {
  ClusterConfig c = seed_cluster();
  c.cooperation = ClusterConfig::Cooperation::Majority;
  c.manage_read_only = true;
  c.master_failure_timeout_ms = 10000;
  return c;
}

// db01 writable, db02 read_only: what the primary's writer actions leave behind.
World settled(const ClusterConfig& c) {
  World w(c);
  w.read_only("db01", false).read_only("db02", true);
  return w;
}

}  // namespace

TEST_CASE("standalone: role, target and writable masters are reported, nothing else changes",
          "[policy][coordination]") {
  const ClusterConfig cluster = seed_cluster();
  World w(cluster);
  w.read_only("db01", true).read_only("db02", false);  // read_only does not route standalone
  const Decision d = decide(w.s, cluster, mysql_cfg(), nullptr, {}, 0);
  CHECK(d.role == "standalone");
  CHECK(writer_of(d) == "db01");
  CHECK(d.target_writer == std::optional<std::string>("db01"));
  CHECK(d.writable_masters == Names{"db02"});
  CHECK_FALSE(d.confirming);
}

TEST_CASE("majority: every role routes to the one writable, eligible master",
          "[policy][coordination]") {
  const ClusterConfig cluster = majority();
  struct Row {
    const char* situation;
    std::function<void(World&)> apply;
    const char* role;
    const char* writer;   // "" = refused
    const char* refusal;  // substring of the refusal when refused
    const char* target;   // "" = nullopt
  };
  const std::vector<Row> rows = {
      {"secondary follows the writable master", [](World& w) { w.locks(0, 5); }, "secondary",
       "db01", "", ""},
      {"secondary follows the primary's move to db02",
       [](World& w) { w.locks(0, 5).read_only("db01", true).read_only("db02", false); },
       "secondary", "db02", "", ""},
      {"two writable masters", [](World& w) { w.locks(0, 5).read_only("db02", false); },
       "secondary", "", "two writable masters: db01, db02", ""},
      {"none writable (secondary)", [](World& w) { w.locks(0, 5).read_only("db01", true); },
       "secondary", "", "no writable master: waiting for the primary", ""},
      {"none writable (primary)", [](World& w) { w.locks(5, 0).read_only("db01", true); },
       "primary", "", "no writable master: db01 not made writable yet", "db01"},
      {"writable but drained", [](World& w) { w.locks(3, 0); }, "primary", "",
       "writable master db01 drained by operator", "db02"},
      {"writable but down by this agent's probes",
       [](World& w) { w.locks(0, 3).down("db01").broken("db02"); }, "secondary", "",
       "no writable master", ""},
      {"primary routes and targets db01", [](World& w) { w.locks(3, 2); }, "primary", "db01", "",
       "db01"},
      {"tie: nobody is primary, writes still follow the writable master",
       [](World& w) { w.locks(2, 2); }, "none", "db01", "", ""},
      {"no primary, none writable", [](World& w) { w.locks(2, 2).read_only("db01", true); }, "none",
       "", "no primary agent (this agent holds 2 of 5 locks)", ""},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.situation) {
      World w = settled(cluster);
      row.apply(w);
      Overrides ov;
      if (std::string(row.situation) == "writable but drained") ov.drained = {"db01"};
      const Decision d = decide(w.s, cluster, mysql_cfg(), nullptr, ov, 0);
      CHECK(d.role == row.role);
      CHECK(writer_of(d) == row.writer);
      CHECK(d.writer_backend == (*row.writer ? std::string("be_") + row.writer : ""));
      if (*row.writer)
        CHECK(d.refusal.empty());
      else
        CHECK_THAT(d.refusal, Contains(row.refusal));
      CHECK(d.target_writer.value_or("") == row.target);
      CHECK(verdict(d, "db01").writer == (std::string(row.writer) == "db01"));
    }
  }
}

TEST_CASE("majority: a secondary neither promotes nor waits for relay logs",
          "[policy][coordination]") {
  const ClusterConfig cluster = majority();
  World w = settled(cluster);
  w.locks(0, 5).down("db01");
  myspoa::probes::ReplicationStatus behind;
  behind.master_log_file = behind.relay_master_log_file = "db01-bin.000001";
  behind.read_master_log_pos = 900;
  behind.exec_master_log_pos = 100;
  w.at("db02").last.replication = behind;
  const Decision d = decide(w.s, cluster, mysql_cfg(), nullptr, {}, 0);
  CHECK_FALSE(d.promoting);
  CHECK_FALSE(d.target_writer);
  CHECK_THAT(d.refusal, Contains("no writable master"));
  SECTION("the primary targets the promoting master") {
    w.locks(5, 0);
    const Decision p = decide(w.s, cluster, mysql_cfg(), nullptr, {}, 0);
    CHECK(p.promoting == std::optional<std::string>("db02"));
    CHECK(p.target_writer == std::optional<std::string>("db02"));
    CHECK_THAT(p.refusal, Contains("no writable master: promoting db02"));
  }
}

TEST_CASE("majority: the primary holds a failover while replicas still replicate from the writer",
          "[policy][coordination]") {
  const ClusterConfig cluster = majority();
  World w = settled(cluster);
  w.locks(4, 0);
  const Decision healthy = decide(w.s, cluster, mysql_cfg(), nullptr, {}, 0);
  REQUIRE(writer_of(healthy) == "db01");
  REQUIRE(healthy.target_writer == std::optional<std::string>("db01"));

  // This agent loses db01; db02, db03 and db04 still have their IO threads on 127.0.0.1:33061.
  w.down("db01");
  w.at("db01").changed_at_ms = 900;
  w.io_from("db02", 33061, 950).io_from("db03", 33061).io_from("db04", 33061);
  w.read_only("db02", true);
  const Decision held = decide(w.s, cluster, mysql_cfg(), &healthy, {}, 1000);
  CHECK(held.target_writer == std::optional<std::string>("db01"));
  CHECK(held.confirming == std::optional<std::string>("db01"));
  CHECK(held.confirming_since_ms == 1000);
  CHECK_FALSE(held.promoting);
  CHECK(writer_of(held) == "");
  CHECK_THAT(held.refusal,
             Contains("db01 unreachable from this agent but db02, db03, db04 (read position "
                      "moving) still replicate from it: no failover (held 0 ms of "
                      "master_failure_timeout_ms 10000)"));

  const Decision pending = decide(w.s, cluster, mysql_cfg(), &held, {}, 7000);
  CHECK(pending.target_writer == std::optional<std::string>("db01"));
  CHECK(pending.confirming_since_ms == 1000);
  CHECK(has_note(pending, "held 6000 ms of master_failure_timeout_ms 10000"));

  SECTION("expired: the normal failover proceeds") {
    const Decision expired = decide(w.s, cluster, mysql_cfg(), &pending, {}, 11000);
    CHECK(expired.target_writer == std::optional<std::string>("db02"));
    CHECK_FALSE(expired.confirming);
    CHECK(has_note(expired, "failover after 10000 ms"));
    // The next round does not start a new hold: the target is db02 now.
    w.read_only("db02", false);
    const Decision after = decide(w.s, cluster, mysql_cfg(), &expired, {}, 11250);
    CHECK(writer_of(after) == "db02");
    CHECK_FALSE(after.confirming);
  }
  SECTION("db01 reachable again: simply the writer, nothing held") {
    w.at("db01").liveness = Liveness::Up;
    w.at("db01").replication = ReplHealth::Ok;
    w.read_only("db01", false);
    const Decision back = decide(w.s, cluster, mysql_cfg(), &pending, {}, 8000);
    CHECK(writer_of(back) == "db01");
    CHECK_FALSE(back.confirming);
  }
  SECTION("a secondary with the same view does not hold (it has no target)") {
    w.locks(0, 5);
    const Decision sec = decide(w.s, cluster, mysql_cfg(), &healthy, {}, 1000);
    CHECK_FALSE(sec.confirming);
    CHECK_FALSE(sec.target_writer);
    CHECK_THAT(sec.refusal, Contains("no writable master"));
  }
}

TEST_CASE("majority: no confirmation, no hold", "[policy][coordination]") {
  const ClusterConfig cluster = majority();
  World w = settled(cluster);
  w.locks(4, 0);
  const Decision healthy = decide(w.s, cluster, mysql_cfg(), nullptr, {}, 0);
  w.down("db01").read_only("db02", true);
  SECTION("IO threads not running (Connecting): db01 is really gone") {
    w.io_from("db02", 33061).io_from("db03", 33061);
    w.at("db02").last.replication->io_running = false;
    w.at("db03").last.replication->io_running = false;
    const Decision d = decide(w.s, cluster, mysql_cfg(), &healthy, {}, 1000);
    CHECK_FALSE(d.confirming);
    CHECK(d.target_writer == std::optional<std::string>("db02"));
  }
  SECTION("IO threads replicate from another address") {
    w.io_from("db03", 33062);
    const Decision d = decide(w.s, cluster, mysql_cfg(), &healthy, {}, 1000);
    CHECK_FALSE(d.confirming);
    CHECK(d.target_writer == std::optional<std::string>("db02"));
  }
  SECTION("master_failure_timeout_ms 0 turns the hold off") {
    ClusterConfig c = cluster;
    c.master_failure_timeout_ms = 0;
    w.io_from("db03", 33061);
    const Decision d = decide(w.s, c, mysql_cfg(), &healthy, {}, 1000);
    CHECK_FALSE(d.confirming);
    CHECK(d.target_writer == std::optional<std::string>("db02"));
  }
}
