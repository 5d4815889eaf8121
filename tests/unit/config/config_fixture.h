// Shared helpers of the configuration tests: a minimal three-server cluster and the loader's error.
#pragma once

#include <string>

#include "spoa/config/config.h"

namespace config_fixture {

// db01/db02 masters, db03 under db01; `cluster_extra` goes inside `cluster:`, `top` before it.
inline std::string with_cluster(const std::string& cluster_extra, const std::string& top = "") {
  return top + R"(
cluster:
  masters: [db01, db02]
)" + cluster_extra +
         R"(  servers:
    - { name: db01, address: "127.0.0.1:33061" }
    - { name: db02, address: "127.0.0.1:33062" }
    - { name: db03, address: "127.0.0.1:33063", replica_of: db01 }
)";
}

// The ConfigError message, or "" when the text parses.
inline std::string error_of(const std::string& yaml) {
  try {
    myspoa::config::parse_config(yaml, "test.yaml");
  } catch (const myspoa::config::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace config_fixture
