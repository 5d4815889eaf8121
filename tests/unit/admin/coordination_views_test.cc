// Cooperating agents (issue 12) in the admin views: the /status "coordination" block, the
// coordination metrics and myspoactl's role on the first line of `status`.
#include <catch2/catch.hpp>

#include "spoa/admin/status_view.h"
#include "spoa/ctl/status_table.h"

using namespace myspoa;
using nlohmann::json;

namespace {

struct Fixture {
  config::Config cfg = config::parse_config(config::default_config_yaml(), "test.yaml");
  probes::Snapshot snap;
  policy::Decision dec;

  Fixture() {
    snap.complete = true;
    dec.known = true;
    dec.writer = "db01";
    dec.scenario = "healthy";
    dec.writable_masters = {"db01"};
  }
  void majority(const std::string& role, int locks, const std::string& primary_name) {
    cfg.cluster.cooperation = config::ClusterConfig::Cooperation::Majority;
    cfg.agent.name = "lb2";
    snap.coordination.enabled = true;
    snap.coordination.servers = 5;
    snap.coordination.locks_held = locks;
    snap.coordination.primary = role == "primary";
    snap.coordination.primary_since_ms = role == "primary" ? 123456 : 0;
    snap.coordination.primary_name = primary_name;
    dec.role = role;
    dec.target_writer = role == "primary" ? std::optional<std::string>("db01") : std::nullopt;
  }
  admin::StatusInputs inputs() const {
    admin::StatusInputs in;
    in.config = &cfg;
    in.snapshot = std::make_shared<probes::Snapshot>(snap);
    in.decision = std::make_shared<policy::Decision>(dec);
    return in;
  }
};

double metric(const std::string& text, const std::string& name) {
  const auto at = text.find("\n" + name + " ");
  REQUIRE(at != std::string::npos);
  return std::stod(text.substr(at + name.size() + 2));
}

}  // namespace

TEST_CASE("coordination block and metrics: standalone", "[admin][coordination]") {
  Fixture f;
  f.cfg.agent.name = "lb1";
  const auto j = admin::render_status_json(f.inputs());
  REQUIRE(j.contains("coordination"));
  const auto& c = j["coordination"];
  CHECK(c["mode"] == "standalone");
  CHECK(c["role"] == "standalone");
  CHECK(c["locks_held"] == 0);
  CHECK(c["servers"] == 5);
  CHECK(c["primary_since_ms"] == 0);
  const auto m = admin::render_metrics(f.inputs());
  CHECK(metric(m, "myspoa_coordination_primary") == 0);
  CHECK(metric(m, "myspoa_coordination_locks_held") == 0);
  CHECK(m.find("# TYPE myspoa_coordination_primary gauge") != std::string::npos);
}

TEST_CASE("coordination block and metrics: primary", "[admin][coordination]") {
  Fixture f;
  f.majority("primary", 4, "");
  const auto c = admin::render_status_json(f.inputs())["coordination"];
  CHECK(c["mode"] == "majority");
  CHECK(c["role"] == "primary");
  CHECK(c["name"] == "lb2");
  CHECK(c["locks_held"] == 4);
  CHECK(c["servers"] == 5);
  CHECK(c["primary_since_ms"] == 123456);
  CHECK(c["primary"] == "lb2");
  CHECK(c["target_writer"] == "db01");
  CHECK(c["writable_masters"] == json::array({"db01"}));
  const auto m = admin::render_metrics(f.inputs());
  CHECK(metric(m, "myspoa_coordination_primary") == 1);
  CHECK(metric(m, "myspoa_coordination_locks_held") == 4);
}

TEST_CASE("coordination block: secondary names the primary; unknown decision is none",
          "[admin][coordination]") {
  Fixture f;
  f.majority("secondary", 1, "lb1");
  auto c = admin::render_status_json(f.inputs())["coordination"];
  CHECK(c["role"] == "secondary");
  CHECK(c["primary"] == "lb1");
  CHECK(c["target_writer"].is_null());
  CHECK(metric(admin::render_metrics(f.inputs()), "myspoa_coordination_primary") == 0);
  f.dec.known = false;
  c = admin::render_status_json(f.inputs())["coordination"];
  CHECK(c["role"] == "none");
}

TEST_CASE("myspoactl status: the role on the first line", "[ctl][coordination]") {
  Fixture f;
  f.majority("secondary", 1, "lb1");
  auto text = ctl::render_status(admin::render_status_json(f.inputs()));
  INFO(text);
  CHECK(
      text.substr(0, text.find('\n'))
          .rfind("role: secondary (lb2, 1/5 locks, primary lb1)   writer: db01   scenario: healthy",
                 0) == 0);
  f.majority("primary", 5, "");
  text = ctl::render_status(admin::render_status_json(f.inputs()));
  CHECK(text.rfind("role: primary (lb2, 5/5 locks)   writer: db01", 0) == 0);
  f = Fixture();
  text = ctl::render_status(admin::render_status_json(f.inputs()));
  CHECK(text.rfind("role: standalone   writer: db01", 0) == 0);
  // An agent without the block (older version): no role, the line starts with the writer.
  auto j = admin::render_status_json(f.inputs());
  j.erase("coordination");
  CHECK(ctl::render_status(j).rfind("writer: db01", 0) == 0);
}
