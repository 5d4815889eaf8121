// Pure parsers from MySQL / MariaDB result sets to probe values: no I/O, no MYSQL*, no clock.
// They accept both the MariaDB / pre-8.0.22 column names (Slave_*, Master_*) and the MySQL 8.0.22+
// names (Replica_*, Source_*), so the probe engine and the tests share one code path.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probes/snapshot.h"

namespace myspoa::probes {

// One result set as text: column names and rows, SQL NULL as nullopt.
struct ResultSet {
  using Row = std::vector<std::optional<std::string>>;
  std::vector<std::string> columns;
  std::vector<Row> rows;

  // Index of the first column with one of these names (case-insensitive), or -1.
  int column(std::initializer_list<std::string_view> names) const;
};

// Result of a parse: a value or an error message (errors are values on the probe path).
template <typename T>
struct Parsed {
  T value{};
  std::string error;  // empty when ok
  bool ok() const { return error.empty(); }
};

// SHOW SLAVE STATUS / SHOW REPLICA STATUS. No row: not a replica (value is nullopt).
// Seconds_Behind_* NULL stays nullopt (replication broken), it never becomes 0.
Parsed<std::optional<ReplicationStatus>> parse_replication_status(const ResultSet& rs);

// The probe's variables row (columns named server_id, read_only, version, and optionally
// super_read_only, gtid_slave_pos / gtid_executed). Fills those fields of `out`.
std::string parse_server_variables(const ResultSet& rs, ProbeResult& out);

// What the server is, from its version string ("10.11.6-MariaDB-0+deb12u1", "8.0.36").
struct ServerFlavor {
  bool mariadb = false;
  int major = 0, minor = 0, patch = 0;

  bool has_super_read_only() const { return !mariadb && major >= 5; }
  // MySQL 8.0.22 renamed SHOW SLAVE STATUS to SHOW REPLICA STATUS (Source_* / Replica_* columns).
  bool has_show_replica_status() const;
};
ServerFlavor parse_server_flavor(std::string_view version);

// The liveness + replication statements for one probe round trip (two result sets).
std::string probe_statements(const ServerFlavor& flavor);

// Recordings of `mysql -e '...\G'` output: "Column: value" lines, "NULL" for SQL NULL, the
// "*** 1. row ***" separators start rows, '#' lines are comments. An empty text is an empty set.
ResultSet parse_vertical_text(std::string_view text);

}  // namespace myspoa::probes
