// Readers of the values a run takes from server result sets. The text comes from a server, so
// nothing here trusts it: a missing column, a NULL where a number is due or "12abc" is an error
// value naming the column and the text, never an exception (the consistency thread shares the
// routing agent's process). Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "consistency/checksum_sql.h"
#include "probes/mysql_client.h"
#include "probes/replication_parser.h"

namespace myspoa::consistency {

using probes::Parsed;
using probes::ResultSet;

// The result set of a single statement (an empty one when it had none).
const ResultSet& result_of(const probes::QueryOutcome& q);

// parse(result_of(q)) when the statement succeeded, else its error as the same kind of value.
template <typename Parse>
auto parse_outcome(const probes::QueryOutcome& q, Parse parse) -> decltype(parse(result_of(q))) {
  if (q.ok) return parse(result_of(q));
  decltype(parse(result_of(q))) out;
  out.error = q.error.empty() ? "query failed" : q.error;
  return out;
}

// Whole decimal number (optional leading '-'); nothing else. `what` names it in the error.
Parsed<int64_t> parse_int(const std::optional<std::string>& text, std::string_view what);

// The first row's value of `column` (case-insensitive); nullopt when absent, NULL or no row.
std::optional<std::string> first_value(const ResultSet& rs, std::string_view column);
// parse_int() of first_value(): an absent or NULL value is an error too.
Parsed<int64_t> first_int(const ResultSet& rs, std::string_view column);

// A chunk's row count and CRC: the first two columns of the first row (SELECT COUNT(*), <crc>,
// or this_cnt, this_crc read back from the checksum table).
struct ChunkChecksum {
  int64_t cnt = 0;
  std::string crc;
};
Parsed<ChunkChecksum> parse_chunk_checksum(const ResultSet& rs);

// The `chunk` column of pt-table-checksum's differences query: the chunks that differ.
Parsed<std::set<int>> parse_difference_chunks(const ResultSet& rs);

// SHOW [GLOBAL] STATUS LIKE ...: the value of `variable` (Variable_name, Value rows).
std::optional<std::string> status_value(const ResultSet& rs, std::string_view variable);

// SHOW STATUS LIKE 'binlog_snapshot_%' inside a consistent snapshot: where the snapshot is.
struct BinlogSnapshot {
  std::string file;
  uint64_t position = 0;
};
Parsed<BinlogSnapshot> parse_binlog_snapshot(const ResultSet& rs);

// TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS of information_schema.TABLES: the tables `filter` wants
// and their estimated rows (TABLE_ROWS NULL counts 0).
struct TableList {
  std::vector<std::pair<std::string, std::string>> tables;
  int64_t rows_estimated = 0;
};
std::string table_list_query();
Parsed<TableList> parse_table_list(const ResultSet& rs, const TableFilter& filter);

}  // namespace myspoa::consistency
