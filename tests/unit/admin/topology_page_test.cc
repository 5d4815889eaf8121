// GET / of the admin endpoint: the embedded page, self-contained, with the servers filled in at
// load time (HTML-escaped) so it names them even without JavaScript.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "spoa/admin/topology_page.h"

using namespace myspoa;

TEST_CASE("topology page: self-contained HTML that polls /status and /events", "[page]") {
  const std::string page(admin::topology_page_html());
  CHECK(page.rfind("<!doctype html>", 0) == 0);
  CHECK(page.find("</html>") != std::string::npos);
  CHECK(page.find("fetch(path") != std::string::npos);
  CHECK(page.find("\"/status\"") != std::string::npos);
  CHECK(page.find("\"/events?since=\"") != std::string::npos);
  // No external assets: nothing loaded from another origin, no src= at all.
  CHECK(page.find("http://") == page.find("http://www.w3.org/2000/svg"));
  CHECK(page.find("https://") == std::string::npos);
  CHECK(page.find(" src=") == std::string::npos);
  CHECK(page.find("<link") == std::string::npos);
  // The token goes in a header, never in a URL.
  CHECK(page.find("\"Authorization\": \"Bearer \"") != std::string::npos);
  CHECK(page.find("token=") == std::string::npos);
  // Agent data is set as text, never parsed as HTML.
  CHECK(page.find("innerHTML") == std::string::npos);
}

TEST_CASE("topology page: writer, scenario and one escaped row per server at load", "[page]") {
  auto cfg = config::parse_config(config::default_config_yaml(), "test.yaml");
  admin::StatusInputs in;
  in.config = &cfg;
  auto snap = std::make_shared<probes::Snapshot>();
  snap->round = 3;
  snap->complete = true;
  for (const auto& sc : cfg.cluster.servers) {
    probes::ServerState st;
    st.name = sc.name;
    st.liveness = sc.name == "db01" ? probes::Liveness::Down : probes::Liveness::Up;
    st.why = sc.name == "db01" ? "connect: <script>alert('x')</script> & co" : "";
    snap->servers.push_back(st);
  }
  in.snapshot = snap;
  auto d = std::make_shared<policy::Decision>();
  d->known = true;
  d->writer = "db02";
  d->scenario = "db01-down";
  in.decision = d;

  const auto page = admin::render_topology_page(in);
  for (const char* name : {"db01", "db02", "db03", "db04", "db05"})
    CHECK(page.find(std::string("<tr data-row=\"") + name + "\"><td>" + name + "</td>") !=
          std::string::npos);
  CHECK(page.find("<b id=\"writer\">db02</b>") != std::string::npos);
  CHECK(page.find(">db01-down</span>") != std::string::npos);
  CHECK(page.find("<td>down</td>") != std::string::npos);
  CHECK(page.find("connect: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co") !=
        std::string::npos);
  CHECK(page.find("<script>alert") == std::string::npos);
  CHECK(page.find("<!--myspoa:rows-->") == std::string::npos);

  in.decision = nullptr;  // no decision yet: no writer
  CHECK(admin::render_topology_page(in).find("<b id=\"writer\">none (writes refused)</b>") !=
        std::string::npos);
}
