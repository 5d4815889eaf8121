// Configuration keys of issue 8 and the loader's secret hygiene.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "spoa/config/config.h"

using namespace myspoa::config;

namespace {
const std::string kCluster = R"(
cluster:
  masters: [db01, db02]
  servers:
    - { name: db01, address: "127.0.0.1:33061" }
    - { name: db02, address: "127.0.0.1:33062" }
)";

std::string with_password_file(const std::string& path) {
  return "mysql:\n  password_file: " + path + "\n" + kCluster;
}
}  // namespace

TEST_CASE("reliability config: defaults") {
  const auto c = parse_config(kCluster, "t");
  CHECK(c.cluster.fence == ClusterConfig::Fence::None);
  CHECK_FALSE(c.cluster.manage_read_only);
  CHECK(c.mysql.flap_threshold == 4);
  CHECK(c.mysql.flap_window_s == 60);
  CHECK(c.mysql.flap_hold_s == 30);
  CHECK(c.haproxy.runtime_api.empty());
  CHECK(c.haproxy.write_frontend == "fe_mysql_write");
  CHECK(c.alerts.command.empty());
  CHECK(c.alerts.timeout_ms == 5000);
  CHECK(c.warnings.empty());
}

TEST_CASE("reliability config: every key") {
  const auto c = parse_config(R"(
mysql:
  flap_threshold: 6
  flap_window_s: 30
  flap_hold_s: 10
haproxy:
  runtime_api: ["/run/haproxy/a.sock", "/run/haproxy/b.sock"]
  write_frontend: fe_w
  timeout_ms: 500
alerts: { command: "/usr/local/bin/page-me", timeout_ms: 2000, queue_size: 8 }
)" + kCluster + R"(  fence: read_only
  manage_read_only: true
)",
                              "t");
  CHECK(c.cluster.fence == ClusterConfig::Fence::ReadOnly);
  CHECK(c.cluster.manage_read_only);
  CHECK(c.mysql.flap_threshold == 6);
  CHECK(c.mysql.flap_window_s == 30);
  CHECK(c.mysql.flap_hold_s == 10);
  CHECK(c.haproxy.runtime_api ==
        std::vector<std::string>{"/run/haproxy/a.sock", "/run/haproxy/b.sock"});
  CHECK(c.haproxy.write_frontend == "fe_w");
  CHECK(c.haproxy.timeout_ms == 500);
  CHECK(c.alerts.command == "/usr/local/bin/page-me");
  CHECK(c.alerts.timeout_ms == 2000);
  CHECK(c.alerts.queue_size == 8);
  CHECK(c.warnings.empty());
}

TEST_CASE("reliability config: invalid values name their key") {
  CHECK_THROWS_WITH(parse_config(kCluster + "  fence: stonith\n", "t"),
                    Catch::Contains("cluster.fence"));
  CHECK_THROWS_WITH(parse_config("alerts: { timeout_ms: 0 }\n" + kCluster, "t"),
                    Catch::Contains("alerts.timeout_ms"));
  CHECK_THROWS_WITH(parse_config("alerts: { cmd: x }\n" + kCluster, "t"),
                    Catch::Contains("alerts.cmd"));
  CHECK_THROWS_WITH(parse_config("mysql: { flap_threshold: -1 }\n" + kCluster, "t"),
                    Catch::Contains("mysql.flap_threshold"));
}

TEST_CASE("reliability config: fencing without read_only management warns") {
  const auto c = parse_config(kCluster + "  fence: read_only\n", "t");
  REQUIRE(c.warnings.size() == 1);
  CHECK(c.warnings[0].find("manage_read_only") != std::string::npos);
}

TEST_CASE("reliability config: a world-readable password_file warns, a private one does not") {
  char dir[] = "/tmp/myspoa-pw-XXXXXX";
  REQUIRE(mkdtemp(dir));
  const std::string path = std::string(dir) + "/password";
  { std::ofstream(path) << "S3cr3t-Pw\n"; }
  REQUIRE(chmod(path.c_str(), 0644) == 0);
  auto c = parse_config(with_password_file(path), "t");
  CHECK(c.mysql.password == "S3cr3t-Pw");
  REQUIRE(c.warnings.size() == 1);
  CHECK(c.warnings[0].find("world-readable") != std::string::npos);
  CHECK(c.warnings[0].find("0644") != std::string::npos);
  CHECK(c.warnings[0].find("S3cr3t") == std::string::npos);  // the path, never the secret

  REQUIRE(chmod(path.c_str(), 0600) == 0);
  c = parse_config(with_password_file(path), "t");
  CHECK(c.warnings.empty());
  unlink(path.c_str());
  rmdir(dir);
}
