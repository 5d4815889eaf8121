// Pure pieces of the runner and scheduler: GTID positions, the refusal rules, time windows, the
// report's words and JSON, and the consistency: configuration section.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <stdexcept>

#include "consistency/checksum_runner.h"
#include "consistency/consistency_scheduler.h"
#include "consistency/gtid_position.h"
#include "consistency/report.h"
#include "spoa/config/config.h"

using namespace myspoa;
using namespace myspoa::consistency;

namespace {
GtidPosition pos(const std::string& text) {
  auto p = GtidPosition::parse(text);
  INFO(text << ": " << p.error);
  REQUIRE(p.ok());
  return p.value;
}
}  // namespace

TEST_CASE("GTID positions are compared per domain") {
  const auto p = pos("0-1-10,1-1-100012,2-2-7");
  CHECK(p.domains().at(0) == 10);
  CHECK(p.domains().at(1) == 100012);
  CHECK(p.domains().at(2) == 7);
  CHECK(pos("").domains().empty());
  CHECK(pos("0-1-5,0-2-9").domains().at(0) == 9);  // the highest seqno of a domain
  CHECK(pos(" 0-1-10 , 1-2-3 ").domains().size() == 2);
  CHECK(pos("1-1-10").reached(pos("1-1-10")));
  CHECK(pos("1-1-11,2-2-3").reached(pos("1-1-10")));
  CHECK_FALSE(pos("1-1-9").reached(pos("1-1-10")));
  CHECK_FALSE(pos("1-1-10").reached(pos("1-1-10,2-2-5")));  // a missing domain is not reached
  CHECK(pos("1-1-1").reached(pos("")));
  // at(): exactly the target, not past it.
  CHECK(pos("1-1-10,2-2-3").at(pos("1-1-10")));
  CHECK_FALSE(pos("1-1-11").at(pos("1-1-10")));
  CHECK_FALSE(pos("2-2-3").at(pos("1-1-10")));
}

TEST_CASE("GTID text that is not a position is an error value naming it") {
  for (const char* bad : {"abc", "1-1", "1-1-", "-1-1", "1-x-3", "1-1-3x", "1-1-3,,2-2-2",
                          "1-1-99999999999999999999999", "4294967296-1-1", "1-1-1-1"}) {
    INFO(bad);
    probes::Parsed<GtidPosition> p;
    REQUIRE_NOTHROW(p = GtidPosition::parse(bad));
    CHECK_FALSE(p.ok());
    CHECK(p.error.find("not a GTID position") != std::string::npos);
  }
}

TEST_CASE("runs refuse split-brain and refused writes") {
  CHECK(refuse_reason({std::string("db01"), "healthy"}).empty());
  CHECK(refuse_reason({std::string("db02"), "db01-down"}).empty());
  CHECK_FALSE(refuse_reason({std::nullopt, "both-masters-down"}).empty());
  CHECK(refuse_reason({std::string("db01"), "split-brain"}).find("split-brain") !=
        std::string::npos);
}

TEST_CASE("daily windows, including across midnight") {
  int s = 0, e = 0;
  REQUIRE(parse_window("01:30-04:00", s, e));
  CHECK(s == 90);
  CHECK(e == 240);
  CHECK(in_window(s, e, 90));
  CHECK(in_window(s, e, 239));
  CHECK_FALSE(in_window(s, e, 240));
  CHECK_FALSE(in_window(s, e, 89));
  REQUIRE(parse_window("22:00-02:00", s, e));
  CHECK(in_window(s, e, 23 * 60));
  CHECK(in_window(s, e, 60));
  CHECK_FALSE(in_window(s, e, 12 * 60));
  CHECK_FALSE(parse_window("25:00-01:00", s, e));
  CHECK_FALSE(parse_window("0100-0200", s, e));
}

TEST_CASE("verdicts use the seed's words") {
  ReplicaReport r;
  r.name = "db05";
  r.server_id = 5;
  r.address = "127.0.0.1:33065";
  r.state = ReplicaState::Inconsistent;
  r.inconsistent = {{"app.t", 1}};
  CHECK(r.verdict_text() ==
        "Replication replica db05 (server_id 5) on 127.0.0.1:33065 is inconsistent. Requires "
        "rebuild: app.t (1 chunk)");
  r.inconsistent = {{"app.nulls", 1}, {"app.t", 3}};
  CHECK(r.verdict_text() ==
        "Replication replica db05 (server_id 5) on 127.0.0.1:33065 is inconsistent. Requires "
        "rebuild: app.nulls (1 chunk), app.t (3 chunks)");
  r.state = ReplicaState::Consistent;
  CHECK(r.verdict_text() ==
        "Replication replica db05 (server_id 5) on 127.0.0.1:33065 is consistent");
}

