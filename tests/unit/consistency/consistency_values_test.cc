// Values a run reads from servers: every reader gets well-formed rows and malformed ones (the
// text comes from a server, so "12abc", NULL, a missing column or a short row must be an error
// value naming what was wrong; before these readers, std::stoll on such text threw on the
// consistency thread and terminated the routing agent). Also the pure planning pieces: key
// choice, chunk sizing, where a replica replicates from, when to pause.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "consistency/replica_set.h"
#include "consistency/server_values.h"
#include "consistency/table_plan.h"
#include "consistency/throttle.h"

using namespace myspoa;
using namespace myspoa::consistency;
using probes::ResultSet;

namespace {

ResultSet rs(std::vector<std::string> columns, std::vector<ResultSet::Row> rows) {
  ResultSet r;
  r.columns = std::move(columns);
  r.rows = std::move(rows);
  return r;
}

std::string recorded(const std::string& name) {
  std::ifstream in(std::string(MYSPOA_TEST_DATA_DIR) + "/" + name);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// Runs a reader on malformed input: it must not throw, and must say what was wrong.
template <typename F>
std::string error_of(F&& read) {
  std::string error;
  REQUIRE_NOTHROW(error = read().error);
  return error;
}

const std::vector<std::string> kNotNumbers = {"",    "abc",  "12abc", " 12",
                                              "1.5", "0x10", "-",     "99999999999999999999"};

}  // namespace

TEST_CASE("whole numbers from server text") {
  CHECK(parse_int(std::string("42"), "n").value == 42);
  CHECK(parse_int(std::string("-7"), "n").value == -7);
  CHECK(parse_int(std::string("9223372036854775807"), "n").value == INT64_MAX);
  for (const auto& bad : kNotNumbers) {
    INFO("'" << bad << "'");
    const auto e = error_of([&] { return parse_int(bad, "this_cnt"); });
    CHECK(e.find("this_cnt: not a whole number") == 0);
  }
  CHECK(error_of([] { return parse_int(std::nullopt, "TABLE_ROWS"); }) ==
        "TABLE_ROWS: missing or NULL");
  const auto r = rs({"id", "ro"}, {{std::string("12abc"), std::string("0")}});
  CHECK(error_of([&] { return first_int(r, "id"); }) == "id: not a whole number: '12abc'");
  CHECK(error_of([&] { return first_int(r, "missing"); }) == "missing: missing or NULL");
  CHECK(error_of([] { return first_int(ResultSet{}, "id"); }) == "id: missing or NULL");
  CHECK(first_int(rs({"ID"}, {{std::string("5")}}), "id").value == 5);  // names: any case
}

TEST_CASE("a chunk's count and CRC") {
  auto ok = parse_chunk_checksum(
      rs({"this_cnt", "this_crc"}, {{std::string("1000"), std::string("5a1f")}}));
  REQUIRE(ok.ok());
  CHECK(ok.value.cnt == 1000);
  CHECK(ok.value.crc == "5a1f");
  // COUNT(*) of an empty chunk: CRC 0, never NULL (COALESCE), but a NULL CRC reads as "".
  ok = parse_chunk_checksum(rs({"c", "crc"}, {{std::string("0"), std::nullopt}}));
  REQUIRE(ok.ok());
  CHECK(ok.value.crc.empty());
  for (const auto& bad : kNotNumbers) {
    INFO("'" << bad << "'");
    CHECK(error_of([&] {
            return parse_chunk_checksum(rs({"this_cnt", "this_crc"}, {{bad, std::string("1")}}));
          }).find("this_cnt: not a whole number") == 0);
  }
  CHECK(error_of([] {
          return parse_chunk_checksum(
              rs({"this_cnt", "this_crc"}, {{std::nullopt, std::string("1")}}));
        }) == "this_cnt: missing or NULL");
  CHECK_FALSE(error_of([] {
                return parse_chunk_checksum(rs({"this_cnt"}, {{std::string("1")}}));
              }).empty());  // short row
  CHECK_FALSE(error_of([] { return parse_chunk_checksum(rs({"a", "b"}, {})); }).empty());
  CHECK_FALSE(error_of([] {
                return parse_chunk_checksum(rs({"a", "b"}, {{std::string("-1"), std::string("")}}));
              }).empty());
}

TEST_CASE("the differences query's chunks") {
  const std::vector<std::string> cols = {"db", "tbl", "chunk", "this_cnt"};
  auto ok = parse_difference_chunks(
      rs(cols, {{std::string("app"), std::string("t"), std::string("3"), std::string("1")},
                {std::string("app"), std::string("t"), std::string("7"), std::string("1")}}));
  REQUIRE(ok.ok());
  CHECK(ok.value == std::set<int>{3, 7});
  CHECK(parse_difference_chunks(rs(cols, {})).value.empty());
  for (const std::string bad : {"x", "3.0", "0", "-2", "4294967296"}) {
    INFO(bad);
    CHECK(error_of([&] {
            return parse_difference_chunks(
                rs(cols, {{std::string("app"), std::string("t"), bad, std::string("1")}}));
          }).find("chunk") == 0);
  }
  CHECK_FALSE(error_of([&] {
                return parse_difference_chunks(rs(cols, {{std::string("app")}}));  // short row
              }).empty());
  CHECK_FALSE(
      error_of([] { return parse_difference_chunks(rs({"db"}, {{std::string("app")}})); }).empty());
}

TEST_CASE("status values and the binlog snapshot") {
  const auto status = [](std::string file, std::optional<std::string> position) {
    return rs({"Variable_name", "Value"}, {{std::string("Binlog_snapshot_file"), file},
                                           {std::string("Binlog_snapshot_position"), position}});
  };
  auto ok = parse_binlog_snapshot(status("mysql-bin.000003", std::string("12345")));
  REQUIRE(ok.ok());
  CHECK(ok.value.file == "mysql-bin.000003");
  CHECK(ok.value.position == 12345);
  CHECK(error_of([&] { return parse_binlog_snapshot(status("f", std::string("12x"))); }) ==
        "Binlog_snapshot_position: not a whole number: '12x'");
  CHECK(error_of([&] { return parse_binlog_snapshot(status("f", std::nullopt)); }) ==
        "Binlog_snapshot_position: missing or NULL");
  CHECK(error_of([&] {
          return parse_binlog_snapshot(status("", std::string("4")));
        }).find("Binlog_snapshot_file") == 0);
  CHECK_FALSE(error_of([] { return parse_binlog_snapshot(ResultSet{}); }).empty());
  const auto tr =
      rs({"Variable_name", "Value"}, {{std::string("Threads_running"), std::string("3")}});
  CHECK(status_value(tr, "threads_running") == "3");
  CHECK_FALSE(status_value(tr, "Uptime"));
  CHECK_FALSE(status_value(rs({"Variable_name"}, {{std::string("Threads_running")}}),
                           "Threads_running"));  // short row: absent, not a crash
}

TEST_CASE("the table list: filtered, rows estimated, malformed estimates refused") {
  const std::vector<std::string> cols = {"TABLE_SCHEMA", "TABLE_NAME", "TABLE_ROWS"};
  TableFilter filter;
  filter.include_databases = {"app"};
  auto ok =
      parse_table_list(rs(cols, {{std::string("app"), std::string("t"), std::string("100000")},
                                 {std::string("app"), std::string("nulls"), std::nullopt},
                                 {std::string("mysql"), std::string("user"), std::string("x")},
                                 {std::string("tmp"), std::string("a"), std::string("5")}}),
                       filter);
  REQUIRE(ok.ok());
  CHECK(ok.value.tables.size() == 2);
  CHECK(ok.value.rows_estimated == 100000);  // NULL counts 0; unwanted tables are not read
  const auto e = error_of([&] {
    return parse_table_list(rs(cols, {{std::string("app"), std::string("t"), std::string("1e5")}}),
                            filter);
  });
  CHECK(e == "TABLE_ROWS of app.t: not a whole number: '1e5'");
  CHECK_FALSE(error_of([&] {
                return parse_table_list(rs(cols, {{std::string("app")}}), filter);  // short row
              }).empty());
  CHECK_FALSE(error_of([&] { return parse_table_list(rs({"TABLE_SCHEMA"}, {}), filter); }).empty());
}

TEST_CASE("key choice: PRIMARY, else the smallest NOT NULL unique key, else whole") {
  const auto columns = rs({"COLUMN_NAME", "IS_NULLABLE"}, {{std::string("id"), std::string("NO")},
                                                           {std::string("a"), std::string("NO")},
                                                           {std::string("b"), std::string("YES")}});
  const std::vector<std::string> key_cols = {"INDEX_NAME", "COLUMN_NAME", "NULLABLE", "NON_UNIQUE"};
  using R = ResultSet::Row;
  const auto key = [](const char* index, const char* column, const char* nullable,
                      const char* non_unique) {
    return R{std::string(index), std::string(column), std::string(nullable),
             std::string(non_unique)};
  };
  auto plan = [&](std::vector<R> keys) {
    auto p = plan_table("app", "t", columns, rs(key_cols, std::move(keys)));
    INFO(p.error);
    REQUIRE(p.ok());
    return p.value;
  };
  auto p = plan({key("a_b", "a", "", "0"), key("a_b", "id", "", "0"), key("PRIMARY", "id", "", "0"),
                 key("u_a", "a", "", "0")});
  CHECK(p.index == "PRIMARY");
  CHECK(p.index_columns == std::vector<std::string>{"id"});
  CHECK(p.columns.size() == 3);
  CHECK(p.columns[2].nullable);
  CHECK(p.name() == "app.t");
  p = plan({key("a_id", "a", "", "0"), key("a_id", "id", "", "0"), key("u_a", "a", "", "0")});
  CHECK(p.index == "u_a");  // fewest columns
  p = plan({key("u_b", "b", "YES", "0"), key("k_a", "a", "", "1")});
  CHECK(p.whole());  // a nullable unique key and a non-unique key are not usable
  CHECK(plan({key("u_a", "a", "", "garbage")}).whole());  // unknown text: unusable, no error
  CHECK(plan({}).whole());

  CHECK_FALSE(error_of([&] {
                return plan_table("app", "t", columns, rs(key_cols, {R{std::string("PRIMARY")}}));
              }).empty());  // short row
  CHECK_FALSE(error_of([&] {
                return plan_table(
                    "app", "t",
                    rs({"COLUMN_NAME", "IS_NULLABLE"}, {R{std::nullopt, std::string("NO")}}),
                    rs(key_cols, {}));
              }).empty());
  const auto dropped = plan_table("app", "gone", rs({}, {}), rs({}, {}));
  CHECK(dropped.ok());
  CHECK(dropped.value.columns.empty());

  CHECK(unkeyed_skip_reason(10000, 10000).empty());
  CHECK(unkeyed_skip_reason(10001, 10000).find("no primary") == 0);
}

TEST_CASE("chunk sizing follows the rate, at most 4x per chunk, within bounds") {
  const ChunkSizing s{1000, 100, 2'000'000, 0.5};
  CHECK(next_chunk_rows(1000, 1000, 0.5, s) == 1000);                 // on target
  CHECK(next_chunk_rows(1000, 1000, 0.25, s) == 2000);                // twice as fast
  CHECK(next_chunk_rows(1000, 1000, 0.001, s) == 4000);               // capped at 4x
  CHECK(next_chunk_rows(1000, 1000, 100, s) == 250);                  // at most /4
  CHECK(next_chunk_rows(200, 200, 100, s) == 100);                    // min_rows
  CHECK(next_chunk_rows(1'900'000, 1'900'000, 0.1, s) == 2'000'000);  // max_rows
  CHECK(next_chunk_rows(1000, 0, 0.5, s) == 1000);                    // empty chunk: unchanged
  CHECK(next_chunk_rows(1000, 1000, 0, s) == 1000);                   // no time measured: unchanged
  CHECK(next_chunk_rows(1000, 1000, 1e-300, s) == 4000);              // no overflow
}

TEST_CASE("where a replica replicates from, from its SHOW SLAVE STATUS") {
  std::vector<config::ServerConfig> servers(2);
  servers[0].name = "db01";
  servers[0].address = {"127.0.0.1", 34061};
  servers[1].name = "db02";
  servers[1].address = {"127.0.0.1", 34062};
  const auto healthy = recorded("mariadb-10.11-show-slave-status-healthy.txt");
  auto src = replica_source(probes::parse_vertical_text(healthy), servers, "db01");
  REQUIRE(src.ok());
  CHECK(src.value.master == "db01");
  CHECK(src.value.direct);
  CHECK(src.value.refusal.empty());
  src = replica_source(probes::parse_vertical_text(healthy), servers, "db02");
  CHECK_FALSE(src.value.direct);  // under db01 while db02 writes: checked directly

  const auto filtered = replace(healthy, "Replicate_Ignore_DB: ", "Replicate_Ignore_DB: scratch");
  src = replica_source(probes::parse_vertical_text(filtered), servers, "db01");
  REQUIRE(src.ok());
  CHECK(src.value.refusal.find("Replicate_Ignore_DB=scratch") != std::string::npos);

  const auto unknown = replace(healthy, "Master_Port: 34061", "Master_Port: 3306");
  CHECK(replica_source(probes::parse_vertical_text(unknown), servers, "db01").value.master ==
        "127.0.0.1:3306");

  const auto bad_port = replace(healthy, "Master_Port: 34061", "Master_Port: 34o61");
  CHECK(error_of([&] {
          return replica_source(probes::parse_vertical_text(bad_port), servers, "db01");
        }).find("Master_Port") != std::string::npos);
  CHECK(error_of([&] {
          return replica_source(probes::parse_vertical_text(
                                    recorded("mariadb-10.11-show-slave-status-not-replica.txt")),
                                servers, "db01");
        }).find("not replicating") == 0);
}

TEST_CASE("pause for a lagging replica or a busy writer") {
  config::ConsistencyConfig limits;
  limits.max_lag_s = 1.5;
  limits.max_threads_running = 10;
  Load load;
  load.writer = "db01";
  load.replica_lag_s = {{"db02", 0}, {"db03", std::nullopt}, {"db05", 1}};
  load.writer_threads_running = 10;
  CHECK(throttle_reason(load, limits).empty());  // at the limits; NULL lag does not pause
  load.replica_lag_s.push_back({"db04", 2});
  CHECK(throttle_reason(load, limits) == "db04 lags 2 s (max 1.5 s)");
  load.replica_lag_s.pop_back();
  load.writer_threads_running = 11;
  CHECK(throttle_reason(load, limits) == "db01 runs 11 threads (max 10)");
}
