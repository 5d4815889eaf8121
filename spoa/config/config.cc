#include "spoa/config/config.h"

#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <type_traits>
#include <utility>

namespace myspoa::config {
namespace {

[[noreturn]] void fail(const std::string& key, const std::string& what) {
  throw ConfigError(key + ": " + what);
}

// Every mapping is checked against the keys it may hold, so a typo is an error, not a silent
// default.
void check_keys(const YAML::Node& node, const std::string& path, std::set<std::string> allowed) {
  if (!node.IsMap()) fail(path, "must be a mapping");
  for (const auto& kv : node) {
    const auto key = kv.first.as<std::string>();
    if (!allowed.count(key)) fail(path.empty() ? key : path + "." + key, "unknown key");
  }
}

// An integer key takes a plain decimal number that fits its type: yaml-cpp alone would read
// "010" as 8 and "0x10" as 16, which is not what a reader of the file sees.
template <typename T>
T parse_integer(const YAML::Node& node, const std::string& key) {
  const std::string text = node.IsScalar() ? node.Scalar() : std::string();
  long long v = 0;
  const char* first = text.data();
  const char* last = first + text.size();
  const auto [end, ec] = std::from_chars(first, last, v);
  if (text.empty() || ec == std::errc::invalid_argument || end != last)
    fail(key, "invalid value '" + YAML::Dump(node) + "': expected a decimal integer");
  if (ec == std::errc::result_out_of_range || !std::in_range<T>(v))
    fail(key, "value '" + text + "' out of range");
  return static_cast<T>(v);
}

// A number key is finite: ".inf" and ".nan" are valid YAML floats but no valid lag or duration.
double parse_number(const YAML::Node& node, const std::string& key) {
  double v = 0;
  try {
    v = node.as<double>();
  } catch (const YAML::Exception&) {
    fail(key, "invalid value '" + YAML::Dump(node) + "': expected a number");
  }
  if (!std::isfinite(v)) fail(key, "invalid value '" + YAML::Dump(node) + "': must be finite");
  return v;
}

template <typename T>
void read(const YAML::Node& parent, const std::string& path, const char* key, T& out) {
  const auto node = parent[key];
  if (!node) return;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    out = parse_integer<T>(node, path + "." + key);
  } else if constexpr (std::is_floating_point_v<T>) {
    out = static_cast<T>(parse_number(node, path + "." + key));
  } else {
    try {
      out = node.as<T>();
    } catch (const YAML::Exception&) {
      fail(path + "." + key, "invalid value '" + YAML::Dump(node) + "'");
    }
  }
}

Endpoint parse_endpoint(const std::string& text, const std::string& key) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    fail(key, "expected host:port, got '" + text + "'");
  Endpoint e;
  e.host = text.substr(0, colon);
  const auto port_text = text.substr(colon + 1);
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  if (*end != '\0' || port < 0 || port > 65535) fail(key, "invalid port '" + port_text + "'");
  e.port = static_cast<uint16_t>(port);
  return e;
}

void read_endpoint(const YAML::Node& parent, const std::string& path, const char* key,
                   Endpoint& out) {
  std::string text;
  read(parent, path, key, text);
  if (!text.empty()) out = parse_endpoint(text, path + "." + key);
}

