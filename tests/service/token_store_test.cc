// The store's users: tokens kept as digests (create, find, list, revoke once)
// and the audit log, which only grows (its triggers refuse UPDATE and DELETE).
#include <gtest/gtest.h>

#include <sqlite3.h>

#include "common/results_reader.h"
#include "common/store.h"
#include "tests/service/store_fixture.h"

namespace sic {
namespace {

const std::string kDigestA(32, 'a');
const std::string kDigestB(32, '\0');  // a digest is bytes: zeros included

TEST_F(StoreTest, TokensAreFoundByDigestAndRevokedOnce) {
  auto a = store_->CreateToken("alice", "member", kDigestA, "admin", 10);
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto b = store_->CreateToken("bob", "viewer", kDigestB, "admin", 11);
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(store_->CreateToken("carol", "member", kDigestA, "admin", 12).status().code(),
            Status::Code::kAlreadyExists);
  EXPECT_EQ(store_->CreateToken("carol", "root", std::string(32, 'c'), "admin", 12).status().code(),
            Status::Code::kInvalidArgument);

  auto found = store_->FindToken(kDigestB);
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->id, b.value());
  EXPECT_EQ(found->user, "bob");
  EXPECT_EQ(found->role, "viewer");
  EXPECT_EQ(found->digest, kDigestB);
  EXPECT_EQ(found->created_by, "admin");
  EXPECT_EQ(found->revoked_at, 0);
  EXPECT_EQ(store_->FindToken(std::string(32, 'z')).status().code(), Status::Code::kNotFound);

  ASSERT_TRUE(store_->RevokeToken(a.value(), 20).ok());
  EXPECT_EQ(store_->RevokeToken(a.value(), 21).code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(store_->RevokeToken(999, 21).code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->FindToken(kDigestA)->revoked_at, 20);  // the first revoke's time stays

  Reopen();
  auto all = store_->ListTokens();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all->at(0).user, "alice");
  EXPECT_EQ(all->at(0).revoked_at, 20);
  EXPECT_EQ(all->at(1).revoked_at, 0);
}

TEST_F(StoreTest, AuditIsAppendOnlyAndPagedNewestFirst) {
  for (int i = 0; i < 5; ++i) {
    AuditRow row;
    row.at = 100 + i;
    row.user = i % 2 ? "bob" : "alice";
    row.role = "member";
    row.action = "Cancel";
    row.target = "sweep " + std::to_string(i);
    row.source = "ipv4:127.0.0.1:1";
    row.code = i == 4 ? "PERMISSION_DENIED" : "OK";
    auto id = store_->AppendAudit(row);
    ASSERT_TRUE(id.ok()) << id.status().message();
  }
  auto page = store_->ListAudit(0, 2, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ(page->at(0).target, "sweep 4");
  EXPECT_EQ(page->at(0).code, "PERMISSION_DENIED");
  EXPECT_EQ(page->at(1).target, "sweep 3");
  auto bobs = store_->ListAudit(0, 10, "bob");
  ASSERT_TRUE(bobs.ok());
  ASSERT_EQ(bobs->size(), 2u);
  EXPECT_EQ(bobs->at(0).target, "sweep 3");
  EXPECT_EQ(bobs->at(1).target, "sweep 1");
  EXPECT_EQ(store_->ListAudit(4, 10, "")->size(), 1u);

  // Any connection to the file, not only the store's, is refused a change.
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_NE(sqlite3_exec(db, "UPDATE audit SET user = 'mallory' WHERE id = 1", nullptr, nullptr, &error), SQLITE_OK);
  ASSERT_NE(error, nullptr);
  EXPECT_NE(std::string(error).find("append-only"), std::string::npos) << error;
  sqlite3_free(error);
  error = nullptr;
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM audit", nullptr, nullptr, &error), SQLITE_OK);
  sqlite3_free(error);
  sqlite3_close(db);
  Reopen();
  auto all = store_->ListAudit(0, 10, "");
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ(all->back().user, "alice");
}

TEST_F(StoreTest, PriorityIsSetInRangeOnAnExistingSweep) {
  const int64_t id = Submit(R"({"name": "p", "seeds": 1})");
  EXPECT_EQ(store_->GetSweep(id)->priority, 0);
  const SweepGeneration before = store_->Generation(id);
  ASSERT_TRUE(store_->SetPriority(id, -1000).ok());
  EXPECT_EQ(store_->GetSweep(id)->priority, -1000);
  EXPECT_NE(store_->Generation(id), before);  // readers' caches see it at once
  EXPECT_EQ(store_->SetPriority(id, 1001).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->SetPriority(id + 1, 5).code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->GetSweep(id)->priority, -1000);
}

TEST_F(StoreTest, ASweepKeepsItsOwner) {
  auto sweep = ParseSweepSpec(R"({"name": "o", "seeds": 1, "priority": 7})");
  ASSERT_TRUE(sweep.ok());
  auto id = store_->CreateSweep(sweep.value(), 1, "alice");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(store_->GetSweep(id.value())->owner, "alice");
  EXPECT_EQ(store_->GetSweep(id.value())->priority, 7);
}

TEST_F(StoreTest, TheSweepListFiltersByOwner) {
  auto spec = ParseSweepSpec(R"({"name": "o", "seeds": 1})");
  ASSERT_TRUE(spec.ok());
  const int64_t a1 = store_->CreateSweep(spec.value(), 1, "alice").value();
  store_->CreateSweep(spec.value(), 2, "bob").value();
  const int64_t a2 = store_->CreateSweep(spec.value(), 3, "alice").value();
  auto reader = ResultsReader::Open(path_);
  ASSERT_TRUE(reader.ok());
  auto alice = reader.value()->SweepIds(0, 10, "alice");
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(alice->first, 2);
  EXPECT_EQ(alice->second, (std::vector<int64_t>{a2, a1}));
  EXPECT_EQ(reader.value()->SweepIds(0, 10)->first, 3);
  EXPECT_EQ(reader.value()->SweepIds(0, 10, "carol")->first, 0);
  EXPECT_EQ(reader.value()->SweepOwner(a1).value(), "alice");
  EXPECT_EQ(reader.value()->SweepOwner(99).status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace sic
