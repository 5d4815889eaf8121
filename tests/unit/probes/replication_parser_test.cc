// Parser tests on recorded result sets: MariaDB 10.11 from the lab, MySQL 8.0/8.4 by hand.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "probes/hysteresis.h"
#include "probes/replication_parser.h"

using namespace myspoa::probes;

namespace {

ResultSet load(const std::string& name) {
  std::ifstream in(std::string(MYSPOA_TEST_DATA_DIR) + "/" + name);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_vertical_text(ss.str());
}

ReplicationStatus replica(const std::string& file) {
  auto p = parse_replication_status(load(file));
  INFO(p.error);
  REQUIRE(p.ok());
  REQUIRE(p.value.has_value());
  return *p.value;
}

}  // namespace

TEST_CASE("vertical text: rows, NULL, empty values, comments") {
  auto rs = parse_vertical_text(
      "# comment\n*** 1. row ***\n  A: x: y\n  B: NULL\n  C: \n*** 2. row ***\n  A: 2\n  B: b\n  "
      "C: c\n");
  REQUIRE(rs.columns == std::vector<std::string>{"A", "B", "C"});
  REQUIRE(rs.rows.size() == 2);
  CHECK(rs.rows[0][0] == "x: y");
  CHECK_FALSE(rs.rows[0][1].has_value());
  CHECK(rs.rows[0][2] == "");
  CHECK(rs.rows[1][2] == "c");
  CHECK(parse_vertical_text("# nothing\n").rows.empty());
}

TEST_CASE("MariaDB 10.11 healthy replica") {
  auto s = replica("mariadb-10.11-show-slave-status-healthy.txt");
  CHECK(s.io_running);
  CHECK(s.sql_running);
  CHECK(s.io_state == "Yes");
  REQUIRE(s.seconds_behind.has_value());
  CHECK(*s.seconds_behind == 0);
  CHECK(s.master_host == "127.0.0.1");
  CHECK(s.master_port > 0);
  CHECK(s.master_server_id == 1);
  CHECK(s.master_log_file.find("db01-bin.") == 0);
  CHECK(s.read_master_log_pos > 0);
  CHECK(s.relay_log_applied());
  CHECK_FALSE(s.gtid_io_pos.empty());
  // SHOW SLAVE STATUS has no Gtid_Slave_Pos in 10.11 (only SHOW ALL SLAVES STATUS): the engine
  // takes the executed set from @@gtid_slave_pos in the variables row.
  CHECK(s.executed_gtid_set.empty());
  CHECK(s.sql_delay == 0);
  CHECK(s.last_io_errno == 0);
}

TEST_CASE("MariaDB 10.11 stopped replication: both threads No, lag NULL") {
  auto s = replica("mariadb-10.11-show-slave-status-stopped.txt");
  CHECK_FALSE(s.io_running);
  CHECK_FALSE(s.sql_running);
  CHECK_FALSE(s.seconds_behind.has_value());  // NULL is broken, never 0
}

TEST_CASE("MariaDB 10.11 SQL error") {
  auto s = replica("mariadb-10.11-show-slave-status-sql-error.txt");
  CHECK(s.io_running);
  CHECK_FALSE(s.sql_running);
  CHECK(s.last_sql_errno == 1062);
  CHECK(s.last_sql_error.find("Duplicate entry") != std::string::npos);
  CHECK_FALSE(s.seconds_behind.has_value());
}

TEST_CASE("MariaDB 10.11 master down: IO Connecting") {
  auto s = replica("mariadb-10.11-show-slave-status-master-down.txt");
  CHECK_FALSE(s.io_running);
  CHECK(s.io_state == "Connecting");
  CHECK(s.sql_running);
  CHECK(s.last_io_errno == 2003);
  CHECK_FALSE(s.seconds_behind.has_value());
}

TEST_CASE("MariaDB 10.11 delayed replica") {
  auto s = replica("mariadb-10.11-show-slave-status-delayed.txt");
  CHECK(s.sql_delay == 3);
  REQUIRE(s.seconds_behind.has_value());
  CHECK(*s.seconds_behind >= 1);
}

TEST_CASE("empty result: not a replica") {
  for (auto f : {"mariadb-10.11-show-slave-status-not-replica.txt",
                 "mysql-8.4-show-replica-status-not-replica.txt"}) {
    auto p = parse_replication_status(load(f));
    CHECK(p.ok());
    CHECK_FALSE(p.value.has_value());
  }
}

