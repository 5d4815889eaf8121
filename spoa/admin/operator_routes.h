// The operator's routes of the admin endpoint that need no App: the topology page (GET /) and the
// health probes (GET /health/live, GET /health/ready). AdminServer registers them with one call,
// so they stay out of its route table.
#pragma once

#include <functional>

#include "spoa/admin/status_view.h"

namespace httplib {
class Server;
}

namespace myspoa::admin {

// `gather` returns the current StatusInputs (called once per /health/ready request).
void register_operator_routes(httplib::Server& server, std::function<StatusInputs()> gather);

}  // namespace myspoa::admin