std::string read_file_trimmed(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  if (!in) fail(key, "cannot read '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  auto s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string octal_mode(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

// Counts, durations and sizes: positive, and at most one day in ms, so that the products the
// agent forms from them (interval_ms * 2, timeouts in microseconds) cannot overflow an int.
constexpr int kMaxPositive = 86'400'000;

void require_positive(int v, const std::string& key) {
  if (v <= 0) fail(key, "must be > 0");
  if (v > kMaxPositive) fail(key, "must be <= " + std::to_string(kMaxPositive));
}

// A lag limit in seconds: positive and at most a day (a larger one never takes a server out).
void require_seconds(double v, const std::string& key) {
  if (!(v > 0)) fail(key, "must be > 0");
  if (v > 86'400) fail(key, "must be <= 86400");
}

void read_filter(const YAML::Node& parent, const std::string& path, const char* key,
                 std::vector<std::string>& include, std::vector<std::string>& exclude) {
  const auto node = parent[key];
  if (!node) return;
  const auto sub = path + "." + key;
  check_keys(node, sub, {"include", "exclude"});
  read(node, sub, "include", include);
  read(node, sub, "exclude", exclude);
}

bool valid_hhmm(const std::string& t) {
  if (t.size() != 5 || t[2] != ':') return false;
  for (int i : {0, 1, 3, 4})
    if (t[i] < '0' || t[i] > '9') return false;
  return std::stoi(t.substr(0, 2)) < 24 && std::stoi(t.substr(3, 2)) < 60;
}

void parse_consistency(const YAML::Node& node, ConsistencyConfig& k) {
  const std::string p = "consistency";
  check_keys(node, p,
             {"enabled", "interval_s", "window", "databases", "tables", "chunk_time_ms",
              "max_lag_s", "max_threads_running", "on_inconsistent", "schema_table"});
  read(node, p, "enabled", k.enabled);
  read(node, p, "interval_s", k.interval_s);
  read(node, p, "window", k.window);
  read_filter(node, p, "databases", k.include_databases, k.exclude_databases);
  read_filter(node, p, "tables", k.include_tables, k.exclude_tables);
  read(node, p, "chunk_time_ms", k.chunk_time_ms);
  read(node, p, "max_lag_s", k.max_lag_s);
  read(node, p, "max_threads_running", k.max_threads_running);
  read(node, p, "schema_table", k.schema_table);
  std::string on = "drain";
  read(node, p, "on_inconsistent", on);
  if (on != "drain" && on != "flag")
    fail(p + ".on_inconsistent", "must be 'drain' or 'flag', got '" + on + "'");
  k.drain_on_inconsistent = on == "drain";
  if (k.interval_s < 0) fail(p + ".interval_s", "must be >= 0");
  if (!k.window.empty()) {
    const auto dash = k.window.find('-');
    if (dash == std::string::npos || !valid_hhmm(k.window.substr(0, dash)) ||
        !valid_hhmm(k.window.substr(dash + 1)))
      fail(p + ".window", "expected \"HH:MM-HH:MM\", got '" + k.window + "'");
    if (k.interval_s > 0) fail(p + ".window", "give either interval_s or window, not both");
  }
  if (k.enabled && k.interval_s == 0 && k.window.empty())
    fail(p + ".enabled", "needs interval_s or window");
  require_positive(k.chunk_time_ms, p + ".chunk_time_ms");
  require_seconds(k.max_lag_s, p + ".max_lag_s");
  require_positive(k.max_threads_running, p + ".max_threads_running");
  const auto dot = k.schema_table.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == k.schema_table.size() ||
      k.schema_table.find('.', dot + 1) != std::string::npos ||
      k.schema_table.find('`') != std::string::npos)
    fail(p + ".schema_table", "expected schema.table, got '" + k.schema_table + "'");
}

// Cooperating agents (issue 12): agent.name, cluster.cooperation, lock_prefix,
// master_failure_timeout_ms. Lock names are `<lock_prefix>.primary` and
// `<lock_prefix>.agent.<agent.name>`; MySQL limits a lock name to 64 characters. cluster.agents
// (optional) names every cooperating agent so that a secondary can name the primary.
void parse_cooperation(const YAML::Node& root, Config& c) {
  if (const auto agent = root["agent"]) read(agent, "agent", "name", c.agent.name);
  if (c.agent.name.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) c.agent.name = host;
    if (c.agent.name.empty()) c.agent.name = "myspoa";
  }
  const auto cluster = root["cluster"];
  auto& cl = c.cluster;
  std::string mode = "standalone";
  read(cluster, "cluster", "cooperation", mode);
  if (mode == "standalone")
    cl.cooperation = ClusterConfig::Cooperation::Standalone;
  else if (mode == "majority")
    cl.cooperation = ClusterConfig::Cooperation::Majority;
  else
    fail("cluster.cooperation", "must be 'standalone' or 'majority', got '" + mode + "'");
  read(cluster, "cluster", "lock_prefix", cl.lock_prefix);
  read(cluster, "cluster", "master_failure_timeout_ms", cl.master_failure_timeout_ms);
  read(cluster, "cluster", "agents", cl.agents);
  if (cl.master_failure_timeout_ms < 0) fail("cluster.master_failure_timeout_ms", "must be >= 0");
  const auto plain = [](const std::string& s) {
    for (char ch : s)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-' && ch != '.')
        return false;
    return !s.empty();
  };
  if (!plain(cl.lock_prefix)) fail("cluster.lock_prefix", "must be non-empty [A-Za-z0-9_.-]");
  if (cl.cooperation != ClusterConfig::Cooperation::Majority) return;
  if (!plain(c.agent.name))
    fail("agent.name", "must be [A-Za-z0-9_.-] in majority mode, got '" + c.agent.name + "'");
  if (cl.lock_prefix.size() + c.agent.name.size() + 7 > 64)
    fail("agent.name", "'" + cl.lock_prefix + ".agent." + c.agent.name +
                           "' is longer than MySQL's 64-character lock names");
  std::set<std::string> agents;
  for (const auto& a : cl.agents) {
    if (!plain(a)) fail("cluster.agents", "names must be [A-Za-z0-9_.-], got '" + a + "'");
    if (cl.lock_prefix.size() + a.size() + 7 > 64)
      fail("cluster.agents", "'" + cl.lock_prefix + ".agent." + a +
                                 "' is longer than MySQL's 64-character lock names");
    if (!agents.insert(a).second) fail("cluster.agents", "duplicate agent '" + a + "'");
  }
  if (!cl.manage_read_only)
    fail("cluster.cooperation",
         "majority requires cluster.manage_read_only: true (the primary moves writes by setting "
         "read_only, and every agent routes writes only to the master with read_only=0)");
}

}  // namespace

