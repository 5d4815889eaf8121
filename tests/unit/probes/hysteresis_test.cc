// Rise/fall state machines: first results, flapping, pending, and the ServerHealth messages.
#include <catch2/catch.hpp>

#include "probes/hysteresis.h"

using namespace myspoa::probes;

TEST_CASE("liveness: Unknown until rise successes, then Up") {
  LivenessTracker t({.rise = 2, .fall = 3});
  CHECK(t.state() == Liveness::Unknown);
  CHECK(t.observe(true) == Transition::Pending);
  CHECK(t.state() == Liveness::Unknown);
  CHECK(t.observe(true) == Transition::Changed);
  CHECK(t.state() == Liveness::Up);
  CHECK(t.observe(true) == Transition::Unchanged);
}

TEST_CASE("liveness: a failing server starts Down after fall failures") {
  LivenessTracker t({.rise = 2, .fall = 3});
  CHECK(t.observe(false) == Transition::Pending);
  CHECK(t.observe(false) == Transition::Pending);
  CHECK(t.state() == Liveness::Unknown);
  CHECK(t.observe(false) == Transition::Changed);
  CHECK(t.state() == Liveness::Down);
}

TEST_CASE("liveness: flapping never reaches the threshold") {
  LivenessTracker t({.rise = 2, .fall = 2});
  t.observe(true);
  t.observe(true);
  REQUIRE(t.state() == Liveness::Up);
  for (int i = 0; i < 10; ++i) {
    CHECK(t.observe(false) == Transition::Pending);
    CHECK(t.observe(true) == Transition::Unchanged);  // back to the current state: streak reset
  }
  CHECK(t.state() == Liveness::Up);
  CHECK(t.observe(false) == Transition::Pending);
  CHECK(t.observe(false) == Transition::Changed);
  CHECK(t.state() == Liveness::Down);
  CHECK(t.observe(true) == Transition::Pending);
  CHECK(t.observe(false) == Transition::Unchanged);
  CHECK(t.observe(true) == Transition::Pending);
  CHECK(t.observe(true) == Transition::Changed);
  CHECK(t.state() == Liveness::Up);
}

TEST_CASE("liveness: rise/fall of 1 switch at once, 0 is treated as 1") {
  LivenessTracker t({.rise = 1, .fall = 0});
  CHECK(t.observe(true) == Transition::Changed);
  CHECK(t.observe(false) == Transition::Changed);
  CHECK(t.state() == Liveness::Down);
}

TEST_CASE("replication: bad states need fall, good states need rise, candidates reset") {
  ReplicationTracker t({.rise = 3, .fall = 2});
  CHECK(t.observe(ReplHealth::Ok) == Transition::Pending);
  CHECK(t.observe(ReplHealth::Ok) == Transition::Pending);
  CHECK(t.observe(ReplHealth::Ok) == Transition::Changed);
  CHECK(t.observe(ReplHealth::Broken) == Transition::Pending);
  CHECK(t.observe(ReplHealth::Lagging) == Transition::Pending);  // other candidate: restart
  CHECK(t.state() == ReplHealth::Ok);
  CHECK(t.observe(ReplHealth::Lagging) == Transition::Changed);
  CHECK(t.state() == ReplHealth::Lagging);
  CHECK(t.observe(ReplHealth::Unknown) == Transition::Unchanged);  // no information
  CHECK(t.observe(ReplHealth::NotReplica) == Transition::Pending);
}

namespace {
ProbeResult ok_replica(bool sql_running, std::optional<int64_t> behind) {
  ProbeResult r;
  r.ok = true;
  ReplicationStatus s;
  s.io_running = true;
  s.io_state = "Yes";
  s.sql_running = sql_running;
  s.seconds_behind = behind;
  if (!sql_running) s.last_sql_error = "Duplicate entry '7'";
  r.replication = s;
  return r;
}
ProbeResult failed(const std::string& why) {
  ProbeResult r;
  r.error = why;
  return r;
}
}  // namespace

