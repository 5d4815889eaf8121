// Primary election of cooperating agents (cluster.cooperation: majority, issue 12), the pure part:
// the statement each lock connection runs, what its answer means, and the tally over all servers.
// No I/O and no clock read: the probe engine runs the statements on one dedicated non-blocking
// connection per server (never the probe connection) and passes the time in.
//
// Per server and round: where this agent does not hold '<prefix>.primary' yet,
//   SELECT GET_LOCK('<prefix>.primary', 0) AS got, GET_LOCK('<prefix>.agent.<name>', 0) AS named,
//          IS_USED_LOCK('<prefix>.primary') AS holder, CONNECTION_ID() AS me
//          [, IS_USED_LOCK('<prefix>.agent.<peer>') AS peer0, ...]
// (the agent lock names the connection: a secondary that knows its peers' names, cluster.agents,
// finds which of them holds the primary lock; the agent lock is taken once per connection); where
// it holds it, only the cheap check
//   SELECT IS_USED_LOCK('<prefix>.primary') AS holder, CONNECTION_ID() AS me
// GET_LOCK(..., 0) never waits. Holding means holder == me. A connection that fails, times out or
// is closed released its locks on the server (the engine closes it), so it counts as not held.
//
// Without a majority an agent holds nothing (as MaxScale's majority locks do): locks kept by an
// agent that is not primary can only split the vote (2 + 2 of 5 with one server down: nobody is
// primary, nobody moves writes, until something changes). So a tally that is not primary while
// holding locks makes the next round release them,
//   SELECT RELEASE_LOCK('<prefix>.primary') AS released, <holder, me, peers as above>
// and the agent then only looks (no GET_LOCK) for a random 1..4 rounds, so that two agents that
// both released do not take the servers back in lockstep.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "probes/replication_parser.h"
#include "probes/snapshot.h"

namespace myspoa::probes {

// One server's answer to the lock statement.
struct LockObservation {
  bool answered = false;        // the statement ran and its row parsed
  bool held = false;            // this connection holds <prefix>.primary
  bool held_elsewhere = false;  // another connection holds it
  int holder_peer = -1;         // held elsewhere by peer k's lock connection (peer<k> == holder)
  std::string error;            // why not answered
};

// Parses the single row of either statement; a missing or malformed row is an error value.
// `peers`: how many peer<k> columns the statement asked for.
LockObservation parse_lock_result(const ResultSet& rs, size_t peers = 0);

class Election {
 public:
  // peers: the other cooperating agents' names (cluster.agents without this one), to name the
  // primary when this agent is not it.
  // seed: the back-off's random generator (0: from std::random_device).
  Election(size_t servers, std::string lock_prefix, std::string agent_name,
           std::vector<std::string> peers = {}, uint64_t seed = 0);

  const std::string& primary_lock() const { return primary_lock_; }
  const std::string& agent_lock() const { return agent_lock_; }
  size_t peers() const { return peers_.size(); }

  // The statement for server i this round (see above).
  std::string statement(size_t i) const;

  // Server i answered (or failed: answered=false). Counts until the next observation of i.
  void observe(size_t i, const LockObservation& o);
  // Server i's lock connection is gone (closed by the server, timed out): not held.
  void lost(size_t i) { observe(i, LockObservation{}); }

  // The tally: primary when the locks held are more than half of ALL servers. Becoming primary
  // stamps primary_since_ms with now_ms; losing the majority clears it at once. primary_name is
  // this agent's name when primary, else the peer whose lock connection holds the primary lock on
  // more than half of all servers ("" when unknown). Not primary while holding locks: the next
  // statements release them, then a back-off (see above).
  // Rounds left before this agent tries GET_LOCK again (0: it tries).
  int backoff_rounds() const { return backoff_; }
  CoordinationState tally(int64_t now_ms);

 private:
  std::string primary_lock_, agent_lock_, agent_name_;
  std::vector<std::string> peers_;       // their agent lock names
  std::vector<std::string> peer_names_;  // their agent names
  std::vector<LockObservation> last_;
  std::vector<bool> named_;  // the agent lock was taken on the current connection
  bool primary_ = false;
  bool release_ = false;  // the next statements release the locks held
  int backoff_ = 0;
  std::mt19937_64 rng_;
  int64_t primary_since_ms_ = 0;
};

}  // namespace myspoa::probes
