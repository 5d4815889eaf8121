// rate_load: connection-rate load for an HAProxy MySQL frontend. CLIENTS threads each loop
// connect -> read the server's first packet (the MySQL greeting, or an ERR packet) -> close, for
// SECONDS, and the run prints how many complete greetings per second came back:
//   port=<p> clients=<n> seconds=<t> ok=<n> errors=<n> rate=<per s> p50_ms=<x> p99_ms=<x> late=<n>
// ok counts greetings (protocol 10 handshake packets); an ERR packet, a timeout or a reset is an
// error. Sockets close with SO_LINGER 0 (RST) so the client side leaves no TIME_WAIT behind.
// Without --rate the clients go as fast as they can (closed loop: the saturation rate). With
// --rate R the connections start on a fixed schedule, R per second over all clients (open loop),
// so the latency (connect() -> greeting complete) is measured at a load below saturation; `late`
// counts connections that started more than 5 ms after their scheduled time (the schedule could
// not be held: the rate is too high for the clients, or the machine is busy).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  unsigned port = 13306;
  unsigned clients = 8;
  double seconds = 5;
  unsigned timeout_ms = 2000;
  double rate = 0;  // connections/s over all clients; 0: as fast as possible
};

struct Result {
  uint64_t ok = 0;
  uint64_t errors = 0;
  std::vector<uint32_t> latency_us;  // connect -> greeting complete, ok connections only
  uint64_t late = 0;                 // paced mode: started > 5 ms behind the schedule
};

// Reads exactly n bytes (bounded by the socket's receive timeout).
bool read_n(int fd, unsigned char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::recv(fd, buf + got, n - got, 0);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

// One connection; true when a protocol-10 greeting arrived.
bool one_connection(const sockaddr_in& addr, const timeval& tv) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const linger lg{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    unsigned char head[4];
    if (read_n(fd, head, 4)) {
      const size_t len = head[0] | (head[1] << 8) | (head[2] << 16);
      std::vector<unsigned char> payload(len);
      if (len > 0 && len < (1u << 16) && read_n(fd, payload.data(), len)) ok = payload[0] == 0x0a;
    }
  }
  ::close(fd);
  return ok;
}

// Client `index` of `o.clients`: closed loop, or (o.rate > 0) the connections index,
// index + clients, index + 2 * clients... of a schedule with one start every 1/rate seconds.
void client_loop(const Options& o, unsigned index, Clock::time_point start, Clock::time_point end,
                 Result& r) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(o.port));
  ::inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr);
  const timeval tv{static_cast<time_t>(o.timeout_ms / 1000),
                   static_cast<suseconds_t>((o.timeout_ms % 1000) * 1000)};
  const std::chrono::duration<double> step(o.rate > 0 ? 1.0 / o.rate : 0.0);
  for (uint64_t k = index;; k += o.clients) {
    if (o.rate > 0) {
      const auto due =
          start + std::chrono::duration_cast<Clock::duration>(step * static_cast<double>(k));
      if (due >= end) break;
      std::this_thread::sleep_until(due);
      if (Clock::now() - due > std::chrono::milliseconds(5)) ++r.late;
    } else if (Clock::now() >= end) {
      break;
    }
    const auto t = Clock::now();
    if (one_connection(addr, tv)) {
      ++r.ok;
      r.latency_us.push_back(static_cast<uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count()));
    } else {
      ++r.errors;
    }
  }
}

double pct_ms(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t k =
      std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"connect -> MySQL greeting -> close, from N parallel clients for T seconds"};
  app.add_option("--host", o.host, "address (loopback)");
  app.add_option("--port", o.port, "frontend port")->required();
  app.add_option("--clients", o.clients, "parallel clients")->check(CLI::Range(1u, 256u));
  app.add_option("--seconds", o.seconds, "duration")->check(CLI::Range(0.5, 120.0));
  app.add_option("--timeout-ms", o.timeout_ms, "per-connection I/O timeout")
      ->check(CLI::Range(100u, 10000u));
  app.add_option("--rate", o.rate, "connections/s on a fixed schedule (0: as fast as possible)")
      ->check(CLI::Range(0.0, 100000.0));
  CLI11_PARSE(app, argc, argv);

  std::vector<Result> results(o.clients);
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  for (unsigned i = 0; i < o.clients; ++i)
    threads.emplace_back(client_loop, std::cref(o), i, start, end, std::ref(results[i]));
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  Result all;
  for (auto& r : results) {
    all.ok += r.ok;
    all.errors += r.errors;
    all.late += r.late;
    all.latency_us.insert(all.latency_us.end(), r.latency_us.begin(), r.latency_us.end());
  }
  std::printf(
      "port=%u clients=%u seconds=%.2f ok=%llu errors=%llu rate=%.0f p50_ms=%.3f p99_ms=%.3f "
      "late=%llu\n",
      o.port, o.clients, elapsed, static_cast<unsigned long long>(all.ok),
      static_cast<unsigned long long>(all.errors), static_cast<double>(all.ok) / elapsed,
      pct_ms(all.latency_us, 50), pct_ms(all.latency_us, 99),
      static_cast<unsigned long long>(all.late));
  return all.ok > 0 ? 0 : 1;
}
