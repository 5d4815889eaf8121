// myspoactl's human-readable views of the admin endpoint's JSON (pure: JSON in, text out), kept
// apart from main.cc so unit tests cover them.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace myspoa::ctl {

// One header line (writer, scenario, backup mode, refusal) then a `maxctrl list servers` style
// table: server, address, role, state, replication, lag, read_only, consistency, in pool (+weight).
std::string render_status(const nlohmann::json& status);
// The table alone.
std::string render_servers(const nlohmann::json& status);
// One event per line: time (UTC), kind, server, message.
std::string render_events(const nlohmann::json& events);

}  // namespace myspoa::ctl
