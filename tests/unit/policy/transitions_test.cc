// The policy over time: recovery, flapping inputs, failback, the promotion wait (relay log
// applied before a master takes writes) and the rejoin grace.

#include "tests/unit/policy/policy_fixture.h"

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