TEST_CASE("ServerHealth: messages once per transition, with the reason") {
  ServerHealth h("db03", {.rise = 2, .fall = 2}, 5.0);
  auto u = h.observe(ok_replica(true, 0));
  CHECK(u.messages.empty());
  u = h.observe(ok_replica(true, 0));
  REQUIRE(u.messages.size() == 2);
  CHECK(u.messages[0] == "db03 UP");
  CHECK(u.messages[1].rfind("db03 replication OK", 0) == 0);
  CHECK(h.state().up());
  CHECK(h.state().replicating());
  CHECK(h.state().lag_s == 0.0);

  CHECK(h.observe(ok_replica(false, std::nullopt)).messages.empty());
  u = h.observe(ok_replica(false, std::nullopt));
  REQUIRE(u.messages.size() == 1);
  CHECK(u.messages[0] ==
        "db03 replication BROKEN: Slave_SQL_Running=No, Last_SQL_Error=Duplicate entry '7'");
  CHECK(h.observe(ok_replica(false, std::nullopt)).messages.empty());  // logged once
  CHECK(h.state().replication == ReplHealth::Broken);

  CHECK(h.observe(ok_replica(true, 9)).messages.empty());
  u = h.observe(ok_replica(true, 9));
  REQUIRE(u.messages.size() == 1);
  CHECK(h.state().replication == ReplHealth::Lagging);

  h.observe(failed("connect timeout after 300 ms"));
  u = h.observe(failed("connect timeout after 300 ms"));
  REQUIRE(u.messages.size() == 1);
  CHECK(u.messages[0] == "db03 DOWN: connect timeout after 300 ms");
  CHECK(h.state().liveness == Liveness::Down);
  CHECK(h.state().replication == ReplHealth::Lagging);  // kept while unreachable
  CHECK(h.state().transitions == 5);
  CHECK(h.state().probes == 9);
}

TEST_CASE("ServerHealth: Seconds_Behind_Master NULL with threads running is broken") {
  ServerHealth h("db04", {.rise = 1, .fall = 1}, 5.0);
  h.observe(ok_replica(true, std::nullopt));
  CHECK(h.state().replication == ReplHealth::Broken);
  CHECK(h.state().why == "Seconds_Behind_Master=NULL");
}

TEST_CASE("ServerHealth: a master without replication is NotReplica") {
  ServerHealth h("db01", {.rise = 1, .fall = 1}, 5.0);
  ProbeResult r;
  r.ok = true;
  h.observe(r);
  CHECK(h.state().replication == ReplHealth::NotReplica);
  CHECK(h.state().up());
}

#include "probes/heartbeat_lag.h"

TEST_CASE("heartbeat lag: one-second batches are measured by their mean apply delay") {
  const int64_t s = 1'000'000, ms = 1000;
  HeartbeatLag lag(250 * ms);
  // First read: only the newest row counts (older slots may be ancient).
  CHECK(*lag.observe({1 * s, 100 * s}, 100 * s + 100 * ms) == Approx(0.1));
  // Healthy: each read sees one new row written ~one interval ago.
  CHECK(*lag.observe({100 * s, 100 * s + 250 * ms}, 100 * s + 300 * ms) == Approx(0.05));
  // MASTER_DELAY=3: rows written at 101.0, 101.25, 101.5, 101.75 appear together at 104.0.
  std::vector<int64_t> rows = {100 * s + 250 * ms};
  CHECK(*lag.observe(rows, 101 * s) == Approx(0.5));  // nothing new: staleness - interval
  for (int k = 0; k < 4; ++k) rows.push_back(101 * s + k * 250 * ms);
  CHECK(*lag.observe(rows, 104 * s + 100 * ms) == Approx(3.1 - 0.375));  // mean of 3.1..2.35
  // Between batches the estimate holds instead of dropping to now - newest.
  CHECK(*lag.observe(rows, 104 * s + 600 * ms) == Approx(3.1 - 0.375));
  // Replication stopped: no new rows, staleness takes over and grows.
  CHECK(*lag.observe(rows, 110 * s) == Approx(110 - 101.75 - 0.25));
  CHECK_FALSE(lag.observe({}, 110 * s).has_value());
}

TEST_CASE("ServerHealth: a seeded state (reload) needs no new rise, and fall still applies") {
  ServerHealth h("db03", {.rise = 2, .fall = 2}, 5.0);
  ServerState before;
  before.name = "db03";
  before.liveness = Liveness::Up;
  before.replication = ReplHealth::Ok;
  before.transitions = 7;
  h.seed(before);
  CHECK(h.state().up());
  CHECK(h.state().transitions == 7);
  ProbeResult failed;
  failed.ok = false;
  failed.error = "connect timeout after 300 ms";
  CHECK(h.observe(failed).liveness == Transition::Pending);  // one failure: not yet down
  CHECK(h.state().up());
  CHECK(h.observe(failed).liveness == Transition::Changed);
  CHECK(h.state().liveness == Liveness::Down);
}
