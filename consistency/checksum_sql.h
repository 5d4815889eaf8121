// SQL text of the pt-table-checksum algorithm: the NULL-safe per-row CRC, chunk boundaries over an
// index, the REPLACE ... SELECT that stores a chunk's checksum, the differences query and the
// checksum table's schema (compatible with percona.checksums). Pure functions: no I/O, no MYSQL*.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace myspoa::consistency {

// One column of a checksummed table (from information_schema.COLUMNS).
struct Column {
  std::string name;
  bool nullable = false;
};

// A key value of the chunking index: one (possibly NULL-free) string per index column.
using KeyValue = std::vector<std::string>;

// `name` with backticks doubled.
std::string quote_ident(const std::string& name);
// 'text' with \, ', NUL, newline... escaped the way MySQL string literals expect.
std::string quote_string(const std::string& text);

// The NULL-safe per-row expression pt-table-checksum uses:
// CRC32(CONCAT_WS('#', `a`, `b`, CONCAT(ISNULL(`a`), ISNULL(`b`)))) — CONCAT_WS skips NULLs,
// the ISNULL suffix tells NULL apart from '' and from a shifted column.
std::string row_crc_expression(const std::vector<Column>& columns);
// COUNT(*), COALESCE(LOWER(CONV(BIT_XOR(CAST(<row crc> AS UNSIGNED)), 10, 16)), 0)
std::string chunk_aggregates(const std::vector<Column>& columns);

// Tuple comparisons of the index columns with a key, written out as pt does
// ((`a` > 'x') OR (`a` = 'x' AND `b` > 'y')) so the range optimizer uses the index.
std::string key_greater(const std::vector<std::string>& index_columns, const KeyValue& value);
std::string key_at_most(const std::vector<std::string>& index_columns, const KeyValue& value);

// The chunk: rows with index key in (lower, upper]. No lower: from the first row; no upper: to
// the end. Both absent: the whole table. Returns "1=1" for the whole table.
std::string chunk_where(const std::vector<std::string>& index_columns,
                        const std::optional<KeyValue>& lower, const std::optional<KeyValue>& upper);

// SELECT of the upper boundary of a chunk of `rows` rows starting after `lower`: the key of the
// rows-th row, or no row when fewer than `rows` remain (the chunk is then the last one).
std::string next_boundary_query(const std::string& db, const std::string& table,
                                const std::string& index, const std::vector<std::string>& cols,
                                const std::optional<KeyValue>& lower, long rows);

// Boundary text as stored in lower_boundary/upper_boundary: values joined by ','.
std::string boundary_text(const std::optional<KeyValue>& key);

struct ChunkId {
  std::string db, table;
  int chunk = 0;
  std::string index;  // chunk_index; "" when the table is checksummed whole
  std::vector<std::string> index_columns;
  std::optional<KeyValue> lower, upper;
};

// REPLACE INTO <cs> (db, tbl, chunk, chunk_index, lower_boundary, upper_boundary, this_cnt,
// this_crc) SELECT ..., COUNT(*), <crc> FROM `db`.`tbl` [FORCE INDEX] WHERE <chunk>
std::string replace_chunk(const std::string& checksum_table, const ChunkId& c,
                          const std::vector<Column>& columns);
// SELECT COUNT(*), <crc> FROM ... WHERE <chunk>: the same checksum without writing anything.
std::string select_chunk(const ChunkId& c, const std::vector<Column>& columns);
// Reads back this_cnt, this_crc of a chunk.
std::string read_chunk(const std::string& checksum_table, const ChunkId& c);
// Records the writer's own values in master_cnt/master_crc and the chunk's time.
std::string update_master(const std::string& checksum_table, const ChunkId& c, long cnt,
                          const std::string& crc, double chunk_time_s);
// pt-table-checksum's differences query, for one table (or every table when db is empty).
std::string differences_query(const std::string& checksum_table, const std::string& db,
                              const std::string& table);
// Removes a table's old chunks on the writer before a new run (replicated).
std::string delete_table_chunks(const std::string& checksum_table, const std::string& db,
                                const std::string& table);
// CREATE TABLE IF NOT EXISTS, the percona.checksums layout.
std::string create_checksum_table(const std::string& checksum_table);
// "myspoa.checksums" -> "`myspoa`.`checksums`"; {"myspoa", "checksums"}
std::string qualified(const std::string& schema_table);
std::pair<std::string, std::string> split_schema_table(const std::string& schema_table);

// Database/table selection: system schemas and the checksum schema are always excluded; an empty
// include list means everything; '*' in a pattern matches any characters; tables are "db.tbl".
struct TableFilter {
  std::vector<std::string> include_databases, exclude_databases, include_tables, exclude_tables;
  std::string checksum_schema = "myspoa";
  bool database_wanted(const std::string& db) const;
  bool wanted(const std::string& db, const std::string& table) const;
};
bool glob_match(const std::string& pattern, const std::string& text);

}  // namespace myspoa::consistency
