#include "consistency/sql_session.h"

#include <mysql.h>

#include <algorithm>

namespace myspoa::consistency {

std::string QueryResult::first(const std::string& column) const {
  if (rows.empty()) return "";
  for (size_t i = 0; i < columns.size() && i < rows[0].size(); ++i)
    if (columns[i] == column) return rows[0][i].value_or("");
  return "";
}

SqlSession::~SqlSession() {
  close();
}

void SqlSession::close() {
  if (mysql_) mysql_close(mysql_);
  mysql_ = nullptr;
}

bool SqlSession::connect(const config::Endpoint& address, const config::MysqlConfig& cfg,
                         int read_timeout_s, std::string& error) {
  close();
  mysql_ = mysql_init(nullptr);
  if (!mysql_) {
    error = "mysql_init failed";
    return false;
  }
  const unsigned connect_s =
      static_cast<unsigned>(std::max(1, (cfg.connect_timeout_ms + 999) / 1000));
  const unsigned rw_s = static_cast<unsigned>(std::max(1, read_timeout_s));
  mysql_optionsv(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
  mysql_optionsv(mysql_, MYSQL_OPT_READ_TIMEOUT, &rw_s);
  mysql_optionsv(mysql_, MYSQL_OPT_WRITE_TIMEOUT, &rw_s);
  if (!cfg.ssl_mode.empty() && cfg.ssl_mode != "DISABLED") {
    my_bool enforce = 1;
    if (!cfg.ssl_ca.empty()) mysql_optionsv(mysql_, MYSQL_OPT_SSL_CA, cfg.ssl_ca.c_str());
    if (cfg.ssl_mode != "PREFERRED") mysql_optionsv(mysql_, MYSQL_OPT_SSL_ENFORCE, &enforce);
    if (cfg.ssl_mode == "VERIFY_IDENTITY" || cfg.ssl_mode == "VERIFY_CA")
      mysql_optionsv(mysql_, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &enforce);
  }
  if (!mysql_real_connect(mysql_, address.host.c_str(), cfg.user.c_str(), cfg.password.c_str(),
                          nullptr, address.port, nullptr, 0)) {
    error = std::string("connect to ") + address.to_string() + ": " + mysql_error(mysql_);
    close();
    return false;
  }
  return true;
}

QueryResult SqlSession::query(const std::string& sql) {
  QueryResult r;
  if (!mysql_) {
    r.error = "not connected";
    return r;
  }
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) {
    r.error_code = mysql_errno(mysql_);
    r.error = mysql_error(mysql_);
    // A lost connection is not reused: the next connect() starts afresh.
    if (r.error_code == 2006 || r.error_code == 2013) close();
    return r;
  }
  MYSQL_RES* res = mysql_store_result(mysql_);
  if (!res) {
    if (mysql_field_count(mysql_) != 0) {
      r.error_code = mysql_errno(mysql_);
      r.error = mysql_error(mysql_);
      return r;
    }
    r.affected = mysql_affected_rows(mysql_);
    r.ok = true;
    return r;
  }
  const unsigned n = mysql_num_fields(res);
  MYSQL_FIELD* fields = mysql_fetch_fields(res);
  for (unsigned i = 0; i < n; ++i) r.columns.emplace_back(fields[i].name);
  while (MYSQL_ROW row = mysql_fetch_row(res)) {
    unsigned long* lengths = mysql_fetch_lengths(res);
    Row out;
    out.reserve(n);
    for (unsigned i = 0; i < n; ++i) {
      if (row[i])
        out.emplace_back(std::string(row[i], lengths[i]));
      else
        out.emplace_back(std::nullopt);
    }
    r.rows.push_back(std::move(out));
  }
  mysql_free_result(res);
  r.ok = true;
  return r;
}

bool SqlSession::exec(const std::string& sql, std::string& error) {
  auto r = query(sql);
  if (!r.ok) error = r.error;
  return r.ok;
}

}  // namespace myspoa::consistency