TEST_CASE("MySQL 8.0 SHOW REPLICA STATUS (Source_* / Replica_* names)") {
  auto s = replica("mysql-8.0-show-replica-status-healthy.txt");
  CHECK(s.io_running);
  CHECK(s.sql_running);
  CHECK(s.seconds_behind == 0);
  CHECK(s.master_port == 33061);
  CHECK(s.master_server_id == 1);
  CHECK(s.master_log_file == "binlog.000003");
  CHECK(s.relay_master_log_file == "binlog.000003");
  CHECK(s.read_master_log_pos == 4711);
  CHECK(s.exec_master_log_pos == 4711);
  CHECK(s.relay_log_applied());
  CHECK(s.gtid_io_pos == "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42");
  CHECK(s.executed_gtid_set == "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42");

  auto e = replica("mysql-8.0-show-replica-status-sql-error.txt");
  CHECK_FALSE(e.sql_running);
  CHECK(e.last_sql_errno == 1062);
  CHECK_FALSE(e.seconds_behind.has_value());
  CHECK_FALSE(e.relay_log_applied());
}

TEST_CASE("MySQL 8.4 delayed and reconnecting replicas") {
  auto d = replica("mysql-8.4-show-replica-status-delayed.txt");
  CHECK(d.sql_delay == 3);
  CHECK(d.seconds_behind == 3);
  auto c = replica("mysql-8.4-show-replica-status-io-connecting.txt");
  CHECK_FALSE(c.io_running);
  CHECK(c.io_state == "Connecting");
  CHECK(c.last_io_errno == 2003);
}

TEST_CASE("missing required columns and bad numbers are errors") {
  ResultSet rs;
  rs.columns = {"Slave_IO_Running"};
  rs.rows = {{std::string("Yes")}};
  CHECK_FALSE(parse_replication_status(rs).ok());
  rs.columns = {"Slave_IO_Running", "Slave_SQL_Running", "Seconds_Behind_Master"};
  rs.rows = {{std::string("Yes"), std::string("Yes"), std::string("12x")}};
  auto p = parse_replication_status(rs);
  CHECK_FALSE(p.ok());
  CHECK(p.error.find("Seconds_Behind_Master") != std::string::npos);
}

TEST_CASE("server variables: MariaDB has no super_read_only, MySQL does") {
  ProbeResult r;
  CHECK(parse_server_variables(load("mariadb-10.11-variables.txt"), r).empty());
  CHECK(r.server_id == 3);
  CHECK(r.read_only);
  CHECK_FALSE(r.super_read_only.has_value());
  CHECK(r.version.find("MariaDB") != std::string::npos);

  ProbeResult m;
  CHECK(parse_server_variables(load("mysql-8.0-variables-super-read-only.txt"), m).empty());
  CHECK(m.server_id == 3);
  REQUIRE(m.super_read_only.has_value());
  CHECK(*m.super_read_only);

  ProbeResult bad;
  CHECK_FALSE(parse_server_variables(ResultSet{}, bad).empty());
}

TEST_CASE("server flavor picks the statements") {
  auto maria = parse_server_flavor("10.11.19-MariaDB-0+deb12u1-log");
  CHECK(maria.mariadb);
  CHECK(maria.major == 10);
  CHECK(maria.minor == 11);
  CHECK_FALSE(maria.has_super_read_only());
  CHECK(probe_statements(maria).find("SHOW SLAVE STATUS") != std::string::npos);
  CHECK(parse_server_flavor("5.5.5-10.6.12-MariaDB").major == 10);

  auto old8 = parse_server_flavor("8.0.21");
  CHECK_FALSE(old8.mariadb);
  CHECK_FALSE(old8.has_show_replica_status());
  CHECK(probe_statements(old8).find("SHOW SLAVE STATUS") != std::string::npos);
  CHECK(probe_statements(old8).find("super_read_only") != std::string::npos);

  auto new8 = parse_server_flavor("8.0.22");
  CHECK(new8.has_show_replica_status());
  CHECK(probe_statements(new8).find("SHOW REPLICA STATUS") != std::string::npos);
  CHECK(parse_server_flavor("8.4.3").has_show_replica_status());
  // Unknown (not connected yet): MariaDB-safe statements are not chosen blindly for MySQL 8.4,
  // but an empty version parses as 0.0.0 MySQL, which uses SHOW SLAVE STATUS (valid until 8.4).
  CHECK_FALSE(parse_server_flavor("").has_show_replica_status());
}

TEST_CASE("classification of recorded statuses") {
  ProbeResult r;
  r.ok = true;
  r.replication = replica("mariadb-10.11-show-slave-status-sql-error.txt");
  auto o = classify_replication(r, 5.0);
  CHECK(o.health == ReplHealth::Broken);
  CHECK(o.why.find("Slave_SQL_Running=No") != std::string::npos);
  CHECK(o.why.find("Last_SQL_Error=") != std::string::npos);

  r.replication = replica("mariadb-10.11-show-slave-status-delayed.txt");
  CHECK(classify_replication(r, 1.0).health == ReplHealth::Lagging);
  CHECK(classify_replication(r, 60.0).health == ReplHealth::Ok);
  r.heartbeat_lag_s = 0.2;  // heartbeat wins over Seconds_Behind_Master
  CHECK(classify_replication(r, 1.0).health == ReplHealth::Ok);
}
