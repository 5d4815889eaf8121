#include "spoa/ctl/checksum_views.h"

#include <cstdio>
#include <ctime>
#include <vector>

#include "spoa/ctl/text_table.h"

namespace myspoa::ctl {

namespace {
using nlohmann::json;

std::string s_of(const json& j, const char* key, const std::string& dflt = "") {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return dflt;
  return j[key].get<std::string>();
}
int64_t i_of(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return 0;
  return j[key].get<int64_t>();
}
double d_of(const json& j, const char* key, double dflt = 0) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return dflt;
  return j[key].get<double>();
}
bool b_of(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_boolean() && j[key].get<bool>();
}

std::string utc(int64_t unix_ms) {
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// "app.t (1 chunk), app.u (3 chunks)"; "-" for none.
std::string findings(const json& list) {
  std::string out;
  if (list.is_array())
    for (const auto& t : list) {
      const auto chunks = i_of(t, "chunks");
      out += (out.empty() ? "" : ", ") + s_of(t, "table", "?") + " (" + std::to_string(chunks) +
             (chunks == 1 ? " chunk)" : " chunks)");
    }
  return out.empty() ? "-" : out;
}

// "3 tables, 1,002,000 rows, 1,210 chunks in 12.3 s, complete" for a finished report.
std::string run_summary(const json& r) {
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f s", d_of(r, "seconds"));
  const auto tables = i_of(r, "tables_checked");
  std::string out = std::to_string(tables) + (tables == 1 ? " table, " : " tables, ") +
                    thousands(i_of(r, "rows_checked")) + " rows, " + thousands(i_of(r, "chunks")) +
                    " chunks in " + secs;
  if (b_of(r, "complete"))
    out += ", complete";
  else if (b_of(r, "cancelled"))
    out += ", cancelled (the next run resumes)";
  else
    out += ", incomplete";
  if (const auto e = s_of(r, "error"); !e.empty()) out += ": " + e;
  return out;
}

// "db03, db05 inconsistent; 2 consistent" from a report's replicas.
std::string verdict_summary(const json& r) {
  std::string bad, err;
  int good = 0, unchecked = 0;
  if (r.contains("replicas") && r["replicas"].is_array())
    for (const auto& x : r["replicas"]) {
      const auto st = s_of(x, "state");
      if (st == "inconsistent")
        bad += (bad.empty() ? "" : ", ") + s_of(x, "name", "?");
      else if (st == "error")
        err += (err.empty() ? "" : ", ") + s_of(x, "name", "?");
      else if (st == "consistent")
        ++good;
      else
        ++unchecked;
    }
  std::vector<std::string> parts;
  if (!bad.empty()) parts.push_back(bad + " INCONSISTENT");
  if (!err.empty()) parts.push_back(err + " not checked (error)");
  if (good) parts.push_back(std::to_string(good) + " consistent");
  if (unchecked) parts.push_back(std::to_string(unchecked) + " unchecked");
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out.empty() ? "no replicas" : out;
}
}  // namespace

std::string thousands(int64_t n) {
  const bool neg = n < 0;
  std::string digits = std::to_string(neg ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return neg ? "-" + out : out;
}

std::string duration(double seconds) {
  if (seconds < 0) return "?";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>((s % 3600) / 60));
  return buf;
}

std::string render_checksum_status(const json& st, int64_t now_unix_ms) {
  const json p = st.contains("progress") ? st["progress"] : json::object();
  if (b_of(st, "running") || b_of(p, "running")) {
    const auto done = i_of(p, "rows_done");
    const auto est = i_of(p, "rows_estimated");
    std::string line = "checksum running: " + s_of(p, "current_table", "?") + " chunk " +
                       std::to_string(i_of(p, "current_chunk"));
    if (const auto cs = i_of(p, "chunk_size"); cs > 0) line += " (" + thousands(cs) + " rows)";
    line += ", " + thousands(done) + " of ~" + thousands(est) + " rows";
    if (est > 0) {
      char pct[16];
      std::snprintf(pct, sizeof pct, " (%d%%)",
                    static_cast<int>(100.0 * static_cast<double>(std::min(done, est)) /
                                     static_cast<double>(est)));
      line += pct;
    }
    line += ", table " + std::to_string(i_of(p, "tables_done") + 1) + "/" +
            std::to_string(i_of(p, "tables_total"));
    line +=
        ", elapsed " + duration(d_of(p, "elapsed_s")) + ", ETA " + duration(d_of(p, "eta_s", -1));
    line += "\n";
    if (b_of(p, "paused")) line += "paused: " + s_of(p, "pause_reason", "(no reason given)") + "\n";
    return line;
  }
  std::string line = "checksum idle";
  if (!b_of(st, "enabled"))
    line += " (scheduled runs disabled; `myspoactl checksum run` starts one)";
  line += ": " + std::to_string(i_of(st, "runs_finished")) + " runs finished";
  if (b_of(st, "resume_pending")) line += ", a cancelled run resumes at the next run";
  if (st.contains("next_run_unix_ms") && st["next_run_unix_ms"].is_number()) {
    const auto next = i_of(st, "next_run_unix_ms");
    line += ", next run " + utc(next);
    if (now_unix_ms > 0 && next >= now_unix_ms)
      line += " (in " + duration(static_cast<double>(next - now_unix_ms) / 1000.0) + ")";
  }
  line += "\n";
  const json r = st.contains("last_report") ? st["last_report"] : json(nullptr);
  if (r.is_object())
    line += "last run " + utc(i_of(r, "finished_unix_ms")) + " on " + s_of(r, "writer", "?") +
            ": " + run_summary(r) + "; " + verdict_summary(r) + "\n";
  else
    line += "no run has finished yet\n";
  return line;
}

std::string render_checksum_report(const json& r) {
  std::string out = "checksum run on writer " + s_of(r, "writer", "?") + " (server_id " +
                    std::to_string(i_of(r, "writer_server_id")) + "), " +
                    utc(i_of(r, "started_unix_ms")) + ": " + run_summary(r) + "\n";
  std::vector<std::vector<std::string>> rows = {
      {"REPLICA", "SERVER_ID", "ADDRESS", "VIA", "METHOD", "STATE", "DIFFS", "RETRIED"}};
  std::vector<std::string> notes, verdicts;
  if (r.contains("replicas") && r["replicas"].is_array())
    for (const auto& x : r["replicas"]) {
      const auto name = s_of(x, "name", "?");
      const auto diffs = findings(x.value("inconsistent", json::array()));
      std::string state = s_of(x, "state", "?");
      if (b_of(x, "requires_rebuild")) state += ", requires rebuild";
      rows.push_back({name, std::to_string(i_of(x, "server_id")), s_of(x, "address", "-"),
                      s_of(x, "master", "-"), s_of(x, "method", "-"), state, diffs,
                      std::to_string(i_of(x, "retried_chunks"))});
      // The checksum table alone is pt-table-checksum's view; say so when it disagrees.
      const auto table_view = findings(x.value("checksum_table_view", json::array()));
      if (s_of(x, "method") == "direct" && table_view != diffs)
        notes.push_back(name + ": the checksum table alone (pt-table-checksum's view) says " +
                        (table_view == "-" ? std::string("no difference") : table_view));
      if (x.contains("errors") && x["errors"].is_array())
        for (const auto& e : x["errors"])
          if (e.is_string()) notes.push_back(name + ": error: " + e.get<std::string>());
      if (const auto v = s_of(x, "verdict"); !v.empty()) verdicts.push_back(v);
    }
  out += text_table(rows);
  if (r.contains("skipped") && r["skipped"].is_array())
    for (const auto& s : r["skipped"])
      notes.push_back("skipped " + s_of(s, "table", "?") + ": " + s_of(s, "reason"));
  if (r.contains("errors") && r["errors"].is_array())
    for (const auto& e : r["errors"])
      if (e.is_string()) notes.push_back("error: " + e.get<std::string>());
  for (const auto& n : notes) out += n + "\n";
  out += "\n";
  for (const auto& v : verdicts) out += v + "\n";
  return out;
}

}  // namespace myspoa::ctl
