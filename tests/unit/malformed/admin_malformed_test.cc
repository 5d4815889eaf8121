// Malformed requests against the admin HTTP endpoint of the real agent binary (MYSPOA_BIN, on
// ephemeral loopback ports, its MySQL servers on closed ports): bad JSON, huge bodies, path
// traversal in its plain and percent-encoded forms, very long names, NUL bytes, raw protocol
// garbage. Every case names the answer it must get: a status code (and a JSON error body where
// the endpoint itself answers), or -- only where no request line was ever complete -- a
// connection closed without an answer. The agent must keep serving /status afterwards and exit
// cleanly on SIGTERM (exit 0).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>

#include <httplib.h>

#include "spoa/admin/admin_server.h"
#include "tests/support/agent_process.h"

using myspoa::testing::AgentProcess;
using myspoa::testing::free_port;

namespace {

// A status that is no status: the peer closed the connection without answering.
constexpr int kClosed = 0;

std::string unreachable_config(uint16_t admin) {
  std::string y = "agent: { listen: \"127.0.0.1:" + std::to_string(free_port()) +
                  "\", refusal_listen: \"127.0.0.1:" + std::to_string(free_port()) + "\" }\n" +
                  "admin: { listen: \"127.0.0.1:" + std::to_string(admin) + "\" }\n" +
                  "mysql: { user: myspoa, password: myspoa, interval_ms: 200 }\n" +
                  "cluster:\n  masters: [db01, db02]\n  servers:\n";
  // Nothing listens on 127.0.0.1:1..5: connect() is refused at once.
  const char* replica_of[] = {"", "", "db01", "db01", "db02"};
  for (int n = 1; n <= 5; ++n) {
    y += "    - { name: db0" + std::to_string(n) + ", address: \"127.0.0.1:" + std::to_string(n) +
         "\"";
    if (*replica_of[n - 1]) y += std::string(", replica_of: ") + replica_of[n - 1];
    y += " }\n";
  }
  return y;
}

// What came back on a raw connection: the bytes, and whether the peer closed it.
struct Answer {
  std::string bytes;
  bool closed = false;
};

// True once `in` holds a whole HTTP response: the head and Content-Length bytes of body.
bool complete_response(const std::string& in) {
  const auto head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  const auto head = in.substr(0, head_end);
  size_t length = 0;
  if (const auto p = head.find("Content-Length: "); p != std::string::npos)
    length = std::strtoul(head.c_str() + p + 16, nullptr, 10);
  return in.size() >= head_end + 4 + length;
}

// Sends raw bytes on a fresh connection and reads until a whole response came, the peer closed,
// or 8 s passed (the endpoint's read timeout is 5 s). With `eof_after` the write side is shut
// after the bytes: the server sees the client's EOF. (httplib writes no answer to a client that
// already sent EOF: that is why a test that always shut its write side never saw one.)
Answer raw(uint16_t port, const std::string& bytes, bool eof_after = false) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer and close before reading everything
    off += static_cast<size_t>(n);
  }
  if (eof_after) ::shutdown(fd, SHUT_WR);
  Answer out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline && !complete_response(out.bytes)) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      out.closed = true;
      break;
    }
    out.bytes.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// Status code of a raw HTTP answer, kClosed when there was none.
int status_of(const Answer& answer) {
  const auto& s = answer.bytes;
  if (s.rfind("HTTP/1.", 0) != 0 || s.size() < 12) return kClosed;
  return std::atoi(s.c_str() + 9);
}

struct Endpoint {
  uint16_t admin = free_port();
  AgentProcess agent{MYSPOA_BIN, "admin-malformed", unreachable_config(admin)};
  Endpoint() {
    REQUIRE(agent.started());
    INFO(agent.log());
    REQUIRE(
        agent.wait_for_log("admin endpoint on http://127.0.0.1:" + std::to_string(admin), 20000));
  }
  ~Endpoint() {
    // A clean stop: no crash, no sanitizer report, exit status 0.
    const int status = agent.stop();
    INFO(agent.log());
    CHECK(status == 0);
  }
  uint16_t port() const { return admin; }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", admin);
    c.set_connection_timeout(2, 0);
    c.set_read_timeout(10, 0);
    return c;
  }
  void still_serving() const {
    auto c = client();
    auto r = c.Get("/status");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
};

// The JSON error body every answer of the endpoint's own handlers carries.
bool json_error(const std::string& body) {
  return body.find("\"ok\": false") != std::string::npos &&
         body.find("\"error\":") != std::string::npos;
}

struct Case {
  std::string what;
  std::string input;
  int want;  // status code, or kClosed
};

}  // namespace

