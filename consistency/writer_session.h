// The writer's side of a run: one session with pt-table-checksum's settings (STATEMENT binlog
// format so each direct replica recomputes every chunk on its own data, REPEATABLE READ, short
// lock waits), the chunk statements, and read-only snapshot rechecks. Blocking, on the run's
// thread; server values are parsed with errors as values (server_values.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "consistency/checksum_sql.h"
#include "consistency/gtid_position.h"
#include "consistency/run_options.h"
#include "consistency/server_values.h"
#include "consistency/table_plan.h"
#include "probes/blocking_session.h"
#include "spoa/config/config.h"

namespace myspoa::consistency {

class WriterSession {
 public:
  WriterSession(const config::Config& cfg, const RunnerOptions& options)
      : cfg_(cfg), opt_(options) {}

  // Connects to `writer`, which must be a configured master with read_only=0, sets the session
  // up and creates the checksum table when missing.
  bool connect(const std::string& writer, int64_t& server_id, std::string& error);
  bool connected() const { return session_.connected(); }
  const std::string& name() const { return name_; }
  probes::BlockingSession& session() { return session_; }

  // The tables consistency.databases / consistency.tables select.
  bool list_tables(TableList& out, std::string& error);
  // @@gtid_binlog_pos.
  bool position(GtidPosition& pos, std::string& error);
  // Columns and key of a table; why_skip set when it cannot be checksummed.
  bool load_table(TablePlan& t, std::string& why_skip, std::string& error);
  // Removes a table's chunks of an earlier run (replicated).
  bool start_table(const std::string& db, const std::string& table, std::string& error);
  // Sets c.upper to the key `rows` rows after c.lower (nullopt: the rest of the table).
  bool next_boundary(ChunkId& c, int64_t rows, std::string& error);
  // REPLACE ... SELECT of one chunk into the checksum table (replicated), then its master_*
  // columns. Lock waits and deadlocks are retried.
  bool checksum_chunk(const ChunkId& c, const std::vector<Column>& cols, ChunkChecksum& sum,
                      double& seconds, std::string& error);
  // The chunk's checksum and the binlog position of the same consistent snapshot; writes
  // nothing.
  bool snapshot_chunk(const ChunkId& c, const std::vector<Column>& cols, ChunkChecksum& sum,
                      GtidPosition& pos, std::string& error);

 private:
  const config::Config& cfg_;
  const RunnerOptions& opt_;
  probes::BlockingSession session_;
  std::string name_;
};

}  // namespace myspoa::consistency
