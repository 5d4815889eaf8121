#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "spoa/config/config.h"
#include "tests/unit/config/config_fixture.h"

using myspoa::config::ConfigError;
using myspoa::config::parse_config;

namespace {

const std::string kMinimal = config_fixture::with_cluster("");
using config_fixture::error_of;

}  // namespace

TEST_CASE("minimal config gets documented defaults") {
  const auto c = parse_config(kMinimal, "test.yaml");
  CHECK(c.agent.listen.to_string() == "127.0.0.1:12345");
  CHECK(c.admin.listen.port == 9400);
  CHECK(c.mysql.interval_ms == 250);
  CHECK(c.mysql.connect_timeout_ms == 300);
  REQUIRE(c.cluster.servers.size() == 3);
  CHECK(c.cluster.servers[2].backend == "be_db03");
  CHECK(c.cluster.servers[2].replica_of == "db01");
  CHECK(c.cluster.failback == myspoa::config::Failback::Auto);
}

TEST_CASE("the embedded default is the lab topology") {
  const auto c = parse_config(myspoa::config::default_config_yaml(), "<default>");
  REQUIRE(c.cluster.servers.size() == 5);
  CHECK(c.cluster.masters == std::vector<std::string>{"db01", "db02"});
  CHECK(c.cluster.find("db05")->replica_of == "db02");
  CHECK(c.cluster.find("db04")->address.port == 33064);
  CHECK(c.agent.refusal_listen.port == 12346);
}

TEST_CASE("errors name the offending key") {
  using Catch::Matchers::Contains;
  CHECK_THAT(error_of(std::string(kMinimal) + "bogus: 1\n"), Contains("bogus: unknown key"));
  CHECK_THAT(error_of("agent: { threds: 2 }\n" + std::string(kMinimal)),
             Contains("agent.threds: unknown key"));
  CHECK_THAT(error_of("agent: { threads: zero }\n" + std::string(kMinimal)),
             Contains("agent.threads: invalid value"));
  CHECK_THAT(error_of("mysql: { interval_ms: 0 }\n" + std::string(kMinimal)),
             Contains("mysql.interval_ms"));
  CHECK_THAT(error_of("agent: { listen: nowhere }\n" + std::string(kMinimal)),
             Contains("agent.listen: expected host:port"));
  CHECK_THAT(error_of("cluster: { masters: [db01], servers: [] }"), Contains("cluster.servers"));
  CHECK_THAT(error_of(R"(
cluster:
  masters: [db01]
  servers:
    - { name: db01, address: "127.0.0.1:1" }
    - { name: db01, address: "127.0.0.1:2" })"),
             Contains("duplicate server name"));
  CHECK_THAT(error_of(R"(
cluster:
  masters: [db01]
  servers:
    - { name: db01, address: "127.0.0.1:1" }
    - { name: db03, address: "127.0.0.1:2", replica_of: db09 })"),
             Contains("cluster.servers[db03].replica_of: unknown server 'db09'"));
  CHECK_THAT(error_of(R"(
cluster:
  masters: [db01, db07]
  servers:
    - { name: db01, address: "127.0.0.1:1" })"),
             Contains("cluster.masters: unknown server 'db07'"));
  CHECK_THAT(error_of(R"(
cluster:
  masters: [db01]
  servers:
    - { name: db01, address: "127.0.0.1:1" }
    - { name: db02, address: "127.0.0.1:2" })"),
             Contains("cluster.servers[db02].replica_of: missing"));
  CHECK_THAT(error_of("cluster: [\n"), Contains("YAML syntax error"));
  CHECK_THAT(error_of(std::string(kMinimal) + "  failback: sometimes\n"),
             Contains("cluster.failback"));
}

TEST_CASE("password sources: file and environment, only one at a time") {
  const std::string file = "/tmp/myspoa-config-test-password";
  {
    std::ofstream out(file);
    out << "s3cret\n";
  }
  auto c = parse_config("mysql: { password_file: " + file + " }\n" + kMinimal, "t");
  CHECK(c.mysql.password == "s3cret");
  ::setenv("MYSPOA_TEST_PW", "fromenv", 1);
  c = parse_config("mysql: { password_env: MYSPOA_TEST_PW }\n" + std::string(kMinimal), "t");
  CHECK(c.mysql.password == "fromenv");
  CHECK_THAT(error_of("mysql: { password_env: MYSPOA_NOT_SET_X }\n" + std::string(kMinimal)),
             Catch::Matchers::Contains("MYSPOA_NOT_SET_X"));
  CHECK_THAT(error_of("mysql: { password: a, password_file: " + file + " }\n" + kMinimal),
             Catch::Matchers::Contains("only one of"));
  CHECK_THAT(error_of("mysql: { password_file: /nonexistent/pw }\n" + std::string(kMinimal)),
             Catch::Matchers::Contains("mysql.password_file: cannot read"));
  std::remove(file.c_str());
}
