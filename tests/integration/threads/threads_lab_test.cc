// Every thread of the real agent at work at once, on the real lab (MYSPOA_LAB_PORT_BASE; ctest
// runs it through tests/integration/lab/with_lab.sh): the SPOP workers under two clients, the
// probe engine, the admin endpoint under a polling client and operator actions, the consistency
// scheduler (scheduled and on-demand runs), the writer actions and the alert runner (db01
// crashed and restarted: the writer moves to db02 and back), a SIGHUP reload in the middle.
// Built with -DMYSPOA_TSAN=ON (scripts/test.sh, no suppressions) it is the data-race test; the
// agent must exit 0 on SIGTERM and its log must hold no sanitizer report.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/support/agent_process.h"
#include "tests/unit/server/haproxy_peer.h"

using myspoa::testing::AgentProcess;
using myspoa::testing::Client;
using myspoa::testing::free_port;
using Clock = std::chrono::steady_clock;

namespace {

int lab_port(int n) {
  const char* e = std::getenv("MYSPOA_LAB_PORT_BASE");
  return (e && *e ? std::atoi(e) : 33060) + n;
}

int labctl(const std::string& args) {
  return std::system((std::string(MYSPOA_LABCTL) + " " + args + " >/dev/null 2>&1").c_str());
}

struct Ports {
  uint16_t spop = free_port(), refusal = free_port(), admin = free_port();
};

std::string config_text(const Ports& p, const std::string& alerts_file, int interval_ms) {
  std::ostringstream y;
  y << "agent: { listen: \"127.0.0.1:" << p.spop << "\", refusal_listen: \"127.0.0.1:" << p.refusal
    << "\", threads: 2 }\n"
    << "admin: { listen: \"127.0.0.1:" << p.admin << "\" }\n"
    << "mysql: { user: myspoa, password: myspoa, interval_ms: " << interval_ms
    << ", rise: 2, fall: 2, connect_timeout_ms: 500, query_timeout_ms: 500 }\n"
    << "cluster:\n  masters: [db01, db02]\n  rejoin_grace_ms: 1000\n  servers:\n";
  const char* replica_of[] = {"", "", "db01", "db01", "db02"};
  for (int n = 1; n <= 5; ++n) {
    y << "    - { name: db0" << n << ", address: \"127.0.0.1:" << lab_port(n) << "\"";
    if (*replica_of[n - 1]) y << ", replica_of: " << replica_of[n - 1];
    y << " }\n";
  }
  // No HAProxy listens on this socket: cutting the old writer's sessions fails (and alerts).
  y << "haproxy: { runtime_api: [\"/tmp/myspoa-threads-no-haproxy.sock\"], timeout_ms: 200 }\n"
    << "consistency: { enabled: true, interval_s: 5, databases: { include: [app] } }\n"
    << "alerts: { command: \"echo $MYSPOA_EVENT_KIND >> " << alerts_file << "\" }\n";
  return y.str();
}

nlohmann::json get_json(const Ports& p, const std::string& path) {
  httplib::Client c("127.0.0.1", p.admin);
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(5, 0);
  auto r = c.Get(path.c_str());
  if (!r || r->status != 200) return nullptr;
  return nlohmann::json::parse(r->body, nullptr, false);
}

std::string writer(const Ports& p) {
  const auto j = get_json(p, "/status");
  return j.is_object() && j["writer"].is_string() ? j["writer"].get<std::string>() : "";
}

template <typename Pred>
bool wait_until(int timeout_ms, Pred pred) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// A SPOP client sending NOTIFYs (alternately write and read) until `stop`; counts valid ACKs and
// anything else.
void spop_load(uint16_t port, const std::atomic<bool>& stop, std::atomic<int>& acks,
               std::atomic<int>& bad) {
  Client c(port);
  if (!c.connected() || !c.send(myspoa::testing::haproxy_hello()) || !c.read_frame()) {
    ++bad;
    return;
  }
  for (uint64_t stream = 1; !stop; stream += 2) {
    const auto intent = stream % 4 == 1 ? "write" : "read";
    const auto f =
        c.send(myspoa::testing::notify_frame(stream, 1, intent)) ? c.read_frame() : std::nullopt;
    if (f && f->header.type == myspoa::spop::FrameType::Ack && f->header.stream_id == stream)
      ++acks;
    else
      ++bad;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// The admin's read-only views, polled until `stop` (what Prometheus and HAProxy's checks do).
void admin_load(uint16_t port, const std::atomic<bool>& stop, std::atomic<int>& ok,
                std::atomic<int>& bad) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(5, 0);
  const char* paths[] = {
      "/status",  "/metrics", "/events", "/check/db03/status", "/check/db04/replication",
      "/checksum"};
  for (size_t i = 0; !stop; ++i) {
    auto r = c.Get(paths[i % std::size(paths)]);
    if (r && (r->status == 200 || r->status == 503))
      ++ok;
    else
      ++bad;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

TEST_CASE("every agent thread at work at once on the lab", "[lab][threads]") {
  const Ports ports;
  const std::string alerts_file = "/tmp/myspoa-threads-alerts-" + std::to_string(::getpid());
  ::unlink(alerts_file.c_str());
  AgentProcess agent(MYSPOA_BIN, "threads-test", config_text(ports, alerts_file, 100));
  REQUIRE(agent.started());
  REQUIRE(agent.wait_for_log("serving SPOP", 20000));
  INFO(agent.log());
  REQUIRE(wait_until(30000, [&] { return writer(ports) == "db01"; }));

  std::atomic<bool> stop{false};
  std::atomic<int> acks{0}, spop_bad{0}, admin_ok{0}, admin_bad{0};
  std::thread spop1(spop_load, ports.spop, std::cref(stop), std::ref(acks), std::ref(spop_bad));
  std::thread spop2(spop_load, ports.spop, std::cref(stop), std::ref(acks), std::ref(spop_bad));
  std::thread admin(admin_load, ports.admin, std::cref(stop), std::ref(admin_ok),
                    std::ref(admin_bad));
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread &a, &b, &c;
    ~Joiner() {
      stop = true;
      for (auto* t : {&a, &b, &c})
        if (t->joinable()) t->join();
    }
  } joiner{stop, spop1, spop2, admin};

  httplib::Client ctl("127.0.0.1", ports.admin);
  ctl.set_read_timeout(10, 0);
  // Operator actions on the admin threads while the probe rounds publish.
  auto run = ctl.Post("/checksum/run", "{}", "application/json");
  REQUIRE(run);
  CHECK((run->status == 202 || run->status == 409));  // 409: the scheduled run came first
  auto drain = ctl.Post("/servers/db04/drain", "", "text/plain");
  REQUIRE(drain);
  CHECK(drain->status == 200);
  auto undrain = ctl.Post("/servers/db04/undrain", "", "text/plain");
  REQUIRE(undrain);
  CHECK(undrain->status == 200);

  // A reload in the middle: a new probe engine, the same SPOP connections.
  const auto offset = agent.log().size();
  agent.rewrite_config(config_text(ports, alerts_file, 150));
  REQUIRE(agent.signal(SIGHUP));
  CHECK(agent.wait_for_log("configuration reloaded from ", 10000, offset));

  // The writer moves (writer actions, alerts) and comes back (failback: auto).
  REQUIRE(labctl("crash db01") == 0);
  CHECK(wait_until(20000, [&] { return writer(ports) == "db02"; }));
  CHECK(wait_until(20000, [&] {
    return myspoa::testing::read_text(alerts_file).find("writer-change") != std::string::npos;
  }));
  REQUIRE(labctl("start db01") == 0);
  CHECK(wait_until(60000, [&] { return writer(ports) == "db01"; }));

  // At least one consistency run finished meanwhile (on demand or scheduled).
  CHECK(wait_until(120000, [&] {
    const auto j = get_json(ports, "/checksum");
    return j.is_object() && j["runs_finished"].is_number() && j["runs_finished"].get<int>() >= 1;
  }));

  stop = true;
  spop1.join();
  spop2.join();
  admin.join();
  CHECK(acks > 100);
  CHECK(spop_bad == 0);
  CHECK(admin_ok > 50);
  CHECK(admin_bad == 0);

  CHECK(agent.stop() == 0);
  const auto log = agent.log();
  CHECK(log.find("ThreadSanitizer") == std::string::npos);
  CHECK(log.find("AddressSanitizer") == std::string::npos);
  CHECK(log.find("runtime error:") == std::string::npos);
  ::unlink(alerts_file.c_str());
  labctl("start db01");
}
