#include "consistency/replica_set.h"

#include <chrono>
#include <thread>

#include "consistency/checksum_sql.h"
#include "consistency/server_values.h"

namespace myspoa::consistency {

probes::Parsed<ReplicaSource> replica_source(const probes::ResultSet& slave_status,
                                             const std::vector<config::ServerConfig>& servers,
                                             const std::string& writer) {
  probes::Parsed<ReplicaSource> out;
  auto status = probes::parse_replication_status(slave_status);
  if (!status.ok()) {
    out.error = "SHOW SLAVE STATUS: " + status.error;
    return out;
  }
  if (!status.value) {
    out.error = "not replicating (no SHOW SLAVE STATUS row)";
    return out;
  }
  const auto& host = status.value->master_host;
  const auto port = status.value->master_port;
  out.value.master = host + ":" + std::to_string(port);
  for (const auto& m : servers)
    if (m.address.host == host && m.address.port == port) out.value.master = m.name;
  out.value.direct = out.value.master == writer;
  std::string filters;
  for (const char* f :
       {"Replicate_Do_DB", "Replicate_Ignore_DB", "Replicate_Do_Table", "Replicate_Ignore_Table",
        "Replicate_Wild_Do_Table", "Replicate_Wild_Ignore_Table"}) {
    const auto v = first_value(slave_status, f).value_or("");
    if (!v.empty()) filters += (filters.empty() ? "" : ", ") + std::string(f) + "=" + v;
  }
  if (!filters.empty())
    out.value.refusal = "replication filters set (" + filters +
                        "): checksums and data may not replicate alike, replica not checked";
  return out;
}

void ReplicaSet::discover(const std::string& writer, const GtidPosition& writer_pos) {
  for (const auto& s : cfg_.cluster.servers)
    if (s.name != writer) connect(s, writer);
  // The checksum table must have reached every replica (its CREATE was replicated).
  for (auto& r : replicas_)
    if (r.usable) check_table(r, writer_pos);
}

void ReplicaSet::connect(const config::ServerConfig& s, const std::string& writer) {
  Replica& r = replicas_.emplace_back();
  r.cfg = &s;
  if (auto err = r.session.connect(session_settings(s, cfg_.mysql, opt_)); !err.empty()) {
    r.errors.push_back(err);
    return;
  }
  auto id = r.session.query("SELECT @@server_id AS id");
  if (id.ok) {
    const auto n = first_int(result_of(id), "id");
    if (!n.ok()) {
      r.errors.push_back("@@server_id: " + n.error);
      return;
    }
    r.server_id = n.value;
  }
  auto ss = r.session.query("SHOW SLAVE STATUS");
  if (!ss.ok) {
    r.errors.push_back(ss.error);
    return;
  }
  const auto source = replica_source(result_of(ss), cfg_.cluster.servers, writer);
  if (!source.ok()) {
    r.errors.push_back(source.error);
    return;
  }
  r.master = source.value.master;
  r.direct = source.value.direct;
  if (!source.value.refusal.empty()) {
    r.errors.push_back(source.value.refusal);
    return;
  }
  r.usable = true;
}

void ReplicaSet::check_table(Replica& r, const GtidPosition& writer_pos) {
  const auto [schema, table] = split_schema_table(cfg_.consistency.schema_table);
  std::string err;
  if (!wait_position(r, writer_pos, err)) {
    r.errors.push_back(err);
    r.usable = false;
    return;
  }
  auto t =
      r.session.query("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = " +
                      quote_string(schema) + " AND TABLE_NAME = " + quote_string(table));
  if (!t.ok || first_value(result_of(t), "n") != "1") {
    r.errors.push_back("checksum table " + cfg_.consistency.schema_table +
                       " is missing (replication filtered or broken?): " +
                       (t.ok ? std::string("not found") : t.error));
    r.usable = false;
  }
}

probes::Parsed<GtidPosition> ReplicaSet::position(Replica& r) {
  auto q = r.session.query("SELECT @@gtid_current_pos AS p");
  if (!q.ok) {
    probes::Parsed<GtidPosition> out;
    out.error = "cannot read gtid_current_pos: " + q.error;
    return out;
  }
  auto p = GtidPosition::parse(first_value(result_of(q), "p").value_or(""));
  if (!p.ok()) p.error = "gtid_current_pos: " + p.error;
  return p;
}

bool ReplicaSet::wait_position(Replica& r, const GtidPosition& target, std::string& error) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(opt_.replica_wait_s);
  auto sleep = std::chrono::milliseconds(1);
  for (;;) {
    const auto have = position(r);
    if (!have.ok()) {
      error = have.error;
      return false;
    }
    if (have.value.reached(target)) return true;
    if (Clock::now() > deadline || cancel_) {
      error = "did not reach the writer's position " + target.text() + " within " +
              std::to_string(opt_.replica_wait_s) + " s (at " + have.value.text() + ")";
      return false;
    }
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, std::chrono::milliseconds(50));
  }
}

}  // namespace myspoa::consistency
