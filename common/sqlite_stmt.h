// Stmt: a prepared SQLite statement, finalized on scope exit, and Exec for SQL
// without results. Shared by the store (the writer) and the results reader.
// Values are always bound, never pasted into SQL text. Bind indices are 1-based.
//
// Thread-safety: a Stmt belongs to one thread (as its connection's use does).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <sqlite3.h>

#include "sic/status.h"

namespace sic {

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  Stmt(sqlite3* db, const std::string& sql) : Stmt(db, sql.c_str()) {}
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  Stmt& Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); return *this; }
  Stmt& Bind(int i, double v) {
    if (std::isnan(v)) sqlite3_bind_null(stmt_, i);  // SQLite has no NaN
    else sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindBlob(int i, const std::string& v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return stmt_ ? sqlite3_step(stmt_) : SQLITE_ERROR; }
  Status Run() {
    const int rc = Step();
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? Status::OK() : Error();
  }
  Status Error() const { return Status::Error(std::string("store: ") + sqlite3_errmsg(db_)); }
  void Reset() { sqlite3_reset(stmt_); sqlite3_clear_bindings(stmt_); }
  bool Null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Real(int col) const {
    return Null(col) ? std::numeric_limits<double>::quiet_NaN() : sqlite3_column_double(stmt_, col);
  }
  std::string Text(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    return p ? std::string(static_cast<const char*>(p), sqlite3_column_bytes(stmt_, col)) : "";
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

inline Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    Status s = Status::Error(std::string("store: ") + (err ? err : "error"));
    sqlite3_free(err);
    return s;
  }
  return Status::OK();
}

}  // namespace sic
