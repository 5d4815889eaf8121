#include "probes/replication_parser.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace myspoa::probes {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Reads named fields of one row, remembering the first error so callers stay linear.
class RowReader {
 public:
  RowReader(const ResultSet& rs, const ResultSet::Row& row) : rs_(rs), row_(row) {}

  // nullopt when the column is absent or NULL.
  std::optional<std::string> text(std::initializer_list<std::string_view> names) const {
    int i = rs_.column(names);
    if (i < 0 || static_cast<size_t>(i) >= row_.size()) return std::nullopt;
    return row_[i];
  }
  bool has(std::initializer_list<std::string_view> names) const { return rs_.column(names) >= 0; }

  std::string str(std::initializer_list<std::string_view> names) const {
    return text(names).value_or(std::string());
  }

  template <typename Int>
  std::optional<Int> number(std::initializer_list<std::string_view> names) {
    auto t = text(names);
    if (!t) return std::nullopt;
    std::string_view v = trim(*t);
    if (v.empty()) return std::nullopt;
    Int out{};
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || p != v.data() + v.size()) {
      if (error.empty()) error = std::string(*names.begin()) + ": not a number: '" + *t + "'";
      return std::nullopt;
    }
    return out;
  }

  std::string error;

 private:
  const ResultSet& rs_;
  const ResultSet::Row& row_;
};

bool truthy(std::string_view v) {
  v = trim(v);
  return v == "1" || iequals(v, "ON") || iequals(v, "YES") || iequals(v, "TRUE");
}

}  // namespace

int ResultSet::column(std::initializer_list<std::string_view> names) const {
  for (size_t i = 0; i < columns.size(); ++i)
    for (auto n : names)
      if (iequals(columns[i], n)) return static_cast<int>(i);
  return -1;
}

Parsed<std::optional<ReplicationStatus>> parse_replication_status(const ResultSet& rs) {
  Parsed<std::optional<ReplicationStatus>> out;
  if (rs.rows.empty()) return out;  // not a replica
  // Multi-source replication would give several rows; the default connection comes first.
  RowReader r(rs, rs.rows.front());
  static constexpr std::string_view kIo[] = {"Slave_IO_Running", "Replica_IO_Running"};
  static constexpr std::string_view kSql[] = {"Slave_SQL_Running", "Replica_SQL_Running"};
  if (!r.has({kIo[0], kIo[1]}) || !r.has({kSql[0], kSql[1]}) ||
      !r.has({"Seconds_Behind_Master", "Seconds_Behind_Source"})) {
    out.error = "replication status lacks Slave_IO_Running/Slave_SQL_Running/Seconds_Behind_Master";
    return out;
  }
  ReplicationStatus s;
  s.io_state = std::string(trim(r.str({kIo[0], kIo[1]})));
  s.io_running = iequals(s.io_state, "Yes");
  s.sql_running = iequals(trim(r.str({kSql[0], kSql[1]})), "Yes");
  s.seconds_behind = r.number<int64_t>({"Seconds_Behind_Master", "Seconds_Behind_Source"});
  s.master_host = r.str({"Master_Host", "Source_Host"});
  s.master_port = r.number<int>({"Master_Port", "Source_Port"}).value_or(0);
  s.master_server_id = r.number<int64_t>({"Master_Server_Id", "Source_Server_Id"}).value_or(0);
  s.last_io_error = r.str({"Last_IO_Error"});
  s.last_sql_error = r.str({"Last_SQL_Error"});
  s.last_io_errno = r.number<int>({"Last_IO_Errno"}).value_or(0);
  s.last_sql_errno = r.number<int>({"Last_SQL_Errno"}).value_or(0);
  s.master_log_file = r.str({"Master_Log_File", "Source_Log_File"});
  s.read_master_log_pos =
      r.number<uint64_t>({"Read_Master_Log_Pos", "Read_Source_Log_Pos"}).value_or(0);
  s.relay_master_log_file = r.str({"Relay_Master_Log_File", "Relay_Source_Log_File"});
  s.exec_master_log_pos =
      r.number<uint64_t>({"Exec_Master_Log_Pos", "Exec_Source_Log_Pos"}).value_or(0);
  s.gtid_io_pos = r.str({"Gtid_IO_Pos", "Retrieved_Gtid_Set"});
  s.executed_gtid_set = r.str({"Executed_Gtid_Set", "Gtid_Slave_Pos"});
  s.sql_delay = r.number<uint64_t>({"SQL_Delay"}).value_or(0);
  if (!r.error.empty()) {
    out.error = r.error;
    return out;
  }
  out.value = std::move(s);
  return out;
}

