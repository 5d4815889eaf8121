// myspoactl's text views of the admin JSON.
#include <catch2/catch.hpp>

#include "spoa/ctl/status_table.h"

using nlohmann::json;

TEST_CASE("status table: header and one row per server", "[ctl]") {
  const auto status = json::parse(R"({
    "writer": "db01", "scenario": "healthy", "backup_mode": false, "known": true, "refusal": "",
    "servers": [
      {"name": "db01", "address": "127.0.0.1:33061", "role": "master", "writer": true,
       "state": "up", "replication": "ok", "lag_s": 0.0, "in_read_pool": true, "weight": 100,
       "drained": false, "consistency": "unknown", "last_probe": {"read_only": false}},
      {"name": "db03", "address": "127.0.0.1:33063", "role": "replica", "writer": false,
       "state": "down", "replication": "unknown", "lag_s": null, "in_read_pool": false,
       "weight": 0, "drained": true, "consistency": "inconsistent, requires rebuild",
       "last_probe": {"read_only": null}}]})");
  const auto text = myspoa::ctl::render_status(status);
  INFO(text);
  CHECK(text.rfind("writer: db01   scenario: healthy   backup mode: no\n", 0) == 0);
  CHECK(text.find("SERVER  ADDRESS") != std::string::npos);
  CHECK(text.find("db01    127.0.0.1:33061  master, writer  up     ok           0.0s  no ") !=
        std::string::npos);
  CHECK(text.find("yes (100)") != std::string::npos);
  CHECK(text.find("inconsistent, requires rebuild  no (drained)") != std::string::npos);
}

TEST_CASE("status header when writes are refused", "[ctl]") {
  const auto status = json::parse(
      R"({"writer": null, "scenario": "split-brain", "backup_mode": false, "known": true,
          "refusal": "split brain: replication broken on db01 and db02", "servers": []})");
  const auto text = myspoa::ctl::render_status(status);
  CHECK(text.find("writer: none (writes refused)   scenario: split-brain") == 0);
  CHECK(text.find("refusal: split brain: replication broken on db01 and db02\n") !=
        std::string::npos);
}

TEST_CASE("events: one line each, UTC time", "[ctl]") {
  const auto ev = json::parse(R"({"events": [
      {"seq": 7, "unix_ms": 1700000000123, "kind": "operator", "server": "db05",
       "message": "db05 drained by operator"},
      {"seq": 8, "unix_ms": 1700000001000, "kind": "scenario", "server": "",
       "message": "scenario healthy"}], "last_seq": 8})");
  CHECK(myspoa::ctl::render_events(ev) ==
        "2023-11-14T22:13:20.123Z  #7  operator  db05  db05 drained by operator\n"
        "2023-11-14T22:13:21.000Z  #8  scenario  -  scenario healthy\n");
}
