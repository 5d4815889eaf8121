// The primary election (cluster.cooperation: majority, issue 12) on the real lab: two probe
// engines in one process stand for two agents. Exactly one is primary; closing the primary's
// connections (stopping its engine) lets the other take over within a round; with 2 of 4
// servers reachable nobody is primary.
// Holds /tmp/myspoa-lab-dev.lock unless MYSPOA_LAB_LOCK_HELD=1; uses MYSPOA_LAB_DIR (default
// /tmp/myspoa-lab-election) and MYSPOA_LAB_PORT_BASE like labctl; brings the lab up if needed and
// down at the end only when it started it.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <thread>

#include "probes/probe_engine.h"

using namespace myspoa;
using namespace myspoa::probes;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kInterval = 250;
constexpr int kSlackMs = 300;  // a 2-core machine shared with five mariadbd and compilers

int port_base() {
  const char* e = std::getenv("MYSPOA_LAB_PORT_BASE");
  return e ? std::atoi(e) : 33060;
}

int labctl(const std::string& args) {
  std::string cmd = std::string(MYSPOA_LABCTL) + " " + args + " >/dev/null 2>&1";
  return std::system(cmd.c_str());
}

// `servers`: lab server numbers, or 0 for an address where nothing listens.
config::Config majority_config(const std::string& agent, const std::string& prefix,
                               std::vector<int> servers) {
  config::Config c;
  c.agent.name = agent;
  c.mysql.user = "myspoa";
  c.mysql.password = "myspoa";
  c.mysql.interval_ms = kInterval;
  c.cluster.cooperation = config::ClusterConfig::Cooperation::Majority;
  c.cluster.manage_read_only = true;
  c.cluster.lock_prefix = prefix;
  c.cluster.masters = {"db01", "db02"};
  int closed = 0;
  for (int n : servers) {
    config::ServerConfig s;
    s.name = n ? "db0" + std::to_string(n) : "gone" + std::to_string(++closed);
    s.address = {"127.0.0.1",
                 static_cast<uint16_t>(n ? port_base() + n : port_base() + 8 + closed)};
    s.replica_of = n <= 2 ? "" : "db01";
    c.cluster.servers.push_back(s);
  }
  return c;
}

long wait_for(const ProbeEngine& e, int deadline_ms,
              const std::function<bool(const CoordinationState&)>& pred) {
  const auto from = Clock::now();
  while (Clock::now() - from < std::chrono::milliseconds(deadline_ms)) {
    auto s = e.snapshot();
    if (s && pred(s->coordination))
      return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - from).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return -1;
}

struct Lab {
  int lock_fd = -1;
  bool started_by_us = false;
  Lab() {
    setenv("MYSPOA_LAB_DIR", "/tmp/myspoa-lab-election", 0);
    const char* held = std::getenv("MYSPOA_LAB_LOCK_HELD");
    if (!held || std::string(held) != "1") {
      lock_fd = ::open("/tmp/myspoa-lab-dev.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666);
      REQUIRE(lock_fd >= 0);
      bool got = false;
      for (int i = 0; i < 1800 * 10 && !got; ++i) {  // at most 30 minutes
        got = ::flock(lock_fd, LOCK_EX | LOCK_NB) == 0;
        if (!got) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      REQUIRE(got);
    }
    started_by_us = labctl("status | grep -q 'db01 .* up '") != 0;
    REQUIRE(labctl("up --mysql-only") == 0);
  }
  ~Lab() {
    if (started_by_us) labctl("down");
    if (lock_fd >= 0) ::close(lock_fd);
  }
};

}  // namespace

TEST_CASE("majority election on the lab: one primary, takeover within a round, ties give nobody") {
  spdlog::set_level(spdlog::level::warn);
  static Lab lab;
  // Unique per run: a lock left by an earlier crashed run would only delay, never fool, us.
  const std::string prefix = "myspoatest" + std::to_string(::getpid());
  const std::vector<int> all = {1, 2, 3, 4, 5};

  // lbA runs on an injected clock 10^12 ms ahead: its snapshots and election must use it.
  constexpr int64_t kAhead = 1000000000000;
  auto a = std::make_unique<ProbeEngine>(majority_config("lbA", prefix, all), nullptr, [] {
    return kAhead +
           std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
               .count();
  });
  a->start();
  const long a_primary = wait_for(*a, 2000, [](auto& c) { return c.primary; });
  INFO("lbA primary after " << a_primary << " ms");
  REQUIRE(a_primary >= 0);
  CHECK(a->snapshot()->coordination.locks_held == 5);
  CHECK(a->snapshot()->coordination.primary_name == "lbA");
  CHECK(a->snapshot()->coordination.primary_since_ms > kAhead);
  CHECK(a->snapshot()->taken_at_ms > kAhead);
  CHECK(a->snapshot()->servers[0].last.at_ms > kAhead);

  ProbeEngine b(majority_config("lbB", prefix, all));
  b.start();
  REQUIRE(wait_for(b, 2000, [](auto& c) { return c.locks_held_elsewhere == 5; }) >= 0);
  // Exactly one primary, sampled over 8 rounds.
  for (int i = 0; i < 40; ++i) {
    const auto ca = a->snapshot()->coordination, cb = b.snapshot()->coordination;
    CHECK(ca.primary);
    CHECK_FALSE(cb.primary);
    CHECK(std::string(cb.role()) == "secondary");
    CHECK(cb.locks_held == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  // The primary's connections close (its agent stops): the other takes over within a round.
  a->stop();
  const long takeover = wait_for(b, kInterval + kSlackMs, [](auto& c) { return c.primary; });
  INFO("lbB primary " << takeover << " ms after lbA's connections closed");
  CHECK(takeover >= 0);
  CHECK(wait_for(b, 2 * kInterval + kSlackMs, [](auto& c) { return c.locks_held == 5; }) >= 0);
  a.reset();

  // Another prefix, 4 servers of which 2 are reachable: 2 of 4 is no majority. Without a
  // majority the agent lets its locks go again (then backs off and retries): never primary.
  ProbeEngine tie(majority_config("lbC", prefix + "t", {1, 2, 0, 0}));
  tie.start();
  REQUIRE(wait_for(tie, 3000, [](auto& c) { return c.locks_held == 2; }) >= 0);
  CHECK(wait_for(tie, 3 * kInterval + kSlackMs, [](auto& c) { return c.locks_held == 0; }) >= 0);
  for (int i = 0; i < 20; ++i) {
    const auto ct = tie.snapshot()->coordination;
    CHECK(ct.servers == 4);
    CHECK(ct.locks_held <= 2);
    CHECK_FALSE(ct.primary);
    CHECK(std::string(ct.role()) == "none");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  tie.stop();
  b.stop();
}
