// The admin endpoint's pure views (/status JSON, /events, Prometheus text, health checks) from
// synthetic snapshots and decisions: no App, no HTTP, no MySQL.
#include <catch2/catch.hpp>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "spoa/admin/access.h"
#include "spoa/admin/status_view.h"

using namespace myspoa;
using admin::StatusInputs;

namespace {

config::Config lab_config() {
  auto c = config::parse_config(config::default_config_yaml(), "test.yaml");
  c.mysql.password = "s3cret-password";
  c.admin.token = "t0ken-value";
  return c;
}

probes::ServerState up_server(const std::string& name, int64_t id, bool replica,
                              std::optional<int64_t> behind = 0) {
  probes::ServerState s;
  s.name = name;
  s.liveness = probes::Liveness::Up;
  s.replication = replica ? probes::ReplHealth::Ok : probes::ReplHealth::NotReplica;
  s.probes = 10;
  s.last.ok = true;
  s.last.latency_us = 1500;
  s.last.read_only = replica;
  s.last.server_id = id;
  s.last.version = "10.11.6-MariaDB";
  if (replica) {
    probes::ReplicationStatus r;
    r.io_running = true;
    r.sql_running = true;
    r.io_state = "Yes";
    r.seconds_behind = behind;
    r.master_host = "127.0.0.1";
    r.master_port = 33061;
    s.last.replication = r;
    if (behind) s.lag_s = static_cast<double>(*behind);
  }
  return s;
}

struct Fixture {
  config::Config cfg = lab_config();
  probes::Snapshot snap;
  policy::Decision dec;

  Fixture() {
    snap.round = 42;
    snap.complete = true;
    snap.servers = {up_server("db01", 1, true), up_server("db02", 2, true),
                    up_server("db03", 3, true), up_server("db04", 4, true),
                    up_server("db05", 5, true)};
    dec.known = true;
    dec.writer = "db01";
    dec.writer_backend = "be_db01";
    dec.scenario = "healthy";
    for (const auto& s : cfg.cluster.servers) {
      dec.read_pool.push_back({s.name, s.backend, s.weight});
      dec.total_read_weight += s.weight;
      policy::ServerVerdict v;
      v.name = s.name;
      v.master = s.replica_of.empty();
      v.writer = s.name == "db01";
      v.readable = true;
      v.weight = s.weight;
      v.why = "in read pool";
      dec.servers.push_back(v);
    }
  }

  probes::ServerState& server(const std::string& n) {
    for (auto& s : snap.servers)
      if (s.name == n) return s;
    FAIL("no server " << n);
    return snap.servers.front();
  }

