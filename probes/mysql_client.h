// The only owner of MYSQL* handles: one non-blocking monitoring connection to one server, driven by
// MariaDB Connector/C's async API (*_start / *_cont) on the caller's libev loop.
// The loop and its watchers are spoa/ev's (the only place that includes <ev.h>).
// Our own timers enforce the connect and query deadlines: on expiry the socket is shut down and
// the connection closed, so a frozen server fails in time and never blocks the loop. While idle the
// socket is watched, so a crashed server (socket closed) is seen at once. After a failure, new
// connection attempts wait for an exponential back-off with jitter.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "probes/replication_parser.h"
#include "spoa/ev/loop.h"
#include "spoa/ev/watchers.h"

struct st_mysql;
struct st_mysql_res;

namespace myspoa::probes {

struct MysqlClientSettings {
  std::string host = "127.0.0.1";
  uint16_t port = 3306;
  std::string user;
  std::string password;  // never logged
  int connect_timeout_ms = 300;
  int query_timeout_ms = 300;
  std::string ssl_mode;  // "", DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY
  std::string ssl_ca;
  int backoff_base_ms = 125;  // delay before the 2nd reconnect attempt; doubles, jittered x[0.5,1]
  int backoff_max_ms = 500;
};

// True for the ssl_mode values under which a connection without TLS is refused (REQUIRED,
// VERIFY_CA, VERIFY_IDENTITY). PREFERRED uses TLS when the server offers it.
bool tls_required(const std::string& ssl_mode);

// What one run() produced. Results hold every result set obtained before an error, in order
// (a statement without a result set gives an empty ResultSet).
struct QueryOutcome {
  bool ok = false;
  bool connect_failed = false;  // failed before the query could be sent (or in back-off)
  bool timed_out = false;
  unsigned err_no = 0;
  std::string error;
  std::vector<ResultSet> results;
  int64_t latency_us = 0;  // from run() to the outcome
};

struct MysqlClientCounters {
  uint64_t connects = 0;
  uint64_t connect_failures = 0;
  uint64_t queries = 0;
  uint64_t query_failures = 0;
  uint64_t timeouts = 0;
  uint64_t disconnects_seen_idle = 0;
};

class MysqlClient {
 public:
  enum class State : uint8_t { Disconnected, Connecting, Idle, Querying, Storing, NextResult };
  using Done = std::function<void(QueryOutcome&&)>;
  using Lost = std::function<void(const std::string& why)>;

  MysqlClient(ev::Loop& loop, MysqlClientSettings settings, uint64_t seed);
  ~MysqlClient();
  MysqlClient(const MysqlClient&) = delete;
  MysqlClient& operator=(const MysqlClient&) = delete;

  // Connects first when needed, then runs `sql` (several statements allowed) and stores every
  // result set. `done` is called exactly once, possibly before run() returns (back-off).
  // Must not be called while busy().
  void run(std::string sql, Done done);
  bool busy() const { return state_ != State::Disconnected && state_ != State::Idle; }
  bool connected() const {
    return state_ == State::Idle || (busy() && state_ != State::Connecting);
  }

  // Called when an idle connection is closed by the server (crash, shutdown, kill).
  void on_lost(Lost cb) { lost_ = std::move(cb); }

  // Aborts anything in flight (its callback is called with an error) and closes the connection.
  void close(const std::string& why);

  // Version string of the connected server ("" before the first connect).
  const std::string& server_version() const { return server_version_; }
  const MysqlClientCounters& counters() const { return counters_; }
  State state() const { return state_; }
  static const char* to_string(State s);

 private:
  void on_io(int events);  // ev::kRead / ev::kWrite
  void on_deadline();

  void start_connect();
  void start_query();
  void store_next();
  void after_connect(st_mysql* ret);
  void after_store(st_mysql_res* res);
  void after_next(int r);
  void step(int status);      // continue the operation of state_ with a MYSQL_WAIT_* status
  void wait_for(int status);  // arm the io watcher / library timer for a MYSQL_WAIT_* status
  void arm_deadline(int ms);
  void watch_idle();
  void fail(const std::string& why, unsigned err_no, bool connect_phase, bool timed_out);
  void succeed();
  void finish(QueryOutcome&& o);
  void close_handle();
  void note_failure();
  int64_t backoff_ms();
  std::string mysql_error_text() const;

  MysqlClientSettings s_;
  st_mysql* mysql_ = nullptr;
  int fd_ = -1;
  State state_ = State::Disconnected;
  ev::IoWatcher io_;
  ev::Timer lib_timer_;  // the library's own MYSQL_WAIT_TIMEOUT
  ev::Timer deadline_;   // our connect / query deadline

  std::string sql_;
  Done done_;
  Lost lost_;
  QueryOutcome out_;
  int64_t started_us_ = 0;

  std::string server_version_;
  std::string last_error_;
  int consecutive_failures_ = 0;
  int64_t next_attempt_us_ = 0;
  std::mt19937_64 rng_;
  MysqlClientCounters counters_;
};

}  // namespace myspoa::probes
