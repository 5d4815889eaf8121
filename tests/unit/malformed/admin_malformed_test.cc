// Malformed requests against the admin HTTP endpoint (real AdminServer on an ephemeral loopback
// port, over an App whose servers are unreachable): bad JSON, huge bodies, path traversal in its
// plain and percent-encoded forms, very long names, NUL bytes, raw protocol garbage. Every request
// must get a 4xx answer (or a closed connection for garbage), never a 2xx or 5xx, and the endpoint
// must keep serving /status afterwards.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <string>
#include <thread>

#include <httplib.h>

#include "spoa/admin/admin_server.h"
#include "spoa/app/app.h"
#include "spoa/process/admin_bridge.h"

using namespace myspoa;

namespace {

config::Config unreachable_config() {
  auto c = config::parse_config(config::default_config_yaml(), "malformed.yaml");
  c.agent.listen.port = 0;
  c.agent.refusal_listen.port = 0;
  c.admin.listen = {"127.0.0.1", 0};
  c.mysql.interval_ms = 200;
  uint16_t port = 1;  // nothing listens on 127.0.0.1:1..5: connect() is refused at once
  for (auto& s : c.cluster.servers) s.address = {"127.0.0.1", port++};
  return c;
}

// Sends raw bytes on a fresh connection; returns what came back before the peer closed or 3 s
// passed ("" when nothing came).
std::string raw(uint16_t port, const std::string& bytes) {
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
    if (n <= 0) break;  // the server may close early on a bad request
    off += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline && out.size() < (1 << 20)) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// Status code of a raw HTTP answer, 0 when there was none.
int status_of(const std::string& answer) {
  if (answer.rfind("HTTP/1.", 0) != 0 || answer.size() < 12) return 0;
  return std::atoi(answer.c_str() + 9);
}

struct Endpoint {
  config::Config cfg = unreachable_config();
  app::App app{cfg};
  process::AppAdminView view{app};
  std::unique_ptr<admin::AdminServer> server;
  Endpoint() {
    std::string error;
    REQUIRE(app.start(error));
    server = std::make_unique<admin::AdminServer>(view, cfg.admin);
    REQUIRE(server->start(error));
  }
  ~Endpoint() {
    server->stop();
    app.stop();
  }
  uint16_t port() const { return server->port(); }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", server->port());
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

bool client_error(int status) {
  return status >= 400 && status < 500;
}

}  // namespace

TEST_CASE("admin malformed: bad JSON bodies on POST /writer", "[malformed][admin]") {
  Endpoint e;
  auto c = e.client();
  const std::string deep(5000, '[');
  const std::string bodies[] = {
      "",
      "{",
      "}",
      "[]",
      "null",
      "\"db02\"",
      "{\"server\": 1}",
      "{\"server\": null}",
      "{\"server\": [\"db02\"]}",
      "{\"server\": {\"$ne\": 1}}",
      "{\"server\": \"db02\", \"force\": \"yes\"}",
      "{\"server\": \"db02\", \"extra\": 1}",
      "{\"server\": \"db99\"}",
      "{\"server\": \"../db01\"}",
      "{\"server\": \"db01\\u0000\"}",
      std::string("{\"server\": \"db01\0\"}", 18),
      "{\"server\": \"\xff\xfe\"}",
      "{\"server\": \"" + std::string(60000, 'a') + "\"}",
      deep,
      deep + std::string(5000, ']'),
      "{\"server\": \"db02\"" + std::string(10000, ',') + "}",
  };
  int i = 0;
  for (const auto& body : bodies) {
    INFO("body #" << i++ << " (" << body.size() << " bytes): " << body.substr(0, 60));
    auto r = c.Post("/writer", body, "application/json");
    REQUIRE(r);
    CHECK(client_error(r->status));
    CHECK(r->body.find("error") != std::string::npos);
  }
  e.still_serving();
}

TEST_CASE("admin malformed: huge bodies", "[malformed][admin]") {
  Endpoint e;
  auto c = e.client();
  for (size_t size : {admin::kMaxBodyBytes + 1, size_t{1} << 20, size_t{16} << 20}) {
    INFO("body of " << size << " bytes");
    auto r = c.Post("/writer", std::string(size, '{'), "application/json");
    // Either a 413 or the connection closed while the body was still being sent.
    if (r) CHECK(r->status == 413);
    e.still_serving();
  }
  // A Content-Length far beyond what is sent: the server must not wait forever or allocate it.
  const auto a =
      raw(e.port(), "POST /writer HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\n\r\n{}");
  const int s = status_of(a);
  CHECK((s == 0 || client_error(s)));
  e.still_serving();
}

TEST_CASE("admin malformed: path tricks and long names", "[malformed][admin]") {
  Endpoint e;
  const std::string paths[] = {
      "/check/../../etc/passwd",
      "/check/../../etc/passwd/status",
      "/check/%2e%2e/%2e%2e/etc/passwd/status",
      "/check/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd/status",
      "/check/..%2f..%2fetc%2fpasswd/replication",
      "/check/db01%00/status",
      "/check/%00/status",
      "/check/db01/status/../../../etc/passwd",
      "/servers/..%2f..%2fdb01/drain",
      "/check/" + std::string(10000, 'a') + "/status",
      "/check/" + std::string(200, 'a') + "/status",
      "/" + std::string(100000, '/'),
      "/status%00",
      "/%ff%fe",
      "/check//status",
  };
  for (const auto& p : paths) {
    INFO("GET " << p.substr(0, 80));
    const auto a = raw(e.port(), "GET " + p + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const int s = status_of(a);
    CHECK((s == 0 || client_error(s)));
    CHECK(a.find("root:") == std::string::npos);
  }
  // An encoded slash is decoded before routing: the same answer as the plain path, no more.
  {
    auto c = e.client();
    auto plain = c.Get("/check/db01/status");
    auto encoded = c.Get("/check/db01%2fstatus");
    REQUIRE(plain);
    REQUIRE(encoded);
    CHECK(encoded->status == plain->status);
    CHECK(encoded->body == plain->body);
  }
  // The same through POST (the mutating routes).
  auto c = e.client();
  for (const char* p : {"/servers/..%2f..%2fetc%2fpasswd/drain", "/servers/db99/drain",
                        "/servers/%2e%2e/undrain", "/servers/db01%00/drain"}) {
    INFO("POST " << p);
    auto r = c.Post(p, "", "text/plain");
    REQUIRE(r);
    CHECK(client_error(r->status));
  }
  e.still_serving();
}

TEST_CASE("admin malformed: raw protocol garbage and NUL bytes", "[malformed][admin]") {
  Endpoint e;
  const std::string requests[] = {
      std::string("GET /status\0 HTTP/1.1\r\nHost: x\r\n\r\n", 34),
      std::string("GET /sta\0tus HTTP/1.1\r\nHost: x\r\n\r\n", 34),
      "GET /status HTTP/9.9\r\n\r\n",
      "GET\r\n\r\n",
      "BREW /status HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /status HTTP/1.1\r\nX-Big: " + std::string(200000, 'h') + "\r\n\r\n",
      "POST /writer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
      "POST /writer HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}",
      "\r\n\r\n\r\n",
  };
  int i = 0;
  for (const auto& req : requests) {
    INFO("request #" << i++);
    const int s = status_of(raw(e.port(), req));
    CHECK(s != 200);
    CHECK(s < 500);
  }
  std::mt19937 rng(99);
  for (int k = 0; k < 50; ++k) {
    std::string g(1 + rng() % 2048, '\0');
    for (auto& ch : g) ch = static_cast<char>(rng() & 0xff);
    INFO("garbage #" << k);
    CHECK(status_of(raw(e.port(), g)) < 500);
  }
  // A header line without a colon is skipped (httplib is lenient): a normal answer, no crash.
  CHECK(status_of(raw(e.port(), "GET /status HTTP/1.1\r\nNoColonHeader\r\n\r\n")) < 500);
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
