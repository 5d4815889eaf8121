// The myspoa process: load the configuration (or the embedded default), start the App and its
// admin endpoint, serve until SIGTERM/SIGINT, reload on SIGHUP. main() only parses the command
// line and calls run_agent().
#pragma once

#include <string>

namespace myspoa::process {

// Exit status: 0 after a clean stop, 1 when a component cannot start, 2 for a bad configuration.
int run_agent(const std::string& config_path, const std::string& log_level_override);

}  // namespace myspoa::process
