#include "store/postgres.hpp"

#include <libpq-fe.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <regex>

#include "store/run_store.hpp"

namespace fabric::store {

namespace {

/// How long a lone statement waits for a restarted server before failing.
constexpr std::chrono::seconds kReconnectTimeout{int64_t(kReconnectSeconds)};

std::string seconds_text(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", seconds);
  return buf;
}
/// How long a new connection waits for a server that does not answer at all: a restart's gap
/// between the old server's exit and the new one's socket, not a mistyped host.
constexpr std::chrono::seconds kUnreachableGrace{5};
/// Whether the server at `url` answers: PQPING_REJECT while it starts or shuts down,
/// PQPING_NO_RESPONSE when nothing listens there.
PGPing ping_server(const std::string& url) {
  const char* keys[] = {"connect_timeout", "dbname", nullptr};
  const char* values[] = {"10", url.c_str(), nullptr};
  return PQpingParams(keys, values, /*expand_dbname=*/1);
}

/// pg_advisory_xact_lock's key for schema changes ("fabr" "icex").
constexpr const char* kSchemaLockKey = "7377162133557126520";

// Type OIDs (pg_type.h) of the columns the store reads and the binds it sends.
constexpr Oid kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kTextOid = 25,
              kFloat4Oid = 700, kFloat8Oid = 701, kNumericOid = 1700;

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

/// Connection trouble: the statement did not run, or its outcome is unknown.
bool connection_lost(pg_conn* conn, const std::string& sqlstate) {
  return PQstatus(conn) == CONNECTION_BAD || sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" ||
         sqlstate == "57P02" || sqlstate == "57P03";
}

/// Lost a race with another transaction: serialization failure, deadlock.
bool lost_race(const std::string& sqlstate) {
  return sqlstate == "40001" || sqlstate == "40P01";
}

std::string format_real(double v) {
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

class PostgresStatement final : public StatementBackend {
 public:
  PostgresStatement(PostgresDatabase& db, const std::string& sql) : db_(db) {
    int count = 0;
    sql_ = postgres_placeholders(sql, count);
    params_.resize(size_t(count));
  }
  ~PostgresStatement() override { PQclear(result_); }
  PostgresStatement(const PostgresStatement&) = delete;
  PostgresStatement& operator=(const PostgresStatement&) = delete;

  void bind(int index, const SqlValue& value) override {
    if (index < 1 || size_t(index) > params_.size())
      throw StoreError("bind index " + std::to_string(index) + " out of range");
    params_[size_t(index - 1)] = value;
  }
  bool step() override {
    if (!result_) {
      result_ = db_.execute(sql_, &params_);
      row_ = -1;
    }
    return ++row_ < PQntuples(result_);
  }
  void reset() override {
    PQclear(result_);
    result_ = nullptr;
    for (auto& p : params_) p = std::monostate{};
  }
  int columns() const override { return result_ ? PQnfields(result_) : 0; }
  std::string column_name(int i) const override { return PQfname(result_, i); }
  bool is_null(int i) const override { return PQgetisnull(result_, row_, i); }
  int64_t integer(int i) const override {
    if (is_null(i)) return 0;
    const Oid type = PQftype(result_, i);
    if (type == kBoolOid) return raw(i)[0] == 't';
    if (type == kFloat4Oid || type == kFloat8Oid || type == kNumericOid)
      return int64_t(std::strtod(raw(i), nullptr));
    return std::strtoll(raw(i), nullptr, 10);
  }
  double real(int i) const override { return is_null(i) ? 0.0 : std::strtod(raw(i), nullptr); }
  std::string text(int i) const override {
    // A boolean reads as SQLite shows one: 1 or 0.
    if (PQftype(result_, i) == kBoolOid && !is_null(i)) return raw(i)[0] == 't' ? "1" : "0";
    return std::string(raw(i), size_t(PQgetlength(result_, row_, i)));
  }
  SqlValue value(int i) const override {
    if (is_null(i)) return std::monostate{};
    switch (PQftype(result_, i)) {
      case kBoolOid:
      case kInt2Oid:
      case kInt4Oid:
      case kInt8Oid:
        return integer(i);
      case kFloat4Oid:
      case kFloat8Oid:
      case kNumericOid:
        return real(i);
      default:
        return text(i);
    }
  }

 private:
  const char* raw(int i) const { return PQgetvalue(result_, row_, i); }

  PostgresDatabase& db_;
  std::string sql_;
  std::vector<SqlValue> params_;
  pg_result* result_ = nullptr;
  int row_ = -1;
};

}  // namespace

std::string postgres_placeholders(const std::string& sql, int& count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int largest = 0;
  for (size_t i = 0; i < sql.size();) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {  // a literal or a quoted name, doubled quotes inside
      const size_t end = sql.find(c, i + 1);
      const size_t stop = end == std::string::npos ? sql.size() : end + 1;
      out.append(sql, i, stop - i);
      i = stop;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const size_t end = sql.find('\n', i);
      const size_t stop = end == std::string::npos ? sql.size() : end;
      out.append(sql, i, stop - i);
      i = stop;
    } else if (c == '?') {
      size_t j = i + 1;
      while (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j]))) ++j;
      // SQLite's rule: a bare "?" is one more than the largest number given so far.
      const int n = j > i + 1 ? std::stoi(sql.substr(i + 1, j - i - 1)) : largest + 1;
      largest = std::max(largest, n);
      out += "$" + std::to_string(n);
      i = j;
    } else {
      out += c;
      ++i;
    }
  }
  count = largest;
  return out;
}

