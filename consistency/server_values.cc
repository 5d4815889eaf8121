#include "consistency/server_values.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>

namespace myspoa::consistency {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

int column_index(const ResultSet& rs, std::string_view column) {
  return rs.column({column});
}

std::optional<std::string> cell(const ResultSet::Row& row, int i) {
  if (i < 0 || static_cast<size_t>(i) >= row.size()) return std::nullopt;
  return row[static_cast<size_t>(i)];
}

}  // namespace

const ResultSet& result_of(const probes::QueryOutcome& q) {
  static const ResultSet kEmpty;
  return q.results.empty() ? kEmpty : q.results.front();
}

Parsed<int64_t> parse_int(const std::optional<std::string>& text, std::string_view what) {
  Parsed<int64_t> out;
  if (!text) {
    out.error = std::string(what) + ": missing or NULL";
    return out;
  }
  const auto& t = *text;
  const char* end = t.data() + t.size();
  auto [p, ec] = std::from_chars(t.data(), end, out.value);
  if (t.empty() || ec != std::errc() || p != end)
    out.error = std::string(what) + ": not a whole number: '" + t.substr(0, 64) + "'";
  return out;
}

std::optional<std::string> first_value(const ResultSet& rs, std::string_view column) {
  if (rs.rows.empty()) return std::nullopt;
  return cell(rs.rows.front(), column_index(rs, column));
}

Parsed<int64_t> first_int(const ResultSet& rs, std::string_view column) {
  return parse_int(first_value(rs, column), column);
}

Parsed<ChunkChecksum> parse_chunk_checksum(const ResultSet& rs) {
  Parsed<ChunkChecksum> out;
  if (rs.rows.empty() || rs.rows.front().size() < 2) {
    out.error = "chunk checksum: no row with a count and a CRC";
    return out;
  }
  const auto& row = rs.rows.front();
  const auto cnt = parse_int(row[0], rs.columns.empty() ? "count" : rs.columns[0]);
  if (!cnt.ok() || cnt.value < 0) {
    out.error = cnt.ok() ? "chunk checksum: negative count" : cnt.error;
    return out;
  }
  out.value.cnt = cnt.value;
  out.value.crc = row[1].value_or("");
  return out;
}

Parsed<std::set<int>> parse_difference_chunks(const ResultSet& rs) {
  Parsed<std::set<int>> out;
  const int i = column_index(rs, "chunk");
  if (i < 0 && !rs.rows.empty()) {
    out.error = "differences query: no chunk column";
    return out;
  }
  for (const auto& row : rs.rows) {
    const auto n = parse_int(cell(row, i), "chunk");
    if (!n.ok() || n.value < 1 || n.value > INT32_MAX) {
      out.error = n.ok() ? "chunk: out of range: " + std::to_string(n.value) : n.error;
      return out;
    }
    out.value.insert(static_cast<int>(n.value));
  }
  return out;
}

std::optional<std::string> status_value(const ResultSet& rs, std::string_view variable) {
  const int name = column_index(rs, "Variable_name");
  const int value = column_index(rs, "Value");
  for (const auto& row : rs.rows) {
    const auto n = cell(row, name);
    if (n && iequals(*n, variable)) return cell(row, value);
  }
  return std::nullopt;
}

Parsed<BinlogSnapshot> parse_binlog_snapshot(const ResultSet& rs) {
  Parsed<BinlogSnapshot> out;
  const auto file = status_value(rs, "Binlog_snapshot_file");
  const auto pos =
      parse_int(status_value(rs, "Binlog_snapshot_position"), "Binlog_snapshot_position");
  if (!file || file->empty()) {
    out.error = "Binlog_snapshot_file: missing (binary log disabled?)";
    return out;
  }
  if (!pos.ok() || pos.value < 0) {
    out.error = pos.ok() ? "Binlog_snapshot_position: negative" : pos.error;
    return out;
  }
  out.value = {*file, static_cast<uint64_t>(pos.value)};
  return out;
}

std::string table_list_query() {
  return "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES "
         "WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME";
}

Parsed<TableList> parse_table_list(const ResultSet& rs, const TableFilter& filter) {
  Parsed<TableList> out;
  const int db = column_index(rs, "TABLE_SCHEMA"), table = column_index(rs, "TABLE_NAME"),
            rows = column_index(rs, "TABLE_ROWS");
  if (db < 0 || table < 0 || rows < 0) {
    out.error = "table list: TABLE_SCHEMA, TABLE_NAME or TABLE_ROWS missing";
    return out;
  }
  for (const auto& row : rs.rows) {
    const auto d = cell(row, db), t = cell(row, table);
    if (!d || !t) {
      out.error = "table list: NULL schema or table name";
      return out;
    }
    if (!filter.wanted(*d, *t)) continue;
    const auto r = cell(row, rows);
    if (r) {  // NULL: the engine keeps no estimate
      const auto n = parse_int(r, "TABLE_ROWS of " + *d + "." + *t);
      if (!n.ok()) {
        out.error = n.error;
        return out;
      }
      out.value.rows_estimated += std::max<int64_t>(0, n.value);
    }
    out.value.tables.emplace_back(*d, *t);
  }
  return out;
}

}  // namespace myspoa::consistency
