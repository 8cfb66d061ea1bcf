// StmtCache (common/sqlite_stmt.h): a statement is prepared once per SQL text
// and reused, a nested use of the same text gets its own, a kept statement
// holds no lock, and the cache stays bounded.
#include "common/sqlite_stmt.h"

#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

namespace sic {
namespace {

int Statements(sqlite3* db) {
  int n = 0;
  for (sqlite3_stmt* s = sqlite3_next_stmt(db, nullptr); s; s = sqlite3_next_stmt(db, s)) ++n;
  return n;
}

class StmtCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sic-stmt-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(sqlite3_open((dir_ + "/t.db").c_str(), &db_), SQLITE_OK);
    ASSERT_TRUE(Exec(db_, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT);"
                          "INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three');")
                    .ok());
  }
  void TearDown() override {
    sqlite3_close(db_);
    std::string cmd = "rm -rf " + dir_;
    (void)system(cmd.c_str());
  }
  std::string Value(StmtCache& cache, int64_t k) {
    Stmt s(cache, "SELECT v FROM t WHERE k = ?");
    s.Bind(1, k);
    return s.Step() == SQLITE_ROW ? s.Text(0) : "";
  }

  std::string dir_;
  sqlite3* db_ = nullptr;
};

TEST_F(StmtCacheTest, OneStatementPerTextReusedWithFreshBindings) {
  StmtCache cache(db_);
  EXPECT_EQ(Value(cache, 1), "one");
  EXPECT_EQ(Statements(db_), 1);
  EXPECT_EQ(Value(cache, 2), "two");  // the bindings of the last use are gone
  EXPECT_EQ(Value(cache, 9), "");
  EXPECT_EQ(Statements(db_), 1);
  cache.Clear();
  EXPECT_EQ(Statements(db_), 0);
}

TEST_F(StmtCacheTest, ANestedUseOfTheSameTextGetsItsOwnStatement) {
  StmtCache cache(db_);
  Stmt outer(cache, "SELECT k FROM t WHERE k >= ? ORDER BY k");
  outer.Bind(1, int64_t{1});
  std::string seen;
  while (outer.Step() == SQLITE_ROW) {
    Stmt inner(cache, "SELECT k FROM t WHERE k >= ? ORDER BY k");
    inner.Bind(1, outer.Int(0));
    int n = 0;
    while (inner.Step() == SQLITE_ROW) ++n;
    seen += std::to_string(outer.Int(0)) + ":" + std::to_string(n) + " ";
    EXPECT_EQ(Statements(db_), 2);
  }
  EXPECT_EQ(seen, "1:3 2:2 3:1 ");
}

TEST_F(StmtCacheTest, AKeptStatementHoldsNoLock) {
  StmtCache cache(db_);
  {
    Stmt s(cache, "SELECT v FROM t ORDER BY k");
    ASSERT_EQ(s.Step(), SQLITE_ROW);  // left mid-way: it reads until handed back
  }
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/t.db").c_str(), &other), SQLITE_OK);
  // Without the reset this connection could not write: the kept statement's
  // shared lock would make the commit busy (no busy timeout here).
  EXPECT_TRUE(Exec(other, "BEGIN EXCLUSIVE; INSERT INTO t VALUES (4, 'four'); COMMIT;").ok());
  sqlite3_close(other);
  EXPECT_EQ(Value(cache, 4), "four");
}

TEST_F(StmtCacheTest, TextsPastTheBoundAreNotKept) {
  StmtCache cache(db_);
  for (size_t i = 0; i < StmtCache::kMaxEntries + 20; ++i) {
    Stmt s(cache, "SELECT " + std::to_string(i));
    ASSERT_EQ(s.Step(), SQLITE_ROW);
    EXPECT_EQ(s.Int(0), static_cast<int64_t>(i));
  }
  EXPECT_EQ(Statements(db_), static_cast<int>(StmtCache::kMaxEntries));
  Stmt bad(cache, "SELEC nothing");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.Run().message().find("syntax error"), std::string::npos);
}

}  // namespace
}  // namespace sic
