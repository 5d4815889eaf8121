// Interop with a real HAProxy: the system's 2.6 (/usr/sbin/haproxy), or the one $MYSPOA_HAPROXY
// names (tests/interop/with-haproxy.sh sets it to Debian's 3.0 or 3.2). A SpopServer with a
// routing handler, two banner servers ("A", "B") and HAProxy with the SPOE filter, all on free
// loopback ports. Proves routing by the agent's answer, the spop-check health check, the value of
// txn.myspoa.error when the agent is slow or stopped, the fallback to the default backend once the
// agent stops, and frames split across TCP segments in both directions (SplitRelay). Every wait
// is bounded; the two cases take ~15 s.
#include <catch2/catch.hpp>
#include <mutex>
#include <regex>

#include "interop_util.h"
#include "split_relay.h"
#include "spoa/server/spop_server.h"

using namespace interop;

namespace {

// Answers every NOTIFY with sess.myspoa.backend = the backend currently chosen by the test,
// after `delay` (a slow agent; the handler runs on a worker thread of the test's agent only).
class RoutingHandler : public myspoa::server::NotifyHandler {
 public:
  void on_notify(const myspoa::spop::Notify& notify, myspoa::spop::AckWriter& ack, int) override {
    std::string backend;
    std::chrono::milliseconds delay{};
    {
      std::lock_guard lock(mu_);
      backend = backend_;
      delay = delay_;
    }
    for (const auto& m : notify.messages) {
      const auto* intent = notify.arg(m, "intent");
      if (m.name == "myspoa-route" && intent && intent->str == "write") seen_write_.store(true);
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    ack.set_var(myspoa::spop::Scope::Sess, "backend", myspoa::spop::TypedValue::string(backend));
  }
  void route_to(std::string backend) {
    std::lock_guard lock(mu_);
    backend_ = std::move(backend);
  }
  void delay(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    delay_ = d;
  }
  bool seen_write() const { return seen_write_.load(); }

 private:
  std::mutex mu_;
  std::string backend_ = "be_a";
  std::chrono::milliseconds delay_{0};
  std::atomic<bool> seen_write_{false};
};

// What differs between the test cases' HAProxy setups.
struct RigOptions {
  int processing_ms = 200;        // SPOE timeout processing
  size_t relay_piece = 0;         // > 0: the agent is reached through a SplitRelay
  std::string idle = "10s";       // SPOE timeout idle
  std::string agent_srv = "30s";  // be_myspoa_agent's timeout server
  bool health_check = true;       // spop-check every 500 ms
  std::string pool_purge_delay;   // be_myspoa_agent's default-server pool-purge-delay, if set
};

// One test's world: the agent, A and B, HAProxy with haproxy.cfg.in filled in.
struct Rig {
  explicit Rig(const RigOptions& opt) {
    char tmpl[] = "/tmp/myspoa-spop-haproxy-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    myspoa::server::SpopServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.threads = 2;
    agent = std::make_unique<myspoa::server::SpopServer>(o, handler);
    std::string error;
    REQUIRE(agent->start(error));
    uint16_t agent_port = agent->port();
    if (opt.relay_piece > 0) {
      relay = std::make_unique<SplitRelay>(agent_port, opt.relay_piece, 500us);
      agent_port = relay->port();
    }
    fe_port = free_port();
    std::string cfg = read_file(fs::path(MYSPOA_INTEROP_DIR) / "haproxy.cfg.in");
    cfg = replace_all(cfg, "@DIR@", dir.string());
    cfg = replace_all(cfg, "@FE_PORT@", std::to_string(fe_port));
    cfg = replace_all(cfg, "@A_PORT@", std::to_string(a.port()));
    cfg = replace_all(cfg, "@B_PORT@", std::to_string(b.port()));
    cfg = replace_all(cfg, "@AGENT_PORT@", std::to_string(agent_port));
    cfg = replace_all(cfg, "@AGENT_TIMEOUT_SERVER@", opt.agent_srv);
    if (!opt.health_check) cfg = replace_all(cfg, " check inter 500ms rise 2 fall 2", "");
    if (!opt.pool_purge_delay.empty()) {
      cfg = replace_all(cfg, "backend be_myspoa_agent\n",
                        "backend be_myspoa_agent\n    default-server pool-purge-delay " +
                            opt.pool_purge_delay + "\n");
    }
    // MYSPOA_INTEROP_AGENT_MODE=spop: the agent backend says `mode spop` (HAProxy 3.1+) instead
    // of inheriting mode tcp from the defaults.
    if (const char* mode = std::getenv("MYSPOA_INTEROP_AGENT_MODE"); mode != nullptr && *mode) {
      cfg = replace_all(cfg, "backend be_myspoa_agent\n",
                        "backend be_myspoa_agent\n    mode " + std::string(mode) + "\n");
    }
    std::ofstream(dir / "haproxy.cfg") << cfg;
    std::string spoe = read_file(fs::path(MYSPOA_INTEROP_DIR) / "myspoa.spoe.conf");
    spoe = replace_all(spoe, "@PROCESSING_MS@", std::to_string(opt.processing_ms));
    spoe = replace_all(spoe, "@IDLE@", opt.idle);
    std::ofstream(dir / "myspoa.spoe.conf") << spoe;
    haproxy = std::make_unique<HaproxyProcess>(binary, dir / "haproxy.cfg", log());
  }
  ~Rig() {
    haproxy.reset();
    relay.reset();
    agent.reset();
    if (std::getenv("MYSPOA_KEEP_TMP") == nullptr) fs::remove_all(dir);
  }
  fs::path sock() const { return dir / "haproxy.sock"; }
  fs::path log() const { return dir / "haproxy.log"; }