  StatusInputs inputs() const {
    StatusInputs in;
    in.config = &cfg;
    in.snapshot = std::make_shared<probes::Snapshot>(snap);
    in.decision = std::make_shared<policy::Decision>(dec);
    in.version = "9.8.7";
    in.started_unix_ms = 1'700'000'000'000;
    in.now_unix_ms = 1'700'000'060'500;
    in.spop.connections_open = 3;
    in.spop.connections_total = 17;
    in.spop.notifies = 1234;
    in.decisions = {{{100, 2}, {300, 0}}};
    in.failovers = 1;
    return in;
  }
};

// Metric lines "name{labels} value" -> value.
std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream is(text);
  std::string line;
  while (std::getline(is, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto sp = line.rfind(' ');
    REQUIRE(sp != std::string::npos);
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

}  // namespace

TEST_CASE("status JSON describes agent, servers and decision", "[admin]") {
  Fixture f;
  f.server("db03").liveness = probes::Liveness::Down;
  f.server("db03").last.ok = false;
  f.server("db03").last.error = "connect timeout after 300 ms";
  f.server("db03").why = "connect timeout after 300 ms";
  f.dec.servers[2].readable = false;
  f.dec.servers[2].weight = 0;
  f.dec.servers[2].why = "excluded: down";
  auto in = f.inputs();
  in.overrides.drained = {"db04"};
  in.overrides.inconsistent = {"db05"};
  in.consistency = {{"db02", "consistent"}};
  in.decisions_per_s = 12.5;

  const auto j = admin::render_status_json(in);
  CHECK(j["agent"]["version"] == "9.8.7");
  CHECK(j["agent"]["uptime_s"].get<double>() == Approx(60.5));
  CHECK(j["agent"]["config_file"] == "test.yaml");
  CHECK(j["agent"]["spop_connections"]["open"] == 3);
  CHECK(j["agent"]["spop_connections"]["total"] == 17);
  CHECK(j["agent"]["notifies"] == 1234);
  CHECK(j["agent"]["decisions_per_s"].get<double>() == Approx(12.5));
  CHECK(j["agent"]["decisions"]["write"]["refused"] == 2);
  CHECK(j["writer"] == "db01");
  CHECK(j["scenario"] == "healthy");
  CHECK(j["known"] == true);
  CHECK(j["backup_mode"] == false);
  REQUIRE(j["servers"].size() == 5);

  const auto& db01 = j["servers"][0];
  CHECK(db01["name"] == "db01");
  CHECK(db01["role"] == "master");
  CHECK(db01["writer"] == true);
  CHECK(db01["state"] == "up");
  CHECK(db01["address"] == "127.0.0.1:33061");
  CHECK(db01["last_probe"]["server_id"] == 1);
  CHECK(db01["last_probe"]["latency_ms"].get<double>() == Approx(1.5));
  CHECK(db01["last_probe"]["io_running"] == true);

  const auto& db02 = j["servers"][1];
  CHECK(db02["writer"] == false);
  CHECK(db02["consistency"] == "consistent");

  const auto& db03 = j["servers"][2];
  CHECK(db03["role"] == "replica");
  CHECK(db03["replica_of"] == "db01");
  CHECK(db03["state"] == "down");
  CHECK(db03["why"] == "connect timeout after 300 ms");
  CHECK(db03["in_read_pool"] == false);
  CHECK(db03["routing"] == "excluded: down");
  CHECK(db03["last_probe"]["ok"] == false);
  CHECK(db03["last_probe"]["read_only"].is_null());
  CHECK(db03["consistency"] == "unknown");

  CHECK(j["servers"][3]["drained"] == true);
  CHECK(j["servers"][4]["consistency"] == "inconsistent, requires rebuild");
  CHECK(j["read_pool"].size() == 5);

  // No secret anywhere.
  const auto text = j.dump();
  CHECK(text.find("s3cret-password") == std::string::npos);
  CHECK(text.find("t0ken-value") == std::string::npos);
}

TEST_CASE("status JSON before the first probe round", "[admin]") {
  Fixture f;
  StatusInputs in;
  in.config = &f.cfg;
  const auto j = admin::render_status_json(in);
  CHECK(j["writer"].is_null());
  CHECK(j["known"] == false);
  CHECK(j["scenario"] == "starting");
  REQUIRE(j["servers"].size() == 5);
  CHECK(j["servers"][0]["state"] == "unknown");
  CHECK(j["servers"][0]["last_probe"].is_null());
}

TEST_CASE("events JSON keeps order and reports the last sequence", "[admin]") {
  std::vector<events::Event> ev = {{3, 1000, "server", "db03", "db03 down"},
                                   {4, 2000, "writer-change", "db02", "db02 takes writes"}};
  const auto j = admin::render_events_json(ev);
  REQUIRE(j["events"].size() == 2);
  CHECK(j["events"][0]["seq"] == 3);
  CHECK(j["events"][1]["message"] == "db02 takes writes");
  CHECK(j["last_seq"] == 4);
  CHECK(admin::render_events_json({})["last_seq"] == 0);
}

TEST_CASE("metrics carry servers, writer, decisions and histogram", "[admin]") {
  Fixture f;
  f.server("db04").liveness = probes::Liveness::Down;
  f.server("db04").last.ok = false;
  f.server("db05").lag_s = 2.5;
  f.server("db03").last.replication->sql_running = false;
  auto in = f.inputs();
  in.spop.notify_latency[10] = 4;  // [1024, 2048) ns
  in.spop.notify_latency[12] = 1;  // [4096, 8192) ns
  in.spop.notify_latency_sum_ns = 10000;
  f.server("db04").flapping = true;
  f.server("db04").transitions = 7;
  in.flap_holds = 2;
  in.writer_actions.fences = 3;
  in.writer_actions.sessions_cut = 11;
  in.writer_actions.runtime_api_failures = 1;
  in.alerts.succeeded = 4;
  in.alerts.dropped = 5;
  in.snapshot = f.inputs().snapshot;

  const auto text = admin::render_metrics(in);
  const auto m = samples(text);
  CHECK(m.at(R"(myspoa_server_up{server="db01"})") == 1);
  CHECK(m.at(R"(myspoa_server_up{server="db04"})") == 0);
  CHECK(m.at(R"(myspoa_writer{server="db01"})") == 1);
  CHECK(m.at(R"(myspoa_writer{server="db02"})") == 0);
  CHECK(m.at(R"(myspoa_server_replication_running{server="db03"})") == 0);
  CHECK(m.at(R"(myspoa_server_replication_running{server="db05"})") == 1);
  CHECK(m.at(R"(myspoa_server_replication_lag_seconds{server="db05"})") == 2.5);
  CHECK(m.count(R"(myspoa_server_read_only{server="db04"})") == 0);  // unknown while down
  CHECK(m.count(R"(myspoa_server_replication_lag_seconds{server="db04"})") == 0);
  CHECK(m.at(R"(myspoa_server_read_only{server="db03"})") == 1);
  CHECK(m.at(R"(myspoa_server_in_read_pool{server="db02"})") == 1);
  CHECK(m.at(R"(myspoa_decisions_total{intent="write",result="refused"})") == 2);
  CHECK(m.at(R"(myspoa_decisions_total{intent="read",result="routed"})") == 300);
  CHECK(m.at("myspoa_spop_connections") == 3);
  CHECK(m.at("myspoa_spop_notifies_total") == 1234);
  CHECK(m.at("myspoa_failovers_total") == 1);
  CHECK(m.at("myspoa_backup_mode") == 0);
  CHECK(m.at("myspoa_split_brain") == 0);
  CHECK(m.at("myspoa_start_time_seconds") == 1'700'000'000);
  CHECK(m.at(R"(myspoa_info{version="9.8.7"})") == 1);
  CHECK(m.at(R"(myspoa_probe_duration_seconds{server="db01"})") == Approx(0.0015));
  // Protections: flap damping, fencing, session cuts, alerts.
  CHECK(m.at(R"(myspoa_server_flapping{server="db04"})") == 1);
  CHECK(m.at(R"(myspoa_server_flapping{server="db03"})") == 0);
  CHECK(m.at(R"(myspoa_server_state_changes_total{server="db04"})") == 7);
  CHECK(m.at("myspoa_flap_holds_total") == 2);
  CHECK(m.at("myspoa_fences_total") == 3);
  CHECK(m.at("myspoa_unfences_total") == 0);
  CHECK(m.at("myspoa_sessions_cut_total") == 11);
  CHECK(m.at("myspoa_runtime_api_failures_total") == 1);
  CHECK(m.at(R"(myspoa_alerts_total{result="succeeded"})") == 4);
  CHECK(m.at(R"(myspoa_alerts_total{result="dropped"})") == 5);
  CHECK(text.find("# TYPE myspoa_server_state_changes_total counter") != std::string::npos);
  CHECK(text.find("# TYPE myspoa_server_flapping gauge") != std::string::npos);
  // Histogram: cumulative buckets, le = 2^(i+1) ns.
  CHECK(m.at(R"(myspoa_spop_notify_latency_seconds_bucket{le="1.024e-06"})") == 0);
  CHECK(m.at(R"(myspoa_spop_notify_latency_seconds_bucket{le="2.048e-06"})") == 4);
  CHECK(m.at(R"(myspoa_spop_notify_latency_seconds_bucket{le="8.192e-06"})") == 5);
  CHECK(m.at(R"(myspoa_spop_notify_latency_seconds_bucket{le="+Inf"})") == 5);
  CHECK(m.at("myspoa_spop_notify_latency_seconds_count") == 5);
  CHECK(m.at("myspoa_spop_notify_latency_seconds_sum") == Approx(1e-5));

  // Every family has HELP and TYPE; no secrets.
  for (const char* fam : {"myspoa_server_up", "myspoa_writer", "myspoa_decisions_total",
                          "myspoa_spop_notify_latency_seconds", "myspoa_info"}) {
    CHECK(text.find(std::string("# HELP ") + fam + " ") != std::string::npos);
    CHECK(text.find(std::string("# TYPE ") + fam + " ") != std::string::npos);
  }
  CHECK(text.find("s3cret-password") == std::string::npos);
  CHECK(text.find("t0ken-value") == std::string::npos);
}

TEST_CASE("metrics in split brain and with no decision", "[admin]") {
  Fixture f;
  f.dec.writer.reset();
  f.dec.scenario = "split-brain";
  auto m = samples(admin::render_metrics(f.inputs()));
  CHECK(m.at("myspoa_split_brain") == 1);
  CHECK(m.at("myspoa_writes_refused") == 1);
  CHECK(m.at(R"(myspoa_writer{server="db01"})") == 0);

  StatusInputs bare;
  bare.config = &f.cfg;
  m = samples(admin::render_metrics(bare));
  CHECK(m.at(R"(myspoa_server_up{server="db01"})") == 0);
  CHECK(m.at("myspoa_decision_known") == 0);
}

TEST_CASE("label values are escaped", "[admin]") {
  Fixture f;
  auto in = f.inputs();
  in.version = "1.0\"x\\y\nz";
  const auto text = admin::render_metrics(in);
  CHECK(text.find(R"(myspoa_info{version="1.0\"x\\y\nz"} 1)") != std::string::npos);
}

TEST_CASE("status check: up, down with reason, unknown server", "[admin][check]") {
  Fixture f;
  auto a = admin::check_server_status(f.inputs(), "db03");
  CHECK(a.status == 200);
  CHECK(a.body == "db03 is up\n");

  f.server("db03").last.ok = false;
  f.server("db03").last.error = "Can't connect to server on '127.0.0.1' (111)\nsecond line";
  a = admin::check_server_status(f.inputs(), "db03");
  CHECK(a.status == 503);
  CHECK(a.body == "db03 is down: Can't connect to server on '127.0.0.1' (111) second line\n");

  a = admin::check_server_status(f.inputs(), "db09");
  CHECK(a.status == 404);
  a = admin::check_server_status(f.inputs(), "../../etc/passwd");
  CHECK(a.status == 404);
  CHECK(a.body.find('/') == std::string::npos);

  f.server("db02").probes = 0;
  CHECK(admin::check_server_status(f.inputs(), "db02").status == 503);
}

TEST_CASE("replication check: running, stopped, NULL lag, lagging, down", "[admin][check]") {
  Fixture f;
  auto a = admin::check_server_replication(f.inputs(), "db03");
  CHECK(a.status == 200);
  CHECK(a.body == "db03 replication is running, 0 s behind\n");

  auto& r = *f.server("db04").last.replication;
  r.sql_running = false;
  r.last_sql_error = "Duplicate entry '1' for key 'PRIMARY'";
  a = admin::check_server_replication(f.inputs(), "db04");
  CHECK(a.status == 503);
  CHECK(a.body ==
        "db04 replication is broken: Slave_IO_Running=Yes, Slave_SQL_Running=No: Duplicate "
        "entry '1' for key 'PRIMARY'\n");

  f.server("db05").last.replication->seconds_behind.reset();
  a = admin::check_server_replication(f.inputs(), "db05");
  CHECK(a.status == 503);
  CHECK(a.body.find("NULL") != std::string::npos);

  f.server("db05").last.replication->seconds_behind = 5;  // == max_lag_s: still fine
  CHECK(admin::check_server_replication(f.inputs(), "db05").status == 200);
  f.server("db05").last.replication->seconds_behind = 6;
  a = admin::check_server_replication(f.inputs(), "db05");
  CHECK(a.status == 503);
  CHECK(a.body == "db05 replication is lagging: 6 s behind (max 5 s)\n");
  f.server("db05").last.heartbeat_lag_s = 0.25;  // heartbeat wins over Seconds_Behind_Master
  CHECK(admin::check_server_replication(f.inputs(), "db05").status == 200);

  f.server("db01").last.replication.reset();
  a = admin::check_server_replication(f.inputs(), "db01");
  CHECK(a.status == 503);
  CHECK(a.body == "db01 replication is not configured\n");

  f.server("db02").last.ok = false;
  f.server("db02").last.error = "connect timeout";
  a = admin::check_server_replication(f.inputs(), "db02");
  CHECK(a.status == 503);
  CHECK(a.body == "db02 replication is unknown: db02 is down: connect timeout\n");

  // Every answer is exactly one line.
  for (const auto& n : {"db01", "db02", "db03", "db04", "db05"}) {
    const auto body = admin::check_server_replication(f.inputs(), n).body;
    CHECK(std::count(body.begin(), body.end(), '\n') == 1);
  }
}

TEST_CASE("rate meter: decisions per second over a sliding window", "[admin]") {
  admin::RateMeter m(10000);
  CHECK(m.update(0, 0) == 0.0);
  CHECK(m.update(1000, 100) == Approx(100.0));
  CHECK(m.update(2000, 300) == Approx(150.0));
  // Samples older than the window are dropped: the rate follows the recent past.
  for (int64_t t = 3000; t <= 30000; t += 1000) m.update(t, 300);
  CHECK(m.update(31000, 300) == 0.0);
  CHECK(m.update(32000, 1300) == Approx(100.0).epsilon(0.01));
  // Counter reset: start over instead of a negative rate.
  CHECK(m.update(33000, 5) == 0.0);
  CHECK(m.update(34000, 55) == Approx(50.0));
}

TEST_CASE("admin listen: loopback check and token requirement", "[admin]") {
  CHECK(admin::is_loopback_host("127.0.0.1"));
  CHECK(admin::is_loopback_host("127.1.2.3"));
  CHECK(admin::is_loopback_host("::1"));
  CHECK(admin::is_loopback_host("[::1]"));
  CHECK(admin::is_loopback_host("localhost"));
  CHECK_FALSE(admin::is_loopback_host("0.0.0.0"));
  CHECK_FALSE(admin::is_loopback_host("::"));
  CHECK_FALSE(admin::is_loopback_host("10.0.0.1"));
  CHECK_FALSE(admin::is_loopback_host("128.0.0.1"));
  CHECK_FALSE(admin::is_loopback_host("db.example.com"));

  config::AdminConfig a;
  a.listen = {"127.0.0.1", 9400};
  CHECK(admin::validate_admin_config(a).empty());
  a.listen = {"0.0.0.0", 9400};
  const auto why = admin::validate_admin_config(a);
  CHECK(why.find("admin.token") != std::string::npos);
  CHECK(why.find("0.0.0.0:9400") != std::string::npos);
  a.token = "x";
  CHECK(admin::validate_admin_config(a).empty());
}
