// myspoactl checksum status / report: readable text from the agent's JSON (GET /checksum,
// GET /checksum/report), built as consistency/report.cc and consistency_scheduler.cc emit it.
#include <catch2/catch.hpp>

#include "spoa/ctl/checksum_views.h"

using myspoa::ctl::render_checksum_report;
using myspoa::ctl::render_checksum_status;
using nlohmann::json;

namespace {
// 2023-11-14T22:13:20Z
constexpr int64_t kT = 1700000000000;

json report() {
  return json::parse(R"js({
    "writer": "db01", "writer_server_id": 1, "started_unix_ms": 1700000000000,
    "finished_unix_ms": 1700000012300, "complete": true, "cancelled": false, "resumed": false,
    "error": "", "tables_checked": 3, "rows_checked": 1002000, "chunks": 1210, "seconds": 12.34,
    "replicas": [
      {"name": "db02", "server_id": 2, "address": "127.0.0.1:33062", "master": "db01",
       "method": "checksum-table", "state": "consistent", "requires_rebuild": false,
       "inconsistent": [], "checksum_table_view": [], "retried_chunks": 0, "errors": [],
       "verdict": "Replication replica db02 (server_id 2) on 127.0.0.1:33062 is consistent"},
      {"name": "db03", "server_id": 3, "address": "127.0.0.1:33063", "master": "db01",
       "method": "checksum-table", "state": "inconsistent", "requires_rebuild": true,
       "inconsistent": [{"table": "app.t", "chunks": 1}],
       "checksum_table_view": [{"table": "app.t", "chunks": 1}], "retried_chunks": 0,
       "errors": [],
       "verdict": "Replication replica db03 (server_id 3) on 127.0.0.1:33063 is inconsistent. Requires rebuild: app.t (1 chunk)"},
      {"name": "db05", "server_id": 5, "address": "127.0.0.1:33065", "master": "db02",
       "method": "direct", "state": "inconsistent", "requires_rebuild": true,
       "inconsistent": [{"table": "app.t", "chunks": 2}, {"table": "app.nulls", "chunks": 1}],
       "checksum_table_view": [], "retried_chunks": 1, "errors": [],
       "verdict": "Replication replica db05 (server_id 5) on 127.0.0.1:33065 is inconsistent. Requires rebuild: app.t (2 chunks), app.nulls (1 chunk)"},
      {"name": "db04", "server_id": 4, "address": "127.0.0.1:33064", "master": "db01",
       "method": "checksum-table", "state": "error", "requires_rebuild": false,
       "inconsistent": [], "checksum_table_view": [], "retried_chunks": 0,
       "errors": ["Lost connection to server"],
       "verdict": "Replication replica db04 (server_id 4) on 127.0.0.1:33064 could not be checked: Lost connection to server"}],
    "skipped": [{"table": "app.nopk", "reason": "no primary or unique key and 20000 rows"}],
    "errors": []
})js");
}
}  // namespace

TEST_CASE("ctl: thousands and durations", "[ctl][checksum]") {
  using myspoa::ctl::duration;
  using myspoa::ctl::thousands;
  CHECK(thousands(0) == "0");
  CHECK(thousands(999) == "999");
  CHECK(thousands(1000) == "1,000");
  CHECK(thousands(5000000) == "5,000,000");
  CHECK(thousands(-1234567) == "-1,234,567");
  CHECK(duration(-1) == "?");
  CHECK(duration(0.4) == "0s");
  CHECK(duration(59.4) == "59s");
  CHECK(duration(125) == "2m05s");
  CHECK(duration(7380) == "2h03m");
}

TEST_CASE("ctl: checksum status while running, in one line", "[ctl][checksum]") {
  const auto st = json::parse(R"js({"enabled": true, "running": true, "runs_finished": 2,
    "progress": {"running": true, "paused": false, "pause_reason": "", "tables_done": 0,
      "tables_total": 3, "rows_done": 250000, "rows_estimated": 1000000,
      "current_table": "app.t", "current_chunk": 41, "chunk_size": 6200, "elapsed_s": 20.2,
      "eta_s": 61}, "last_report": null})js");
  CHECK(render_checksum_status(st, kT) ==
        "checksum running: app.t chunk 41 (6,200 rows), 250,000 of ~1,000,000 rows (25%), "
        "table 1/3, elapsed 20s, ETA 1m01s\n");
}