PostgresDatabase::PostgresDatabase(const std::string& url)
    : url_(url), shown_(masked_location(url)), reconnect_timeout_(kReconnectTimeout) {
  // A process that starts while its server restarts (a failover, pg_ctl restart) waits for it,
  // as one that loses its connection then does; a server that answers and refuses (a wrong
  // password or database) is an error at once.
  const auto start = std::chrono::steady_clock::now();
  bool answered_before = false;
  for (int attempt = 1;; ++attempt) {
    try {
      connect();
      return;
    } catch (const StoreError&) {
      const auto waited = std::chrono::steady_clock::now() - start;
      const PGPing ping = ping_server(url_);
      const bool restarting = ping == PQPING_REJECT && waited < kReconnectTimeout;
      const bool unreachable = ping == PQPING_NO_RESPONSE && waited < kUnreachableGrace;
      // Up by now (it finished starting since the attempt): one more try, not two.
      const bool up_since = ping == PQPING_OK && !answered_before;
      answered_before = answered_before || ping == PQPING_OK;
      if (!restarting && !unreachable && !up_since) throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(100 * attempt, 1000)));
  }
}

PostgresDatabase::~PostgresDatabase() {
  PQfinish(conn_);
}

void PostgresDatabase::connect() {
  // The URL comes last so that what it says wins over these defaults.
  const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* values[] = {"10", "fabric-exp", url_.c_str(), nullptr};
  PQfinish(conn_);
  conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    const std::string why = conn_ ? trimmed(PQerrorMessage(conn_)) : "out of memory";
    throw StoreError("cannot connect to run store '" + shown_ + "': " + why);
  }
  // NOTICEs ("relation already exists, skipping") are not the user's business.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  pg_result* r = PQexec(conn_, "SET client_min_messages = warning");
  PQclear(r);
  if (statement_seconds_ > 0) PQclear(PQexec(conn_, statement_timeout_sql().c_str()));
  // Heartbeats are the server's time; measured once against ours, from the round trip's middle.
  const double before = now_seconds();
  r = PQexec(conn_, "SELECT extract(epoch FROM clock_timestamp())::float8");
  const double after = now_seconds();
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
    clock_offset_ = std::strtod(PQgetvalue(r, 0, 0), nullptr) - (before + after) / 2;
  PQclear(r);
}

void PostgresDatabase::set_limits(double statement_seconds, double reconnect_seconds) {
  statement_seconds_ = statement_seconds;
  reconnect_timeout_ = std::chrono::milliseconds(int64_t(reconnect_seconds * 1000));
  PQclear(execute(statement_timeout_sql(), nullptr));
}

std::string PostgresDatabase::statement_timeout_sql() const {
  return "SET statement_timeout = " + std::to_string(int64_t(statement_seconds_ * 1000));
}

void PostgresDatabase::reconnect(const std::string& why) {
  const auto deadline = std::chrono::steady_clock::now() + reconnect_timeout_;
  std::string last = why;
  for (int attempt = 1;; ++attempt) {
    try {
      connect();
      return;
    } catch (const StoreError& e) {
      last = e.what();
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw StoreUnavailable(
          "lost the connection to run store '" + shown_ + "' and could not reconnect within " +
          seconds_text(double(reconnect_timeout_.count()) / 1000) + " s: " + last);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(100 * attempt, 1000)));
  }
}