TEST_CASE("report JSON for the admin endpoint") {
  Report rep;
  rep.writer = "db01";
  rep.complete = true;
  ReplicaReport r;
  r.name = "db03";
  r.state = ReplicaState::Inconsistent;
  r.inconsistent = {{"app.t", 1}};
  rep.replicas.push_back(r);
  rep.skipped.push_back({"app.big_nopk", "no key"});
  const auto j = to_json(rep);
  CHECK(j["writer"] == "db01");
  CHECK(j["replicas"][0]["state"] == "inconsistent");
  CHECK(j["replicas"][0]["requires_rebuild"] == true);
  CHECK(j["replicas"][0]["inconsistent"][0]["table"] == "app.t");
  CHECK(j["skipped"][0]["reason"] == "no key");
  Progress p;
  p.tables_done = 2;
  p.tables_total = 4;
  CHECK(to_json(p)["tables_total"] == 4);
}

namespace {
const char* kCluster = R"(
cluster:
  masters: [db01]
  servers:
    - {name: db01, address: "127.0.0.1:33061"}
)";
config::Config parse(const std::string& consistency) {
  return config::parse_config(std::string(kCluster) + consistency, "test");
}
}  // namespace

TEST_CASE("consistency configuration section") {
  const auto c = parse(R"(
consistency:
  enabled: true
  window: "01:00-05:00"
  databases: {include: [app], exclude: [tmp]}
  tables: {exclude: [app.big]}
  chunk_time_ms: 250
  max_lag_s: 2.5
  max_threads_running: 10
  on_inconsistent: flag
  schema_table: percona.checksums
)");
  const auto& k = c.consistency;
  CHECK(k.enabled);
  CHECK(k.window == "01:00-05:00");
  CHECK(k.include_databases == std::vector<std::string>{"app"});
  CHECK(k.exclude_databases == std::vector<std::string>{"tmp"});
  CHECK(k.exclude_tables == std::vector<std::string>{"app.big"});
  CHECK(k.chunk_time_ms == 250);
  CHECK(k.max_lag_s == 2.5);
  CHECK(k.max_threads_running == 10);
  CHECK_FALSE(k.drain_on_inconsistent);
  CHECK(k.schema_table == "percona.checksums");

  const auto d = parse("");
  CHECK_FALSE(d.consistency.enabled);
  CHECK(d.consistency.chunk_time_ms == 500);
  CHECK(d.consistency.max_lag_s == 1.0);
  CHECK(d.consistency.drain_on_inconsistent);
  CHECK(d.consistency.schema_table == "myspoa.checksums");
}

TEST_CASE("consistency configuration errors name the key") {
  auto err = [](const std::string& y) {
    try {
      parse(y);
    } catch (const config::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(err("consistency: {intervl_s: 5}").find("consistency.intervl_s: unknown key") == 0);
  CHECK(err("consistency: {window: '1:00-2:00'}").find("consistency.window") == 0);
  CHECK(err("consistency: {on_inconsistent: kill}").find("consistency.on_inconsistent") == 0);
  CHECK(err("consistency: {enabled: true}").find("consistency.enabled") == 0);
  CHECK(err("consistency: {schema_table: checksums}").find("consistency.schema_table") == 0);
  CHECK(err("consistency: {databases: {only: [a]}}").find("consistency.databases.only") == 0);
  CHECK(err("consistency: {interval_s: 60, window: '01:00-02:00'}").find("consistency.window") ==
        0);
}

TEST_CASE("anything thrown inside a run fails that run with a message, not the process") {
  ChecksumRunner runner(parse(""), []() -> WriterInfo { throw std::runtime_error("board gone"); });
  std::atomic<bool> cancel{false};
  Report r;
  REQUIRE_NOTHROW(r = runner.run(cancel));
  CHECK_FALSE(r.complete);
  CHECK(r.error == "internal error, run abandoned: board gone");
  CHECK_FALSE(runner.progress().running);
  CHECK_FALSE(runner.has_resume_point());
}

namespace {
config::Config single_writer_at(int port) {
  return config::parse_config(R"(
mysql: {connect_timeout_ms: 300}
cluster:
  masters: [db01]
  servers:
    - {name: db01, address: "127.0.0.1:)" +
                                  std::to_string(port) + "\"}\n",
                              "test");
}
}  // namespace

TEST_CASE("a writer that accepts but never answers fails the run after connect_timeout_ms") {
  // A listening socket nobody serves: the kernel completes the handshake, no greeting follows.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 4) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const int port = ntohs(addr.sin_port);
  ChecksumRunner runner(single_writer_at(port), [] {
    return WriterInfo{std::string("db01"), "healthy"};
  });
  std::atomic<bool> cancel{false};
  const auto r = runner.run(cancel);
  ::close(fd);
  CHECK_FALSE(r.complete);
  CHECK(r.error ==
        "connect to 127.0.0.1:" + std::to_string(port) + ": connect timeout after 300 ms");
  CHECK(r.seconds < 3);
}

TEST_CASE("a writer that cannot be reached fails the run with the address") {
  // Port 1 on loopback: nothing listens there, the connection is refused at once.
  const auto cfg = single_writer_at(1);
  ChecksumRunner runner(cfg, [] { return WriterInfo{std::string("db01"), "healthy"}; });
  std::atomic<bool> cancel{false};
  const auto r = runner.run(cancel);
  CHECK_FALSE(r.complete);
  CHECK(r.error.find("connect to 127.0.0.1:1: ") == 0);
  CHECK(r.seconds < 5);
}
