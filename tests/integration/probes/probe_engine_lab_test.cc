// The probe engine on the real lab: every labctl fault (and its recovery) must show in the
// published snapshot within 2 intervals + rise/fall intervals, measured from when labctl returns.
// Honours MYSPOA_LAB_DIR / MYSPOA_LAB_PORT_BASE like labctl. Brings the lab up if needed and
// takes it down at the end only when it started it.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include "probes/probe_engine.h"

using namespace myspoa;
using namespace myspoa::probes;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kInterval = 250, kRise = 2, kFall = 2;
// Scheduling slack on a 2-core machine shared with five mariadbd and the compiler.
constexpr int kSlackMs = 200;

int port_base() {
  const char* e = std::getenv("MYSPOA_LAB_PORT_BASE");
  return e ? std::atoi(e) : 33060;
}

int labctl(const std::string& args) {
  std::string cmd = std::string(MYSPOA_LABCTL) + " " + args + " >/dev/null 2>&1";
  return std::system(cmd.c_str());
}

config::Config lab_config() {
  config::Config c;
  c.mysql.user = "myspoa";
  c.mysql.password = "myspoa";
  c.mysql.interval_ms = kInterval;
  c.mysql.rise = kRise;
  c.mysql.fall = kFall;
  c.mysql.max_lag_s = 2.0;
  c.mysql.heartbeat = true;
  c.cluster.masters = {"db01", "db02"};
  const char* replica_of[] = {"", "", "db01", "db01", "db02"};
  for (int n = 1; n <= 5; ++n) {
    config::ServerConfig s;
    s.name = "db0" + std::to_string(n);
    s.address = {"127.0.0.1", static_cast<uint16_t>(port_base() + n)};
    s.backend = "be_" + s.name;
    s.replica_of = replica_of[n - 1];
    c.cluster.servers.push_back(s);
  }
  return c;
}

// Polls the snapshot until pred holds or the deadline passes; returns elapsed ms or -1.
long wait_for(const ProbeEngine& e, int deadline_ms,
              const std::function<bool(const Snapshot&)>& pred,
              Clock::time_point from = Clock::now()) {
  while (Clock::now() - from < std::chrono::milliseconds(deadline_ms)) {
    auto s = e.snapshot();
    if (s && pred(*s))
      return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - from).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return -1;
}

const ServerState& srv(const Snapshot& s, const char* name) {
  return *s.find(name);
}

bool all_healthy(const Snapshot& s) {
  if (!s.complete) return false;
  for (const auto& x : s.servers)
    if (!x.up() || !x.replicating()) return false;  // master-master: db01/db02 replicate too
  return true;
}

struct Lab {
  bool started_by_us = false;
  Lab() {
    started_by_us = labctl("status | grep -q 'db01 .* up '") != 0;
    REQUIRE(labctl("up --mysql-only") == 0);
  }
  ~Lab() {
    if (started_by_us) labctl("down");
  }
};

}  // namespace

