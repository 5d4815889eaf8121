// The consistency checker on the real lab. Honours MYSPOA_LAB_DIR / MYSPOA_LAB_PORT_BASE like
// labctl; brings the lab up when needed. Every fault injected here is repaired before the test
// case ends (labctl repair, or the inverse statement with sql_log_bin=0).
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <thread>

#include "consistency/checksum_runner.h"
#include "consistency/consistency_scheduler.h"
#include "tests/bench/consistency/lab_config.h"

using namespace myspoa;
using namespace myspoa::consistency;

namespace {

int labctl(const std::string& args) {
  const std::string cmd = std::string(MYSPOA_LABCTL) + " " + args + " >/dev/null 2>&1";
  return std::system(cmd.c_str());
}

// Silent change on one server (not replicated).
int silent_sql(const std::string& db, const std::string& sql) {
  return labctl("sql " + db + " \"SET SESSION sql_log_bin=0; " + sql + "\"");
}

struct Lab {
  Lab() {
    spdlog::set_level(spdlog::level::warn);
    REQUIRE(labctl("up --mysql-only") == 0);
    REQUIRE(labctl("wait-repl 60") == 0);
    // Leftovers of an interrupted earlier run.
    for (const char* db : {"db02", "db03", "db04", "db05"}) labctl(std::string("repair ") + db);
  }
};

Report run_once(config::Config cfg, const std::string& writer = "db01",
                const std::string& scenario = "healthy") {
  ChecksumRunner runner(std::move(cfg), [&] { return WriterInfo{writer, scenario}; });
  std::atomic<bool> cancel{false};
  return runner.run(cancel);
}

std::map<std::string, std::string> states(const Report& r) {
  std::map<std::string, std::string> out;
  for (const auto& x : r.replicas) out[x.name] = to_string(x.state);
  return out;
}

const std::map<std::string, std::string> kAllConsistent{
    {"db02", "consistent"}, {"db03", "consistent"}, {"db04", "consistent"}, {"db05", "consistent"}};

std::map<std::string, std::string> all_but(const std::string& bad) {
  auto m = kAllConsistent;
  m[bad] = "inconsistent";
  return m;
}

std::string findings(const Report& r, const std::string& replica) {
  std::string out;
  for (const auto& t : r.find(replica)->inconsistent)
    out += (out.empty() ? "" : ",") + t.table + ":" + std::to_string(t.chunks);
  return out;
}

}  // namespace

TEST_CASE("clean lab: every replica consistent, every app table checked", "[lab]") {
  Lab lab;
  const auto r = run_once(lab::lab_config());
  INFO(to_json(r).dump(2));
  REQUIRE(r.complete);
  CHECK(r.error.empty());
  CHECK(states(r) == kAllConsistent);
  CHECK(r.tables_checked >= 3);     // t, nopk, nulls (+ writes)
  CHECK(r.rows_checked >= 102000);  // 100,000 + 1,000 + 1,000
  CHECK(r.skipped.empty());         // app.nopk (1,000 rows, no key) is checksummed whole
  CHECK(r.chunks > 3);              // app.t is walked in several chunks
  CHECK(r.find("db02")->method == "checksum-table");
  CHECK(r.find("db05")->method == "direct");
  CHECK(r.find("db05")->master == "db02");
}

TEST_CASE("corrupt db03: exactly db03 and app.t reported; repair clears it", "[lab]") {
  Lab lab;
  REQUIRE(labctl("corrupt db03 4242") == 0);
  std::map<std::string, bool> verdicts;
  ConsistencyScheduler sched(
      lab::lab_config(),
      [] {
        return WriterInfo{std::string("db01"), "healthy"};
      },
      [&](const std::string& server, bool inconsistent) { verdicts[server] = inconsistent; });
  REQUIRE(sched.run_now().empty());
  CHECK_FALSE(sched.run_now().empty());  // one run at a time
  REQUIRE(sched.wait_idle(std::chrono::seconds(120)));
  auto r = *sched.last_report();
  INFO(to_json(r).dump(2));
  CHECK(r.complete);
  CHECK(states(r) == all_but("db03"));
  CHECK(findings(r, "db03") == "app.t:1");
  CHECK(r.find("db03")->verdict_text() ==
        "Replication replica db03 (server_id 3) on 127.0.0.1:" +
            std::to_string(lab::port_base() + 3) +
            " is inconsistent. Requires rebuild: app.t (1 chunk)");
  // The callback drives the drain: db03 out, the others confirmed.
  CHECK(verdicts == std::map<std::string, bool>{
                        {"db02", false}, {"db03", true}, {"db04", false}, {"db05", false}});
  CHECK(sched.verdicts().at("db03") == "inconsistent");

  REQUIRE(labctl("repair db03") == 0);
  REQUIRE(sched.run_now().empty());
  REQUIRE(sched.wait_idle(std::chrono::seconds(120)));
  r = *sched.last_report();
  INFO(to_json(r).dump(2));
  CHECK(states(r) == kAllConsistent);
  CHECK(verdicts.at("db03") == false);
}

