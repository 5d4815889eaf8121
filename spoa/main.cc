// myspoa: HAProxy SPOE agent that owns MySQL high availability. main() only parses the command
// line; the process lifecycle is spoa/process/run_agent.h, the wiring spoa/app (tests link both).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "spoa/config/config.h"
#include "spoa/process/run_agent.h"
#include "spoa/version.h"

int main(int argc, char** argv) {
  CLI::App cli{"myspoa: HAProxy SPOE agent for MySQL high availability"};
  std::string config_path;
  std::string check_path;
  std::string log_level;
  bool version = false;
  cli.add_option("-c,--config", config_path,
                 "YAML configuration file (default: the embedded loopback-lab configuration)");
  cli.add_option("--check-config", check_path, "validate a configuration file and exit");
  cli.add_option("-l,--log-level", log_level,
                 "override agent.log_level (trace, debug, info, warn, error)");
  cli.add_flag("-V,--version", version, "print the version and exit");
  CLI11_PARSE(cli, argc, argv);

  if (version) {
    std::cout << "myspoa " << myspoa::kVersion << "\n";
    return 0;
  }
  if (!check_path.empty()) {
    try {
      const auto c = myspoa::config::load_config_file(check_path);
      std::cout << check_path << ": OK (" << c.cluster.servers.size() << " servers, masters";
      for (const auto& m : c.cluster.masters) std::cout << " " << m;
      std::cout << ")\n";
      return 0;
    } catch (const myspoa::config::ConfigError& e) {
      std::cerr << "myspoa: invalid configuration: " << e.what() << "\n";
      return 2;
    }
  }
  return myspoa::process::run_agent(config_path, log_level);
}
