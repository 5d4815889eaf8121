#include "probes/election.h"

#include <cstdlib>

namespace myspoa::probes {
namespace {

// A column of the first row as an integer; nullopt for NULL, missing or not a number.
std::optional<int64_t> int_column(const ResultSet& rs, std::string_view name) {
  const int c = rs.column({name});
  if (c < 0 || rs.rows.empty() || static_cast<size_t>(c) >= rs.rows[0].size()) return std::nullopt;
  const auto& v = rs.rows[0][c];
  if (!v || v->empty()) return std::nullopt;
  char* end = nullptr;
  const long long n = std::strtoll(v->c_str(), &end, 10);
  if (!end || *end != '\0') return std::nullopt;
  return n;
}

}  // namespace

LockObservation parse_lock_result(const ResultSet& rs, size_t peers) {
  LockObservation o;
  const auto me = int_column(rs, "me");
  if (rs.rows.size() != 1 || !me) {
    o.error = "unexpected lock result";
    return o;
  }
  o.answered = true;
  const auto holder = int_column(rs, "holder");  // NULL: free (nobody holds it)
  o.held = holder && *holder == *me;
  o.held_elsewhere = holder && *holder != *me;
  for (size_t k = 0; o.held_elsewhere && k < peers; ++k) {
    const auto peer = int_column(rs, "peer" + std::to_string(k));
    if (peer && *peer == *holder) o.holder_peer = static_cast<int>(k);
  }
  return o;
}

Election::Election(size_t servers, std::string lock_prefix, std::string agent_name,
                   std::vector<std::string> peers, uint64_t seed)
    : primary_lock_(lock_prefix + ".primary"),
      agent_lock_(lock_prefix + ".agent." + agent_name),
      agent_name_(std::move(agent_name)),
      last_(servers),
      named_(servers, false),
      rng_(seed != 0 ? seed : std::random_device{}()) {
  for (auto& p : peers) peers_.push_back(lock_prefix + ".agent." + p);
  peer_names_ = std::move(peers);
}

std::string Election::statement(size_t i) const {
  // Lock names are validated by the config loader ([A-Za-z0-9_.-]): no quoting issue.
  const std::string holder =
      "IS_USED_LOCK('" + primary_lock_ + "') AS holder, CONNECTION_ID() AS me";
  std::string peers;
  for (size_t k = 0; k < peers_.size(); ++k)
    peers += ", IS_USED_LOCK('" + peers_[k] + "') AS peer" + std::to_string(k);
  const bool held = i < last_.size() && last_[i].held;
  if (held && release_)  // the select list runs left to right: holder is read after the release
    return "SELECT RELEASE_LOCK('" + primary_lock_ + "') AS released, " + holder + peers;
  if (held) return "SELECT " + holder;
  if (backoff_ > 0) return "SELECT " + holder + peers;  // look, don't take
  std::string sql = "SELECT GET_LOCK('" + primary_lock_ + "', 0) AS got, ";
  if (i >= named_.size() || !named_[i]) sql += "GET_LOCK('" + agent_lock_ + "', 0) AS named, ";
  return sql + holder + peers;
}

void Election::observe(size_t i, const LockObservation& o) {
  if (i >= last_.size()) return;
  last_[i] = o;
  // The agent lock lives as long as the connection: a failure closed it.
  named_[i] = o.answered;
}

CoordinationState Election::tally(int64_t now_ms) {
  CoordinationState c;
  c.enabled = true;
  c.servers = static_cast<int>(last_.size());
  for (const auto& o : last_) {
    if (o.held) c.locks_held++;
    if (o.held_elsewhere) c.locks_held_elsewhere++;
  }
  c.primary = c.locks_held * 2 > c.servers;
  if (!c.primary && c.locks_held > 0) {
    release_ = true;
    backoff_ = 1 + static_cast<int>(rng_() % 4);
  } else {
    release_ = false;
    if (backoff_ > 0) --backoff_;
  }
  if (c.primary && !primary_) primary_since_ms_ = now_ms;
  primary_ = c.primary;
  c.primary_since_ms = c.primary ? primary_since_ms_ : 0;
  c.primary_name = c.primary ? agent_name_ : "";
  for (size_t k = 0; !c.primary && k < peer_names_.size(); ++k) {
    int held = 0;
    for (const auto& o : last_) held += o.holder_peer == static_cast<int>(k) ? 1 : 0;
    if (held * 2 > c.servers) c.primary_name = peer_names_[k];
  }
  return c;
}

}  // namespace myspoa::probes
