// probe_bench: one ProbeEngine monitoring N servers (default 500, srv000.. spread round-robin over
// the lab's db01..db05 ports) every 250 ms for a bounded time; prints CPU share of one core
// (getrusage user+sys over wall time), max RSS and probe counters. Needs the lab up
// (tests/lab/labctl up --mysql-only; brought up here when it isn't) and max_connections >= N/5 +
// slack on each server (raised here with SET GLOBAL max_connections).
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "probes/probe_engine.h"

using namespace myspoa;
using Clock = std::chrono::steady_clock;

namespace {

int labctl(const std::string& args) {
  std::string cmd = std::string(MYSPOA_LABCTL) + " " + args + " >/dev/null 2>&1";
  return std::system(cmd.c_str());
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

long max_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 20, servers = 500, interval_ms = 250;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--servers")) servers = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--interval-ms")) interval_ms = std::atoi(argv[i + 1]);
  }
  seconds = std::clamp(seconds, 1, 120);
  servers = std::clamp(servers, 1, 1000);
  spdlog::set_level(std::getenv("PROBE_BENCH_DEBUG") ? spdlog::level::debug : spdlog::level::warn);

  if (labctl("up --mysql-only") != 0) {
    std::fprintf(stderr, "probe_bench: labctl up --mysql-only failed\n");
    return 1;
  }
  for (int n = 1; n <= 5; ++n)
    labctl("sql db0" + std::to_string(n) +
           " 'SET GLOBAL max_connections=GREATEST(@@max_connections, " +
           std::to_string(servers / 5 + 100) + ")'");

  const char* pb = std::getenv("MYSPOA_LAB_PORT_BASE");
  int port_base = pb ? std::atoi(pb) : 33060;
  config::Config cfg;
  cfg.mysql.user = "myspoa";
  cfg.mysql.password = "myspoa";
  cfg.mysql.interval_ms = interval_ms;
  for (int i = 0; i < servers; ++i) {
    config::ServerConfig s;
    char name[16];
    std::snprintf(name, sizeof name, "srv%03d", i);
    s.name = name;
    s.address = {"127.0.0.1", static_cast<uint16_t>(port_base + 1 + i % 5)};
    cfg.cluster.servers.push_back(s);
  }

  probes::ProbeEngine engine(cfg);
  double cpu0 = cpu_seconds();
  auto t0 = Clock::now();
  engine.start();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  auto snap = engine.snapshot();
  engine.stop();
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu = cpu_seconds() - cpu0;

  int up = 0;
  for (const auto& s : snap->servers) up += s.up();
  auto c = engine.counters();
  std::printf("probe_bench: %d servers, interval %d ms, %.1f s\n", servers, interval_ms, wall);
  std::printf("  rounds %llu, probes ok %llu, failed %llu, skipped (busy) %llu, up at end %d/%d\n",
              (unsigned long long)c.rounds, (unsigned long long)c.probes_ok,
              (unsigned long long)c.probes_failed, (unsigned long long)c.skipped_busy, up, servers);
  std::printf("  cpu %.1f %% of one core (%.2f s user+sys), max RSS %.1f MB\n", 100.0 * cpu / wall,
              cpu, max_rss_kb() / 1024.0);
  std::printf("  goal: < 20 %% and < 64 MB -> %s\n",
              (100.0 * cpu / wall < 20.0 && max_rss_kb() < 64 * 1024) ? "met" : "NOT met");
  return 0;  // figures, not pass/fail (a loaded shared machine makes probes time out)
}
