// The bounds of a consistency run, and the MySQL session every part of a run opens (the probes'
// client, blocking on the run's own thread).
#pragma once

#include <algorithm>
#include <cstdint>

#include "probes/mysql_client.h"
#include "spoa/config/config.h"

namespace myspoa::consistency {

struct RunnerOptions {
  int64_t initial_chunk_rows = 1000;
  int64_t min_chunk_rows = 100;
  int64_t max_chunk_rows = 2'000'000;
  int64_t unindexed_max_rows = 10'000;  // tables without a usable key: checksummed whole below this
  int retries = 3;                      // lock waits, and chunks changed under a direct check
  int replica_wait_s = 60;              // bound on waiting for a replica to reach a position
  int max_pause_s = 600;                // bound on pausing for lag / load before giving up

  // Bound on any one statement (a chunk is far below it).
  int query_timeout_ms() const { return std::max(30, replica_wait_s) * 1000; }
};

inline probes::MysqlClientSettings session_settings(const config::ServerConfig& server,
                                                    const config::MysqlConfig& mysql,
                                                    const RunnerOptions& options) {
  probes::MysqlClientSettings s;
  s.host = server.address.host;
  s.port = server.address.port;
  s.user = mysql.user;
  s.password = mysql.password;
  s.connect_timeout_ms = mysql.connect_timeout_ms;
  s.query_timeout_ms = options.query_timeout_ms();
  s.ssl_mode = mysql.ssl_mode;
  s.ssl_ca = mysql.ssl_ca;
  return s;
}

}  // namespace myspoa::consistency
