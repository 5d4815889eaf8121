#include "consistency/checksum_sql.h"

#include <cstdio>
#include <stdexcept>

namespace myspoa::consistency {

std::string quote_ident(const std::string& name) {
  std::string out = "`";
  for (char ch : name) {
    if (ch == '`') out += '`';
    out += ch;
  }
  return out + "`";
}

std::string quote_string(const std::string& text) {
  std::string out = "'";
  for (char ch : text) {
    switch (ch) {
      case '\0':
        out += "\\0";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\x1a':
        out += "\\Z";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      default:
        out += ch;
    }
  }
  return out + "'";
}

std::string row_crc_expression(const std::vector<Column>& columns) {
  std::string concat = "CONCAT_WS('#'";
  std::string nulls;
  for (const auto& c : columns) {
    concat += ", " + quote_ident(c.name);
    if (c.nullable) nulls += (nulls.empty() ? "" : ", ") + ("ISNULL(" + quote_ident(c.name) + ")");
  }
  if (!nulls.empty()) concat += ", CONCAT(" + nulls + ")";
  return "CRC32(" + concat + "))";
}

std::string chunk_aggregates(const std::vector<Column>& columns) {
  return "COUNT(*), COALESCE(LOWER(CONV(BIT_XOR(CAST(" + row_crc_expression(columns) +
         " AS UNSIGNED)), 10, 16)), 0)";
}

namespace {
// (c0 op0 v0) OR (c0 = v0 AND c1 op1 v1) ...; `last_op` applies to the last column only.
std::string key_compare(const std::vector<std::string>& cols, const KeyValue& v, const char* op,
                        const char* last_op) {
  if (cols.empty() || cols.size() != v.size())
    throw std::invalid_argument("key value does not match the index columns");
  std::string out;
  for (size_t i = 0; i < cols.size(); ++i) {
    std::string term;
    for (size_t j = 0; j < i; ++j)
      term += quote_ident(cols[j]) + " = " + quote_string(v[j]) + " AND ";
    term += quote_ident(cols[i]) + " " + (i + 1 == cols.size() ? last_op : op) + " " +
            quote_string(v[i]);
    out += (i ? " OR (" : "(") + term + ")";
  }
  return cols.size() == 1 ? out : "(" + out + ")";
}
}  // namespace

std::string key_greater(const std::vector<std::string>& cols, const KeyValue& v) {
  return key_compare(cols, v, ">", ">");
}
std::string key_at_most(const std::vector<std::string>& cols, const KeyValue& v) {
  return key_compare(cols, v, "<", "<=");
}

std::string chunk_where(const std::vector<std::string>& cols, const std::optional<KeyValue>& lower,
                        const std::optional<KeyValue>& upper) {
  if (lower && upper) return key_greater(cols, *lower) + " AND " + key_at_most(cols, *upper);
  if (lower) return key_greater(cols, *lower);
  if (upper) return key_at_most(cols, *upper);
  return "1=1";
}

namespace {
std::string column_list(const std::vector<std::string>& cols, const char* suffix = "") {
  std::string out;
  for (const auto& c : cols) out += (out.empty() ? "" : ", ") + quote_ident(c) + suffix;
  return out;
}
std::string from_clause(const std::string& db, const std::string& table, const std::string& index) {
  std::string out = " FROM " + quote_ident(db) + "." + quote_ident(table);
  if (!index.empty()) out += " FORCE INDEX(" + quote_ident(index) + ")";
  return out;
}
std::string chunk_filter(const std::string& db, const std::string& tbl, int chunk) {
  return " WHERE db = " + quote_string(db) + " AND tbl = " + quote_string(tbl) +
         " AND chunk = " + std::to_string(chunk);
}
}  // namespace

std::string next_boundary_query(const std::string& db, const std::string& table,
                                const std::string& index, const std::vector<std::string>& cols,
                                const std::optional<KeyValue>& lower, long rows) {
  std::string q = "SELECT " + column_list(cols) + from_clause(db, table, index);
  if (lower) q += " WHERE " + key_greater(cols, *lower);
  q += " ORDER BY " + column_list(cols) + " LIMIT " + std::to_string(rows > 0 ? rows - 1 : 0) +
       ", 1";
  return q;
}

std::string boundary_text(const std::optional<KeyValue>& key) {
  if (!key) return "";
  std::string out;
  for (size_t i = 0; i < key->size(); ++i) out += (i ? "," : "") + (*key)[i];
  return out;
}

std::string replace_chunk(const std::string& checksum_table, const ChunkId& c,
                          const std::vector<Column>& columns) {
  return "REPLACE INTO " + qualified(checksum_table) +
         " (db, tbl, chunk, chunk_index, lower_boundary, upper_boundary, this_cnt, this_crc) "
         "SELECT " +
         quote_string(c.db) + ", " + quote_string(c.table) + ", " + std::to_string(c.chunk) + ", " +
         (c.index.empty() ? std::string("NULL") : quote_string(c.index)) + ", " +
         (c.lower ? quote_string(boundary_text(c.lower)) : std::string("NULL")) + ", " +
         (c.upper ? quote_string(boundary_text(c.upper)) : std::string("NULL")) + ", " +
         select_chunk(c, columns).substr(7);  // drop the leading "SELECT "
}

std::string select_chunk(const ChunkId& c, const std::vector<Column>& columns) {
  const auto where = chunk_where(c.index_columns, c.lower, c.upper);
  return "SELECT " + chunk_aggregates(columns) + from_clause(c.db, c.table, c.index) + " WHERE " +
         where;
}

std::string read_chunk(const std::string& checksum_table, const ChunkId& c) {
  return "SELECT this_cnt, this_crc FROM " + qualified(checksum_table) +
         chunk_filter(c.db, c.table, c.chunk);
}

std::string update_master(const std::string& checksum_table, const ChunkId& c, long cnt,
                          const std::string& crc, double chunk_time_s) {
  char t[32];
  std::snprintf(t, sizeof t, "%.6f", chunk_time_s);
  return "UPDATE " + qualified(checksum_table) + " SET chunk_time = " + t +
         ", master_crc = " + quote_string(crc) + ", master_cnt = " + std::to_string(cnt) +
         chunk_filter(c.db, c.table, c.chunk);
}

std::string differences_query(const std::string& checksum_table, const std::string& db,
                              const std::string& table) {
  std::string q =
      "SELECT db, tbl, chunk, this_cnt, master_cnt, this_crc, master_crc, chunk_index, "
      "lower_boundary, upper_boundary FROM " +
      qualified(checksum_table) +
      " WHERE (master_cnt <> this_cnt OR master_crc <> this_crc OR ISNULL(master_crc) <> "
      "ISNULL(this_crc))";
  if (!db.empty()) q += " AND db = " + quote_string(db) + " AND tbl = " + quote_string(table);
  return q + " ORDER BY db, tbl, chunk";
}

std::string delete_table_chunks(const std::string& checksum_table, const std::string& db,
                                const std::string& table) {
  return "DELETE FROM " + qualified(checksum_table) + " WHERE db = " + quote_string(db) +
         " AND tbl = " + quote_string(table);
}

std::string create_checksum_table(const std::string& checksum_table) {
  return "CREATE TABLE IF NOT EXISTS " + qualified(checksum_table) +
         " (\n"
         "  db             CHAR(64)     NOT NULL,\n"
         "  tbl            CHAR(64)     NOT NULL,\n"
         "  chunk          INT          NOT NULL,\n"
         "  chunk_time     FLOAT            NULL,\n"
         "  chunk_index    VARCHAR(200)     NULL,\n"
         "  lower_boundary TEXT             NULL,\n"
         "  upper_boundary TEXT             NULL,\n"
         "  this_crc       CHAR(40)     NOT NULL,\n"
         "  this_cnt       INT          NOT NULL,\n"
         "  master_crc     CHAR(40)         NULL,\n"
         "  master_cnt     INT              NULL,\n"
         "  ts             TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE "
         "CURRENT_TIMESTAMP,\n"
         "  PRIMARY KEY (db, tbl, chunk),\n"
         "  INDEX ts_db_tbl (ts, db, tbl)\n"
         ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
}

std::pair<std::string, std::string> split_schema_table(const std::string& schema_table) {
  const auto dot = schema_table.find('.');
  if (dot == std::string::npos) return {"myspoa", schema_table};
  return {schema_table.substr(0, dot), schema_table.substr(dot + 1)};
}

std::string qualified(const std::string& schema_table) {
  const auto [s, t] = split_schema_table(schema_table);
  return quote_ident(s) + "." + quote_ident(t);
}

bool glob_match(const std::string& pattern, const std::string& text) {
  // Iterative '*' matching with one backtrack point: linear enough for names.
  size_t p = 0, t = 0, star = std::string::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {
bool any_match(const std::vector<std::string>& patterns, const std::string& text) {
  for (const auto& p : patterns)
    if (glob_match(p, text)) return true;
  return false;
}
}  // namespace

bool TableFilter::database_wanted(const std::string& db) const {
  static const char* kSystem[] = {"mysql", "information_schema", "performance_schema", "sys"};
  for (const char* s : kSystem)
    if (db == s) return false;
  if (db == checksum_schema || db == "percona") return false;
  if (!include_databases.empty() && !any_match(include_databases, db)) return false;
  return !any_match(exclude_databases, db);
}

bool TableFilter::wanted(const std::string& db, const std::string& table) const {
  if (!database_wanted(db)) return false;
  const auto full = db + "." + table;
  if (!include_tables.empty() && !any_match(include_tables, full)) return false;
  return !any_match(exclude_tables, full);
}

}  // namespace myspoa::consistency
