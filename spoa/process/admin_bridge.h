// The admin endpoint's view of the running agent: admin::AgentView over the App, and the admin
// callbacks (reload, checksum runs) over its consistency scheduler. It lives with the process
// wiring so that spoa/app and spoa/admin do not depend on each other.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "spoa/admin/admin_server.h"
#include "spoa/app/app.h"

namespace myspoa::process {

class AppAdminView : public admin::AgentView {
 public:
  explicit AppAdminView(app::App& app) : app_(app) {}

  admin::StatusInputs status_inputs() const override;
  uint64_t decisions_total() const override;
  std::vector<events::Event> events_since(uint64_t seq) const override;
  bool knows_server(const std::string& server) const override;
  std::string drain(const std::string& server, bool drained) override;
  std::string promote(const std::string& server, bool force) override;

 private:
  app::App& app_;
};

// POST /reload calls `reload`; the /checksum endpoints drive app.consistency() (after start()).
admin::AdminCallbacks admin_callbacks(app::App& app, std::function<std::string()> reload);

}  // namespace myspoa::process
