#include "spoa/ctl/status_table.h"

#include <cstdio>
#include <ctime>
#include <vector>

#include "common/json_fields.h"
#include "spoa/ctl/text_table.h"

namespace myspoa::ctl {

namespace {
using nlohmann::json;

using json_fields::flag;
using json_fields::text;

std::string yes_no(const json& v) {
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  return "-";
}

std::string lag(const json& v) {
  if (!v.is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", v.get<double>());
  return buf;
}

}  // namespace

std::string render_servers(const json& status) {
  std::vector<std::vector<std::string>> rows = {{"SERVER", "ADDRESS", "ROLE", "STATE",
                                                 "REPLICATION", "LAG", "READ_ONLY", "CONSISTENCY",
                                                 "IN POOL"}};
  if (status.contains("servers") && status["servers"].is_array()) {
    for (const auto& s : status["servers"]) {
      std::string role = text(s, "role");
      if (flag(s, "writer")) role += ", writer";
      const json probe = s.contains("last_probe") ? s["last_probe"] : json(nullptr);
      const json ro =
          probe.is_object() && probe.contains("read_only") ? probe["read_only"] : json(nullptr);
      std::string pool = flag(s, "in_read_pool") ? "yes (" + text(s, "weight", "0") + ")" : "no";
      if (flag(s, "drained")) pool += " (drained)";
      rows.push_back({text(s, "name"), text(s, "address"), role, text(s, "state"),
                      text(s, "replication"), lag(s.value("lag_s", json(nullptr))), yes_no(ro),
                      text(s, "consistency"), pool});
    }
  }
  return text_table(rows);
}

// "role: primary (lb1, 5/5 locks)   " from /status "coordination"; "" from an older agent.
static std::string role_of(const json& status) {
  if (!status.contains("coordination") || !status["coordination"].is_object()) return "";
  const json& c = status["coordination"];
  std::string role = "role: " + text(c, "role");
  if (text(c, "mode") == "majority")
    role += " (" + text(c, "name") + ", " + text(c, "locks_held") + "/" + text(c, "servers") +
            " locks" + (text(c, "role") == "primary" ? "" : ", primary " + text(c, "primary")) +
            ")";
  return role + "   ";
}

std::string render_status(const json& status) {
  std::string head = role_of(status) +
                     "writer: " + text(status, "writer", "none (writes refused)") +
                     "   scenario: " + text(status, "scenario") +
                     "   backup mode: " + (flag(status, "backup_mode") ? "YES" : "no");
  if (!flag(status, "known")) head += "   (state not known yet)";
  head += "\n";
  if (!status.contains("writer") || status["writer"].is_null())
    head += "refusal: " + text(status, "refusal") + "\n";
  return head + render_servers(status);
}

std::string render_events(const json& events) {
  std::string out;
  if (!events.contains("events") || !events["events"].is_array()) return out;
  for (const auto& e : events["events"]) {
    const auto ms = e.value("unix_ms", int64_t{0});
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char when[96];
    std::snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms % 1000));
    std::string server = text(e, "server", "");
    out += std::string(when) + "  #" + text(e, "seq") + "  " + text(e, "kind") + "  " +
           (server.empty() ? "-" : server) + "  " + text(e, "message", "") + "\n";
  }
  return out;
}

}  // namespace myspoa::ctl