pg_result* PostgresDatabase::execute(const std::string& sql, const std::vector<SqlValue>* params) {
  for (int attempt = 1;; ++attempt) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      if (in_transaction_) throw RetryableError("run store '" + shown_ + "': connection lost");
      reconnect("connection lost");
    }
    pg_result* r = nullptr;
    if (!params) {
      r = PQexec(conn_, sql.c_str());
    } else {
      const size_t n = params->size();
      std::vector<std::string> texts(n);
      std::vector<const char*> values(n, nullptr);
      std::vector<Oid> types(n, 0);
      for (size_t i = 0; i < n; ++i) {
        const SqlValue& v = (*params)[i];
        if (auto* k = std::get_if<int64_t>(&v)) {
          texts[i] = std::to_string(*k);
          types[i] = kInt8Oid;
        } else if (auto* d = std::get_if<double>(&v)) {
          types[i] = kFloat8Oid;
          if (std::isnan(*d)) continue;  // NULL, as SQLite stores it
          texts[i] = format_real(*d);
        } else if (auto* s = std::get_if<std::string>(&v)) {
          texts[i] = *s;
          types[i] = kTextOid;
        } else {
          continue;  // NULL of whatever type the statement gives it
        }
        values[i] = texts[i].c_str();
      }
      r = PQexecParams(conn_, sql.c_str(), int(n), types.data(), values.data(), nullptr, nullptr,
                       0);
    }
    const auto status = PQresultStatus(r);
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) return r;
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const std::string sqlstate = state ? state : "";
    // The primary message alone: the full one quotes the statement (LINE 1: SELECT ...), and
    // no SQL reaches the terminal or the web UI's answers.
    const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    std::string message = trimmed(primary ? primary : PQerrorMessage(conn_));
    if (message.rfind("ERROR:  ", 0) == 0) message = message.substr(8);
    PQclear(r);
    const std::string where = "run store '" + shown_ + "': " + message;
    if (connection_lost(conn_, sqlstate) || lost_race(sqlstate)) {
      // Inside a transaction the whole of it runs again; a lone statement runs again here.
      if (in_transaction_) throw RetryableError(where);
      if (attempt < 20) {
        if (PQstatus(conn_) != CONNECTION_OK || connection_lost(conn_, sqlstate))
          reconnect(message);
        continue;
      }
    }
    if (sqlstate == "57014") {  // query_canceled: the statement timeout
      throw StatementTimeout("the query took longer than " + seconds_text(statement_seconds_) +
                             " s and was stopped");
    }
    throw StoreError(where);
  }
}

void PostgresDatabase::exec(const std::string& sql) {
  PQclear(execute(sql, nullptr));
}

Statement PostgresDatabase::prepare(const std::string& sql) {
  return Statement(std::make_unique<PostgresStatement>(*this, sql));
}

double PostgresDatabase::now() {
  return now_seconds() + clock_offset_;
}

void PostgresDatabase::begin() {
  exec("BEGIN");
  in_transaction_ = true;
}

void PostgresDatabase::commit() {
  exec("COMMIT");
  in_transaction_ = false;
}

void PostgresDatabase::rollback() noexcept {
  in_transaction_ = false;
  if (PQstatus(conn_) == CONNECTION_OK) PQclear(PQexec(conn_, "ROLLBACK"));
}

int PostgresDatabase::schema_version() {
  auto exists = prepare("SELECT to_regclass('fabric_exp_schema') IS NOT NULL");
  exists.step();
  if (!exists.integer(0)) return 0;
  auto v = prepare("SELECT coalesce(max(version), 0) FROM fabric_exp_schema");
  v.step();
  return int(v.integer(0));
}

void PostgresDatabase::set_schema_version(int version) {
  exec("DELETE FROM fabric_exp_schema; INSERT INTO fabric_exp_schema (version) VALUES (" +
       std::to_string(version) + ")");
}

void PostgresDatabase::lock_schema() {
  exec(std::string("SELECT pg_advisory_xact_lock(") + kSchemaLockKey + ")");
  exec("CREATE TABLE IF NOT EXISTS fabric_exp_schema (version BIGINT NOT NULL)");
}

std::string PostgresDatabase::translate_ddl(const std::string& sql) const {
  // SQLite's REAL and INTEGER are 8 bytes; PostgreSQL's are 4. SQLite gives every table not
  // declared WITHOUT ROWID a rowid, which the store orders by: here it is a column.
  std::string out;
  size_t start = 0;
  while (start < sql.size()) {
    size_t end = sql.find(';', start);
    end = end == std::string::npos ? sql.size() : end + 1;
    std::string statement = sql.substr(start, end - start);
    start = end;
    statement = std::regex_replace(statement, std::regex(R"(\bREAL\b)"), "DOUBLE PRECISION");
    statement = std::regex_replace(statement, std::regex(R"(\bINTEGER\b)"), "BIGINT");
    const bool create = std::regex_search(statement, std::regex(R"(\bCREATE TABLE\b)"));
    const size_t without = statement.find("WITHOUT ROWID");
    if (without != std::string::npos) {
      statement.erase(without, std::strlen("WITHOUT ROWID"));
    } else if (create) {
      statement.insert(statement.find('(') + 1, "\n  rowid BIGSERIAL,");
    }
    out += statement;
  }
  return out;
}

}  // namespace fabric::store
