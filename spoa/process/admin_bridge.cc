#include "spoa/process/admin_bridge.h"

#include "consistency/consistency_scheduler.h"
#include "spoa/server/spop_server.h"

namespace myspoa::process {

namespace {
using app::Intent;
using app::RouteResult;
using Request = consistency::ConsistencyScheduler::RequestResult;

admin::ActionReply to_reply(const Request& r) {
  admin::ActionOutcome outcome = admin::ActionOutcome::Ok;
  switch (r.kind) {
    case Request::Kind::Ok:
      outcome = admin::ActionOutcome::Ok;
      break;
    case Request::Kind::Started:
      outcome = admin::ActionOutcome::Accepted;
      break;
    case Request::Kind::Refused:
      outcome = admin::ActionOutcome::Refused;
      break;
    case Request::Kind::NotFound:
      outcome = admin::ActionOutcome::NotFound;
      break;
  }
  return {outcome, r.body.dump()};
}
}  // namespace

admin::StatusInputs AppAdminView::status_inputs() const {
  admin::StatusInputs in;
  in.config_owner = app_.config();
  in.config = in.config_owner.get();
  in.snapshot = app_.snapshot();
  in.decision = app_.decision();
  in.overrides = app_.overrides();
  if (const auto* spop = app_.spop_server()) {
    in.spop = spop->counters();
    in.spop_running = spop->running();
  }
  const auto& h = app_.route_handler();
  for (int i = 0; i < 2; ++i)
    for (int r = 0; r < 2; ++r)
      in.decisions[static_cast<size_t>(i)][static_cast<size_t>(r)] =
          h.decisions(static_cast<Intent>(i), static_cast<RouteResult>(r));
  in.failovers = app_.failovers();
  in.writer_actions = app_.writer_action_counters();
  in.alerts = app_.alert_counters();
  in.flap_holds = app_.flap_holds();
  in.started_unix_ms = app_.started_unix_ms();
  return in;
}

uint64_t AppAdminView::decisions_total() const {
  const auto& h = app_.route_handler();
  return h.decisions(Intent::Write, RouteResult::Routed) +
         h.decisions(Intent::Write, RouteResult::Refused) +
         h.decisions(Intent::Read, RouteResult::Routed) +
         h.decisions(Intent::Read, RouteResult::Refused);
}

std::vector<events::Event> AppAdminView::events_since(uint64_t seq) const {
  return app_.events().since(seq);
}

bool AppAdminView::knows_server(const std::string& server) const {
  return app_.config()->cluster.find(server) != nullptr;
}

std::string AppAdminView::drain(const std::string& server, bool drained) {
  return app_.drain(server, drained);
}

std::string AppAdminView::promote(const std::string& server, bool force) {
  return app_.promote(server, force);
}

admin::AdminCallbacks admin_callbacks(app::App& app, std::function<std::string()> reload) {
  admin::AdminCallbacks cb;
  cb.reload = std::move(reload);
  cb.checksum_run = [&app](const std::string&) {
    // Cooperating agents: a secondary refuses, naming the primary (it never runs checksums).
    if (const auto why = app.not_primary_reason(); !why.empty())
      return admin::ActionReply{admin::ActionOutcome::Refused,
                                nlohmann::json{{"ok", false}, {"error", why}}.dump()};
    return to_reply(app.consistency()->request_run());
  };
  cb.checksum_cancel = [&app] { return to_reply(app.consistency()->request_cancel()); };
  cb.checksum_status = [&app] { return to_reply(app.consistency()->request_status()); };
  cb.checksum_report = [&app] { return to_reply(app.consistency()->request_report()); };
  cb.consistency = [&app] { return app.consistency()->verdicts(); };
  return cb;
}

}  // namespace myspoa::process
