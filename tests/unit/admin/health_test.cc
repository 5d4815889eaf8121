// GET /health/ready and /health/live as pure functions of StatusInputs: readiness waits for the
// first complete probe round and the SPOP listener.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "spoa/admin/health.h"

using namespace myspoa;

namespace {
struct Ready {
  config::Config cfg = config::parse_config(config::default_config_yaml(), "test.yaml");
  admin::StatusInputs in;
  Ready() { in.config = &cfg; }

  // A snapshot of the five lab servers; `unknown` names servers still in Unknown state.
  void snapshot(uint64_t round, bool complete, const std::string& unknown = "") {
    auto s = std::make_shared<probes::Snapshot>();
    s->round = round;
    s->complete = complete;
    for (const auto& sc : cfg.cluster.servers) {
      probes::ServerState st;
      st.name = sc.name;
      st.liveness = unknown.find(sc.name) != std::string::npos ? probes::Liveness::Unknown
                                                               : probes::Liveness::Down;
      s->servers.push_back(st);
    }
    in.snapshot = s;
  }
  void decision(bool known) {
    auto d = std::make_shared<policy::Decision>();
    d->known = known;
    in.decision = d;
  }
};
}  // namespace

TEST_CASE("health: live is always 200", "[health]") {
  const auto a = admin::health_live();
  CHECK(a.status == 200);
  CHECK(a.body == "live\n");
}

TEST_CASE("health: not ready before any probe round", "[health]") {
  Ready r;
  r.in.spop_running = true;
  const auto a = admin::health_ready(r.in);
  CHECK(a.status == 503);
  CHECK(a.body == "not ready: no probe round finished yet\n");
}

TEST_CASE("health: not ready while servers are still unknown, names them", "[health]") {
  Ready r;
  r.in.spop_running = true;
  r.snapshot(1, false, "db03 db05");
  r.decision(false);
  const auto a = admin::health_ready(r.in);
  CHECK(a.status == 503);
  CHECK(a.body == "not ready: first probe round not complete: state unknown for db03, db05\n");
}

TEST_CASE("health: a complete snapshot without a known decision is not ready", "[health]") {
  Ready r;
  r.in.spop_running = true;
  r.snapshot(3, true);
  r.decision(false);
  CHECK(admin::health_ready(r.in).status == 503);
  r.in.decision = nullptr;
  CHECK(admin::health_ready(r.in).status == 503);
}

TEST_CASE("health: ready once the round is complete and SPOP listens", "[health]") {
  Ready r;
  r.snapshot(3, true);  // every server known (here: down) -- the agent can answer: ready
  r.decision(true);
  r.in.spop_running = false;
  auto a = admin::health_ready(r.in);
  CHECK(a.status == 503);
  CHECK(a.body == "not ready: SPOP listener not running\n");
  r.in.spop_running = true;
  a = admin::health_ready(r.in);
  CHECK(a.status == 200);
  CHECK(a.body == "ready\n");
}

TEST_CASE("health: both reasons at once", "[health]") {
  Ready r;
  const auto a = admin::health_ready(r.in);
  CHECK(a.status == 503);
  CHECK(a.body == "not ready: no probe round finished yet; SPOP listener not running\n");
}
