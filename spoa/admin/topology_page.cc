#include "spoa/admin/topology_page.h"

#include <cstdio>

#include "common/json_fields.h"

namespace myspoa::admin {

namespace {
using nlohmann::json;

std::string escape_html(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

using json_fields::flag;
using json_fields::text;

void replace_marker(std::string& page, const std::string& marker, const std::string& with) {
  const auto at = page.find(marker);
  if (at != std::string::npos) page.replace(at, marker.size(), with);
}
}  // namespace

std::string render_topology_page(const StatusInputs& in) {
  std::string page(topology_page_html());
  const json st = render_status_json(in);
  std::string rows;
  for (const auto& s : st["servers"]) {
    std::string lag = "-";
    if (s["lag_s"].is_number()) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f s", s["lag_s"].get<double>());
      lag = buf;
    }
    const std::string pool = flag(s, "in_read_pool") ? "yes (" + text(s, "weight") + ")"
                             : flag(s, "drained")    ? "no (drained)"
                                                     : "no";
    std::string why = text(s, "why", "");
    const auto routing = text(s, "routing", "");
    if (!routing.empty()) why += (why.empty() ? "" : " / ") + routing;
    const std::string cells[] = {text(s, "name"),
                                 text(s, "address"),
                                 text(s, "role") + (flag(s, "writer") ? ", writer" : ""),
                                 text(s, "state"),
                                 text(s, "replication"),
                                 lag,
                                 pool,
                                 text(s, "consistency"),
                                 why};
    rows += "<tr data-row=\"" + escape_html(text(s, "name")) + "\">";
    for (const auto& c : cells) rows += "<td>" + escape_html(c) + "</td>";
    rows += "</tr>\n";
  }
  replace_marker(page, "<!--myspoa:rows-->", rows);
  replace_marker(page, "<!--myspoa:writer-->",
                 escape_html(text(st, "writer", "none (writes refused)")));
  replace_marker(page, "<!--myspoa:scenario-->", escape_html(text(st, "scenario")));
  return page;
}

}  // namespace myspoa::admin
