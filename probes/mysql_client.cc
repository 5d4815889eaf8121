#include "probes/mysql_client.h"

#include <errno.h>
#include <mysql.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>

#include "common/clock.h"

namespace myspoa::probes {
namespace {

// Client-side errors (CR_*, 2000..2999) leave the connection unusable; server errors do not.
bool connection_error(unsigned err_no) {
  return err_no >= 2000 && err_no < 3000;
}

ResultSet to_result_set(MYSQL_RES* res) {
  ResultSet rs;
  unsigned n = mysql_num_fields(res);
  MYSQL_FIELD* fields = mysql_fetch_fields(res);
  rs.columns.reserve(n);
  for (unsigned i = 0; i < n; ++i) rs.columns.emplace_back(fields[i].name);
  while (MYSQL_ROW row = mysql_fetch_row(res)) {  // stored result: no I/O
    unsigned long* len = mysql_fetch_lengths(res);
    ResultSet::Row r;
    r.reserve(n);
    for (unsigned i = 0; i < n; ++i) {
      if (row[i])
        r.emplace_back(std::string(row[i], len[i]));
      else
        r.emplace_back(std::nullopt);
    }
    rs.rows.push_back(std::move(r));
  }
  return rs;
}

}  // namespace

const char* MysqlClient::to_string(State s) {
  switch (s) {
    case State::Disconnected:
      return "disconnected";
    case State::Connecting:
      return "connecting";
    case State::Idle:
      return "idle";
    case State::Querying:
      return "querying";
    case State::Storing:
      return "storing";
    case State::NextResult:
      return "next-result";
  }
  return "?";
}

MysqlClient::MysqlClient(ev::Loop& loop, MysqlClientSettings settings, uint64_t seed)
    : s_(std::move(settings)),
      io_(loop, [this](int events) { on_io(events); }),
      lib_timer_(loop, [this] { step(MYSQL_WAIT_TIMEOUT); }),
      deadline_(loop, [this] { on_deadline(); }),
      rng_(seed) {}

MysqlClient::~MysqlClient() {
  done_ = nullptr;  // nobody to tell any more
  close_handle();
}

void MysqlClient::run(std::string sql, Done done) {
  sql_ = std::move(sql);
  done_ = std::move(done);
  out_ = QueryOutcome{};
  started_us_ = clock::steady_us();
  if (state_ == State::Idle) {
    start_query();
    return;
  }
  if (state_ != State::Disconnected) {  // misuse: never run two operations at once
    QueryOutcome o;
    o.error = "probe client busy";
    auto d = std::move(done_);
    d(std::move(o));
    return;
  }
  if (started_us_ < next_attempt_us_) {
    out_.connect_failed = true;
    out_.error = "reconnect back-off (" + std::to_string((next_attempt_us_ - started_us_) / 1000) +
                 " ms left) after: " + last_error_;
    finish(std::move(out_));
    return;
  }
  start_connect();
}

bool tls_required(const std::string& ssl_mode) {
  return ssl_mode == "REQUIRED" || ssl_mode == "VERIFY_CA" || ssl_mode == "VERIFY_IDENTITY";
}

void MysqlClient::start_connect() {
  mysql_ = mysql_init(nullptr);
  if (!mysql_) {
    fail("mysql_init: out of memory", 0, true, false);
    return;
  }
  mysql_options(mysql_, MYSQL_OPT_NONBLOCK, nullptr);
  unsigned proto = MYSQL_PROTOCOL_TCP;
  mysql_options(mysql_, MYSQL_OPT_PROTOCOL, &proto);
  // Only a safety net: the deadlines below are ours. Whole seconds only in the library, and
  // never shorter than our query deadline (the consistency session's statements run long).
  unsigned safety_s = static_cast<unsigned>(std::max(2, s_.query_timeout_ms / 1000 + 1));
  mysql_options(mysql_, MYSQL_OPT_READ_TIMEOUT, &safety_s);
  mysql_options(mysql_, MYSQL_OPT_WRITE_TIMEOUT, &safety_s);
  if (!s_.ssl_mode.empty() && s_.ssl_mode != "DISABLED") {
    // PREFERRED: TLS when the server offers it. REQUIRED: also checked after the handshake.
    my_bool on = 1;
    mysql_options(mysql_, MYSQL_OPT_SSL_ENFORCE, &on);
    my_bool verify = (s_.ssl_mode == "VERIFY_CA" || s_.ssl_mode == "VERIFY_IDENTITY") ? 1 : 0;
    mysql_options(mysql_, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
  }
  if (!s_.ssl_ca.empty()) mysql_options(mysql_, MYSQL_OPT_SSL_CA, s_.ssl_ca.c_str());

  state_ = State::Connecting;
  counters_.connects++;
  arm_deadline(s_.connect_timeout_ms);
  MYSQL* ret = nullptr;
  int st =
      mysql_real_connect_start(&ret, mysql_, s_.host.c_str(), s_.user.c_str(), s_.password.c_str(),
                               nullptr, s_.port, nullptr, CLIENT_MULTI_STATEMENTS);
  fd_ = mysql_get_socket(mysql_);
  if (st) return wait_for(st);
  after_connect(ret);  // finished at once (usually an error such as connection refused)
}

void MysqlClient::after_connect(st_mysql* ret) {
  fd_ = mysql_get_socket(mysql_);  // -1 after a failure: the library closed its socket
  if (!ret) return fail(mysql_error_text(), mysql_errno(mysql_), true, false);
  // Connector/C's MYSQL_OPT_SSL_ENFORCE only asks for TLS: without certificate verification it
  // goes on in plain text when the server has no TLS. REQUIRED must not.
  if (tls_required(s_.ssl_mode) && !mysql_get_ssl_cipher(mysql_))
    return fail("mysql.ssl_mode " + s_.ssl_mode + ": the server did not negotiate TLS", 0, true,
                false);
  const char* v = mysql_get_server_info(mysql_);
  server_version_ = v ? v : "";
  start_query();
}

void MysqlClient::start_query() {
  state_ = State::Querying;
  counters_.queries++;
  arm_deadline(s_.query_timeout_ms);
  int err = 0;
  int st = mysql_real_query_start(&err, mysql_, sql_.data(), sql_.size());
  if (st) return wait_for(st);
  if (err) return fail(mysql_error_text(), mysql_errno(mysql_), false, false);
  store_next();
}

void MysqlClient::store_next() {
  state_ = State::Storing;
  MYSQL_RES* res = nullptr;
  int st = mysql_store_result_start(&res, mysql_);
  if (st) return wait_for(st);
  after_store(res);
}

void MysqlClient::after_store(MYSQL_RES* res) {
  if (res) {
    out_.results.push_back(to_result_set(res));
    mysql_free_result(res);
  } else if (mysql_errno(mysql_)) {
    return fail(mysql_error_text(), mysql_errno(mysql_), false, false);
  } else {
    out_.results.emplace_back();  // statement without a result set
  }
  if (!mysql_more_results(mysql_)) return succeed();
  state_ = State::NextResult;
  int r = 0;
  int st = mysql_next_result_start(&r, mysql_);
  if (st) return wait_for(st);
  after_next(r);
}

void MysqlClient::after_next(int r) {
  if (r > 0) return fail(mysql_error_text(), mysql_errno(mysql_), false, false);
  if (r < 0) return succeed();
  store_next();
}

void MysqlClient::step(int status) {
  switch (state_) {
    case State::Connecting: {
      MYSQL* ret = nullptr;
      int st = mysql_real_connect_cont(&ret, mysql_, status);
      if (st) return wait_for(st);
      return after_connect(ret);
    }
    case State::Querying: {
      int err = 0;
      int st = mysql_real_query_cont(&err, mysql_, status);
      if (st) return wait_for(st);
      if (err) return fail(mysql_error_text(), mysql_errno(mysql_), false, false);
      store_next();
      return;
    }
    case State::Storing: {
      MYSQL_RES* res = nullptr;
      int st = mysql_store_result_cont(&res, mysql_, status);
      if (st) return wait_for(st);
      return after_store(res);
    }
    case State::NextResult: {
      int r = 0;
      int st = mysql_next_result_cont(&r, mysql_, status);
      if (st) return wait_for(st);
      return after_next(r);
    }
    case State::Idle:
    case State::Disconnected:
      return;
  }
}

void MysqlClient::wait_for(int status) {
  int events = 0;
  if (status & (MYSQL_WAIT_READ | MYSQL_WAIT_EXCEPT)) events |= ev::kRead;
  if (status & MYSQL_WAIT_WRITE) events |= ev::kWrite;
  io_.stop();
  fd_ = mysql_get_socket(mysql_);
  if (events && fd_ >= 0) {
    io_.set(fd_, events);
    io_.start();
  }
  lib_timer_.stop();
  if (status & MYSQL_WAIT_TIMEOUT) lib_timer_.start(mysql_get_timeout_value_ms(mysql_) / 1000.0);
}

void MysqlClient::arm_deadline(int ms) {
  deadline_.start(std::max(ms, 1) / 1000.0);  // restarts it when active
}

void MysqlClient::watch_idle() {
  io_.stop();
  lib_timer_.stop();
  deadline_.stop();
  if (fd_ >= 0) {
    io_.set(fd_, ev::kRead);
    io_.start();
  }
}

void MysqlClient::on_io(int events) {
  if (state_ == State::Idle) {
    // Nothing is expected from an idle connection: EOF means the server closed it (crash,
    // shutdown, KILL); data is typically a "server shutdown" error packet. Either way it's gone.
    char c;
    ssize_t n = recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    std::string why = n == 0 ? "connection closed by server" : "connection lost while idle";
    counters_.disconnects_seen_idle++;
    last_error_ = why;
    note_failure();
    close_handle();
    if (lost_) lost_(why);
    return;
  }
  int status = 0;
  if (events & ev::kRead) status |= MYSQL_WAIT_READ;
  if (events & ev::kWrite) status |= MYSQL_WAIT_WRITE;
  step(status);
}

void MysqlClient::on_deadline() {
  bool connecting = state_ == State::Connecting;
  int ms = connecting ? s_.connect_timeout_ms : s_.query_timeout_ms;
  fail(std::string(connecting ? "connect" : "query") + " timeout after " + std::to_string(ms) +
           " ms",
       0, connecting, true);
}

void MysqlClient::note_failure() {
  consecutive_failures_++;
  int64_t now = clock::steady_us();
  if (consecutive_failures_ < 2) {  // first failure: retry at the next probe
    next_attempt_us_ = now;
    return;
  }
  int shift = std::min(consecutive_failures_ - 2, 20);
  int64_t delay_ms = std::min<int64_t>(int64_t(s_.backoff_base_ms) << shift, s_.backoff_max_ms);
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  next_attempt_us_ = now + static_cast<int64_t>(delay_ms * 1000 * jitter(rng_));
}

void MysqlClient::fail(const std::string& why, unsigned err_no, bool connect_phase,
                       bool timed_out) {
  out_.ok = false;
  out_.error = why;
  out_.err_no = err_no;
  out_.connect_failed = connect_phase;
  out_.timed_out = timed_out;
  last_error_ = why;
  if (connect_phase)
    counters_.connect_failures++;
  else
    counters_.query_failures++;
  if (timed_out) counters_.timeouts++;
  if (connect_phase || timed_out || err_no == 0 || connection_error(err_no)) {
    note_failure();
    close_handle();
  } else {
    // A server-side error (e.g. unknown table): the connection itself is fine. Drain what is
    // left of a multi-statement is not needed: the server stops at the failing statement.
    state_ = State::Idle;
    watch_idle();
  }
  finish(std::move(out_));
}

void MysqlClient::succeed() {
  out_.ok = true;
  consecutive_failures_ = 0;
  next_attempt_us_ = 0;
  state_ = State::Idle;
  watch_idle();
  finish(std::move(out_));
}

void MysqlClient::finish(QueryOutcome&& o) {
  deadline_.stop();
  lib_timer_.stop();
  o.latency_us = clock::steady_us() - started_us_;
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(o));  // may call run() again
}

void MysqlClient::close(const std::string& why) {
  if (busy()) {
    fail(why, 0, state_ == State::Connecting, false);
    return;
  }
  close_handle();
}

void MysqlClient::close_handle() {
  io_.stop();
  lib_timer_.stop();
  deadline_.stop();
  if (mysql_) {
    // Shut the socket first: mysql_close() then cannot wait on a frozen peer (COM_QUIT fails
    // at once), even when an async operation was suspended mid-way. Ask the library for the
    // socket, never the cached fd_: after a failed connect or a lost connection Connector/C has
    // already closed it, and that number may by now belong to another thread (the admin HTTP
    // endpoint's listening or accepted socket: a stray shutdown made its requests fail).
    const auto fd = mysql_get_socket(mysql_);
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
    mysql_close(mysql_);
    mysql_ = nullptr;
  }
  fd_ = -1;
  state_ = State::Disconnected;
}

std::string MysqlClient::mysql_error_text() const {
  const char* e = mysql_ ? mysql_error(mysql_) : nullptr;
  return e && *e ? std::string(e) : std::string("unknown MySQL client error");
}

}  // namespace myspoa::probes
