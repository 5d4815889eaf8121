// Configuration reload (SIGHUP) on the real agent binary.
// [reload] (no MySQL: the servers point at closed loopback ports): a sixth server keeps an open
//   SPOP connection serving; a broken file is refused and the running configuration keeps serving.
// [lab] (the real lab, MYSPOA_LAB_PORT_BASE; ctest runs it through with_lab.sh): the reload
//   changes where reads go -- db04 joins the configuration and the masters leave the read pool --
//   and the same SPOP connection sees the new pool, while writes stay on db01.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/agent_process.h"
#include "tests/unit/server/haproxy_peer.h"

using myspoa::testing::AgentProcess;
using myspoa::testing::Client;
using myspoa::testing::decode_ack;
using myspoa::testing::free_port;

namespace {

struct Ports {
  uint16_t spop = free_port(), refusal = free_port(), admin = free_port();
};

std::string agent_section(const Ports& p) {
  std::ostringstream y;
  y << "agent: { listen: \"127.0.0.1:" << p.spop << "\", refusal_listen: \"127.0.0.1:" << p.refusal
    << "\", threads: 2 }\n"
    << "admin: { listen: \"127.0.0.1:" << p.admin << "\" }\n";
  return y.str();
}

std::string config_text(const Ports& p, bool sixth) {
  std::ostringstream y;
  y << agent_section(p)
    << "mysql: { user: myspoa, password: reload-test-secret, interval_ms: 100 }\n"
    << "cluster:\n  masters: [db01, db02]\n  servers:\n"
    << "    - { name: db01, address: \"127.0.0.1:1\" }\n"
    << "    - { name: db02, address: \"127.0.0.1:2\" }\n"
    << "    - { name: db03, address: \"127.0.0.1:3\", replica_of: db01 }\n"
    << "    - { name: db04, address: \"127.0.0.1:4\", replica_of: db01 }\n"
    << "    - { name: db05, address: \"127.0.0.1:5\", replica_of: db02 }\n";
  if (sixth) y << "    - { name: db06, address: \"127.0.0.1:6\", replica_of: db02 }\n";
  return y.str();
}

// One NOTIFY on an open connection; returns the backend the agent chose ("" on failure).
std::string route(Client& c, uint64_t stream, std::string_view intent = "write") {
  if (!c.send(myspoa::testing::notify_frame(stream, 1, intent))) return "";
  const auto f = c.read_frame();
  if (!f || f->header.type != myspoa::spop::FrameType::Ack || f->header.stream_id != stream)
    return "";
  const auto actions = decode_ack(f->payload);
  if (!actions) return "";
  for (const auto& a : *actions)
    if (a.name == "backend") return a.value.str;
  return "";
}

bool hello(Client& c) {
  if (!c.connected() || !c.send(myspoa::testing::haproxy_hello())) return false;
  const auto f = c.read_frame();
  return f && f->header.type == myspoa::spop::FrameType::AgentHello;
}

}  // namespace

TEST_CASE("SIGHUP reload keeps SPOP connections; a broken file is refused", "[reload]") {
  const Ports ports;
  AgentProcess agent(MYSPOA_BIN, "reload-test", config_text(ports, false));
  REQUIRE(agent.started());
  const auto& cfg = agent.config_path();

  REQUIRE(agent.wait_for_log("serving SPOP", 10000));
  Client c(ports.spop);
  REQUIRE(hello(c));
  // Every server is down, so writes are refused (after the first probe rounds).
  REQUIRE(agent.wait_for_log("all-masters-down", 5000));
  CHECK(route(c, 1) == "be_myspoa_refuse");

  agent.rewrite_config(config_text(ports, true));
  REQUIRE(agent.signal(SIGHUP));
  REQUIRE(agent.wait_for_log("configuration reloaded from " + cfg + " (6 servers)", 5000));
  CHECK(route(c, 3) == "be_myspoa_refuse");        // the same connection still answers
  REQUIRE(agent.wait_for_log("db06 DOWN", 5000));  // the added server is probed

  agent.rewrite_config(config_text(ports, true) + "bogus_key: 1\n");
  REQUIRE(agent.signal(SIGHUP));
  REQUIRE(agent.wait_for_log("reload refused, keeping the running configuration: bogus_key", 5000));
  CHECK(route(c, 5) == "be_myspoa_refuse");
  Client fresh(ports.spop);
  REQUIRE(hello(fresh));
  CHECK(route(fresh, 7) == "be_myspoa_refuse");

  CHECK(agent.log().find("reload-test-secret") == std::string::npos);  // never logged
  CHECK(agent.stop() == 0);
}

