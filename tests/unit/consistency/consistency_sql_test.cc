// SQL generation of the pt-table-checksum algorithm: exact text, since the text is the contract
// with pt-table-checksum (same CRC expression, same checksum table, same differences query).
#include <catch2/catch.hpp>

#include "consistency/checksum_sql.h"

using namespace myspoa::consistency;

TEST_CASE("identifiers and strings are quoted") {
  CHECK(quote_ident("t") == "`t`");
  CHECK(quote_ident("we`ird") == "`we``ird`");
  CHECK(quote_string("it's") == "'it\\'s'");
  CHECK(quote_string("a\\b\nc") == "'a\\\\b\\nc'");
  CHECK(quote_string(std::string("x\0y", 3)) == "'x\\0y'");
}

TEST_CASE("row CRC is NULL-safe exactly like pt-table-checksum") {
  const std::vector<Column> cols{{"id", false}, {"a", true}, {"b", true}};
  CHECK(row_crc_expression(cols) ==
        "CRC32(CONCAT_WS('#', `id`, `a`, `b`, CONCAT(ISNULL(`a`), ISNULL(`b`))))");
  CHECK(chunk_aggregates(cols) ==
        "COUNT(*), COALESCE(LOWER(CONV(BIT_XOR(CAST(CRC32(CONCAT_WS('#', `id`, `a`, `b`, "
        "CONCAT(ISNULL(`a`), ISNULL(`b`)))) AS UNSIGNED)), 10, 16)), 0)");
}

TEST_CASE("row CRC without nullable columns has no ISNULL suffix") {
  CHECK(row_crc_expression({{"id", false}, {"c", false}}) == "CRC32(CONCAT_WS('#', `id`, `c`))");
}

TEST_CASE("chunk boundaries over a single-column key") {
  const std::vector<std::string> k{"id"};
  CHECK(chunk_where(k, std::nullopt, std::nullopt) == "1=1");
  CHECK(chunk_where(k, std::nullopt, KeyValue{"1000"}) == "(`id` <= '1000')");
  CHECK(chunk_where(k, KeyValue{"1000"}, KeyValue{"5000"}) ==
        "(`id` > '1000') AND (`id` <= '5000')");
  CHECK(chunk_where(k, KeyValue{"5000"}, std::nullopt) == "(`id` > '5000')");
}

TEST_CASE("chunk boundaries over a composite key are expanded for the range optimizer") {
  const std::vector<std::string> k{"a", "b"};
  CHECK(key_greater(k, {"1", "x"}) == "((`a` > '1') OR (`a` = '1' AND `b` > 'x'))");
  CHECK(key_at_most(k, {"2", "y"}) == "((`a` < '2') OR (`a` = '2' AND `b` <= 'y'))");
  const std::vector<std::string> k3{"a", "b", "c"};
  CHECK(key_greater(k3, {"1", "2", "3"}) ==
        "((`a` > '1') OR (`a` = '1' AND `b` > '2') OR (`a` = '1' AND `b` = '2' AND `c` > '3'))");
  CHECK_THROWS(key_greater(k3, {"1"}));
}

TEST_CASE("next boundary query takes the rows-th key after the lower boundary") {
  CHECK(next_boundary_query("app", "t", "PRIMARY", {"id"}, std::nullopt, 1000) ==
        "SELECT `id` FROM `app`.`t` FORCE INDEX(`PRIMARY`) ORDER BY `id` LIMIT 999, 1");
  CHECK(next_boundary_query("app", "t", "PRIMARY", {"id"}, KeyValue{"1000"}, 4000) ==
        "SELECT `id` FROM `app`.`t` FORCE INDEX(`PRIMARY`) WHERE (`id` > '1000') ORDER BY `id` "
        "LIMIT 3999, 1");
}