TEST_CASE("corrupt db05 under the passive master: found, although its checksum table agrees",
          "[lab]") {
  Lab lab;
  REQUIRE(labctl("corrupt db05 77777") == 0);
  auto r = run_once(lab::lab_config());
  INFO(to_json(r).dump(2));
  CHECK(r.complete);
  CHECK(states(r) == all_but("db05"));
  CHECK(findings(r, "db05") == "app.t:1");
  // What pt-table-checksum would conclude from db05's checksum table: no difference.
  CHECK(r.find("db05")->checksum_table_view.empty());

  REQUIRE(labctl("repair db05") == 0);
  r = run_once(lab::lab_config());
  INFO(to_json(r).dump(2));
  CHECK(states(r) == kAllConsistent);
}

TEST_CASE("NULL-safe CRC: a NULL turned into '' is drift (app.nulls)", "[lab]") {
  Lab lab;
  // id 5: b is NULL (every 5th row).
  REQUIRE(silent_sql("db04", "UPDATE app.nulls SET b='' WHERE id=5 AND b IS NULL") == 0);
  auto r = run_once(lab::lab_config());
  REQUIRE(silent_sql("db04", "UPDATE app.nulls SET b=NULL WHERE id=5") == 0);
  INFO(to_json(r).dump(2));
  CHECK(states(r) == all_but("db04"));
  CHECK(findings(r, "db04") == "app.nulls:1");
  r = run_once(lab::lab_config());
  CHECK(states(r) == kAllConsistent);
}

TEST_CASE("table without a primary key: checksummed whole, drift found (app.nopk)", "[lab]") {
  Lab lab;
  REQUIRE(silent_sql("db02", "INSERT INTO app.nopk VALUES (424242, 'extra')") == 0);
  auto r = run_once(lab::lab_config());
  REQUIRE(silent_sql("db02", "DELETE FROM app.nopk WHERE a=424242") == 0);
  INFO(to_json(r).dump(2));
  CHECK(states(r) == all_but("db02"));
  CHECK(findings(r, "db02") == "app.nopk:1");

  // Above the whole-table limit, a table without a key is skipped and said so.
  RunnerOptions small;
  small.unindexed_max_rows = 500;
  ChecksumRunner runner(
      lab::lab_config(),
      [] {
        return WriterInfo{std::string("db01"), "healthy"};
      },
      small);
  std::atomic<bool> cancel{false};
  r = runner.run(cancel);
  REQUIRE(r.skipped.size() == 1);
  CHECK(r.skipped[0].table == "app.nopk");
  CHECK(r.skipped[0].reason.find("no primary") != std::string::npos);
  CHECK(states(r) == kAllConsistent);
}

