// read_only management in cooperation: majority (pure plan, issue 12): only the primary acts, and
// the new writer becomes writable only after the others are read_only, its relay log is applied
// and no master has been seen writable for two probe intervals.
#include <catch2/catch.hpp>

#include "spoa/writer_actions/majority_read_only.h"
#include "tests/unit/reliability/read_only_fixture.h"

using namespace myspoa;
using writer_actions::MajorityReadOnlyInput;
using writer_actions::plan_read_only_majority;

namespace {
using read_only_fixture::cluster;
using read_only_fixture::server;
using read_only_fixture::snap;

MajorityReadOnlyInput primary(std::optional<std::string> target, int64_t quiet_ms = 0,
                              std::optional<std::string> promoting = std::nullopt) {
  MajorityReadOnlyInput in;
  in.known = true;
  in.primary = true;
  in.target = std::move(target);
  in.promoting = std::move(promoting);
  in.now_ms = 100000;
  in.none_writable_since_ms = quiet_ms > 0 ? in.now_ms - quiet_ms : 0;
  in.interval_ms = 250;
  return in;
}

std::string describe(const std::vector<writer_actions::ReadOnlyAction>& a) {
  std::string out;
  for (const auto& x : a) out += x.server + (x.read_only ? "=ro " : "=rw ");
  return out;
}

}  // namespace

TEST_CASE("majority read_only: a secondary (or an agent before its first decision) does nothing") {
  auto in = primary("db02", 10000);
  in.primary = false;
  CHECK(plan_read_only_majority(in, snap(true, false, true, true), cluster()).empty());
  CHECK(plan_read_only_majority(in, snap(true, true, true, true), cluster()).empty());
  in = primary("db02", 10000);
  in.known = false;
  CHECK(plan_read_only_majority(in, snap(true, false, true, true), cluster()).empty());
}

TEST_CASE("majority read_only: the writer moves db01 -> db02 in order") {
  const auto c = cluster();
  // 1. db01 still writable: fence it, db02 stays read_only for now.
  auto a = plan_read_only_majority(primary("db02"), snap(true, false, true, true), c);
  CHECK(describe(a) == "db01=ro ");
  REQUIRE(a.size() == 1);
  CHECK(a[0].why == "primary: writes move to db02");
  // 2. db01 read_only, db02 still applying its relay log: wait, however long it has been quiet.
  CHECK(plan_read_only_majority(primary("db02", 5000, "db02"), snap(true, true, true, true), c)
            .empty());
  // 3. relay log applied, but none writable for less than two intervals (500 ms): wait.
  CHECK(plan_read_only_majority(primary("db02", 499), snap(true, true, true, true), c).empty());
  // Not counted at all yet (the clock has not seen a round without a writable master).
  CHECK(plan_read_only_majority(primary("db02", 0), snap(true, true, true, true), c).empty());
  // 4. two intervals with nothing writable: db02 read_only=0.
  a = plan_read_only_majority(primary("db02", 500), snap(true, true, true, true), c);
  CHECK(describe(a) == "db02=rw ");
  REQUIRE(a.size() == 1);
  CHECK(a[0].why == "primary: db02 takes writes (no master writable for 500 ms)");
  // Done: db02 writable, db01 read_only: nothing more.
  CHECK(plan_read_only_majority(primary("db02"), snap(true, true, true, false), c).empty());
}

TEST_CASE("majority read_only: the old writer unreachable is skipped, not waited for") {
  // db01 down (crashed, or cut off from this agent after master_failure_timeout_ms): nothing to
  // fence; db02 becomes writable after the quiet intervals.
  const auto c = cluster();
  CHECK(plan_read_only_majority(primary("db02", 100), snap(false, false, true, true), c).empty());
  CHECK(describe(plan_read_only_majority(primary("db02", 600), snap(false, false, true, true),
                                         c)) == "db02=rw ");
}

TEST_CASE("majority read_only: start with both masters writable fences the other one only") {
  // The lab starts db01 and db02 writable: the target keeps its read_only=0, db02 is fenced.
  const auto a =
      plan_read_only_majority(primary("db01"), snap(true, false, true, false), cluster());
  CHECK(describe(a) == "db02=ro ");
}

TEST_CASE("majority read_only: no target fences every writable master") {
  CHECK(describe(plan_read_only_majority(primary(std::nullopt), snap(true, false, true, false),
                                         cluster())) == "db01=ro db02=ro ");
  const auto a =
      plan_read_only_majority(primary(std::nullopt), snap(true, true, true, false), cluster());
  REQUIRE(a.size() == 1);
  CHECK(a[0].why == "primary: writes refused");
}

TEST_CASE("majority read_only: a target that is down or unreadable is left alone") {
  const auto c = cluster();
  CHECK(plan_read_only_majority(primary("db02", 5000), snap(true, true, false, true), c).empty());
  auto s = snap(true, true, true, true);
  s.servers[1].last.ok = false;  // up after hysteresis, but the last probe failed
  CHECK(plan_read_only_majority(primary("db02", 5000), s, c).empty());
}

TEST_CASE("none_writable_since: since when no master has been seen writable") {
  using writer_actions::none_writable_since;
  const std::vector<std::string> masters{"db01", "db02"};
  int64_t since = none_writable_since(snap(true, false, true, true), masters, 0, 1000);
  CHECK(since == 0);
  since = none_writable_since(snap(true, true, true, true), masters, since, 1250);
  CHECK(since == 1250);
  since = none_writable_since(snap(true, true, true, true), masters, since, 1500);
  CHECK(since == 1250);  // keeps the start
  since = none_writable_since(snap(false, false, true, true), masters, since, 1750);
  CHECK(since == 1250);  // down: not seen writable
  since = none_writable_since(snap(true, true, true, false), masters, since, 2000);
  CHECK(since == 0);
  CHECK(none_writable_since(snap(true, true, true, true), masters, since, 2250) == 2250);
}

TEST_CASE("majority read_only: a writable master held Down by the hysteresis is fenced too") {
  // Found by the two-balancer soak: db01 restarted with read_only=0 (its my.cnf) and flapping, so
  // held Down here for 25 s, while the other agent saw it Up and writable next to db02 and refused
  // every write, and HAProxy's fallback wrote to it. The last probe answered: fence it.
  const auto c = cluster();
  for (const bool flapping : {true, false}) {  // flap hold, or rise not reached yet
    auto s = snap(true, false, true, false);
    s.servers[0].liveness = myspoa::probes::Liveness::Down;
    s.servers[0].flapping = flapping;
    CHECK(describe(plan_read_only_majority(primary("db02"), s, c)) == "db01=ro ");
    CHECK(writer_actions::seen_writable(s, "db01"));
    // ... and it keeps the new writer's read_only=0 waiting: a master is still seen writable.
    s.servers[1].last.read_only = true;
    CHECK(describe(plan_read_only_majority(primary("db02", 5000), s, c)) == "db01=ro ");
    CHECK(writer_actions::none_writable_since(s, c.masters, 0, 100000) == 0);
  }
}
