// Stmt: a prepared SQLite statement, finalized (or handed back to its
// StmtCache) on scope exit, and Exec for SQL without results. Shared by the
// store (the writer) and the results reader. Values are always bound, never
// pasted into SQL text. Bind indices are 1-based.
//
// StmtCache keeps one connection's prepared statements for reuse, keyed by
// their SQL text: preparing (parsing, planning, code generation) costs more
// than running most of ours, and the coordinator runs the same few dozen
// statements for every trial. A statement handed back is reset and its
// bindings cleared, so it holds no lock or snapshot. A Stmt whose SQL is in
// use already (nested) gets a fresh statement of its own; past kMaxEntries
// texts (SQL built at run time) nothing more is kept.
//
// Thread-safety: a Stmt and a StmtCache belong to whoever holds their
// connection (one thread at a time). The cache must be cleared (or destroyed)
// before its connection closes.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>

#include <sqlite3.h>

#include "sic/status.h"

namespace sic {

class StmtCache {
 public:
  static constexpr size_t kMaxEntries = 512;
  explicit StmtCache(sqlite3* db) : db_(db) {}
  ~StmtCache() { Clear(); }
  StmtCache(const StmtCache&) = delete;
  StmtCache& operator=(const StmtCache&) = delete;

  sqlite3* db() const { return db_; }
  // Finalizes every kept statement (none may be in use).
  void Clear() {
    for (auto& [sql, e] : entries_) sqlite3_finalize(e.stmt);
    entries_.clear();
  }

 private:
  friend class Stmt;
  struct Entry {
    sqlite3_stmt* stmt = nullptr;
    bool busy = false;
  };
  // A statement for `sql` in *stmt (nullptr if it does not compile); the
  // entry to hand it back to, or nullptr when the caller owns it.
  Entry* Acquire(const std::string& sql, sqlite3_stmt** stmt) {
    auto it = entries_.find(sql);
    if (it != entries_.end() && !it->second.busy) {
      it->second.busy = true;
      *stmt = it->second.stmt;
      return &it->second;
    }
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, stmt, nullptr) != SQLITE_OK) {
      sqlite3_finalize(*stmt);
      *stmt = nullptr;
      return nullptr;
    }
    if (it != entries_.end() || entries_.size() >= kMaxEntries) return nullptr;
    Entry& e = entries_[sql];  // node-based: &e stays valid as the map grows
    e = Entry{*stmt, true};
    return &e;
  }
  static void Release(Entry* e) {
    sqlite3_reset(e->stmt);
    sqlite3_clear_bindings(e->stmt);
    e->busy = false;
  }

  sqlite3* db_;
  std::unordered_map<std::string, Entry> entries_;
};

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  Stmt(sqlite3* db, const std::string& sql) : Stmt(db, sql.c_str()) {}
  Stmt(StmtCache& cache, const std::string& sql) : db_(cache.db()) { entry_ = cache.Acquire(sql, &stmt_); }
  ~Stmt() {
    if (entry_) StmtCache::Release(entry_);
    else sqlite3_finalize(stmt_);
  }
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
  StmtCache::Entry* entry_ = nullptr;  // the cache's, when it came from one
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
