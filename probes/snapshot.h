// What the agent knows about every MySQL server: one immutable Snapshot per probe round, published
// atomically by the probe engine and read without locks by the policy and the admin endpoint.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace myspoa::probes {

// One row of SHOW SLAVE STATUS / SHOW REPLICA STATUS, normalised over MariaDB and MySQL 8 names.
struct ReplicationStatus {
  bool io_running = false;                // Slave_IO_Running / Replica_IO_Running == "Yes"
  bool sql_running = false;               // Slave_SQL_Running / Replica_SQL_Running == "Yes"
  std::string io_state;                   // raw value ("Yes", "No", "Connecting")
  std::optional<int64_t> seconds_behind;  // NULL means broken, never 0
  std::string master_host;                // Master_Host / Source_Host
  int master_port = 0;
  int64_t master_server_id = 0;
  std::string last_io_error;
  std::string last_sql_error;
  int last_io_errno = 0;
  int last_sql_errno = 0;
  // Read vs executed positions: the relay log is fully applied when these match.
  std::string master_log_file;        // Master_Log_File / Source_Log_File (read)
  uint64_t read_master_log_pos = 0;   // Read_Master_Log_Pos / Read_Source_Log_Pos
  std::string relay_master_log_file;  // Relay_Master_Log_File / Relay_Source_Log_File (executed)
  uint64_t exec_master_log_pos = 0;   // Exec_Master_Log_Pos / Exec_Source_Log_Pos
  std::string gtid_io_pos;            // MariaDB Gtid_IO_Pos / MySQL Retrieved_Gtid_Set
  std::string executed_gtid_set;      // MySQL Executed_Gtid_Set / MariaDB @@gtid_slave_pos
  uint64_t sql_delay = 0;             // SQL_Delay

  bool relay_log_applied() const {
    return master_log_file == relay_master_log_file && read_master_log_pos == exec_master_log_pos;
  }
};

// The raw result of one probe of one server.
struct ProbeResult {
  bool ok = false;    // connected and the liveness query answered within its deadline
  std::string error;  // why not ok ("connect timeout after 300 ms", "Access denied ...")
  int64_t at_ms = 0;  // steady-clock time of the probe's end
  int64_t latency_us = 0;
  bool read_only = false;
  std::optional<bool> super_read_only;  // absent on MariaDB
  int64_t server_id = 0;
  std::string version;
  std::optional<ReplicationStatus> replication;  // absent: not a replica
  std::optional<double> heartbeat_lag_s;         // when heartbeat is enabled and readable
};

enum class Liveness : uint8_t { Unknown, Up, Down };
// Replication health, after rise/fall. NotReplica: no replication configured on this server.
enum class ReplHealth : uint8_t { Unknown, Ok, Broken, Lagging, NotReplica };

inline const char* to_string(Liveness v) {
  switch (v) {
    case Liveness::Up:
      return "up";
    case Liveness::Down:
      return "down";
    default:
      return "unknown";
  }
}
inline const char* to_string(ReplHealth v) {
  switch (v) {
    case ReplHealth::Ok:
      return "ok";
    case ReplHealth::Broken:
      return "broken";
    case ReplHealth::Lagging:
      return "lagging";
    case ReplHealth::NotReplica:
      return "not-replica";
    default:
      return "unknown";
  }
}

// A server's state after hysteresis (rise/fall consecutive results), plus its last raw probe.
struct ServerState {
  std::string name;
  Liveness liveness = Liveness::Unknown;
  ReplHealth replication = ReplHealth::Unknown;
  std::optional<double> lag_s;  // heartbeat lag when available, else Seconds_Behind_Master
  std::string why;              // reason of the last transition ("Slave_SQL_Running=No, ...")
  int64_t changed_at_ms = 0;    // when liveness or replication last changed
  uint32_t transitions = 0;     // count of state changes since start (for flap damping)
  uint32_t probes = 0;          // probes completed since start
  bool flapping = false;        // held Down by flap damping (mysql.flap_threshold); why says so
  // Liveness after rise/fall but ignoring a flap hold: equals `liveness` unless flapping. The
  // policy lets a held master that answers well take writes when every master is held.
  Liveness probed = Liveness::Unknown;
  uint32_t ok_streak = 0;  // consecutive successful probes up to the last one (0 after a failure)
  // Replica confirmation (issue 12): steady ms of the last probe that saw this server's IO thread
  // connected (Slave_IO_Running=Yes) with its read position (Read_Master_Log_Pos, Gtid_IO_Pos)
  // moved since the probe before; 0 when never seen.
  int64_t io_progress_at_ms = 0;
  ProbeResult last;

  bool up() const { return liveness == Liveness::Up; }
  bool replicating() const { return replication == ReplHealth::Ok; }
};

// Cooperating agents (cluster.cooperation: majority, issue 12). The probe engine keeps one extra
// "lock" connection per server and tries GET_LOCK('<lock_prefix>.primary', 0) on it every round;
// the agent holding it on more than half of ALL configured servers is the primary. A lost
// connection releases its lock by itself, so a dead or cut-off agent loses its locks at once.
struct CoordinationState {
  bool enabled = false;          // cluster.cooperation == majority
  int locks_held = 0;            // servers on which this agent holds <prefix>.primary
  int locks_held_elsewhere = 0;  // servers where another connection holds it (IS_USED_LOCK)
  int servers = 0;               // configured servers (ALL of them, up or not)
  bool primary = false;          // locks_held * 2 > servers
  int64_t primary_since_ms = 0;  // steady ms when it became primary; 0 when not primary
  std::string primary_name;      // best effort: agent.name of the primary when known, else ""
  // Role for humans and decide(): "primary"; "secondary" when another connection holds the lock
  // on a majority (another agent is primary); "none" otherwise (tie, no majority).
  const char* role() const {
    if (primary) return "primary";
    return locks_held_elsewhere * 2 > servers ? "secondary" : "none";
  }
};

struct Snapshot {
  uint64_t round = 0;                // increments every probe round
  bool complete = false;             // every server has reached a known liveness at least once
  int64_t taken_at_ms = 0;           // steady clock
  std::vector<ServerState> servers;  // same order as config.cluster.servers
  CoordinationState coordination;    // enabled=false in standalone mode

  const ServerState* find(const std::string& name) const {
    for (const auto& s : servers)
      if (s.name == name) return &s;
    return nullptr;
  }
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace myspoa::probes