namespace {

int lab_port(int n) {
  const char* e = std::getenv("MYSPOA_LAB_PORT_BASE");
  return (e && *e ? std::atoi(e) : 33060) + n;
}

// The lab's servers; `before`: without db04, masters in the read pool; after: db04 added and the
// masters out of the read pool (cluster.masters_in_read_pool: false).
std::string lab_config_text(const Ports& p, bool after) {
  std::ostringstream y;
  y << agent_section(p)
    << "mysql: { user: myspoa, password: myspoa, interval_ms: 100, rise: 2, fall: 2 }\n"
    << "cluster:\n  masters: [db01, db02]\n"
    << "  masters_in_read_pool: " << (after ? "false" : "true") << "\n  servers:\n";
  const char* replica_of[] = {"", "", "db01", "db01", "db02"};
  for (int n = 1; n <= 5; ++n) {
    if (n == 4 && !after) continue;
    y << "    - { name: db0" << n << ", address: \"127.0.0.1:" << lab_port(n) << "\"";
    if (*replica_of[n - 1]) y << ", replica_of: " << replica_of[n - 1];
    y << " }\n";
  }
  return y.str();
}

// The set of backends `count` read NOTIFYs on `c` were sent to.
std::set<std::string> read_backends(Client& c, uint64_t& stream, int count = 40) {
  std::set<std::string> out;
  for (int i = 0; i < count; ++i) out.insert(route(c, stream += 2, "read"));
  return out;
}

// Polls read_backends until it equals `want` (at most timeout_ms); returns the last set seen.
std::set<std::string> wait_read_pool(Client& c, uint64_t& stream, const std::set<std::string>& want,
                                     int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::set<std::string> seen;
  while (std::chrono::steady_clock::now() < deadline) {
    seen = read_backends(c, stream);
    if (seen == want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return seen;
}

std::string show(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ",") + x;
  return "{" + out + "}";
}

}  // namespace

TEST_CASE("SIGHUP reload on the lab changes the read pool", "[lab]") {
  const Ports ports;
  AgentProcess agent(MYSPOA_BIN, "reload-lab-test", lab_config_text(ports, false));
  REQUIRE(agent.started());
  REQUIRE(agent.wait_for_log("serving SPOP", 10000));
  Client c(ports.spop);
  REQUIRE(hello(c));
  uint64_t stream = 1;

  const std::set<std::string> before{"be_db01", "be_db02", "be_db03", "be_db05"};
  auto seen = wait_read_pool(c, stream, before, 20000);
  INFO(agent.log());
  REQUIRE(show(seen) == show(before));
  CHECK(route(c, stream += 2) == "be_db01");

  const auto offset = agent.log().size();
  agent.rewrite_config(lab_config_text(ports, true));
  REQUIRE(agent.signal(SIGHUP));
  REQUIRE(agent.wait_for_log("configuration reloaded from " + agent.config_path() + " (5 servers)",
                             5000, offset));
  // db04 needs `rise` good probes (2 x 100 ms) before it serves; give it 10 s on a busy machine.
  const std::set<std::string> after{"be_db03", "be_db04", "be_db05"};
  seen = wait_read_pool(c, stream, after, 10000);
  CHECK(show(seen) == show(after));
  CHECK(route(c, stream += 2) == "be_db01");  // writes did not move
  // A connection opened after the reload sees the same pool.
  Client fresh(ports.spop);
  REQUIRE(hello(fresh));
  uint64_t fresh_stream = 1;
  CHECK(show(read_backends(fresh, fresh_stream)) == show(after));
  CHECK(agent.stop() == 0);
}
