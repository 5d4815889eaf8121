// What a consistency run found, and how far the current one is: plain structs for the scheduler,
// the admin endpoint (to_json) and the logs (verdict_text, in the seed's words).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace myspoa::consistency {

enum class ReplicaState : uint8_t { Unchecked, Consistent, Inconsistent, Error };
const char* to_string(ReplicaState s);

struct TableFinding {
  std::string table;  // "app.t"
  int chunks = 0;     // inconsistent chunks
};

struct ReplicaReport {
  std::string name;  // configured name, "db05"
  int64_t server_id = 0;
  std::string address;  // "127.0.0.1:33065"
  std::string master;   // the server it replicates from ("db02")
  // "checksum-table": pt-table-checksum's differences query (direct replica of the writer);
  // "direct": chunk checksums computed on the replica at the writer's GTID position (replica of
  // an intermediate master, which re-logs the checksum statements as rows).
  std::string method;
  ReplicaState state = ReplicaState::Unchecked;
  std::vector<TableFinding> inconsistent;  // verdict
  // What the checksum table alone (pt-table-checksum's view) says on this replica.
  std::vector<TableFinding> checksum_table_view;
  std::vector<std::string> errors;
  int retried_chunks = 0;  // chunks re-checked because rows changed underneath

  // "Replication replica db05 (server_id 5) on 127.0.0.1:33065 is inconsistent. Requires
  // rebuild: app.t (1 chunk)" / "... is consistent" / "... could not be checked: <errors>"
  std::string verdict_text() const;
};

struct SkippedTable {
  std::string table;
  std::string reason;
};

struct Report {
  std::string writer;
  int64_t writer_server_id = 0;
  int64_t started_unix_ms = 0;
  int64_t finished_unix_ms = 0;
  bool complete = false;   // every selected table was checked
  bool cancelled = false;  // stopped by cancel(); the next run resumes
  bool resumed = false;    // continued a cancelled run
  std::string error;       // why the run stopped early ("" when it did not)
  int tables_checked = 0;
  int64_t rows_checked = 0;
  int64_t chunks = 0;
  double seconds = 0;
  std::vector<ReplicaReport> replicas;  // configuration order
  std::vector<SkippedTable> skipped;
  std::vector<std::string> errors;  // table-level errors

  const ReplicaReport* find(const std::string& name) const {
    for (const auto& r : replicas)
      if (r.name == name) return &r;
    return nullptr;
  }
};

struct Progress {
  bool running = false;
  bool paused = false;
  std::string pause_reason;  // "db03 lags 3 s (max 1 s)"
  int tables_done = 0;
  int tables_total = 0;
  int64_t rows_done = 0;
  int64_t rows_estimated = 0;
  std::string current_table;
  int current_chunk = 0;
  int64_t chunk_size = 0;
  double elapsed_s = 0;
  double eta_s = -1;  // -1: unknown
};

nlohmann::json to_json(const Report& r);
nlohmann::json to_json(const Progress& p);

}  // namespace myspoa::consistency
