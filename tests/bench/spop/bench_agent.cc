// spop_bench_agent: SpopServer with a trivial handler (3 string set-vars, like the real agent's
// answer) to measure the SPOP engine alone. Prints "port=N" once listening; stops on SIGINT/SIGTERM
// and prints the server-side counters and NOTIFY processing-time quantiles.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>

#include "spoa/ev/loop.h"
#include "spoa/ev/watchers.h"
#include "spoa/server/spop_server.h"

namespace {

class ThreeVarsHandler : public myspoa::server::NotifyHandler {
 public:
  void on_notify(const myspoa::spop::Notify&, myspoa::spop::AckWriter& ack, int) override {
    using myspoa::spop::Scope;
    using myspoa::spop::TypedValue;
    ack.set_var(Scope::Sess, "backend", TypedValue::string("be_db01"));
    ack.set_var(Scope::Sess, "scenario", TypedValue::string("healthy"));
    ack.set_var(Scope::Sess, "server", TypedValue::string("db01"));
  }
};

}  // namespace

int main(int argc, char** argv) {
  myspoa::server::SpopServerOptions o;
  o.port = 0;
  o.threads = 1;
  std::string level = "warn";
  CLI::App app{"spop_bench_agent: SpopServer with a trivial 3-variable handler"};
  app.add_option("--host", o.host);
  app.add_option("--port", o.port, "0: ephemeral (printed)");
  app.add_option("-t,--threads", o.threads)->check(CLI::Range(1, 64));
  app.add_option("--log-level", level);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::from_str(level));

  ThreeVarsHandler handler;
  myspoa::server::SpopServer server(o, handler);
  std::string error;
  if (!server.start(error)) {
    std::fprintf(stderr, "spop_bench_agent: %s\n", error.c_str());
    return 1;
  }
  std::printf("port=%u\n", server.port());
  std::fflush(stdout);

  myspoa::ev::Loop loop;
  auto quit = [&](int) { loop.break_loop(); };
  myspoa::ev::Signal sigint(loop, SIGINT, quit);
  myspoa::ev::Signal sigterm(loop, SIGTERM, quit);
  sigint.start();
  sigterm.start();
  loop.run();
  server.stop();

  const auto k = server.counters();
  std::printf(
      "agent: connections %llu notifies %llu acks %llu protocol_errors %llu\n"
      "agent: NOTIFY processing time (log2 buckets, upper bound) p50 <%llu ns p99 <%llu ns "
      "p999 <%llu ns\n",
      static_cast<unsigned long long>(k.connections_total),
      static_cast<unsigned long long>(k.notifies), static_cast<unsigned long long>(k.acks),
      static_cast<unsigned long long>(k.protocol_errors),
      static_cast<unsigned long long>(k.latency_quantile_ns(0.5)),
      static_cast<unsigned long long>(k.latency_quantile_ns(0.99)),
      static_cast<unsigned long long>(k.latency_quantile_ns(0.999)));
  return 0;
}
