#include "spoa/admin/operator_routes.h"

#include <string>

#include <httplib.h>

#include "spoa/admin/health.h"
#include "spoa/admin/topology_page.h"

namespace myspoa::admin {

namespace {
void reply_check(httplib::Response& res, const CheckAnswer& a) {
  res.status = a.status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(a.body, "text/plain; charset=utf-8");
}
}  // namespace

void register_operator_routes(httplib::Server& s, std::function<StatusInputs()> gather) {
  s.Get("/", [gather](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_header("Content-Security-Policy", kTopologyPageCsp);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_content(render_topology_page(gather()), "text/html; charset=utf-8");
  });
  s.Get("/health/live",
        [](const httplib::Request&, httplib::Response& res) { reply_check(res, health_live()); });
  s.Get("/health/ready",
        [gather = std::move(gather)](const httplib::Request&, httplib::Response& res) {
          reply_check(res, health_ready(gather()));
        });
}

}  // namespace myspoa::admin