TEST_CASE("REPLACE ... SELECT stores the chunk like pt-table-checksum") {
  ChunkId c{"app", "t", 2, "PRIMARY", {"id"}, KeyValue{"1000"}, KeyValue{"5000"}};
  CHECK(
      replace_chunk("myspoa.checksums", c, {{"id", false}, {"c", false}}) ==
      "REPLACE INTO `myspoa`.`checksums` (db, tbl, chunk, chunk_index, lower_boundary, "
      "upper_boundary, this_cnt, this_crc) SELECT 'app', 't', 2, 'PRIMARY', '1000', '5000', "
      "COUNT(*), COALESCE(LOWER(CONV(BIT_XOR(CAST(CRC32(CONCAT_WS('#', `id`, `c`)) AS UNSIGNED)), "
      "10, 16)), 0) FROM `app`.`t` FORCE INDEX(`PRIMARY`) WHERE (`id` > '1000') AND (`id` <= "
      "'5000')");
  ChunkId whole{"app", "nopk", 1, "", {}, std::nullopt, std::nullopt};
  const auto q = replace_chunk("myspoa.checksums", whole, {{"a", true}});
  CHECK(q.find("SELECT 'app', 'nopk', 1, NULL, NULL, NULL, COUNT(*)") != std::string::npos);
  CHECK(q.find("FORCE INDEX") == std::string::npos);
  CHECK(q.substr(q.size() - 27) == "FROM `app`.`nopk` WHERE 1=1");
}

TEST_CASE("master values and the differences query") {
  ChunkId c{"app", "t", 3, "PRIMARY", {"id"}, std::nullopt, std::nullopt};
  CHECK(update_master("myspoa.checksums", c, 16000, "1a2b", 0.25) ==
        "UPDATE `myspoa`.`checksums` SET chunk_time = 0.250000, master_crc = '1a2b', master_cnt = "
        "16000 WHERE db = 'app' AND tbl = 't' AND chunk = 3");
  const auto d = differences_query("percona.checksums", "app", "t");
  CHECK(
      d.find("FROM `percona`.`checksums` WHERE (master_cnt <> this_cnt OR master_crc <> "
             "this_crc OR ISNULL(master_crc) <> ISNULL(this_crc)) AND db = 'app' AND tbl = 't'") !=
      std::string::npos);
}

TEST_CASE("checksum table has the percona.checksums columns") {
  const auto t = create_checksum_table("myspoa.checksums");
  for (const char* col : {"db ", "tbl ", "chunk ", "chunk_time ", "chunk_index ", "lower_boundary ",
                          "upper_boundary ", "this_crc ", "this_cnt ", "master_crc ", "master_cnt ",
                          "ts ", "PRIMARY KEY (db, tbl, chunk)"})
    CHECK(t.find(col) != std::string::npos);
  CHECK(split_schema_table("percona.checksums") ==
        std::make_pair(std::string("percona"), std::string("checksums")));
}

TEST_CASE("include and exclude of databases and tables") {
  TableFilter f;
  CHECK(f.wanted("app", "t"));
  for (const char* sys : {"mysql", "information_schema", "performance_schema", "sys", "myspoa"})
    CHECK_FALSE(f.wanted(sys, "x"));
  f.checksum_schema = "ops";
  CHECK_FALSE(f.wanted("ops", "checksums"));
  f.include_databases = {"app*"};
  CHECK(f.wanted("app", "t"));
  CHECK(f.wanted("app2", "t"));
  CHECK_FALSE(f.wanted("other", "t"));
  f.exclude_tables = {"app.no*"};
  CHECK_FALSE(f.wanted("app", "nopk"));
  CHECK(f.wanted("app", "nulls"));
  f.include_tables = {"app.t", "app2.*"};
  CHECK(f.wanted("app", "t"));
  CHECK_FALSE(f.wanted("app", "nulls"));
  CHECK(f.wanted("app2", "x"));
  f.exclude_databases = {"app2"};
  CHECK_FALSE(f.wanted("app2", "x"));
  // System schemas stay excluded even when included explicitly.
  TableFilter g;
  g.include_databases = {"*"};
  CHECK_FALSE(g.wanted("mysql", "user"));
}

TEST_CASE("glob matching") {
  CHECK(glob_match("*", ""));
  CHECK(glob_match("a*c", "abbbc"));
  CHECK(glob_match("a*b*c", "axxbyyc"));
  CHECK_FALSE(glob_match("a*c", "abd"));
  CHECK_FALSE(glob_match("abc", "ab"));
  CHECK(glob_match("app.*", "app.t"));
}