  // The `spoe_err=` value of every connection HAProxy logged (haproxy.cfg.in's log-format
  // "conn be=<backend> spoe_err=<txn.myspoa.error>"), in log order; "-" when unset.
  std::vector<std::pair<std::string, std::string>> logged() const {
    std::vector<std::pair<std::string, std::string>> out;
    std::istringstream in(read_file(log()));
    static const std::regex re(R"(conn be=(\S*) spoe_err=(\S*))");
    std::string line;
    std::smatch m;
    while (std::getline(in, line))
      if (std::regex_search(line, m, re))
        out.emplace_back(m[1].str(), m[2].length() ? m[2].str() : std::string("-"));
    return out;
  }
  // Waits (bounded) for the log line of connection number `n` (0-based) and returns it.
  std::pair<std::string, std::string> logged_at(size_t n) const {
    std::vector<std::pair<std::string, std::string>> l;
    eventually(
        [&] {
          l = logged();
          return l.size() > n;
        },
        2s);
    return l.size() > n ? l[n] : std::pair<std::string, std::string>{"?", "?"};
  }

  const std::string binary = haproxy_binary();
  fs::path dir;
  RoutingHandler handler;
  std::unique_ptr<myspoa::server::SpopServer> agent;
  std::unique_ptr<SplitRelay> relay;
  BannerServer a{"A"}, b{"B"};
  uint16_t fe_port = 0;
  std::unique_ptr<HaproxyProcess> haproxy;
};

}  // namespace

TEST_CASE("HAProxy routes by the agent's answer, health-checks it, falls back when it stops",
          "[haproxy]") {
  const std::string version = haproxy_version(haproxy_binary());
  INFO("HAProxy binary " << haproxy_binary());
  REQUIRE(!version.empty());
  std::printf("HAProxy %s (%s)\n", version.c_str(), haproxy_binary().c_str());
  Rig rig(RigOptions{});
  auto& agent = *rig.agent;
  auto& handler = rig.handler;
  const auto fe_port = rig.fe_port;
  const fs::path sock = rig.sock();
  const bool up = eventually([&] { return !agent_status(sock).empty(); }, 5s);
  INFO("haproxy output:\n" << read_file(rig.log()));
  REQUIRE(up);

  // 1. The spop-check health check reaches the agent and HAProxy marks it UP.
  CHECK(eventually([&] { return agent.counters().healthchecks >= 2; }, 3s));
  CHECK(eventually([&] { return agent_status(sock).rfind("UP", 0) == 0; }, 3s));

  // 2. Routing follows the agent's answer; no SPOE error is logged.
  size_t conns = 0;
  handler.route_to("be_a");
  CHECK(fetch_banner(fe_port) == "A");
  CHECK(fetch_banner(fe_port) == "A");
  handler.route_to("be_b");
  CHECK(fetch_banner(fe_port) == "B");
  handler.route_to("be_a");
  CHECK(fetch_banner(fe_port) == "A");
  handler.route_to("be_does_not_exist");  // an unknown backend name falls to the default
  CHECK(fetch_banner(fe_port) == "B");
  handler.route_to("be_a");
  conns += 5;
  CHECK(rig.logged_at(conns - 1).first == "be_b");
  for (const auto& [be, err] : rig.logged()) CHECK(err == "-");
  CHECK(handler.seen_write());
  CHECK(agent.counters().acks >= 5);
  CHECK(agent.counters().protocol_errors == 0);
  CHECK(rig.a.served() == 3);

  // 3. A slow agent (answer after 600 ms, timeout processing 200 ms): the connection falls back
  // at the timeout and HAProxy sets txn.myspoa.error; routing resumes once the agent is fast.
  handler.delay(600ms);
  std::chrono::milliseconds took{};
  CHECK(fetch_banner(fe_port, took) == "B");
  CHECK(took < 500ms);
  ++conns;
  const std::string err_timeout = rig.logged_at(conns - 1).second;
  CHECK(err_timeout != "-");
  handler.delay(0ms);
  std::this_thread::sleep_for(700ms);  // the late answer is dropped by HAProxy
  CHECK(eventually(
      [&] {
        ++conns;
        return fetch_banner(fe_port) == "A";
      },
      3s));

  // 4. Agent stopped: the default backend answers within a couple of seconds, nobody hangs.
  agent.stop();
  const auto t_stop = Clock::now();
  const size_t first_after_stop = conns;
  int fallbacks = 0;
  std::chrono::milliseconds worst{0};
  for (int i = 0; i < 10; ++i) {
    const std::string got = fetch_banner(fe_port, took, 3000);
    worst = std::max(worst, took);
    if (got == "B") ++fallbacks;
    INFO("connection " << i << " got '" << got << "' in " << took.count() << " ms");
    CHECK(!got.empty());  // no hang, no dropped client
    std::this_thread::sleep_for(100ms);
  }
  conns += 10;
  std::printf("after agent stop: %d/10 connections fell back to B, slowest %lld ms\n", fallbacks,
              static_cast<long long>(worst.count()));
  CHECK(fallbacks == 10);
  CHECK(worst < 1500ms);
  const std::string err_stopped = rig.logged_at(first_after_stop).second;
  CHECK(err_stopped != "-");
  // The health check notices within fall (2) x inter (500 ms) plus slack.
  CHECK(eventually([&] { return agent_status(sock).rfind("DOWN", 0) == 0; }, 3s));
  std::printf(
      "agent marked %s after %lld ms\n", agent_status(sock).c_str(),
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t_stop).count()));
  CHECK(Clock::now() - t_stop < 5s);
  CHECK(fetch_banner(fe_port, took) == "B");
  CHECK(took < 200ms);  // agent known DOWN: the SPOE is skipped at once
  ++conns;
  const std::string err_down = rig.logged_at(conns - 1).second;
  CHECK(rig.haproxy->alive());

  // What HAProxy put in txn.myspoa.error ("-": unset), for haproxy/README.md's table.
  std::string stopped_all;
  const auto all = rig.logged();
  for (size_t i = first_after_stop; i < all.size() && i < first_after_stop + 10; ++i)
    stopped_all += (stopped_all.empty() ? "" : ",") + all[i].second;
  std::printf(
      "txn.myspoa.error on HAProxy %s: agent slow (processing timeout)=%s, agent just stopped=%s "
      "(10 connections: %s), agent marked DOWN=%s\n",
      version.c_str(), err_timeout.c_str(), err_stopped.c_str(), stopped_all.c_str(),
      err_down.c_str());
}