Config parse_config(const std::string& yaml_text, const std::string& source_name) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(source_name + ": YAML syntax error: " + e.what());
  }
  if (!root.IsMap()) throw ConfigError(source_name + ": top level must be a mapping");
  check_keys(root, "", {"agent", "admin", "mysql", "cluster", "consistency", "alerts", "haproxy"});

  Config c;
  c.source = source_name;

  if (const auto agent = root["agent"]) {
    check_keys(agent, "agent",
               {"listen", "threads", "max_frame_size", "log_level", "refusal_listen", "name"});
    read_endpoint(agent, "agent", "listen", c.agent.listen);
    read_endpoint(agent, "agent", "refusal_listen", c.agent.refusal_listen);
    read(agent, "agent", "threads", c.agent.threads);
    read(agent, "agent", "max_frame_size", c.agent.max_frame_size);
    read(agent, "agent", "log_level", c.agent.log_level);
    if (c.agent.threads < 1 || c.agent.threads > 64) fail("agent.threads", "must be 1..64");
    if (c.agent.max_frame_size < 256) fail("agent.max_frame_size", "must be >= 256");
    static const std::set<std::string> levels{"trace", "debug",    "info", "warn",
                                              "error", "critical", "off"};
    if (!levels.count(c.agent.log_level))
      fail("agent.log_level", "unknown level '" + c.agent.log_level + "'");
  }

  if (const auto admin = root["admin"]) {
    check_keys(admin, "admin", {"listen", "token"});
    read_endpoint(admin, "admin", "listen", c.admin.listen);
    read(admin, "admin", "token", c.admin.token);
  }

  if (const auto mysql = root["mysql"]) {
    check_keys(mysql, "mysql",
               {"user", "password", "password_file", "password_env", "connect_timeout_ms",
                "query_timeout_ms", "interval_ms", "rise", "fall", "max_lag_s", "heartbeat",
                "heartbeat_table", "ssl_mode", "ssl_ca", "flap_threshold", "flap_window_s",
                "flap_hold_s"});
    auto& m = c.mysql;
    read(mysql, "mysql", "user", m.user);
    int sources = 0;
    if (mysql["password"]) {
      read(mysql, "mysql", "password", m.password);
      ++sources;
    }
    if (mysql["password_file"]) {
      std::string file;
      read(mysql, "mysql", "password_file", file);
      m.password = read_file_trimmed(file, "mysql.password_file");
      struct stat st {};
      if (::stat(file.c_str(), &st) == 0 && (st.st_mode & S_IROTH))
        c.warnings.push_back("mysql.password_file '" + file + "' is world-readable (mode " +
                             octal_mode(st.st_mode) + "): chmod o-r it");
      ++sources;
    }
    if (mysql["password_env"]) {
      std::string var;
      read(mysql, "mysql", "password_env", var);
      const char* v = std::getenv(var.c_str());
      if (!v) fail("mysql.password_env", "environment variable '" + var + "' is not set");
      m.password = v;
      ++sources;
    }
    if (sources > 1)
      fail("mysql.password", "give only one of password, password_file, password_env");
    read(mysql, "mysql", "connect_timeout_ms", m.connect_timeout_ms);
    read(mysql, "mysql", "query_timeout_ms", m.query_timeout_ms);
    read(mysql, "mysql", "interval_ms", m.interval_ms);
    read(mysql, "mysql", "rise", m.rise);
    read(mysql, "mysql", "fall", m.fall);
    read(mysql, "mysql", "max_lag_s", m.max_lag_s);
    read(mysql, "mysql", "heartbeat", m.heartbeat);
    read(mysql, "mysql", "heartbeat_table", m.heartbeat_table);
    read(mysql, "mysql", "ssl_mode", m.ssl_mode);
    read(mysql, "mysql", "ssl_ca", m.ssl_ca);
    read(mysql, "mysql", "flap_threshold", m.flap_threshold);
    read(mysql, "mysql", "flap_window_s", m.flap_window_s);
    read(mysql, "mysql", "flap_hold_s", m.flap_hold_s);
    if (m.flap_threshold < 0) fail("mysql.flap_threshold", "must be >= 0 (0 disables)");
    require_positive(m.flap_window_s, "mysql.flap_window_s");
    require_positive(m.flap_hold_s, "mysql.flap_hold_s");
    require_positive(m.connect_timeout_ms, "mysql.connect_timeout_ms");
    require_positive(m.query_timeout_ms, "mysql.query_timeout_ms");
    require_positive(m.interval_ms, "mysql.interval_ms");
    require_positive(m.rise, "mysql.rise");
    require_positive(m.fall, "mysql.fall");
    require_seconds(m.max_lag_s, "mysql.max_lag_s");
    static const std::set<std::string> modes{"",         "DISABLED",  "PREFERRED",
                                             "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"};
    if (!modes.count(m.ssl_mode)) fail("mysql.ssl_mode", "unknown mode '" + m.ssl_mode + "'");
  }

  const auto cluster = root["cluster"];
  if (!cluster) fail("cluster", "missing");
  check_keys(cluster, "cluster",
             {"masters", "servers", "failback", "drain_inconsistent", "masters_in_read_pool",
              "promotion_wait_ms", "rejoin_grace_ms", "fence", "manage_read_only", "cooperation",
              "lock_prefix", "master_failure_timeout_ms", "agents"});
  auto& cl = c.cluster;
  read(cluster, "cluster", "masters", cl.masters);
  read(cluster, "cluster", "drain_inconsistent", cl.drain_inconsistent);
  read(cluster, "cluster", "masters_in_read_pool", cl.masters_in_read_pool);
  read(cluster, "cluster", "promotion_wait_ms", cl.promotion_wait_ms);
  if (cl.promotion_wait_ms < 0) fail("cluster.promotion_wait_ms", "must be >= 0");
  read(cluster, "cluster", "rejoin_grace_ms", cl.rejoin_grace_ms);
  if (cl.rejoin_grace_ms < 0) fail("cluster.rejoin_grace_ms", "must be >= 0");
  std::string fence = "none";
  read(cluster, "cluster", "fence", fence);
  if (fence == "none")
    cl.fence = ClusterConfig::Fence::None;
  else if (fence == "read_only")
    cl.fence = ClusterConfig::Fence::ReadOnly;
  else
    fail("cluster.fence", "must be 'none' or 'read_only', got '" + fence + "'");
  read(cluster, "cluster", "manage_read_only", cl.manage_read_only);
  if (cl.fence == ClusterConfig::Fence::ReadOnly && !cl.manage_read_only)
    c.warnings.push_back(
        "cluster.fence is read_only but cluster.manage_read_only is false: a fenced master stays "
        "read_only when it takes writes again until an operator clears it");
  std::string failback = "auto";
  read(cluster, "cluster", "failback", failback);
  if (failback == "auto") {
    cl.failback = Failback::Auto;
  } else if (failback == "manual") {
    cl.failback = Failback::Manual;
  } else {
    fail("cluster.failback", "must be 'auto' or 'manual', got '" + failback + "'");
  }

  const auto servers = cluster["servers"];
  if (!servers || !servers.IsSequence() || servers.size() == 0)
    fail("cluster.servers", "must be a non-empty list");
  std::set<std::string> names;
  for (size_t i = 0; i < servers.size(); ++i) {
    const auto path = "cluster.servers[" + std::to_string(i) + "]";
    const auto node = servers[i];
    check_keys(node, path, {"name", "address", "backend", "replica_of", "weight"});
    ServerConfig s;
    read(node, path, "name", s.name);
    if (s.name.empty()) fail(path + ".name", "missing");
    const auto named = "cluster.servers[" + s.name + "]";
    if (!names.insert(s.name).second) fail(named + ".name", "duplicate server name");
    std::string address;
    read(node, path, "address", address);
    if (address.empty()) fail(named + ".address", "missing");
    s.address = parse_endpoint(address, named + ".address");
    read(node, path, "backend", s.backend);
    if (s.backend.empty()) s.backend = "be_" + s.name;
    read(node, path, "replica_of", s.replica_of);
    read(node, path, "weight", s.weight);
    if (s.weight < 1 || s.weight > 1000) fail(named + ".weight", "must be 1..1000");
    cl.servers.push_back(std::move(s));
  }

  if (cl.masters.empty()) fail("cluster.masters", "must list at least one master");
  std::set<std::string> masters;
  for (const auto& m : cl.masters) {
    const auto* s = cl.find(m);
    if (!s) fail("cluster.masters", "unknown server '" + m + "'");
    if (!s->replica_of.empty()) fail("cluster.masters", "'" + m + "' is configured as a replica");
    if (!masters.insert(m).second) fail("cluster.masters", "duplicate master '" + m + "'");
  }
  for (const auto& s : cl.servers) {
    const auto key = "cluster.servers[" + s.name + "]";
    if (s.replica_of.empty()) {
      if (!masters.count(s.name))
        fail(key + ".replica_of",
             "missing: a server that is not in cluster.masters needs replica_of");
      continue;
    }
    if (!cl.find(s.replica_of)) fail(key + ".replica_of", "unknown server '" + s.replica_of + "'");
    if (!masters.count(s.replica_of))
      fail(key + ".replica_of", "'" + s.replica_of + "' is not in cluster.masters");
  }
  parse_cooperation(root, c);
  if (const auto cons = root["consistency"]) parse_consistency(cons, c.consistency);
  if (const auto hap = root["haproxy"]) {
    check_keys(hap, "haproxy", {"runtime_api", "write_frontend", "timeout_ms"});
    read(hap, "haproxy", "runtime_api", c.haproxy.runtime_api);
    read(hap, "haproxy", "write_frontend", c.haproxy.write_frontend);
    read(hap, "haproxy", "timeout_ms", c.haproxy.timeout_ms);
    require_positive(c.haproxy.timeout_ms, "haproxy.timeout_ms");
    for (const auto& path : c.haproxy.runtime_api)
      if (path.empty() || path.size() >= 108) fail("haproxy.runtime_api", "invalid socket path");
  }
  if (const auto al = root["alerts"]) {
    check_keys(al, "alerts", {"command", "timeout_ms", "queue_size"});
    read(al, "alerts", "command", c.alerts.command);
    read(al, "alerts", "timeout_ms", c.alerts.timeout_ms);
    read(al, "alerts", "queue_size", c.alerts.queue_size);
    require_positive(c.alerts.timeout_ms, "alerts.timeout_ms");
    require_positive(c.alerts.queue_size, "alerts.queue_size");
  }
  return c;
}

Config load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

}  // namespace myspoa::config