TEST_CASE("admin malformed: bad JSON bodies on POST /writer", "[malformed][admin]") {
  Endpoint e;
  auto c = e.client();
  const std::string deep(5000, '[');
  // 400: not the expected object; 404: a well-formed request naming no configured server.
  const std::vector<Case> cases{
      {"empty", "", 400},
      {"open brace", "{", 400},
      {"close brace", "}", 400},
      {"array", "[]", 400},
      {"null", "null", 400},
      {"bare string", "\"db02\"", 400},
      {"server is a number", "{\"server\": 1}", 400},
      {"server is null", "{\"server\": null}", 400},
      {"server is an array", "{\"server\": [\"db02\"]}", 400},
      {"server is an object", "{\"server\": {\"$ne\": 1}}", 400},
      {"force is a string", "{\"server\": \"db02\", \"force\": \"yes\"}", 400},
      {"unknown key", "{\"server\": \"db02\", \"extra\": 1}", 400},
      {"unknown server", "{\"server\": \"db99\"}", 404},
      {"path in the name", "{\"server\": \"../db01\"}", 404},
      {"escaped NUL in the name", "{\"server\": \"db01\\u0000\"}", 404},
      {"raw NUL in the string", std::string("{\"server\": \"db01\0\"}", 18), 400},
      {"invalid UTF-8", "{\"server\": \"\xff\xfe\"}", 400},
      {"60,000-byte name", "{\"server\": \"" + std::string(60000, 'a') + "\"}", 404},
      {"5,000 open brackets", deep, 400},
      {"5,000 nested arrays", deep + std::string(5000, ']'), 400},
      {"10,000 commas", "{\"server\": \"db02\"" + std::string(10000, ',') + "}", 400},
  };
  for (const auto& k : cases) {
    INFO(k.what << " (" << k.input.size() << " bytes): " << k.input.substr(0, 60));
    auto r = c.Post("/writer", k.input, "application/json");
    REQUIRE(r);
    CHECK(r->status == k.want);
    CHECK(json_error(r->body));
  }
  e.still_serving();
}

TEST_CASE("admin malformed: huge bodies", "[malformed][admin]") {
  Endpoint e;
  const auto post = [](size_t length, size_t sent) {
    return "POST /writer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           "Content-Length: " +
           std::to_string(length) + "\r\n\r\n" + std::string(sent, '{');
  };
  // Over kMaxBodyBytes: 413 with the JSON error, the whole body sent...
  for (size_t size : {myspoa::admin::kMaxBodyBytes + 1, size_t{1} << 20}) {
    INFO("body of " << size << " bytes");
    const auto a = raw(e.port(), post(size, size));
    CHECK(status_of(a) == 413);
    CHECK(json_error(a.bytes));
    e.still_serving();
  }
  // ... or only 1 KiB of it: the same 413 once the read timeout (5 s) ends the wait for the rest.
  // A Content-Length far beyond what is sent is never allocated; httplib reads a negative one as
  // a huge unsigned length: 413 as well.
  for (const char* length : {"16777216", "99999999999999", "-5"}) {
    INFO("Content-Length " << length << ", 1 KiB sent");
    const auto a =
        raw(e.port(), std::string("POST /writer HTTP/1.1\r\nHost: x\r\nContent-Length: ") + length +
                          "\r\n\r\n" + std::string(1024, '{'));
    CHECK(status_of(a) == 413);
    CHECK(json_error(a.bytes));
  }
  {  // Through a client library: the same 413.
    auto c = e.client();
    auto r =
        c.Post("/writer", std::string(myspoa::admin::kMaxBodyBytes + 1, '{'), "application/json");
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK(json_error(r->body));
  }
  e.still_serving();
}

