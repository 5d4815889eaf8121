// Configuration of the agent: plain structs filled from YAML (yaml-cpp) at start-up and on reload.
// Loading throws ConfigError whose message names the offending key; nothing else here does I/O.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace myspoa::config {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string to_string() const { return host + ":" + std::to_string(port); }
};

struct AgentConfig {
  Endpoint listen{"127.0.0.1", 12345};
  int threads = 2;                  // SPOP worker threads, each with its own libev loop
  uint32_t max_frame_size = 16384;  // upper bound; the negotiated size is min(this, HAProxy's)
  std::string log_level = "info";
  // Tiny MySQL-protocol endpoint that answers refused connections with an ERR packet saying why.
  Endpoint refusal_listen{"127.0.0.1", 12346};
  // This agent's name in events, /status and coordination lock names (default: the host name).
  std::string name;
};

struct AdminConfig {
  Endpoint listen{"127.0.0.1", 9400};
  std::string token;  // required when listen is not loopback
};

struct MysqlConfig {
  std::string user = "myspoa";
  std::string password;  // resolved from password / password_file / password_env; never logged
  int connect_timeout_ms = 300;
  int query_timeout_ms = 300;
  int interval_ms = 250;
  int rise = 2;
  int fall = 2;
  double max_lag_s = 5.0;
  // Optional pt-heartbeat style lag: the agent writes a row on the writer and reads it on replicas.
  bool heartbeat = false;
  std::string heartbeat_table = "myspoa.heartbeat";
  std::string ssl_mode;  // "", "DISABLED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"
  std::string ssl_ca;
  // Flap damping: a server whose state changes more than flap_threshold times within
  // flap_window_s is held Down ("flapping") until it has been stable for flap_hold_s.
  // flap_threshold 0 disables it.
  int flap_threshold = 4;
  int flap_window_s = 60;
  int flap_hold_s = 30;
};

struct ServerConfig {
  std::string name;        // "db01"
  Endpoint address;        // MySQL address probed by the agent
  std::string backend;     // HAProxy backend that routes to this server, e.g. "be_db01"
  std::string replica_of;  // empty for masters
  int weight = 100;        // read weight before lag adjustment
};

enum class Failback { Auto, Manual };

struct ClusterConfig {
  std::vector<std::string> masters;  // order is preference: masters[0] is the active master
  std::vector<ServerConfig> servers;
  Failback failback = Failback::Auto;
  // A replica found inconsistent by the checksum runner leaves the read pool when true.
  bool drain_inconsistent = true;
  // Masters also serve reads (the seed's behaviour).
  bool masters_in_read_pool = true;
  // Before a master takes writes over from another, it must have applied every event it received
  // (relay log applied); writes are refused meanwhile, for at most this long.
  int promotion_wait_ms = 5000;
  // When a master comes back (down -> up), the writer's own replication from it needs a moment
  // to reconnect (MASTER_CONNECT_RETRY). For this long after the peer came up, the writer's
  // broken replication from it does not take writes away from the writer.
  int rejoin_grace_ms = 5000;
  // Fencing (opt-in): with Fence::ReadOnly a reachable master that writes leave gets
  // read_only=1 (and super_read_only=1 where it exists). With manage_read_only the agent also sets
  // read_only=0 on the writer (and fences every other up master), so read_only follows the writer.
  enum class Fence { None, ReadOnly };
  Fence fence = Fence::None;
  bool manage_read_only = false;
  // Several agents (one per load balancer) over the same servers. Standalone: this agent decides
  // alone (a single balancer). Majority: the agent holding GET_LOCK('<lock_prefix>.primary') on
  // more than half of all configured servers is the primary, the only one that changes read_only;
  // every agent routes writes to the one master its probes see up and writable (read_only=0).
  enum class Cooperation { Standalone, Majority };
  Cooperation cooperation = Cooperation::Standalone;
  std::string lock_prefix = "myspoa";
  // Majority mode: how long the primary holds a failover while replicas of the writer it cannot
  // reach still replicate from it (this agent's path is broken, not the master).
  int master_failure_timeout_ms = 10000;
  // Majority mode, optional: the agent.name of every cooperating agent (this one may be listed,
  // so all agents can share one file). A secondary then names the primary (/status, its refusals)
  // by matching the primary lock's holder to the peers' '<lock_prefix>.agent.<name>' locks.
  std::vector<std::string> agents;

  const ServerConfig* find(const std::string& name) const {
    for (const auto& s : servers)
      if (s.name == name) return &s;
    return nullptr;
  }
};

// Data consistency checks (consistency/): pt-table-checksum compatible chunk checksums run by the
// agent on its own thread, on a schedule and on demand.
struct ConsistencyConfig {
  bool enabled = false;  // scheduled runs; on-demand runs (admin) work either way
  int interval_s = 0;    // run every interval_s seconds (0: no interval)
  std::string window;    // or once a day inside "HH:MM-HH:MM" (local time); "" when unused
  std::vector<std::string> include_databases;  // empty: every database
  std::vector<std::string> exclude_databases;
  std::vector<std::string> include_tables;  // "db.tbl", '*' matches any characters
  std::vector<std::string> exclude_tables;
  int chunk_time_ms = 500;            // target time of one chunk on the writer
  double max_lag_s = 1.0;             // pause while a replica lags more than this
  int max_threads_running = 25;       // pause while the writer runs more threads than this
  bool drain_on_inconsistent = true;  // on_inconsistent: drain (default) | flag
  std::string schema_table = "myspoa.checksums";
};

// HAProxy runtime API (stats sockets "level admin"): used to cut the old writer's write sessions
// when writes move away from a master that is still up.
struct HaproxyConfig {
  std::vector<std::string> runtime_api;           // unix socket paths, one per HAProxy instance
  std::string write_frontend = "fe_mysql_write";  // only its sessions are cut
  int timeout_ms = 1000;                          // per socket and command
};

// Optional alert command, run (posix_spawn, own thread, bounded queue) on writer changes, split
// brain, backup mode and inconsistency with the event in MYSPOA_EVENT_* environment variables.
struct AlertsConfig {
  std::string command;    // "" disables alerts
  int timeout_ms = 5000;  // the command is killed (SIGKILL, its process group) after this
  int queue_size = 64;    // pending alerts beyond this are dropped (counted)
};

struct Config {
  AgentConfig agent;
  AdminConfig admin;
  MysqlConfig mysql;
  ClusterConfig cluster;
  ConsistencyConfig consistency;
  HaproxyConfig haproxy;
  AlertsConfig alerts;
  // Non-fatal findings of the loader (world-readable password_file...), logged at start-up.
  std::vector<std::string> warnings;
  std::string source;  // file it was loaded from, "" for the embedded default
};

// Parses and validates; throws ConfigError("cluster.servers[2].replica_of: unknown server 'db09'").
Config parse_config(const std::string& yaml_text, const std::string& source_name);
// The agent's current configuration is shared immutable: a reload publishes a new one, and
// whoever holds the old one (an admin request in flight) keeps it alive until done.
using ConfigPtr = std::shared_ptr<const Config>;

Config load_config_file(const std::string& path);

// The loopback lab's configuration (tests/lab/myspoa.yaml), built into the binary.
const char* default_config_yaml();

}  // namespace myspoa::config
