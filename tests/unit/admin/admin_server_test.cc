// The admin HTTP endpoint on a real App whose five servers are unreachable (127.0.0.1 ports that
// refuse connections): routing, operator actions, bad input, limits and the bearer token.
// Loopback only, ephemeral ports.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "spoa/admin/admin_server.h"
#include "spoa/app/app.h"
#include "spoa/process/admin_bridge.h"

using namespace myspoa;
using nlohmann::json;

namespace {

config::Config unreachable_config() {
  auto c = config::parse_config(config::default_config_yaml(), "unit.yaml");
  c.agent.listen.port = 0;
  c.agent.refusal_listen.port = 0;
  c.admin.listen = {"127.0.0.1", 0};
  c.mysql.interval_ms = 100;
  c.mysql.password = "never-shown-password";
  uint16_t port = 1;  // tcpmux: nothing listens there, connect() is refused at once
  for (auto& s : c.cluster.servers) s.address = {"127.0.0.1", port++};
  return c;
}

struct Agent {
  config::Config cfg = unreachable_config();
  app::App app{cfg};
  process::AppAdminView view{app};
  Agent() {
    std::string error;
    REQUIRE(app.start(error));
  }
  ~Agent() { app.stop(); }
};

// The response, or the test stops here saying why there was none: never dereference a null
// httplib::Result.
const httplib::Response& got(const httplib::Result& r) {
  INFO("no HTTP response: " << httplib::to_string(r.error()));
  REQUIRE(r);
  return *r;
}

// Waits (bounded) until every server has been probed at least once.
void wait_probed(app::App& app) {
  for (int i = 0; i < 100; ++i) {
    const auto s = app.snapshot();
    bool all = s && !s->servers.empty();
    if (s)
      for (const auto& st : s->servers) all = all && st.probes > 0;
    if (all) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL("servers never probed");
}

}  // namespace

TEST_CASE("admin endpoint: views, actions and bad input", "[admin][http]") {
  Agent agent;
  admin::AdminCallbacks cb;
  std::string reload_answer = "";
  int reloads = 0;
  cb.reload = [&] {
    ++reloads;
    return reload_answer;
  };
  admin::AdminServer server(agent.view, agent.cfg.admin, cb);
  std::string error;
  REQUIRE(server.start(error));
  REQUIRE(server.port() != 0);
  wait_probed(agent.app);

  httplib::Client c("127.0.0.1", server.port());
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(5, 0);

  SECTION("status") {
    auto r = c.Get("/status");
    got(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Content-Type") == "application/json");
    const auto j = json::parse(r->body);
    REQUIRE(j["servers"].size() == 5);
    CHECK(j["servers"][2]["state"] != "up");
    CHECK(j["writer"].is_null());
    CHECK(r->body.find("never-shown-password") == std::string::npos);
  }
  SECTION("metrics") {
    auto r = c.Get("/metrics");
    got(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0) == 0);
    CHECK(r->body.find("myspoa_server_up{server=\"db05\"} 0") != std::string::npos);
    CHECK(r->body.find("never-shown-password") == std::string::npos);
  }
  SECTION("checks") {
    auto r = c.Get("/check/db03/status");
    got(r);
    CHECK(r->status == 503);
    CHECK(r->body.rfind("db03 is down: ", 0) == 0);
    r = c.Get("/check/db03/replication");
    got(r);
    CHECK(r->status == 503);
    r = c.Get("/check/db99/status");
    got(r);
    CHECK(r->status == 404);
  }
  SECTION("unknown paths and path tricks") {
    for (const char* path :
         {"/nope", "/check/../status", "/check/%2e%2e/status", "/check/db03/../../status",
          "/check/%2e%2e%2f%2e%2e%2fetc%2fpasswd/status", "/servers/db03/drain/../undrain",
          "/check/db03/status/extra", "/check//status", "/%00"}) {
      auto r = c.Get(path);
      got(r);
      INFO(path);
      CHECK(r->status == 404);
    }
    const std::string longname(5000, 'a');
    auto r = c.Get(("/check/" + longname + "/status").c_str());
    got(r);
    CHECK((r->status == 404 || r->status == 414));
    r = c.Post(("/servers/" + longname + "/drain").c_str(), "", "text/plain");
    got(r);
    CHECK((r->status == 404 || r->status == 414));
  }
  SECTION("drain and undrain") {
    auto r = c.Post("/servers/db03/drain", "", "text/plain");
    got(r);
    CHECK(r->status == 200);
    CHECK(agent.app.overrides().drained.count("db03") == 1);
    auto s = json::parse(got(c.Get("/status")).body);
    CHECK(s["servers"][2]["drained"] == true);
    r = c.Post("/servers/db03/undrain", "", "text/plain");
    got(r);
    CHECK(r->status == 200);
    CHECK(agent.app.overrides().drained.empty());
    r = c.Post("/servers/db77/drain", "", "text/plain");
    got(r);
    CHECK(r->status == 404);
    auto ev = json::parse(got(c.Get("/events?since=0")).body);
    CHECK(ev["events"].size() >= 2);
    CHECK(got(c.Get("/events?since=abc")).status == 400);
    CHECK(got(c.Get("/events?since=-1")).status == 400);
  }
  SECTION("writer: bad JSON, refusals, force") {
    auto r = c.Post("/writer", "{not json", "application/json");
    got(r);
    CHECK(r->status == 400);
    CHECK(json::parse(r->body)["error"].get<std::string>().find("bad JSON") == 0);
    CHECK(got(c.Post("/writer", "[1,2]", "application/json")).status == 400);
    CHECK(got(c.Post("/writer", R"({"server": 3})", "application/json")).status == 400);
    CHECK(got(c.Post("/writer", R"({"server": "db02", "force": "yes"})", "application/json"))
              .status == 400);
    CHECK(got(c.Post("/writer", R"({"server": "db02", "extra": 1})", "application/json")).status ==
          400);
    CHECK(got(c.Post("/writer", R"({"server": "db42"})", "application/json")).status == 404);
    r = c.Post("/writer", R"({"server": "db03"})", "application/json");
    got(r);
    CHECK(r->status == 409);  // a replica
    r = c.Post("/writer", R"({"server": "db02", "force": false})", "application/json");
    got(r);
    CHECK(r->status == 409);  // down
    CHECK(json::parse(r->body)["error"].get<std::string>().find("not up") != std::string::npos);
    CHECK_FALSE(agent.app.overrides().writer_pin);
    r = c.Post("/writer", R"({"server": "db02", "force": true})", "application/json");
    got(r);
    CHECK(r->status == 200);
    CHECK(agent.app.overrides().writer_pin == std::optional<std::string>("db02"));
  }
  SECTION("huge bodies are rejected") {
    const std::string big(admin::kMaxBodyBytes + 1024, 'x');
    auto r = c.Post("/writer", big, "application/json");
    got(r);
    CHECK(r->status == 413);
  }
  SECTION("reload and checksum callbacks") {
    auto r = c.Post("/reload", "", "text/plain");
    got(r);
    CHECK(r->status == 200);
    reload_answer = "cluster.servers[1].address: bad port";
    r = c.Post("/reload", "", "text/plain");
    got(r);
    CHECK(r->status == 500);
    CHECK(r->body.find("bad port") != std::string::npos);
    CHECK(reloads == 2);
    for (const char* p : {"/checksum/run", "/checksum/cancel"}) {
      r = c.Post(p, "{}", "application/json");
      got(r);
      CHECK(r->status == 501);
      CHECK(r->body.find("checksum runner not configured") != std::string::npos);
    }
    CHECK(got(c.Get("/checksum")).status == 501);
  }
  server.stop();
}

TEST_CASE("admin endpoint: bearer token guards actions, not views", "[admin][http]") {
  Agent agent;
  auto acfg = agent.cfg.admin;
  acfg.token = "sesame-123";
  admin::AdminCallbacks cb;
  cb.checksum_status = [] {
    return admin::ActionReply{admin::ActionOutcome::Ok, R"({"state":"idle"})"};
  };
  admin::AdminServer server(agent.view, acfg, cb);
  std::string error;
  REQUIRE(server.start(error));
  httplib::Client c("127.0.0.1", server.port());
  c.set_read_timeout(5, 0);

  CHECK(got(c.Get("/status")).status == 200);
  CHECK(got(c.Get("/metrics")).status == 200);
  CHECK(got(c.Get("/checksum")).body == R"({"state":"idle"})");
  auto r = c.Post("/servers/db04/drain", "", "text/plain");
  got(r);
  CHECK(r->status == 401);
  CHECK(agent.app.overrides().drained.empty());
  httplib::Headers wrong = {{"Authorization", "Bearer sesame-124"}};
  CHECK(got(c.Post("/servers/db04/drain", wrong, "", "text/plain")).status == 401);
  httplib::Headers basic = {{"Authorization", "Basic sesame-123"}};
  CHECK(got(c.Post("/servers/db04/drain", basic, "", "text/plain")).status == 401);
  httplib::Headers good = {{"Authorization", "Bearer sesame-123"}};
  CHECK(got(c.Post("/servers/db04/drain", good, "", "text/plain")).status == 200);
  CHECK(agent.app.overrides().drained.count("db04") == 1);
  // The token never shows up in the views.
  CHECK(got(c.Get("/status")).body.find("sesame") == std::string::npos);
  CHECK(got(c.Get("/metrics")).body.find("sesame") == std::string::npos);
}

TEST_CASE("admin endpoint refuses a non-loopback listen without a token", "[admin][http]") {
  Agent agent;
  auto acfg = agent.cfg.admin;
  acfg.listen = {"0.0.0.0", 0};  // never contacted: start() must refuse before binding
  admin::AdminServer server(agent.view, acfg);
  std::string error;
  CHECK_FALSE(server.start(error));
  CHECK(error.find("admin.token") != std::string::npos);
  CHECK(server.port() == 0);
}

// An idle client holds an HTTP thread until the server's 5 s read timeout. A handful of them
// (a stuck scraper, half-open health checks) must not hold up the next request.
TEST_CASE("admin endpoint: idle connections do not starve requests", "[admin][http]") {
  Agent agent;
  admin::AdminServer server(agent.view, agent.cfg.admin, {});
  std::string error;
  REQUIRE(server.start(error));
  std::vector<int> idle;
  for (int i = 0; i < admin::kHttpThreads - 2; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    idle.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // accepted and dispatched
  httplib::Client c("127.0.0.1", server.port());
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(3, 0);  // below the 5 s the idle clients would hold a too-small pool
  CHECK(got(c.Get("/status")).status == 200);
  CHECK(got(c.Get("/check/db01/status")).status == 503);
  for (int fd : idle) ::close(fd);
  server.stop();
}
