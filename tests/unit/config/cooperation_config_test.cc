// Cooperating agents' configuration (issue 12): cluster.cooperation and its companions.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "spoa/config/config.h"
#include "tests/unit/config/config_fixture.h"

using Catch::Matchers::Contains;
using myspoa::config::ClusterConfig;
using myspoa::config::ConfigError;
using myspoa::config::parse_config;

using config_fixture::error_of;
using config_fixture::with_cluster;

TEST_CASE("cooperation defaults to standalone with the host name as agent name") {
  const auto c = parse_config(with_cluster(""), "test.yaml");
  CHECK(c.cluster.cooperation == ClusterConfig::Cooperation::Standalone);
  CHECK(c.cluster.lock_prefix == "myspoa");
  CHECK(c.cluster.master_failure_timeout_ms == 10000);
  CHECK_FALSE(c.agent.name.empty());
}

TEST_CASE("majority mode with manage_read_only and its keys") {
  const auto c = parse_config(with_cluster("  cooperation: majority\n  manage_read_only: true\n"
                                           "  lock_prefix: lab\n  master_failure_timeout_ms: 4000\n"
                                           "  agents: [lb1, lb2]\n",
                                           "agent: { name: lb1 }\n"),
                              "test.yaml");
  CHECK(c.cluster.cooperation == ClusterConfig::Cooperation::Majority);
  CHECK(c.cluster.lock_prefix == "lab");
  CHECK(c.cluster.master_failure_timeout_ms == 4000);
  CHECK(c.agent.name == "lb1");
  CHECK(c.cluster.agents == std::vector<std::string>{"lb1", "lb2"});
}

TEST_CASE("majority mode requires manage_read_only and says so") {
  CHECK_THAT(error_of(with_cluster("  cooperation: majority\n")),
             Contains("cluster.cooperation: majority requires cluster.manage_read_only: true"));
}

TEST_CASE("cooperation errors name the key") {
  CHECK_THAT(error_of(with_cluster("  cooperation: raft\n")),
             Contains("cluster.cooperation: must be 'standalone' or 'majority', got 'raft'"));
  CHECK_THAT(error_of(with_cluster("  lock_prefix: \"a b\"\n")), Contains("cluster.lock_prefix"));
  CHECK_THAT(error_of(with_cluster("  master_failure_timeout_ms: -1\n")),
             Contains("cluster.master_failure_timeout_ms: must be >= 0"));
  CHECK_THAT(error_of(with_cluster("  cooperation: majority\n  manage_read_only: true\n",
                                   "agent: { name: \"lb 1\" }\n")),
             Contains("agent.name"));
  CHECK_THAT(error_of(with_cluster("  cooperation: majority\n  manage_read_only: true\n",
                                   "agent: { name: " + std::string(60, 'x') + " }\n")),
             Contains("64-character"));
  const std::string majority = "  cooperation: majority\n  manage_read_only: true\n";
  CHECK_THAT(error_of(with_cluster(majority + "  agents: [lb1, \"lb 2\"]\n")),
             Contains("cluster.agents: names must be [A-Za-z0-9_.-], got 'lb 2'"));
  CHECK_THAT(error_of(with_cluster(majority + "  agents: [lb1, lb1]\n")),
             Contains("cluster.agents: duplicate agent 'lb1'"));
  CHECK_THAT(error_of(with_cluster(majority + "  agents: [" + std::string(60, 'y') + "]\n")),
             Contains("cluster.agents"));
}
