// e2e_client: opens COUNT new MySQL connections, one after the other, to HOST:PORT (an HAProxy
// frontend of the lab) and prints, per connection, where it landed or why it failed:
//   ok <server_id>
//   err <errno> <message>
// The end-to-end test (e2e_test.sh) compares the set of server_ids with the failure table and
// checks the agent's refusal text. Each connection is bounded by --timeout-ms (connect, read,
// write), so a run is bounded by COUNT * 3 * timeout.
#include <mysql.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

namespace {

struct Options {
  std::string host = "127.0.0.1";
  unsigned port = 13306;
  std::string user = "myspoa";
  std::string password = "myspoa";
  unsigned count = 20;
  unsigned timeout_ms = 2000;
};

// One connection: prints its line and returns true when it reached a server.
bool probe_once(const Options& o) {
  MYSQL* c = mysql_init(nullptr);
  if (c == nullptr) {
    std::printf("err 0 mysql_init failed\n");
    return false;
  }
  // Connector/C timeouts are in seconds; round up so a 500 ms request still means 1 s.
  unsigned t = (o.timeout_ms + 999) / 1000;
  mysql_options(c, MYSQL_OPT_CONNECT_TIMEOUT, &t);
  mysql_options(c, MYSQL_OPT_READ_TIMEOUT, &t);
  mysql_options(c, MYSQL_OPT_WRITE_TIMEOUT, &t);
  bool ok = false;
  if (mysql_real_connect(c, o.host.c_str(), o.user.c_str(), o.password.c_str(), nullptr, o.port,
                         nullptr, 0) == nullptr ||
      mysql_query(c, "SELECT @@server_id") != 0) {
    std::printf("err %u %s\n", mysql_errno(c), mysql_error(c));
  } else if (MYSQL_RES* res = mysql_store_result(c); res == nullptr) {
    std::printf("err %u %s\n", mysql_errno(c), mysql_error(c));
  } else {
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row != nullptr && row[0] != nullptr) {
      std::printf("ok %s\n", row[0]);
      ok = true;
    } else {
      std::printf("err 0 empty result\n");
    }
    mysql_free_result(res);
  }
  mysql_close(c);
  std::fflush(stdout);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Open COUNT connections through an HAProxy frontend and print their @@server_id"};
  app.add_option("--host", o.host, "address (loopback only)");
  app.add_option("--port", o.port, "port")->required();
  app.add_option("--user", o.user);
  app.add_option("--password", o.password);
  app.add_option("--count", o.count, "connections to open")->check(CLI::Range(1u, 10000u));
  app.add_option("--timeout-ms", o.timeout_ms, "connect/read/write timeout per connection")
      ->check(CLI::Range(100u, 30000u));
  CLI11_PARSE(app, argc, argv);
  if (mysql_library_init(0, nullptr, nullptr) != 0) {
    std::fprintf(stderr, "mysql_library_init failed\n");
    return 2;
  }
  unsigned reached = 0;
  for (unsigned i = 0; i < o.count; ++i)
    if (probe_once(o)) ++reached;
  mysql_library_end();
  // Exit status is informational only: the caller judges the lines.
  return reached == o.count ? 0 : 1;
}
