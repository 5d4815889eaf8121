// Liveness and readiness for Kubernetes, systemd and load balancers, as pure functions of the
// admin's StatusInputs (no clock, no I/O).
//   GET /health/live   the process answers: always 200 "live".
//   GET /health/ready  200 once the first probe round is complete (every server reached a known
//                      state, so the policy has a real decision) and the SPOP listener runs;
//                      503 with the reason otherwise.
#pragma once

#include "spoa/admin/status_view.h"

namespace myspoa::admin {

CheckAnswer health_live();
CheckAnswer health_ready(const StatusInputs& in);

}  // namespace myspoa::admin
