// The probe engine: one thread with its own libev loop probes every configured MySQL server each
// interval over one kept-open non-blocking connection per server, runs the rise/fall hysteresis
// and publishes an immutable Snapshot after every round. Readers (policy, admin) call snapshot()
// and never block the engine; the app gets on_round() on the engine thread to run its policy.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "probes/mysql_client.h"
#include "probes/round_book.h"
#include "probes/snapshot.h"
#include "spoa/config/config.h"
#include "spoa/ev/loop.h"
#include "spoa/ev/watchers.h"

namespace myspoa::probes {

struct ProbeEngineCounters {
  uint64_t rounds = 0;
  uint64_t probes_ok = 0;
  uint64_t probes_failed = 0;
  uint64_t skipped_busy = 0;     // a probe of the previous round still outstanding
  uint64_t catch_up = 0;         // late probes launched right after a skipped one finished
  uint64_t lost_while_idle = 0;  // crashed servers seen through their closed socket
  uint64_t transitions = 0;
  uint64_t heartbeat_writes = 0;
  uint64_t flap_holds = 0;  // servers held Down as flapping (mysql.flap_threshold)
  uint64_t executes = 0;    // statements run for others through execute()
  uint64_t execute_failures = 0;
  uint64_t lock_queries = 0;  // election statements (cluster.cooperation: majority)
  uint64_t lock_failures = 0;
};

class ProbeEngine {
 public:
  using RoundCallback = std::function<void(SnapshotPtr)>;
  // Steady milliseconds; stamps probe results, snapshots and the election (default: the
  // process's steady clock). Injected so that tests control time.
  using Clock = clock::Source;

  // `previous`: the snapshot of the engine this one replaces (configuration reload). Servers it
  // names keep their state, so a reload causes no flap; the caller leaves out servers whose
  // address changed.
  // With cluster.cooperation: majority the engine also runs the primary election (election.h)
  // over one extra connection per server, on the same loop, and publishes its tally as
  // Snapshot::coordination with every round (a primary that loses the majority steps down in
  // the round that sees it).
  explicit ProbeEngine(const config::Config& cfg, SnapshotPtr previous = nullptr,
                       Clock clock = nullptr);
  ~ProbeEngine();
  ProbeEngine(const ProbeEngine&) = delete;
  ProbeEngine& operator=(const ProbeEngine&) = delete;

  // Set before start(). Invoked on the engine thread after every round's snapshot is published.
  void on_round(RoundCallback cb) { on_round_ = std::move(cb); }

  void start();
  void stop();  // idempotent; joins the engine thread

  // The latest round's snapshot, never null. Cold path (admin, reload): a mutex, not
  // std::atomic<shared_ptr> (libstdc++ 12 guards that with a lock bit ThreadSanitizer cannot see).
  SnapshotPtr snapshot() const;

  // The server that receives heartbeat writes (default masters[0]). Thread-safe.
  void set_writer(std::string name);
  std::string writer() const;

  ProbeEngineCounters counters() const;

  // Runs `sql` (several statements allowed) on `server` over a second connection kept for such
  // statements (the probe connection stays free for probes), on the engine's loop with the same
  // non-blocking client and deadlines (query deadline at least 2 s: SET GLOBAL read_only waits
  // for running commits). Statements for one server run one after the other. `done` runs on the
  // engine thread (or at once on the caller's when the server is unknown or the engine is not
  // running); it must not block. Thread-safe.
  using ExecuteDone = std::function<void(QueryOutcome&&)>;
  void execute(const std::string& server, std::string sql, ExecuteDone done);

 private:
  struct Server;

  void on_async();
  const ServerState* seed_for(const config::ServerConfig& s) const;
  void run_thread();
  void tick();
  void launch(size_t i);
  void on_result(size_t i, uint64_t round, bool counted, bool writer, bool hb_read,
                 QueryOutcome&& o);
  void on_lost(size_t i, const std::string& why);
  void launch_lock(size_t i);
  void on_lock_result(size_t i, uint64_t round, bool counted, QueryOutcome&& o);
  void round_done(uint64_t round, bool counted, bool changed);
  bool apply(size_t i, const ProbeResult& r);  // true when a state changed
  void publish();
  void drain_executes();
  void run_execute(size_t i);

  config::MysqlConfig mysql_;
  std::vector<config::ServerConfig> server_cfg_;
  SnapshotPtr previous_;  // seed for servers_ (reload), dropped once used
  std::string hb_db_, hb_table_;
  RoundBook book_;      // hysteresis, election tally, snapshots (the pure round logic)
  Election* election_;  // book_'s, majority mode only (nullptr otherwise)

  // The engine thread's loop and its own watchers (spoa/ev); created by start(), destroyed by
  // stop() after the thread has ended.
  std::unique_ptr<ev::Loop> loop_;
  std::unique_ptr<ev::Timer> tick_;
  std::unique_ptr<ev::Async> async_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;

  std::vector<std::unique_ptr<Server>> servers_;
  uint64_t round_ = 0;
  size_t outstanding_ = 0;  // probes of the current round not finished yet
  bool published_ = true;   // the current round's snapshot is out
  bool launching_ = false;

  mutable std::mutex writer_mu_;
  std::string writer_;

  struct ExecuteRequest {
    std::string server;
    std::string sql;
    ExecuteDone done;
  };
  std::mutex exec_mu_;
  std::vector<ExecuteRequest> exec_queue_;  // handed to the loop by async_
  bool exec_open_ = false;                  // the loop will still drain exec_queue_

  RoundCallback on_round_;
  mutable std::mutex snapshot_mu_;
  SnapshotPtr snapshot_;  // guarded by snapshot_mu_

  struct AtomicCounters {
    std::atomic<uint64_t> rounds{0}, probes_ok{0}, probes_failed{0}, skipped_busy{0}, catch_up{0},
        lost_while_idle{0}, transitions{0}, heartbeat_writes{0}, flap_holds{0}, executes{0},
        execute_failures{0}, lock_queries{0}, lock_failures{0};
  } counters_;
};

}  // namespace myspoa::probes
