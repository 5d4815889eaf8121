// myspoactl's readable views of the consistency checker's JSON (GET /checksum, GET
// /checksum/report). Pure: JSON in, text out; `--json` prints the agent's JSON instead.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace myspoa::ctl {

// "1,234,567"
std::string thousands(int64_t n);
// "45s", "12m05s", "2h03m"; "?" when negative (unknown).
std::string duration(double seconds);

// GET /checksum in one or two lines. Running: table, chunk, rows done of estimated, ETA (and a
// second line when paused, with the reason). Idle: the last run's summary and the next run.
// `now_unix_ms` turns next_run_unix_ms into "in 12m".
std::string render_checksum_status(const nlohmann::json& status, int64_t now_unix_ms);

// GET /checksum/report: a summary line, one line per replica (replica, state, differences by
// table, method, and what the checksum table alone says when it disagrees), skipped tables and
// errors, then the old script's verdict lines ("Replication replica db05 (server_id 5) on ...
// is inconsistent. Requires rebuild: app.t (1 chunk)").
std::string render_checksum_report(const nlohmann::json& report);

}  // namespace myspoa::ctl
