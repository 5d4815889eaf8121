// The probe engine's round logic without a loop (issue 14): results in, snapshots out, every
// time taken from the injected clock.
#include <catch2/catch.hpp>

#include "probes/round_book.h"

using namespace myspoa;
using namespace myspoa::probes;

namespace {

config::Config three_servers(bool majority = false) {
  config::Config c;
  c.mysql.rise = 2;
  c.mysql.fall = 2;
  c.mysql.flap_threshold = 2;
  c.mysql.flap_window_s = 60;
  c.mysql.flap_hold_s = 30;
  c.cluster.masters = {"db01", "db02"};
  for (const char* n : {"db01", "db02", "db03"}) {
    config::ServerConfig s;
    s.name = n;
    s.replica_of = std::string(n) == "db03" ? "db01" : "";
    c.cluster.servers.push_back(s);
  }
  if (majority) {
    c.cluster.cooperation = config::ClusterConfig::Cooperation::Majority;
    c.agent.name = "lb1";
  }
  return c;
}

ProbeResult answer(bool ok) {
  ProbeResult r;
  r.ok = ok;
  if (!ok) r.error = "connect timeout after 300 ms";
  r.at_ms = -1;  // the book stamps it
  return r;
}

struct FakeClock {
  int64_t now = 10000;
  RoundBook::Clock fn() {
    return [this] { return now; };
  }
};

}  // namespace

TEST_CASE("round book: complete once every server is known, stamped by the injected clock") {
  FakeClock clock;
  RoundBook book(three_servers(), nullptr, clock.fn());
  for (int round = 1; round <= 2; ++round) {
    clock.now += 250;
    for (size_t i = 0; i < 3; ++i) book.observe(i, answer(i != 2));  // db03 never answers
    const Snapshot s = book.build(round);
    CHECK(s.round == uint64_t(round));
    CHECK(s.taken_at_ms == clock.now);
    CHECK(s.servers[0].last.at_ms == clock.now);
    CHECK(s.complete == (round == 2));  // rise 2 / fall 2: known after the 2nd round
  }
  const Snapshot s = book.build(2);
  CHECK(s.servers[0].liveness == Liveness::Up);
  CHECK(s.servers[2].liveness == Liveness::Down);
  CHECK(s.servers[0].changed_at_ms == 10500);
  CHECK_FALSE(s.coordination.enabled);
}

TEST_CASE("round book: a reload keeps known states and a new server does not hold back") {
  FakeClock clock;
  auto prev = std::make_shared<Snapshot>();
  ServerState up;
  up.name = "db01";
  up.liveness = Liveness::Up;
  prev->servers = {up};
  prev->complete = true;
  RoundBook book(three_servers(), prev, clock.fn());
  // db02 and db03 are new: only db01's state is carried, and it alone makes the round complete.
  const Snapshot s = book.build(7);
  CHECK(s.complete);
  CHECK(s.servers[0].liveness == Liveness::Up);
  CHECK(s.servers[1].liveness == Liveness::Unknown);
}

TEST_CASE("round book: flap hold timing follows the injected clock") {
  FakeClock clock;
  RoundBook book(three_servers(), nullptr, clock.fn());
  auto round = [&](bool db01_ok) {
    clock.now += 1000;
    book.observe(0, answer(db01_ok));
    book.observe(1, answer(true));
    book.observe(2, answer(true));
  };
  round(true);
  round(true);                                              // db01 Up
  for (bool ok : {false, false, true, true, false, false})  // Down, Up, Down: 3 changes > 2
    round(ok);
  REQUIRE(book.build(1).servers[0].flapping);
  round(true);
  round(true);  // answers again: held
  const int64_t since_change = clock.now;
  Snapshot s = book.build(2);
  CHECK(s.servers[0].liveness == Liveness::Down);
  CHECK(s.servers[0].probed == Liveness::Up);
  // Released exactly when the clock says hold_s passed without a change.
  while (clock.now + 1000 < since_change + 30000) round(true);
  CHECK(book.build(3).servers[0].flapping);
  round(true);
  CHECK_FALSE(book.build(4).servers[0].flapping);
  CHECK(book.build(4).servers[0].liveness == Liveness::Up);
}

TEST_CASE("round book: the election tally rides on every snapshot") {
  FakeClock clock;
  RoundBook book(three_servers(true), nullptr, clock.fn());
  REQUIRE(book.election());
  ResultSet mine;
  mine.columns = {"holder", "me"};
  mine.rows.push_back({std::string("5"), std::string("5")});
  book.election()->observe(0, parse_lock_result(mine));
  clock.now = 20000;
  CHECK_FALSE(book.build(1).coordination.primary);
  book.election()->observe(2, parse_lock_result(mine));
  clock.now = 20250;
  Snapshot s = book.build(2);
  CHECK(s.coordination.primary);
  CHECK(s.coordination.primary_since_ms == 20250);
  CHECK(s.coordination.servers == 3);
  book.election()->lost(2);
  clock.now = 20500;
  s = book.build(3);
  CHECK_FALSE(s.coordination.primary);  // stepped down in the round that saw it
  CHECK(s.coordination.primary_since_ms == 0);
}
