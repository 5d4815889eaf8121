// lab_load: a bounded write load for the lab. At a fixed rate it INSERTs one row into app.writes
// (server_id, client_seq) and records every ACKNOWLEDGED write (id, client seq, server_id that took
// it, client time) in a TSV file, so failover tests can check that no acknowledged write was lost
// and see who took each write. Errors are counted and logged, never fatal: the next attempt
// reconnects. By default every write uses a new connection, so each write shows where HAProxy
// (and the agent) route a new client at that moment; --keep reuses a connection until it fails.
#include <mysql.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <thread>

namespace {

struct Options {
  std::string host = "127.0.0.1";
  unsigned port = 13306;
  std::string user = "app";
  std::string password = "app";
  double seconds = 10;
  double rate = 20;
  std::string out = "load.tsv";
  bool keep = false;
  unsigned timeout_s = 2;
  std::string attempts;    // optional: one line per attempt with its latency (chaos/hang checks)
  bool read_only = false;  // connect + SELECT @@server_id only (read frontends)
};

struct Counters {
  uint64_t attempts = 0;
  uint64_t acked = 0;
  uint64_t connect_errors = 0;
  uint64_t write_errors = 0;
  uint64_t connections = 0;
  std::map<unsigned, uint64_t> acked_by_server;
  int64_t longest_gap_ms = 0;  // longest time between two acknowledged writes (or start/end)
};

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One client connection and the server_id behind it.
class Client {
 public:
  explicit Client(const Options& o) : opt_(o) {}
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return conn_ != nullptr; }
  unsigned server_id() const { return server_id_; }
  const std::string& error() const { return error_; }
  unsigned error_code() const { return errno_; }

  bool connect() {
    close();
    conn_ = mysql_init(nullptr);
    if (conn_ == nullptr) return fail("mysql_init failed");
    unsigned t = opt_.timeout_s;
    mysql_options(conn_, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(conn_, MYSQL_OPT_READ_TIMEOUT, &t);
    mysql_options(conn_, MYSQL_OPT_WRITE_TIMEOUT, &t);
    if (mysql_real_connect(conn_, opt_.host.c_str(), opt_.user.c_str(), opt_.password.c_str(),
                           "app", opt_.port, nullptr, 0) == nullptr) {
      return fail_mysql();
    }
    // The server that took this connection: recorded with every write made on it.
    if (mysql_query(conn_, "SELECT @@server_id") != 0) return fail_mysql();
    MYSQL_RES* res = mysql_store_result(conn_);
    if (res == nullptr) return fail_mysql();
    MYSQL_ROW row = mysql_fetch_row(res);
    server_id_ = (row != nullptr && row[0] != nullptr) ? std::stoul(row[0]) : 0;
    mysql_free_result(res);
    return true;
  }

  // Returns the new row id, or 0 on error.
  uint64_t insert(uint64_t seq) {
    std::string q = "INSERT INTO app.writes (server_id, client_seq) VALUES (" +
                    std::to_string(server_id_) + ", " + std::to_string(seq) + ")";
    if (mysql_query(conn_, q.c_str()) != 0) {
      fail_mysql();
      return 0;
    }
    return mysql_insert_id(conn_);
  }

  void close() {
    if (conn_ != nullptr) mysql_close(conn_);
    conn_ = nullptr;
  }

 private:
  bool fail(const std::string& what) {
    error_ = what;
    errno_ = 0;
    close();
    return false;
  }
  bool fail_mysql() {
    errno_ = mysql_errno(conn_);
    error_ = mysql_error(conn_);
    close();
    return false;
  }

  const Options& opt_;
  MYSQL* conn_ = nullptr;
  unsigned server_id_ = 0;
  std::string error_;
  unsigned errno_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"lab_load: bounded INSERT load into app.writes; records acknowledged writes"};
  app.add_option("--host", opt.host, "MySQL host (HAProxy write frontend by default)");
  app.add_option("--port", opt.port, "MySQL port");
  app.add_option("--user", opt.user, "user (default app: no READ_ONLY ADMIN, read_only applies)");
  app.add_option("--password", opt.password, "password");
  app.add_option("--seconds", opt.seconds, "duration")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--rate", opt.rate, "writes per second")->check(CLI::Range(0.1, 10000.0));
  app.add_option("--out", opt.out,
                 "acknowledged writes: id, client_seq, server_id, unix_ms (TSV); errors go to "
                 "OUT.err");
  app.add_flag("--keep", opt.keep, "reuse the connection until it fails");
  app.add_option("--timeout", opt.timeout_s, "connect/read/write timeout in seconds")
      ->check(CLI::Range(1u, 60u));
  app.add_option("--attempts", opt.attempts,
                 "every attempt: client_seq, start unix_ms, latency ms, outcome, server_id (TSV)");
  app.add_flag("--read", opt.read_only,
               "connect and SELECT @@server_id only, no INSERT (read frontend; OUT stays empty)");
  CLI11_PARSE(app, argc, argv);

