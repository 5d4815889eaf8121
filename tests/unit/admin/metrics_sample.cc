// Prints the /metrics text rendered from a synthetic cluster (one server down, one lagging, some
// traffic) so `promtool check metrics` can validate the exposition format.
#include <iostream>

#include "spoa/admin/status_view.h"

using namespace myspoa;

int main() {
  auto cfg = config::parse_config(config::default_config_yaml(), "sample.yaml");
  auto snap = std::make_shared<probes::Snapshot>();
  snap->round = 7;
  auto dec = std::make_shared<policy::Decision>();
  dec->known = true;
  dec->writer = "db01";
  dec->scenario = "healthy";
  int id = 0;
  for (const auto& sc : cfg.cluster.servers) {
    probes::ServerState s;
    s.name = sc.name;
    s.probes = 3;
    s.liveness = sc.name == "db04" ? probes::Liveness::Down : probes::Liveness::Up;
    s.last.ok = s.liveness == probes::Liveness::Up;
    s.last.latency_us = 800 + 100 * ++id;
    s.last.read_only = !sc.replica_of.empty();
    if (s.last.ok) {
      probes::ReplicationStatus r;
      r.io_running = r.sql_running = true;
      r.seconds_behind = sc.name == "db05" ? 3 : 0;
      s.last.replication = r;
      s.lag_s = static_cast<double>(*r.seconds_behind);
    }
    snap->servers.push_back(s);
    policy::ServerVerdict v;
    v.name = sc.name;
    v.readable = s.last.ok;
    v.weight = s.last.ok ? sc.weight : 0;
    dec->servers.push_back(v);
    if (v.readable) dec->read_pool.push_back({sc.name, sc.backend, v.weight});
  }
  admin::StatusInputs in;
  in.config = &cfg;
  in.snapshot = snap;
  in.decision = dec;
  in.version = "0.1.0";
  in.started_unix_ms = 1'700'000'000'123;
  in.spop.connections_open = 2;
  in.spop.notifies = 1000;
  for (size_t i = 8; i < 14; ++i) in.spop.notify_latency[i] = i;
  in.spop.notify_latency_sum_ns = 123456;
  in.decisions = {{{600, 1}, {399, 0}}};
  std::cout << admin::render_metrics(in);
  return 0;
}