TEST_CASE("ctl: checksum status while paused: second line with the reason", "[ctl][checksum]") {
  const auto st = json::parse(R"js({"enabled": true, "running": true,
    "progress": {"running": true, "paused": true, "pause_reason": "db03 lags 3 s (max 1 s)",
      "tables_done": 2, "tables_total": 3, "rows_done": 10, "rows_estimated": 0,
      "current_table": "app.u", "current_chunk": 1, "chunk_size": 0, "elapsed_s": 1,
      "eta_s": -1
}
})js");
  CHECK(render_checksum_status(st, kT) ==
        "checksum running: app.u chunk 1, 10 of ~0 rows, table 3/3, elapsed 1s, ETA ?\n"
        "paused: db03 lags 3 s (max 1 s)\n");
}

TEST_CASE("ctl: checksum status when idle: last run and next run", "[ctl][checksum]") {
  json st = json::parse(R"js({"enabled": true, "running": false, "resume_pending": false,
    "runs_finished": 1, "progress": {"running": false}})js");
  st["last_report"] = report();
  st["next_run_unix_ms"] = kT + 600000;
  CHECK(render_checksum_status(st, kT) ==
        "checksum idle: 1 runs finished, next run 2023-11-14 22:23:20Z (in 10m00s)\n"
        "last run 2023-11-14 22:13:32Z on db01: 3 tables, 1,002,000 rows, 1,210 chunks in 12.3 s, "
        "complete; db03, db05 INCONSISTENT; db04 not checked (error); 1 consistent\n");
}

TEST_CASE("ctl: checksum status before any run, disabled", "[ctl][checksum]") {
  const auto st = json::parse(R"js({"enabled": false, "running": false, "resume_pending": true,
    "runs_finished": 0, "progress": {"running": false}, "last_report": null})js");
  CHECK(render_checksum_status(st, kT) ==
        "checksum idle (scheduled runs disabled; `myspoactl checksum run` starts one): 0 runs "
        "finished, a cancelled run resumes at the next run\nno run has finished yet\n");
}

TEST_CASE("ctl: checksum report: one line per replica, then the verdict lines", "[ctl][checksum]") {
  const auto text = render_checksum_report(report());
  INFO(text);
  CHECK(
      text ==
      "checksum run on writer db01 (server_id 1), 2023-11-14 22:13:20Z: 3 tables, 1,002,000 "
      "rows, 1,210 chunks in 12.3 s, complete\n"
      "REPLICA  SERVER_ID  ADDRESS          VIA   METHOD          STATE                           "
      "DIFFS                                  RETRIED\n"
      "db02     2          127.0.0.1:33062  db01  checksum-table  consistent                      "
      "-                                      0\n"
      "db03     3          127.0.0.1:33063  db01  checksum-table  inconsistent, requires rebuild  "
      "app.t (1 chunk)                        0\n"
      "db05     5          127.0.0.1:33065  db02  direct          inconsistent, requires rebuild  "
      "app.t (2 chunks), app.nulls (1 chunk)  1\n"
      "db04     4          127.0.0.1:33064  db01  checksum-table  error                           "
      "-                                      0\n"
      "db05: the checksum table alone (pt-table-checksum's view) says no difference\n"
      "db04: error: Lost connection to server\n"
      "skipped app.nopk: no primary or unique key and 20000 rows\n"
      "\n"
      "Replication replica db02 (server_id 2) on 127.0.0.1:33062 is consistent\n"
      "Replication replica db03 (server_id 3) on 127.0.0.1:33063 is inconsistent. Requires "
      "rebuild: app.t (1 chunk)\n"
      "Replication replica db05 (server_id 5) on 127.0.0.1:33065 is inconsistent. Requires "
      "rebuild: app.t (2 chunks), app.nulls (1 chunk)\n"
      "Replication replica db04 (server_id 4) on 127.0.0.1:33064 could not be checked: Lost "
      "connection to server\n");
}

TEST_CASE("ctl: checksum report of a cancelled run says it resumes", "[ctl][checksum]") {
  auto r = report();
  r["complete"] = false;
  r["cancelled"] = true;
  r["replicas"] = json::array();
  const auto text = render_checksum_report(r);
  CHECK(text.find("cancelled (the next run resumes)") != std::string::npos);
  CHECK(text.find("REPLICA  SERVER_ID") != std::string::npos);
}