  std::FILE* acked = std::fopen(opt.out.c_str(), "w");
  std::string err_path = opt.out + ".err";
  std::FILE* errors = std::fopen(err_path.c_str(), "w");
  if (acked == nullptr || errors == nullptr) {
    std::fprintf(stderr, "lab_load: cannot write %s\n", opt.out.c_str());
    return 2;
  }
  std::fprintf(acked, "# id\tclient_seq\tserver_id\tunix_ms\n");
  std::fprintf(errors, "# client_seq\tunix_ms\tstage\terrno\tmessage\n");
  std::FILE* attempts = nullptr;
  if (!opt.attempts.empty()) {
    attempts = std::fopen(opt.attempts.c_str(), "w");
    if (attempts == nullptr) {
      std::fprintf(stderr, "lab_load: cannot write %s\n", opt.attempts.c_str());
      return 2;
    }
    std::fprintf(attempts, "# client_seq\tstart_unix_ms\tlatency_ms\toutcome\tserver_id\n");
  }
  // One line per attempt, written when it ends: a hung connection shows as a long latency.
  const auto record = [&](uint64_t seq, int64_t started, const char* outcome, unsigned sid) {
    if (attempts == nullptr) return;
    std::fprintf(attempts, "%llu\t%lld\t%lld\t%s\t%u\n", static_cast<unsigned long long>(seq),
                 static_cast<long long>(started), static_cast<long long>(unix_ms() - started),
                 outcome, sid);
    std::fflush(attempts);
  };

  mysql_library_init(0, nullptr, nullptr);
  Counters c;
  Client client(opt);
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto interval = std::chrono::duration<double>(1.0 / opt.rate);
  const auto max_attempts = static_cast<uint64_t>(opt.seconds * opt.rate) + 1;
  int64_t last_ack_ms = unix_ms();

  for (uint64_t seq = 1; seq <= max_attempts; ++seq) {
    const auto tick = start + std::chrono::duration_cast<clock::duration>(
                                  interval * static_cast<double>(seq - 1));
    if (tick - start >= std::chrono::duration<double>(opt.seconds)) break;
    std::this_thread::sleep_until(tick);
    ++c.attempts;
    const int64_t started = unix_ms();
    if (!client.connected()) {
      if (!client.connect()) {
        ++c.connect_errors;
        std::fprintf(errors, "%llu\t%lld\tconnect\t%u\t%s\n", static_cast<unsigned long long>(seq),
                     static_cast<long long>(unix_ms()), client.error_code(),
                     client.error().c_str());
        record(seq, started, "connect-error", 0);
        continue;
      }
      ++c.connections;
    }
    const unsigned sid = client.server_id();
    if (opt.read_only) {
      ++c.acked;
      ++c.acked_by_server[sid];
      c.longest_gap_ms = std::max(c.longest_gap_ms, unix_ms() - last_ack_ms);
      last_ack_ms = unix_ms();
      record(seq, started, "ok", sid);
      if (!opt.keep) client.close();
      continue;
    }
    const uint64_t id = client.insert(seq);
    const int64_t now = unix_ms();
    if (id == 0) {
      // Not acknowledged: the write may or may not have been applied; it is not in the TSV.
      ++c.write_errors;
      std::fprintf(errors, "%llu\t%lld\tinsert\t%u\t%s\n", static_cast<unsigned long long>(seq),
                   static_cast<long long>(now), client.error_code(), client.error().c_str());
      record(seq, started, "insert-error", sid);
      continue;
    }
    ++c.acked;
    ++c.acked_by_server[sid];
    c.longest_gap_ms = std::max(c.longest_gap_ms, now - last_ack_ms);
    last_ack_ms = now;
    std::fprintf(acked, "%llu\t%llu\t%u\t%lld\n", static_cast<unsigned long long>(id),
                 static_cast<unsigned long long>(seq), sid, static_cast<long long>(now));
    std::fflush(acked);
    record(seq, started, "ok", sid);
    if (!opt.keep) client.close();
  }
  client.close();
  c.longest_gap_ms = std::max(c.longest_gap_ms, unix_ms() - last_ack_ms);
  std::fclose(acked);
  std::fclose(errors);
  if (attempts != nullptr) std::fclose(attempts);
  mysql_library_end();

  std::printf(
      "lab_load: %s:%u attempts=%llu acked=%llu connect_errors=%llu write_errors=%llu "
      "connections=%llu longest_gap_ms=%lld by_server:",
      opt.host.c_str(), opt.port, static_cast<unsigned long long>(c.attempts),
      static_cast<unsigned long long>(c.acked), static_cast<unsigned long long>(c.connect_errors),
      static_cast<unsigned long long>(c.write_errors),
      static_cast<unsigned long long>(c.connections), static_cast<long long>(c.longest_gap_ms));
  for (const auto& [sid, n] : c.acked_by_server) {
    std::printf(" %u=%llu", sid, static_cast<unsigned long long>(n));
  }
  std::printf("\nlab_load: acknowledged writes in %s, errors in %s\n", opt.out.c_str(),
              err_path.c_str());
  return 0;
}
