#include "spoa/process/run_agent.h"

#include <signal.h>

#include <spdlog/spdlog.h>

#include "spoa/admin/admin_server.h"
#include "spoa/app/app.h"
#include "spoa/config/config.h"
#include "spoa/process/admin_bridge.h"
#include "spoa/version.h"

namespace myspoa::process {

int run_agent(const std::string& config_path, const std::string& log_level_override) {
  config::Config cfg;
  try {
    cfg = config_path.empty()
              ? config::parse_config(config::default_config_yaml(), "<embedded default>")
              : config::load_config_file(config_path);
  } catch (const config::ConfigError& e) {
    spdlog::critical("invalid configuration: {}", e.what());
    return 2;
  }
  const auto level = log_level_override.empty() ? cfg.agent.log_level : log_level_override;
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%t] %v");

  // Signals are taken synchronously by the main thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  // An admin endpoint reachable from the network without a token would let anyone move the writer.
  if (const auto why = admin::validate_admin_config(cfg.admin); !why.empty()) {
    spdlog::critical("cannot start: {}", why);
    return 2;
  }
  app::App app(cfg);
  std::string error;
  if (!app.start(error)) {
    spdlog::critical("cannot start: {}", error);
    return 1;
  }
  // Reload re-reads the file the agent was started with; the embedded default has none.
  const auto reload = [&app, config_path]() -> std::string {
    if (config_path.empty())
      return "running on the embedded default configuration: nothing to reload (use --config)";
    return app.reload(config_path);
  };
  AppAdminView view(app);
  admin::AdminServer admin_server(view, cfg.admin, admin_callbacks(app, reload));
  if (!admin_server.start(error)) {
    spdlog::critical("cannot start: {}", error);
    app.stop();
    return 1;
  }
  spdlog::info("myspoa {} serving SPOP on {} ({} workers), config {}", kVersion,
               cfg.agent.listen.to_string(), cfg.agent.threads, cfg.source);
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: reloading the configuration");
      if (const auto why = reload(); !why.empty()) spdlog::error("SIGHUP: {}", why);
      continue;
    }
    spdlog::info("signal {}: stopping (flushing pending ACKs)", sig);
    break;
  }
  admin_server.stop();
  app.stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace myspoa::process