TEST_CASE("cancel, then resume where it stopped", "[lab]") {
  Lab lab;
  REQUIRE(labctl("corrupt db04 99990") == 0);  // in app.t's last chunks
  auto cfg = lab::lab_config();
  cfg.consistency.chunk_time_ms = 5;  // many small chunks: something to cancel
  cfg.consistency.include_tables = {"app.t"};
  ConsistencyScheduler sched(
      cfg,
      [] {
        return WriterInfo{std::string("db01"), "healthy"};
      },
      nullptr);
  REQUIRE(sched.run_now().empty());
  for (int i = 0; i < 2000 && sched.progress().rows_done == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(sched.cancel());
  REQUIRE(sched.wait_idle(std::chrono::seconds(60)));
  auto first = *sched.last_report();
  INFO(to_json(first).dump(2));
  CHECK(first.cancelled);
  CHECK_FALSE(first.complete);
  CHECK(first.rows_checked > 0);
  CHECK(first.rows_checked < 100000);
  CHECK(sched.to_json()["resume_pending"] == true);

  REQUIRE(sched.run_now().empty());
  REQUIRE(sched.wait_idle(std::chrono::seconds(120)));
  auto second = *sched.last_report();
  INFO(to_json(second).dump(2));
  REQUIRE(labctl("repair db04") == 0);
  CHECK(second.resumed);
  CHECK(second.complete);
  CHECK(second.rows_checked == 100000);  // every row once across both runs
  CHECK(states(second) == all_but("db04"));
  CHECK(findings(second, "db04") == "app.t:1");
}

TEST_CASE("never on a replica, never in split brain or without a writer", "[lab]") {
  Lab lab;
  auto r = run_once(lab::lab_config(), "db01", "split-brain");
  CHECK_FALSE(r.complete);
  CHECK(r.error.find("split-brain") != std::string::npos);
  r = run_once(lab::lab_config(), "db03");
  CHECK_FALSE(r.complete);
  CHECK(r.error.find("replica") != std::string::npos);
  // A master with read_only=1 is not the writer, whatever the caller says. Both lab masters are
  // writable, so db02 is made read_only for this check and given back afterwards.
  const std::string labctl = MYSPOA_LABCTL;
  REQUIRE(std::system((labctl + " sql db02 \"SET GLOBAL read_only=1\" >/dev/null").c_str()) == 0);
  r = run_once(lab::lab_config(), "db02");
  CHECK(std::system((labctl + " sql db02 \"SET GLOBAL read_only=0\" >/dev/null").c_str()) == 0);
  CHECK_FALSE(r.complete);
  CHECK(r.error.find("read_only") != std::string::npos);
  ChecksumRunner none(lab::lab_config(), [] {
    return WriterInfo{std::nullopt, "both-masters-down"};
  });
  std::atomic<bool> cancel{false};
  r = none.run(cancel);
  CHECK(r.error.find("refused") != std::string::npos);
}

TEST_CASE("replication filters on a replica are reported, not ignored", "[lab]") {
  Lab lab;
  REQUIRE(
      labctl("sql db04 \"STOP SLAVE; SET GLOBAL replicate_ignore_db='scratch'; START SLAVE\"") ==
      0);
  auto r = run_once(lab::lab_config());
  REQUIRE(labctl("sql db04 \"STOP SLAVE; SET GLOBAL replicate_ignore_db=''; START SLAVE\"") == 0);
  INFO(to_json(r).dump(2));
  REQUIRE(r.find("db04"));
  CHECK(r.find("db04")->state == ReplicaState::Error);
  REQUIRE_FALSE(r.find("db04")->errors.empty());
  CHECK(r.find("db04")->errors[0].find("Replicate_Ignore_DB=scratch") != std::string::npos);
  CHECK(r.find("db03")->state == ReplicaState::Consistent);
}

TEST_CASE("a malformed value from a server fails the run with a message, the process lives",
          "[lab]") {
  Lab lab;
  // A checksum table whose this_cnt is text, rewritten by a trigger: the writer's chunk count
  // reads back as 'n/a:<count>'. Before the readers checked server text, std::stoll threw on the
  // scheduler's thread and terminated the whole agent.
  const std::string ddl =
      "DROP TABLE IF EXISTS myspoa.bad_checksums; CREATE DATABASE IF NOT EXISTS myspoa; "
      "CREATE TABLE myspoa.bad_checksums ("
      "db CHAR(64) NOT NULL, tbl CHAR(64) NOT NULL, chunk INT NOT NULL, chunk_time FLOAT NULL, "
      "chunk_index VARCHAR(200) NULL, lower_boundary TEXT NULL, upper_boundary TEXT NULL, "
      "this_crc CHAR(40) NOT NULL, this_cnt VARCHAR(40) NOT NULL, master_crc CHAR(40) NULL, "
      "master_cnt INT NULL, ts TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, "
      "PRIMARY KEY (db, tbl, chunk)) ENGINE=InnoDB; CREATE TRIGGER myspoa.bad_cnt BEFORE INSERT "
      "ON myspoa.bad_checksums FOR EACH ROW SET NEW.this_cnt = CONCAT('n/a:', NEW.this_cnt)";
  REQUIRE(labctl("sql db01 \"" + ddl + "\"") == 0);
  auto cfg = lab::lab_config();
  cfg.consistency.schema_table = "myspoa.bad_checksums";
  cfg.consistency.include_tables = {"app.nulls"};
  const WriterSource db01 = [] { return WriterInfo{std::string("db01"), "healthy"}; };
  ConsistencyScheduler sched(cfg, db01, nullptr);
  REQUIRE(sched.run_now().empty());
  REQUIRE(sched.wait_idle(std::chrono::seconds(120)));
  const auto r = *sched.last_report();
  CHECK(labctl("sql db01 \"DROP TABLE myspoa.bad_checksums\"") == 0);
  INFO(to_json(r).dump(2));
  CHECK_FALSE(r.complete);
  CHECK(r.error.find("this_cnt: not a whole number: 'n/a:") != std::string::npos);
}