TEST_CASE("HAProxy and the agent handle SPOP frames split across TCP segments", "[haproxy]") {
  REQUIRE(!haproxy_version(haproxy_binary()).empty());
  // 3-byte pieces 0.5 ms apart: every frame arrives in many segments, each way. The processing
  // timeout leaves room for the slow relay on a loaded machine.
  RigOptions opt;
  opt.processing_ms = 2000;
  opt.relay_piece = 3;
  Rig rig(opt);
  auto& agent = *rig.agent;
  // HAProxy starts with the server UP: only answered health checks prove the HELLOs (spop-check's
  // and the agent's) crossed the relay.
  const bool checked = eventually([&] { return agent.counters().healthchecks >= 2; }, 8s);
  INFO("haproxy output:\n" << read_file(rig.log()));
  REQUIRE(checked);
  CHECK(agent_status(rig.sock()).rfind("UP", 0) == 0);

  int right = 0;
  for (int i = 0; i < 8; ++i) {
    const std::string want = i % 2 ? "be_b" : "be_a";
    rig.handler.route_to(want);
    if (fetch_banner(rig.fe_port) == (i % 2 ? "B" : "A")) ++right;
  }
  CHECK(right == 8);
  CHECK(rig.logged_at(7).first == "be_b");
  for (const auto& [be, err] : rig.logged()) CHECK(err == "-");
  const auto c = agent.counters();
  CHECK(c.notifies >= 8);
  CHECK(c.acks >= 8);
  CHECK(c.protocol_errors == 0);
  // The frames really were cut: a NOTIFY or an ACK is >= 11 bytes, so >= 4 pieces each.
  CHECK(rig.relay->sends_to_agent() >= 4 * (c.notifies + c.hellos));
  CHECK(rig.relay->sends_to_haproxy() >= 4 * (c.acks + c.hellos));
  std::printf(
      "split relay: %llu connections, to agent %llu bytes in %llu sends, to HAProxy %llu "
      "bytes in %llu sends; agent: %llu hellos, %llu notifies, %llu acks\n",
      static_cast<unsigned long long>(rig.relay->connections()),
      static_cast<unsigned long long>(rig.relay->bytes_to_agent()),
      static_cast<unsigned long long>(rig.relay->sends_to_agent()),
      static_cast<unsigned long long>(rig.relay->bytes_to_haproxy()),
      static_cast<unsigned long long>(rig.relay->sends_to_haproxy()),
      static_cast<unsigned long long>(c.hellos), static_cast<unsigned long long>(c.notifies),
      static_cast<unsigned long long>(c.acks));
  CHECK(rig.haproxy->alive());
}

