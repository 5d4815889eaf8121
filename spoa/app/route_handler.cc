#include "spoa/app/route_handler.h"

namespace myspoa::app {

namespace {
using spop::Scope;
using spop::TypedValue;

bool intent_from(const spop::Notify& notify, const spop::Message& m, Intent& out) {
  const TypedValue* v = notify.arg(m, "intent");
  if (v == nullptr || v->type != spop::DataType::String) return false;
  if (v->str == "read") {
    out = Intent::Read;
    return true;
  }
  if (v->str == "write") {
    out = Intent::Write;
    return true;
  }
  return false;
}
}  // namespace

int pick_reader(const policy::Decision& d, uint64_t n) {
  if (d.read_pool.empty() || d.total_read_weight <= 0) return -1;
  // The n-th point of the golden-ratio sequence frac(n * phi), scaled to the weight line: it is
  // equidistributed (long-run shares follow the weights) and low-discrepancy (k consecutive
  // picks land on k well-spread points, so a few connections already reach every server).
  const uint64_t frac = n * 0x9E3779B97F4A7C15ULL;  // frac(n * phi) * 2^64
  // 32 bits of the fraction are plenty: total weights stay far below 2^32.
  uint64_t point = ((frac >> 32) * static_cast<uint64_t>(d.total_read_weight)) >> 32;
  for (size_t i = 0; i < d.read_pool.size(); ++i) {
    const auto w = static_cast<uint64_t>(d.read_pool[i].weight);
    if (point < w) return static_cast<int>(i);
    point -= w;
  }
  return static_cast<int>(d.read_pool.size()) - 1;
}

RouteHandler::RouteHandler(DecisionBoard& board)
    : board_(board), workers_(static_cast<size_t>(board.workers())) {}

void RouteHandler::on_notify(const spop::Notify& notify, spop::AckWriter& ack, int worker_index) {
  auto& w = workers_[static_cast<size_t>(worker_index)];
  const policy::Decision& d = board_.for_worker(worker_index);
  for (const auto& m : notify.messages) {
    Intent intent;
    if (m.name != "myspoa-route" || !intent_from(notify, m, intent)) {
      w.counters.unknown_messages.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    answer(intent, d, w, ack);
  }
}

void RouteHandler::answer(Intent intent, const policy::Decision& d, WorkerState& w,
                          spop::AckWriter& ack) {
  std::string_view backend = kRefusalBackend;
  std::string_view server;
  if (intent == Intent::Write) {
    if (d.writer) {
      backend = d.writer_backend;
      server = *d.writer;
    }
  } else {
    const int i = pick_reader(d, w.read_cursor++);
    if (i >= 0) {
      backend = d.read_pool[static_cast<size_t>(i)].backend;
      server = d.read_pool[static_cast<size_t>(i)].name;
    }
  }
  const bool refused = server.empty();
  ack.set_var(Scope::Sess, "backend", TypedValue::string(backend));
  ack.set_var(Scope::Sess, "scenario", TypedValue::string(d.scenario));
  ack.set_var(Scope::Sess, "server", TypedValue::string(refused ? std::string_view("-") : server));
  ack.set_var(Scope::Sess, "refused", TypedValue::int32(refused ? 1 : 0));
  const auto r = refused ? RouteResult::Refused : RouteResult::Routed;
  w.counters.decisions[static_cast<size_t>(intent)][static_cast<size_t>(r)].fetch_add(
      1, std::memory_order_relaxed);
}

uint64_t RouteHandler::decisions(Intent i, RouteResult r) const {
  uint64_t n = 0;
  for (const auto& w : workers_)
    n += w.counters.decisions[static_cast<size_t>(i)][static_cast<size_t>(r)].load(
        std::memory_order_relaxed);
  return n;
}

uint64_t RouteHandler::unknown_messages() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += w.counters.unknown_messages.load(std::memory_order_relaxed);
  return n;
}

}  // namespace myspoa::app
