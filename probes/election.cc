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

LockObservation parse_lock_result(const ResultSet& rs) {
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
  return o;
}

Election::Election(size_t servers, std::string lock_prefix, std::string agent_name)
    : primary_lock_(lock_prefix + ".primary"),
      agent_lock_(lock_prefix + ".agent." + agent_name),
      agent_name_(std::move(agent_name)),
      last_(servers),
      named_(servers, false) {}

std::string Election::statement(size_t i) const {
  // Lock names are validated by the config loader ([A-Za-z0-9_.-]): no quoting issue.
  const std::string holder =
      "IS_USED_LOCK('" + primary_lock_ + "') AS holder, CONNECTION_ID() AS me";
  if (i < last_.size() && last_[i].held) return "SELECT " + holder;
  std::string sql = "SELECT GET_LOCK('" + primary_lock_ + "', 0) AS got, ";
  if (i >= named_.size() || !named_[i]) sql += "GET_LOCK('" + agent_lock_ + "', 0) AS named, ";
  return sql + holder;
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
  if (c.primary && !primary_) primary_since_ms_ = now_ms;
  primary_ = c.primary;
  c.primary_since_ms = c.primary ? primary_since_ms_ : 0;
  c.primary_name = c.primary ? agent_name_ : "";
  return c;
}

}  // namespace myspoa::probes
