// Who may call the coordinator: tokens resolved against a real store (the
// shared one, per-user ones, revoked ones, the open local mode), the role
// rules, and the tokens handed out.
#include <set>

#include <gtest/gtest.h>

#include "coordinator/auth.h"
#include "tests/service/store_fixture.h"

namespace sic {
namespace {

class AuthTest : public StoreTest {
 protected:
  // A live token for `user` with `role`, as CreateToken stores it.
  std::string Give(const std::string& user, const std::string& role, int64_t* id = nullptr) {
    const std::string token = NewToken().value();
    auto row = store_->CreateToken(user, role, TokenDigest(token), "admin", 1);
    EXPECT_TRUE(row.ok()) << row.status().message();
    if (id) *id = row.value();
    return token;
  }
};

TEST_F(AuthTest, TheSharedTokenIsTheAdminAndUsersAreLookedUpByDigest) {
  Authenticator auth(*store_, "s3cret");
  int64_t alice_id = 0;
  const std::string alice = Give("alice", "member", &alice_id);
  const std::string vic = Give("vic", "viewer");

  auto admin = auth.Resolve("Bearer s3cret");
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(admin->user, "admin");
  EXPECT_EQ(admin->role, Role::kAdmin);
  auto a = auth.Resolve("Bearer " + alice);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->user, "alice");
  EXPECT_EQ(a->role, Role::kMember);
  EXPECT_EQ(auth.Resolve("Bearer " + vic)->role, Role::kViewer);

  for (const std::string& bad : {std::string(), std::string("Bearer "), std::string("Bearer wrong"), alice,
                                 "bearer " + alice, "Bearer " + alice + " ", "Bearer " + alice.substr(1)}) {
    EXPECT_EQ(auth.Resolve(bad).status().code(), Status::Code::kUnauthenticated) << bad;
  }

  // Revoked: refused from the next call on, though it was remembered.
  ASSERT_TRUE(store_->RevokeToken(alice_id, 2).ok());
  auth.Forget();
  auto revoked = auth.Resolve("Bearer " + alice);
  EXPECT_EQ(revoked.status().code(), Status::Code::kUnauthenticated);
  EXPECT_NE(revoked.status().message().find("revoked"), std::string::npos);
}

TEST_F(AuthTest, WithoutASharedTokenNoTokenIsTheLocalAdminButABadOneIsRefused) {
  Authenticator auth(*store_, "");
  auto local = auth.Resolve("");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->user, "local");
  EXPECT_EQ(local->role, Role::kAdmin);
  // A user's token still counts as that user, and an unknown or revoked one
  // never falls back to the open mode.
  int64_t id = 0;
  const std::string bob = Give("bob", "viewer", &id);
  EXPECT_EQ(auth.Resolve("Bearer " + bob)->role, Role::kViewer);
  EXPECT_EQ(auth.Resolve("Bearer nope").status().code(), Status::Code::kUnauthenticated);
  ASSERT_TRUE(store_->RevokeToken(id, 2).ok());
  auth.Forget();
  EXPECT_EQ(auth.Resolve("Bearer " + bob).status().code(), Status::Code::kUnauthenticated);
}

TEST(AuthorizeTest, EachRoleMayDoWhatItsClassAllows) {
  const Principal viewer{"vic", Role::kViewer}, alice{"alice", Role::kMember}, admin{"root", Role::kAdmin};
  for (const Principal& p : {viewer, alice, admin}) {
    EXPECT_TRUE(Authorize(p, Access::kRead, "read").ok());
    EXPECT_TRUE(Authorize(p, Access::kOpen, "probe").ok());
  }
  EXPECT_EQ(Authorize(viewer, Access::kSubmit, "Submit").code(), Status::Code::kPermissionDenied);
  EXPECT_TRUE(Authorize(alice, Access::kSubmit, "Submit").ok());
  EXPECT_TRUE(Authorize(admin, Access::kSubmit, "Submit").ok());

  EXPECT_TRUE(Authorize(alice, Access::kOwnSweep, "Cancel", "alice", 3).ok());
  Status other = Authorize(alice, Access::kOwnSweep, "Cancel", "bob", 3);
  EXPECT_EQ(other.code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(other.message(), "Cancel of sweep 3 needs its owner (bob) or the admin role; alice is a member");
  EXPECT_EQ(Authorize(viewer, Access::kOwnSweep, "Cancel", "vic", 3).code(), Status::Code::kPermissionDenied);
  EXPECT_TRUE(Authorize(admin, Access::kOwnSweep, "Cancel", "bob", 3).ok());
  // A sweep from before users (no owner) is an admin's to change.
  EXPECT_EQ(Authorize(alice, Access::kOwnSweep, "Cancel", "", 3).code(), Status::Code::kPermissionDenied);

  Status member_admin = Authorize(alice, Access::kAdmin, "CreateToken");
  EXPECT_EQ(member_admin.code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(member_admin.message(), "CreateToken needs the admin role; alice is a member");
  EXPECT_TRUE(Authorize(admin, Access::kAdmin, "CreateToken").ok());
}

TEST(TokenTest, NewTokensAreRandomBase64UrlAndOnlyTheirDigestIsKept) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto made = NewToken();
    ASSERT_TRUE(made.ok());
    const std::string t = made.value();
    ASSERT_EQ(t.size(), 4u + 43u) << t;  // "sic_" + 32 bytes in base64url, no padding
    EXPECT_EQ(t.rfind("sic_", 0), 0u);
    EXPECT_EQ(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 4),
              std::string::npos)
        << t;
    EXPECT_TRUE(seen.insert(t).second);
    EXPECT_EQ(TokenDigest(t).size(), 32u);
  }
  EXPECT_NE(TokenDigest("a"), TokenDigest("b"));
}

TEST(UserNameTest, NamesAreShortPlainAndNotTheCoordinatorsOwn) {
  EXPECT_TRUE(CheckUserName("alice.b-c_1").ok());
  EXPECT_TRUE(CheckUserName(std::string(64, 'x')).ok());
  for (const std::string& bad : {std::string(), std::string(65, 'x'), std::string("a b"), std::string("a/b"),
                                 std::string("é"), std::string("admin"), std::string("local"), std::string("?")}) {
    EXPECT_EQ(CheckUserName(bad).code(), Status::Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace sic