std::string parse_server_variables(const ResultSet& rs, ProbeResult& out) {
  if (rs.rows.empty()) return "server variables: empty result";
  RowReader r(rs, rs.rows.front());
  auto id = r.number<int64_t>({"server_id", "@@server_id"});
  auto ro = r.text({"read_only", "@@read_only"});
  auto version = r.text({"version", "@@version"});
  if (!r.error.empty()) return r.error;
  if (!id || !ro || !version) return "server variables: server_id, read_only or version missing";
  out.server_id = *id;
  out.read_only = truthy(*ro);
  out.version = *version;
  if (auto sro = r.text({"super_read_only", "@@super_read_only"}))
    out.super_read_only = truthy(*sro);
  else
    out.super_read_only.reset();
  return {};
}

bool ServerFlavor::has_show_replica_status() const {
  if (mariadb) return false;  // MariaDB 10.5+ knows SHOW REPLICA STATUS but keeps Slave_* names
  return major > 8 || (major == 8 && (minor > 0 || patch >= 22));
}

ServerFlavor parse_server_flavor(std::string_view version) {
  ServerFlavor f;
  f.mariadb = version.find("MariaDB") != std::string_view::npos ||
              version.find("mariadb") != std::string_view::npos;
  // MariaDB behind old replication proxies reports "5.5.5-10.11.6-MariaDB": skip the prefix.
  if (f.mariadb && version.substr(0, 6) == "5.5.5-") version.remove_prefix(6);
  int* parts[] = {&f.major, &f.minor, &f.patch};
  const char* p = version.data();
  const char* end = version.data() + version.size();
  for (int* part : parts) {
    auto [next, ec] = std::from_chars(p, end, *part);
    if (ec != std::errc()) break;
    p = next;
    if (p == end || *p != '.') break;
    ++p;
  }
  return f;
}

std::string probe_statements(const ServerFlavor& flavor) {
  if (flavor.mariadb)
    return "SELECT @@server_id AS server_id, @@read_only AS read_only, @@version AS version, "
           "@@gtid_slave_pos AS gtid_slave_pos; SHOW SLAVE STATUS";
  std::string sql =
      "SELECT @@server_id AS server_id, @@read_only AS read_only, @@version AS version";
  if (flavor.has_super_read_only()) sql += ", @@super_read_only AS super_read_only";
  sql += flavor.has_show_replica_status() ? "; SHOW REPLICA STATUS" : "; SHOW SLAVE STATUS";
  return sql;
}

ResultSet parse_vertical_text(std::string_view text) {
  ResultSet rs;
  bool first_row_done = false;
  ResultSet::Row* row = nullptr;
  size_t col = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view t = trim(line);
    if (t.empty() || t.front() == '#') continue;
    if (t.front() == '*') {  // "*************************** 1. row ***************************"
      if (row) first_row_done = true;
      rs.rows.emplace_back();
      row = &rs.rows.back();
      col = 0;
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {  // continuation of a multi-line value
      if (row && !row->empty() && row->back()) *row->back() += "\n" + std::string(line);
      continue;
    }
    if (!row) {  // a single row without separator
      rs.rows.emplace_back();
      row = &rs.rows.back();
    }
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (!first_row_done) rs.columns.emplace_back(name);
    if (value == "NULL")
      row->push_back(std::nullopt);
    else
      row->push_back(std::string(value));
    ++col;
  }
  return rs;
}

}  // namespace myspoa::probes
