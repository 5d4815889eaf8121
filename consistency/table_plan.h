// How one table is checksummed: its columns, the key it is walked by (PRIMARY, else the smallest
// unique key without nullable columns, else none: the table is checksummed whole), and the size
// of the next chunk. Pure: built from information_schema result sets, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "consistency/checksum_sql.h"
#include "probes/replication_parser.h"

namespace myspoa::consistency {

struct TablePlan {
  std::string db, table;
  std::vector<Column> columns;
  std::string index;  // "" when checksummed whole
  std::vector<std::string> index_columns;

  std::string name() const { return db + "." + table; }
  bool whole() const { return index.empty(); }
};

// The two information_schema queries plan_table() reads.
std::string table_columns_query(const std::string& db, const std::string& table);
std::string table_keys_query(const std::string& db, const std::string& table);

// columns: COLUMN_NAME, IS_NULLABLE rows in ORDINAL_POSITION order. keys: INDEX_NAME,
// COLUMN_NAME, NULLABLE, NON_UNIQUE rows in SEQ_IN_INDEX order. No columns at all is not an
// error (the table was dropped meanwhile): the plan has no columns.
probes::Parsed<TablePlan> plan_table(const std::string& db, const std::string& table,
                                     const probes::ResultSet& columns,
                                     const probes::ResultSet& keys);

// Counts at most max_rows + 1 rows of a table without a usable key.
std::string count_rows_query(const std::string& db, const std::string& table, int64_t max_rows);
// Why such a table is skipped ("" when it is small enough to checksum whole).
std::string unkeyed_skip_reason(int64_t rows, int64_t max_rows);

// pt-table-checksum's chunk sizing: the next chunk should take `target_s` at the rate this one
// ran (`rows` in `seconds`), moving at most 4x either way per chunk, within [min_rows, max_rows].
// A chunk without rows or time keeps the current size.
struct ChunkSizing {
  int64_t initial_rows = 1000;
  int64_t min_rows = 100;
  int64_t max_rows = 2'000'000;
  double target_s = 0.5;
};
int64_t next_chunk_rows(int64_t current, int64_t rows, double seconds, const ChunkSizing& sizing);

}  // namespace myspoa::consistency
