// The replicas of one run: discovery (which configured servers replicate, from whom, and
// whether they can be checked), and waiting until one has reached a writer position. Blocking,
// on the run's thread; every wait is bounded (RunnerOptions::replica_wait_s, the cancel flag).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "consistency/gtid_position.h"
#include "consistency/run_options.h"
#include "probes/blocking_session.h"
#include "probes/replication_parser.h"
#include "spoa/config/config.h"

namespace myspoa::consistency {

// One replica for the duration of a run.
struct Replica {
  const config::ServerConfig* cfg = nullptr;
  probes::BlockingSession session;
  bool usable = false;
  bool direct = false;  // replicates from the writer itself
  std::string master;   // configured name of its master, else host:port
  int64_t server_id = 0;
  std::vector<std::string> errors;  // this run's connection-level errors
};

// Where a replica replicates from, from its SHOW SLAVE STATUS (pure).
struct ReplicaSource {
  std::string master;
  bool direct = false;
  std::string refusal;  // non-empty: the replica cannot be checked (replication filters)
};
probes::Parsed<ReplicaSource> replica_source(const probes::ResultSet& slave_status,
                                             const std::vector<config::ServerConfig>& servers,
                                             const std::string& writer);

class ReplicaSet {
 public:
  ReplicaSet(const config::Config& cfg, const RunnerOptions& options,
             const std::atomic<bool>& cancel)
      : cfg_(cfg), opt_(options), cancel_(cancel) {}

  // Connects to every configured server but the writer and finds its source. A usable replica
  // must then reach `writer_pos` (where the checksum table was created) and have that table.
  void discover(const std::string& writer, const GtidPosition& writer_pos);

  // The replica's @@gtid_current_pos.
  probes::Parsed<GtidPosition> position(Replica& r);
  // Polls position() until it has reached `target`; false with `error` after replica_wait_s,
  // on cancel, or when the position cannot be read.
  bool wait_position(Replica& r, const GtidPosition& target, std::string& error);

  std::vector<Replica>& all() { return replicas_; }

 private:
  void connect(const config::ServerConfig& s, const std::string& writer);
  void check_table(Replica& r, const GtidPosition& writer_pos);

  const config::Config& cfg_;
  const RunnerOptions& opt_;
  const std::atomic<bool>& cancel_;
  std::vector<Replica> replicas_;
};

}  // namespace myspoa::consistency