TEST_CASE("admin malformed: path tricks and long names", "[malformed][admin]") {
  Endpoint e;
  // Nothing outside the routes: 404 (a JSON error), or 414 for a request line over 8 KiB.
  const std::vector<Case> paths{
      {"dot-dot", "/check/../../etc/passwd", 404},
      {"dot-dot + status", "/check/../../etc/passwd/status", 404},
      {"encoded dots", "/check/%2e%2e/%2e%2e/etc/passwd/status", 404},
      {"encoded dots and slashes", "/check/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd/status", 404},
      {"encoded slashes", "/check/..%2f..%2fetc%2fpasswd/replication", 404},
      {"encoded NUL after a name", "/check/db01%00/status", 404},
      {"encoded NUL as the name", "/check/%00/status", 404},
      {"dot-dot after a route", "/check/db01/status/../../../etc/passwd", 404},
      {"dot-dot in a POST route, as GET", "/servers/..%2f..%2fdb01/drain", 404},
      {"10,000-byte name", "/check/" + std::string(10000, 'a') + "/status", 414},
      {"200-byte name", "/check/" + std::string(200, 'a') + "/status", 404},
      {"100,000 slashes", "/" + std::string(100000, '/'), 414},
      {"encoded NUL after /status", "/status%00", 404},
      {"invalid UTF-8", "/%ff%fe", 404},
      {"empty name", "/check//status", 404},
  };
  for (const auto& k : paths) {
    INFO("GET " << k.what << ": " << k.input.substr(0, 80));
    const auto a =
        raw(e.port(), "GET " + k.input + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(status_of(a) == k.want);
    CHECK(json_error(a.bytes));
    CHECK(a.bytes.find("root:") == std::string::npos);
  }
  // An encoded slash is decoded before routing: the same answer as the plain path, no more.
  {
    auto c = e.client();
    auto plain = c.Get("/check/db01/status");
    auto encoded = c.Get("/check/db01%2fstatus");
    REQUIRE(plain);
    REQUIRE(encoded);
    CHECK(plain->status == 503);  // db01 is down: its port is closed
    CHECK(encoded->status == plain->status);
    CHECK(encoded->body == plain->body);
  }
  // The same through POST (the mutating routes): 404, the name is no configured server.
  auto c = e.client();
  for (const char* p : {"/servers/..%2f..%2fetc%2fpasswd/drain", "/servers/db99/drain",
                        "/servers/%2e%2e/undrain", "/servers/db01%00/drain"}) {
    INFO("POST " << p);
    auto r = c.Post(p, "", "text/plain");
    REQUIRE(r);
    CHECK(r->status == 404);
    CHECK(json_error(r->body));
  }
  e.still_serving();
}

TEST_CASE("admin malformed: raw protocol garbage and NUL bytes", "[malformed][admin]") {
  Endpoint e;
  // 400 (with the JSON error) for a request line or header httplib cannot parse.
  const std::vector<Case> requests{
      {"NUL in the request line", std::string("GET /status\0 HTTP/1.1\r\nHost: x\r\n\r\n", 34),
       400},
      {"NUL inside the path", std::string("GET /sta\0tus HTTP/1.1\r\nHost: x\r\n\r\n", 34), 400},
      {"HTTP/9.9", "GET /status HTTP/9.9\r\n\r\n", 400},
      {"method only", "GET\r\n\r\n", 400},
      {"unknown method", "BREW /status HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"200 KB header", "GET /status HTTP/1.1\r\nX-Big: " + std::string(200000, 'h') + "\r\n\r\n",
       400},
      {"bad chunk size",
       "POST /writer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
       "chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
       400},
      {"empty lines", "\r\n\r\n\r\n", 400},
  };
  for (const auto& k : requests) {
    INFO(k.what);
    const auto a = raw(e.port(), k.input);
    CHECK(status_of(a) == k.want);
    CHECK(json_error(a.bytes));
  }
  // Random bytes: a 400 once a line (up to a LF) is complete. Bytes with no LF at all end no
  // request line: at the client's EOF the server closes the connection, unanswered.
  std::mt19937 rng(99);
  int answered = 0, closed = 0;
  for (int k = 0; k < 50; ++k) {
    std::string g(1 + rng() % 2048, '\0');
    for (auto& ch : g) ch = static_cast<char>(rng() & 0xff);
    const bool has_line = g.find('\n') != std::string::npos;
    INFO("garbage #" << k << " (" << g.size() << " bytes, " << (has_line ? "a LF" : "no LF")
                     << ")");
    const auto a = raw(e.port(), g, !has_line);
    if (has_line) {
      CHECK(status_of(a) == 400);
      ++answered;
    } else {
      CHECK(status_of(a) == kClosed);
      CHECK(a.closed);
      ++closed;
    }
  }
  CHECK(answered > 0);
  CHECK(closed > 0);
  // A header line without a colon is skipped (httplib is lenient): a normal answer, no crash.
  CHECK(status_of(raw(e.port(), "GET /status HTTP/1.1\r\nNoColonHeader\r\n\r\n")) == 200);
  e.still_serving();
}

TEST_CASE("admin malformed: idle connections do not stop the endpoint for long",
          "[malformed][admin]") {
  Endpoint e;
  // Connections that never send a request hold a worker until the read timeout (5 s).
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(e.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    idle.push_back(fd);
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto c = e.client();
  c.set_read_timeout(15, 0);
  auto r = c.Get("/status");
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  for (int fd : idle) ::close(fd);
  REQUIRE(r);
  CHECK(r->status == 200);
  if (ms > 1000) WARN("/status took " << ms << " ms behind 4 idle connections");
  CHECK(ms < 12000);
}