// Which timeout closes an idle SPOP connection: measured from the last answer to the moment the
// agent has no connection left, with `timeout idle 1s` in the SPOE agent, `timeout server 2s` and
// `pool-purge-delay 1s` in its backend, and no health check (its short connections would blur
// the count). Up to 3.0 the SPOE applet closes it at timeout idle with a HAPROXY-DISCONNECT.
// From 3.1 the SPOP connection is an idle server connection: neither timeout idle nor timeout
// server close it, the idle-connection purge does (~3 x pool-purge-delay, default 5 s: ~15 s).
TEST_CASE("Which HAProxy timeout closes an idle agent connection", "[haproxy]") {
  const std::string version = haproxy_version(haproxy_binary());
  REQUIRE(!version.empty());
  int major = 0, minor = 0;
  REQUIRE(std::sscanf(version.c_str(), "%d.%d", &major, &minor) == 2);
  RigOptions opt;
  opt.idle = "1s";
  opt.agent_srv = "2s";
  opt.health_check = false;
  opt.pool_purge_delay = "1s";
  Rig rig(opt);
  auto& agent = *rig.agent;
  REQUIRE(eventually([&] { return fetch_banner(rig.fe_port) == "A"; }, 5s));
  const auto t0 = Clock::now();
  CHECK(agent.counters().connections_open > 0);
  const bool closed = eventually([&] { return agent.counters().connections_open == 0; }, 10s);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  const auto c = agent.counters();
  std::printf(
      "HAProxy %s: idle agent connections (%llu opened) all closed after %lld ms (timeout "
      "idle 1s, timeout server 2s, pool-purge-delay 1s): %llu HAPROXY-DISCONNECT, %llu "
      "EOF/reset\n",
      version.c_str(), static_cast<unsigned long long>(c.connections_total),
      static_cast<long long>(ms), static_cast<unsigned long long>(c.haproxy_disconnects),
      static_cast<unsigned long long>(c.peer_closes));
  REQUIRE(closed);
  if (major * 1000 + minor >= 3001) {
    CHECK(ms >= 2500);  // neither timeout idle (1 s) nor timeout server (2 s)
    CHECK(ms < 5000);   // the purge of idle server connections
  } else {
    CHECK(ms >= 800);  // timeout idle
    CHECK(ms < 1800);  // before timeout server
    CHECK(c.haproxy_disconnects >= 1);
  }
}
