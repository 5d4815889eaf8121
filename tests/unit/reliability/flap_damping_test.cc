// Flap damping and the "one timeout is not a failure" property of the rise/fall hysteresis.
#include <catch2/catch.hpp>

#include "probes/hysteresis.h"

using namespace myspoa::probes;

namespace {
ProbeResult good(int64_t at) {
  ProbeResult r;
  r.ok = true;
  r.at_ms = at;
  return r;  // no replication: NotReplica
}
ProbeResult timeout(int64_t at) {
  ProbeResult r;
  r.ok = false;
  r.error = "query timeout after 300 ms";
  r.at_ms = at;
  return r;
}
}  // namespace

TEST_CASE("a single probe timeout between good probes changes nothing with fall=2") {
  ServerHealth h("db01", {.rise = 2, .fall = 2}, 5.0, FlapDamping{4, 60000, 30000});
  int64_t t = 0;
  h.observe(good(t += 250));
  h.observe(good(t += 250));
  REQUIRE(h.state().liveness == Liveness::Up);
  const auto transitions = h.state().transitions;
  for (int i = 0; i < 20; ++i) {  // a timeout every other probe: never two in a row
    auto u = h.observe(timeout(t += 250));
    CHECK(u.liveness == Transition::Pending);
    CHECK(u.messages.empty());
    CHECK(h.state().liveness == Liveness::Up);
    u = h.observe(good(t += 250));
    CHECK(u.liveness == Transition::Unchanged);
    CHECK(h.state().liveness == Liveness::Up);
  }
  CHECK(h.state().transitions == transitions);
  CHECK_FALSE(h.flapping());
  // Two in a row is a failure.
  h.observe(timeout(t += 250));
  h.observe(timeout(t += 250));
  CHECK(h.state().liveness == Liveness::Down);
}

TEST_CASE("flap damping: more than threshold liveness changes in the window hold the server Down") {
  const FlapDamping flap{4, 60000, 30000};
  ServerHealth h("db02", {.rise = 1, .fall = 1}, 5.0, flap);
  int64_t t = 1000;
  h.observe(good(t));  // Unknown -> Up: not a flap
  REQUIRE(h.state().liveness == Liveness::Up);
  // Down, Up, Down, Up: 4 changes, not more than the threshold.
  for (int i = 0; i < 2; ++i) {
    h.observe(timeout(t += 1000));
    h.observe(good(t += 1000));
  }
  CHECK_FALSE(h.flapping());
  CHECK(h.state().liveness == Liveness::Up);
  // The 5th change starts the hold.
  auto u = h.observe(timeout(t += 1000));
  CHECK(u.flap_hold_started);
  CHECK(h.flapping());
  CHECK(h.state().liveness == Liveness::Down);
  CHECK(h.state().flapping);
  CHECK(h.state().why == "flapping: 5 transitions in 60 s");
  REQUIRE_FALSE(u.messages.empty());
  CHECK(u.messages.back().find("FLAPPING") != std::string::npos);
  // Up again at once: still held Down while it is not stable.
  u = h.observe(good(t += 1000));
  CHECK(u.liveness == Transition::Changed);
  CHECK(h.state().liveness == Liveness::Down);
  CHECK(h.state().why.rfind("flapping:", 0) == 0);
  const int64_t last_change = t;
  // Stable but not yet for hold_ms.
  while (t + 1000 < last_change + flap.hold_ms) {
    u = h.observe(good(t += 1000));
    CHECK_FALSE(u.flap_hold_ended);
    CHECK(h.state().liveness == Liveness::Down);
  }
  u = h.observe(good(t = last_change + flap.hold_ms));
  CHECK(u.flap_hold_ended);
  CHECK_FALSE(h.flapping());
  CHECK(h.state().liveness == Liveness::Up);
  CHECK_FALSE(h.state().flapping);
}

TEST_CASE("flap damping: changes spread wider than the window never hold") {
  ServerHealth h("db03", {.rise = 1, .fall = 1}, 5.0, FlapDamping{4, 60000, 30000});
  int64_t t = 0;
  h.observe(good(t));
  for (int i = 0; i < 10; ++i) {  // one change every 16 s: at most 4 in any 60 s window
    h.observe(timeout(t += 16000));
    CHECK_FALSE(h.flapping());
    h.observe(good(t += 16000));
    CHECK_FALSE(h.flapping());
  }
  CHECK(h.state().liveness == Liveness::Up);
}

TEST_CASE("flap damping disabled with threshold 0") {
  ServerHealth h("db04", {.rise = 1, .fall = 1}, 5.0, FlapDamping{0, 60000, 30000});
  int64_t t = 0;
  for (int i = 0; i < 20; ++i) {
    h.observe(good(t += 100));
    h.observe(timeout(t += 100));
  }
  CHECK_FALSE(h.flapping());
  CHECK(h.state().liveness == Liveness::Down);
}