TEST_CASE("probe engine follows lab faults within 2 intervals + rise/fall") {
  spdlog::set_level(spdlog::level::info);
  static Lab lab;  // once for all sections
  ProbeEngine engine(lab_config());
  engine.start();

  const int fault_ms = 2 * kInterval + kFall * kInterval + kSlackMs;
  const int recover_ms = 2 * kInterval + kRise * kInterval + kSlackMs;

  REQUIRE(wait_for(engine, 15000, all_healthy) >= 0);
  {
    auto s = engine.snapshot();
    CHECK(srv(*s, "db01").last.server_id == 1);
    CHECK_FALSE(srv(*s, "db01").last.read_only);
    CHECK(srv(*s, "db03").last.read_only);
    CHECK(srv(*s, "db03").last.replication->master_server_id == 1);
    CHECK(srv(*s, "db05").last.replication->master_server_id == 2);
  }

  SECTION("crash and start") {
    REQUIRE(labctl("crash db04") == 0);
    auto t0 = Clock::now();
    long ms = wait_for(
        engine, fault_ms, [](auto& s) { return !srv(s, "db04").up(); }, t0);
    INFO("crash seen after " << ms << " ms");
    CHECK(ms >= 0);
    CHECK(srv(*engine.snapshot(), "db03").up());  // nobody else affected
    REQUIRE(labctl("start db04") == 0);
    t0 = Clock::now();
    ms = wait_for(
        engine, recover_ms, [](auto& s) { return srv(s, "db04").up(); }, t0);
    INFO("start seen after " << ms << " ms");
    CHECK(ms >= 0);
  }

  SECTION("freeze and thaw") {
    REQUIRE(labctl("freeze db03") == 0);
    auto t0 = Clock::now();
    long ms = wait_for(
        engine, fault_ms, [](auto& s) { return !srv(s, "db03").up(); }, t0);
    INFO("freeze seen after " << ms << " ms");
    CHECK(ms >= 0);
    // The frozen server delays nobody: every other server keeps completing probes.
    auto before = engine.snapshot();
    std::this_thread::sleep_for(std::chrono::milliseconds(4 * kInterval));
    auto after = engine.snapshot();
    for (const char* n : {"db01", "db02", "db04", "db05"}) {
      CHECK(srv(*after, n).up());
      CHECK(srv(*after, n).probes >= srv(*before, n).probes + 3);
    }
    REQUIRE(labctl("thaw db03") == 0);
    t0 = Clock::now();
    ms = wait_for(
        engine, recover_ms, [](auto& s) { return srv(s, "db03").up(); }, t0);
    INFO("thaw seen after " << ms << " ms");
    CHECK(ms >= 0);
  }

  SECTION("stop-repl and start-repl") {
    REQUIRE(labctl("stop-repl db05") == 0);
    auto t0 = Clock::now();
    long ms = wait_for(
        engine, fault_ms, [](auto& s) { return srv(s, "db05").replication == ReplHealth::Broken; },
        t0);
    INFO("stop-repl seen after " << ms << " ms");
    CHECK(ms >= 0);
    CHECK(srv(*engine.snapshot(), "db05").up());
    CHECK(srv(*engine.snapshot(), "db05").why.find("Slave_SQL_Running=No") != std::string::npos);
    REQUIRE(labctl("start-repl db05") == 0);
    t0 = Clock::now();
    ms = wait_for(
        engine, recover_ms, [](auto& s) { return srv(s, "db05").replicating(); }, t0);
    INFO("start-repl seen after " << ms << " ms");
    CHECK(ms >= 0);
  }

  SECTION("lag 3 s measured by the heartbeat, then lag 0") {
    // The engine's heartbeat REPLACE on db01 every interval is the write traffic that the
    // delayed replica lags behind.
    REQUIRE(labctl("lag db03 3") == 0);
    auto t0 = Clock::now();
    long ms = wait_for(
        engine, 3000 + fault_ms,
        [](auto& s) { return srv(s, "db03").replication == ReplHealth::Lagging; }, t0);
    INFO("lag seen after " << ms << " ms");
    CHECK(ms >= 0);
    // Sample the heartbeat lag for 3 s once the delay is established.
    std::vector<double> lags;
    uint32_t last_probe = 0;
    auto until = Clock::now() + std::chrono::seconds(3);
    while (Clock::now() < until) {
      auto s = engine.snapshot();
      const auto& d = srv(*s, "db03");
      if (d.probes != last_probe && d.last.heartbeat_lag_s) {
        lags.push_back(*d.last.heartbeat_lag_s);
        last_probe = d.probes;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(lags.size() >= 8);
    std::sort(lags.begin(), lags.end());
    double median = lags[lags.size() / 2];
    INFO("heartbeat lag samples: min " << lags.front() << " median " << median << " max "
                                       << lags.back());
    // MariaDB applies MASTER_DELAY on whole seconds (event timestamps in seconds, then whole-second
    // sleeps of the SQL thread starting at an arbitrary phase), so the delay really waited by a
    // write lies anywhere in [2, 4] s for a nominal 3 s. Our ±250 ms comes on top of that second.
    CHECK(median == Approx(3.0).margin(1.0 + 0.25));
    REQUIRE(labctl("lag db03 0") == 0);
    t0 = Clock::now();
    ms = wait_for(
        engine, recover_ms, [](auto& s) { return srv(s, "db03").replicating(); }, t0);
    INFO("lag 0 seen after " << ms << " ms");
    CHECK(ms >= 0);
  }

  engine.stop();
  auto c = engine.counters();
  CHECK(c.probes_ok > 0);
  CHECK(c.rounds > 0);
}

// The lab's MariaDB has no TLS (have_ssl DISABLED): REQUIRED must refuse the plain-text session
// that Connector/C would otherwise fall back to; PREFERRED connects.
TEST_CASE("ssl_mode REQUIRED refuses a server without TLS; PREFERRED falls back") {
  spdlog::set_level(spdlog::level::warn);
  static Lab lab;
  for (const char* mode : {"REQUIRED", "PREFERRED"}) {
    auto cfg = lab_config();
    cfg.mysql.ssl_mode = mode;
    cfg.mysql.heartbeat = false;
    cfg.cluster.servers.resize(1);  // db01 alone
    cfg.cluster.masters = {"db01"};
    ProbeEngine engine(cfg);
    engine.start();
    const bool required = std::string(mode) == "REQUIRED";
    const long ms = wait_for(engine, 5000, [&](const Snapshot& s) {
      const auto& d = srv(s, "db01");
      return required ? d.liveness == Liveness::Down : d.up();
    });
    INFO(mode << " after " << ms << " ms");
    CHECK(ms >= 0);
    const auto s = engine.snapshot();
    if (required) {
      CHECK_THAT(srv(*s, "db01").last.error, Catch::Matchers::Contains("did not negotiate TLS"));
      CHECK_FALSE(srv(*s, "db01").last.ok);
    } else {
      CHECK(srv(*s, "db01").last.ok);
    }
    engine.stop();
  }
}
