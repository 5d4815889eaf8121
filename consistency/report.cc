#include "consistency/report.h"

namespace myspoa::consistency {

const char* to_string(ReplicaState s) {
  switch (s) {
    case ReplicaState::Consistent:
      return "consistent";
    case ReplicaState::Inconsistent:
      return "inconsistent";
    case ReplicaState::Error:
      return "error";
    default:
      return "unchecked";
  }
}

namespace {
std::string tables_text(const std::vector<TableFinding>& tables) {
  std::string out;
  for (const auto& t : tables) {
    if (!out.empty()) out += ", ";
    out += t.table + " (" + std::to_string(t.chunks) + (t.chunks == 1 ? " chunk)" : " chunks)");
  }
  return out;
}
nlohmann::json findings_json(const std::vector<TableFinding>& tables) {
  auto a = nlohmann::json::array();
  for (const auto& t : tables) a.push_back({{"table", t.table}, {"chunks", t.chunks}});
  return a;
}
}  // namespace

std::string ReplicaReport::verdict_text() const {
  std::string text = "Replication replica " + name + " (server_id " + std::to_string(server_id) +
                     ") on " + address;
  switch (state) {
    case ReplicaState::Consistent:
      return text + " is consistent";
    case ReplicaState::Inconsistent:
      return text + " is inconsistent. Requires rebuild: " + tables_text(inconsistent);
    case ReplicaState::Error: {
      std::string why;
      for (const auto& e : errors) why += (why.empty() ? "" : "; ") + e;
      return text + " could not be checked: " + why;
    }
    default:
      return text + " was not checked";
  }
}

nlohmann::json to_json(const Report& r) {
  nlohmann::json j{{"writer", r.writer},
                   {"writer_server_id", r.writer_server_id},
                   {"started_unix_ms", r.started_unix_ms},
                   {"finished_unix_ms", r.finished_unix_ms},
                   {"complete", r.complete},
                   {"cancelled", r.cancelled},
                   {"resumed", r.resumed},
                   {"error", r.error},
                   {"tables_checked", r.tables_checked},
                   {"rows_checked", r.rows_checked},
                   {"chunks", r.chunks},
                   {"seconds", r.seconds}};
  auto replicas = nlohmann::json::array();
  for (const auto& x : r.replicas) {
    replicas.push_back({{"name", x.name},
                        {"server_id", x.server_id},
                        {"address", x.address},
                        {"master", x.master},
                        {"method", x.method},
                        {"state", to_string(x.state)},
                        {"requires_rebuild", x.state == ReplicaState::Inconsistent},
                        {"inconsistent", findings_json(x.inconsistent)},
                        {"checksum_table_view", findings_json(x.checksum_table_view)},
                        {"retried_chunks", x.retried_chunks},
                        {"errors", x.errors},
                        {"verdict", x.verdict_text()}});
  }
  j["replicas"] = std::move(replicas);
  auto skipped = nlohmann::json::array();
  for (const auto& s : r.skipped) skipped.push_back({{"table", s.table}, {"reason", s.reason}});
  j["skipped"] = std::move(skipped);
  j["errors"] = r.errors;
  return j;
}

nlohmann::json to_json(const Progress& p) {
  return {{"running", p.running},
          {"paused", p.paused},
          {"pause_reason", p.pause_reason},
          {"tables_done", p.tables_done},
          {"tables_total", p.tables_total},
          {"rows_done", p.rows_done},
          {"rows_estimated", p.rows_estimated},
          {"current_table", p.current_table},
          {"current_chunk", p.current_chunk},
          {"chunk_size", p.chunk_size},
          {"elapsed_s", p.elapsed_s},
          {"eta_s", p.eta_s}};
}

}  // namespace myspoa::consistency
