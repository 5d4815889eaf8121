// writer_client: a write client of the lab's write frontend, as the `app` account (read_only
// applies to it). Two modes, every step bounded:
//   --once        one new connection, one INSERT into app.writes: "ok <server_id>" or
//                 "err <errno> <message>"
//   --hold SECS   one connection kept open, an INSERT every --every-ms on it until the connection
//                 fails or SECS pass. Prints "connected <server_id> <unix_ms>", then
//                 "closed <unix_ms> <writes> <errno> <message>" or "still-open <writes>".
// Used by reliability_lab_test.sh to show that the old writer's sessions are cut.
#include <mysql.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

namespace {

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

MYSQL* connect(const std::string& host, unsigned port, unsigned& server_id) {
  MYSQL* c = mysql_init(nullptr);
  unsigned t = 2;
  mysql_options(c, MYSQL_OPT_CONNECT_TIMEOUT, &t);
  mysql_options(c, MYSQL_OPT_READ_TIMEOUT, &t);
  mysql_options(c, MYSQL_OPT_WRITE_TIMEOUT, &t);
  if (!mysql_real_connect(c, host.c_str(), "app", "app", "app", port, nullptr, 0) ||
      mysql_query(c, "SELECT @@server_id") != 0) {
    std::printf("err %u %s\n", mysql_errno(c), mysql_error(c));
    mysql_close(c);
    return nullptr;
  }
  MYSQL_RES* res = mysql_store_result(c);
  MYSQL_ROW row = res ? mysql_fetch_row(res) : nullptr;
  server_id = row && row[0] ? static_cast<unsigned>(std::stoul(row[0])) : 0;
  if (res) mysql_free_result(res);
  return c;
}

bool insert(MYSQL* c, unsigned server_id, long seq) {
  const std::string q = "INSERT INTO app.writes (server_id, client_seq) VALUES (" +
                        std::to_string(server_id) + ", " + std::to_string(seq) + ")";
  return mysql_query(c, q.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"writer_client: writes through the lab's write frontend as `app`"};
  std::string host = "127.0.0.1";
  unsigned port = 13306;
  bool once = false;
  double hold_s = 0;
  unsigned every_ms = 100;
  app.add_option("--host", host);
  app.add_option("--port", port);
  app.add_flag("--once", once, "one connection, one INSERT");
  app.add_option("--hold", hold_s, "keep one connection writing for at most this many seconds");
  app.add_option("--every-ms", every_ms, "interval between INSERTs with --hold");
  CLI11_PARSE(app, argc, argv);
  setvbuf(stdout, nullptr, _IOLBF, 0);

  unsigned sid = 0;
  MYSQL* c = connect(host, port, sid);
  if (!c) return 1;
  if (once || hold_s <= 0) {
    if (insert(c, sid, 0))
      std::printf("ok %u\n", sid);
    else
      std::printf("err %u %s\n", mysql_errno(c), mysql_error(c));
    mysql_close(c);
    return 0;
  }
  std::printf("connected %u %lld\n", sid, static_cast<long long>(unix_ms()));
  const int64_t end = unix_ms() + static_cast<int64_t>(hold_s * 1000);
  long writes = 0;
  while (unix_ms() < end) {
    if (!insert(c, sid, writes)) {
      std::printf("closed %lld %ld %u %s\n", static_cast<long long>(unix_ms()), writes,
                  mysql_errno(c), mysql_error(c));
      mysql_close(c);
      return 0;
    }
    ++writes;
    std::this_thread::sleep_for(std::chrono::milliseconds(every_ms));
  }
  std::printf("still-open %ld\n", writes);
  mysql_close(c);
  return 3;
}
