// A blocking MySQL session for the consistency runner. Blocking is fine here: the runner has its
// own thread and never touches the SPOP or probe loops. Errors are values (ok() / error()).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "spoa/config/config.h"

typedef struct st_mysql MYSQL;

namespace myspoa::consistency {

using Row = std::vector<std::optional<std::string>>;

struct QueryResult {
  bool ok = false;
  unsigned error_code = 0;
  std::string error;
  std::vector<std::string> columns;
  std::vector<Row> rows;
  unsigned long long affected = 0;

  // Value of `column` in the first row, "" when absent or NULL.
  std::string first(const std::string& column) const;
};

class SqlSession {
 public:
  SqlSession() = default;
  ~SqlSession();
  SqlSession(const SqlSession&) = delete;
  SqlSession& operator=(const SqlSession&) = delete;
  SqlSession(SqlSession&& o) noexcept : mysql_(o.mysql_) { o.mysql_ = nullptr; }
  SqlSession& operator=(SqlSession&& o) noexcept {
    if (this != &o) {
      close();
      mysql_ = o.mysql_;
      o.mysql_ = nullptr;
    }
    return *this;
  }

  // read_timeout_s bounds every query (a chunk is far below it).
  bool connect(const config::Endpoint& address, const config::MysqlConfig& mysql,
               int read_timeout_s, std::string& error);
  bool connected() const { return mysql_ != nullptr; }
  void close();

  QueryResult query(const std::string& sql);
  // query() that only reports success; error text in `error`.
  bool exec(const std::string& sql, std::string& error);

 private:
  MYSQL* mysql_ = nullptr;
};

}  // namespace myspoa::consistency
