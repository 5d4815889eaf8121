#include "consistency/table_plan.h"

#include <algorithm>
#include <map>

namespace myspoa::consistency {
namespace {

std::string where(const std::string& db, const std::string& table) {
  return " WHERE TABLE_SCHEMA = " + quote_string(db) + " AND TABLE_NAME = " + quote_string(table);
}

}  // namespace

std::string table_columns_query(const std::string& db, const std::string& table) {
  return "SELECT COLUMN_NAME, IS_NULLABLE FROM information_schema.COLUMNS" + where(db, table) +
         " ORDER BY ORDINAL_POSITION";
}

std::string table_keys_query(const std::string& db, const std::string& table) {
  return "SELECT INDEX_NAME, COLUMN_NAME, NULLABLE, NON_UNIQUE FROM information_schema.STATISTICS" +
         where(db, table) + " ORDER BY INDEX_NAME, SEQ_IN_INDEX";
}

probes::Parsed<TablePlan> plan_table(const std::string& db, const std::string& table,
                                     const probes::ResultSet& columns,
                                     const probes::ResultSet& keys) {
  probes::Parsed<TablePlan> out;
  auto& plan = out.value;
  plan.db = db;
  plan.table = table;
  const int name = columns.column({"COLUMN_NAME"}), nullable = columns.column({"IS_NULLABLE"});
  if (!columns.rows.empty() && (name < 0 || nullable < 0)) {
    out.error = "columns of " + plan.name() + ": COLUMN_NAME or IS_NULLABLE missing";
    return out;
  }
  for (const auto& row : columns.rows) {
    if (row.size() <= static_cast<size_t>(std::max(name, nullable)) || !row[name]) {
      out.error = "columns of " + plan.name() + ": a column without a name";
      return out;
    }
    plan.columns.push_back({*row[name], row[nullable] == "YES"});
  }

  const int index = keys.column({"INDEX_NAME"}), column = keys.column({"COLUMN_NAME"}),
            key_nullable = keys.column({"NULLABLE"}), non_unique = keys.column({"NON_UNIQUE"});
  if (!keys.rows.empty() && (index < 0 || column < 0 || key_nullable < 0 || non_unique < 0)) {
    out.error =
        "keys of " + plan.name() + ": INDEX_NAME, COLUMN_NAME, NULLABLE or NON_UNIQUE missing";
    return out;
  }
  // A key is usable when it is unique ("0") and none of its columns can be NULL; anything else
  // the server says (including text we do not understand) makes it unusable, never an error.
  std::map<std::string, std::vector<std::string>> usable;
  std::map<std::string, bool> bad;
  const auto width = static_cast<size_t>(std::max({index, column, key_nullable, non_unique}));
  for (const auto& row : keys.rows) {
    if (row.size() <= width || !row[index] || !row[column]) {
      out.error = "keys of " + plan.name() + ": a key column without a name";
      return out;
    }
    if (row[non_unique] != "0" || row[key_nullable] == "YES") bad[*row[index]] = true;
    usable[*row[index]].push_back(*row[column]);
  }
  for (const auto& [key, cols] : usable) {  // by name: ties go to the first name
    if (bad[key]) continue;
    const bool better = plan.index.empty() || key == "PRIMARY" ||
                        (plan.index != "PRIMARY" && cols.size() < plan.index_columns.size());
    if (!better) continue;
    plan.index = key;
    plan.index_columns = cols;
    if (key == "PRIMARY") break;
  }
  return out;
}

std::string count_rows_query(const std::string& db, const std::string& table, int64_t max_rows) {
  return "SELECT COUNT(*) AS n FROM (SELECT 1 FROM " + quote_ident(db) + "." + quote_ident(table) +
         " LIMIT " + std::to_string(max_rows + 1) + ") x";
}

std::string unkeyed_skip_reason(int64_t rows, int64_t max_rows) {
  if (rows <= max_rows) return "";
  return "no primary or NOT NULL unique key and more than " + std::to_string(max_rows) +
         " rows: cannot be chunked";
}

int64_t next_chunk_rows(int64_t current, int64_t rows, double seconds, const ChunkSizing& sizing) {
  if (!(seconds > 0) || rows <= 0) return current;
  const double wanted = static_cast<double>(rows) / seconds * sizing.target_s;
  // Clamp in double first: a tiny `seconds` must not overflow the conversion.
  const double bounded =
      std::clamp(wanted, static_cast<double>(current / 4), static_cast<double>(current) * 4);
  return std::clamp(static_cast<int64_t>(bounded), sizing.min_rows, sizing.max_rows);
}

}  // namespace myspoa::consistency
