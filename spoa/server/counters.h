// Per-worker SPOP counters. Each worker thread is the only writer of its own WorkerCounters
// (relaxed load + store, no locked instructions on the hot path); any thread may read them (relaxed
// loads) and sum them into a CountersSnapshot.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace myspoa::server {

// Index into disconnects_sent: the DISCONNECT status value for 0..13, kOtherStatus for the rest.
constexpr size_t kStatusSlots = 15;
constexpr size_t kOtherStatus = 14;
inline size_t status_slot(unsigned status) {
  return status < kOtherStatus ? status : kOtherStatus;
}

// NOTIFY processing time (parse -> handler -> ACK encoded), log2 buckets of nanoseconds:
// bucket i counts samples in [2^i, 2^(i+1)) ns; the last bucket also takes everything above.
// One NOTIFY in kLatencySampleEvery is timed (two clock reads per NOTIFY cost ~10% of its time).
constexpr size_t kLatencyBuckets = 32;
constexpr uint64_t kLatencySampleEvery = 16;

template <typename T>
using Atomic = std::atomic<T>;

struct WorkerCounters {
  Atomic<int64_t> connections_open{0};
  Atomic<uint64_t> connections_total{0};
  Atomic<uint64_t> hellos{0};        // successful HELLO negotiations (health checks included)
  Atomic<uint64_t> healthchecks{0};  // HELLOs with healthcheck=true (answered, then closed)
  Atomic<uint64_t> notifies{0};
  Atomic<uint64_t> acks{0};
  Atomic<uint64_t> haproxy_disconnects{0};  // HAPROXY-DISCONNECT frames received
  Atomic<uint64_t> peer_closes{0};          // EOF / reset without a DISCONNECT frame
  Atomic<uint64_t> io_errors{0};            // read/write errors other than reset/EPIPE
  Atomic<uint64_t> protocol_errors{0};      // connections refused with status != 0
  Atomic<uint64_t> handler_errors{0};       // handler threw or produced an oversized ACK
  std::array<Atomic<uint64_t>, kStatusSlots> disconnects_sent{};  // AGENT-DISCONNECT by status
  std::array<Atomic<uint64_t>, kLatencyBuckets> notify_latency{};
  Atomic<uint64_t> notify_latency_sum_ns{0};  // for the Prometheus histogram's _sum

  // Single-writer increment: the owning worker is the only thread that writes.
  template <typename T>
  static void bump(Atomic<T>& a, T by = 1) {
    a.store(a.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
  void record_latency(uint64_t ns) {
    size_t b = ns == 0 ? 0 : static_cast<size_t>(63 - __builtin_clzll(ns));
    if (b >= kLatencyBuckets) b = kLatencyBuckets - 1;
    bump(notify_latency[b], uint64_t{1});
    bump(notify_latency_sum_ns, ns);
  }
};

// Plain copy for readers (admin endpoint, tests).
struct CountersSnapshot {
  int64_t connections_open = 0;
  uint64_t connections_total = 0;
  uint64_t hellos = 0;
  uint64_t healthchecks = 0;
  uint64_t notifies = 0;
  uint64_t acks = 0;
  uint64_t haproxy_disconnects = 0;
  uint64_t peer_closes = 0;
  uint64_t io_errors = 0;
  uint64_t protocol_errors = 0;
  uint64_t handler_errors = 0;
  std::array<uint64_t, kStatusSlots> disconnects_sent{};
  std::array<uint64_t, kLatencyBuckets> notify_latency{};
  uint64_t notify_latency_sum_ns = 0;

  void add(const WorkerCounters& w) {
    constexpr auto r = std::memory_order_relaxed;
    connections_open += w.connections_open.load(r);
    connections_total += w.connections_total.load(r);
    hellos += w.hellos.load(r);
    healthchecks += w.healthchecks.load(r);
    notifies += w.notifies.load(r);
    acks += w.acks.load(r);
    haproxy_disconnects += w.haproxy_disconnects.load(r);
    peer_closes += w.peer_closes.load(r);
    io_errors += w.io_errors.load(r);
    protocol_errors += w.protocol_errors.load(r);
    handler_errors += w.handler_errors.load(r);
    for (size_t i = 0; i < kStatusSlots; ++i) disconnects_sent[i] += w.disconnects_sent[i].load(r);
    for (size_t i = 0; i < kLatencyBuckets; ++i) notify_latency[i] += w.notify_latency[i].load(r);
    notify_latency_sum_ns += w.notify_latency_sum_ns.load(r);
  }
  uint64_t disconnects_with(unsigned status) const { return disconnects_sent[status_slot(status)]; }
  // Upper bound (ns) of the bucket holding quantile q (0 < q <= 1) of NOTIFY processing times.
  uint64_t latency_quantile_ns(double q) const {
    uint64_t total = 0;
    for (uint64_t c : notify_latency) total += c;
    if (total == 0) return 0;
    const auto rank = static_cast<uint64_t>(q * static_cast<double>(total));
    uint64_t seen = 0;
    for (size_t i = 0; i < kLatencyBuckets; ++i) {
      seen += notify_latency[i];
      if (seen >= rank && seen > 0) return uint64_t{2} << i;
    }
    return uint64_t{2} << (kLatencyBuckets - 1);
  }
};

}  // namespace myspoa::server
