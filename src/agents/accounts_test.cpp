// AccountStore against a real (in-memory) SQLite with the full schema.
#include "agents/accounts.h"

#include <gtest/gtest.h>

#include "api/tenants.h"
#include "app/schema.h"
#include "common/crypto.h"
#include "common/random_testing.h"
#include "storage/testing.h"

namespace kefu::agents {
namespace {

class AccountsTest : public ::testing::TestWithParam<storage::Engine> {
 protected:
  void SetUp() override {
    if (storage::testdb::Missing(GetParam())) GTEST_SKIP() << storage::testdb::kPostgresMissing;
    auto db = storage::testdb::OpenFresh(GetParam(), app::Schema());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    api::TenantDirectory tenants(*db_, clock_);
    ASSERT_TRUE(tenants.Ensure("t1", "One", "w1").ok());
    ASSERT_TRUE(tenants.Ensure("t2", "Two", "w2").ok());
    AccountSettings s;
    s.pwhash.ops = 1;
    s.pwhash.mem_bytes = 64 * 1024;  // fast for tests; production uses INTERACTIVE
    s.session_ttl_ms = 60'000;
    store_ = std::make_unique<AccountStore>(*db_, clock_, s);
  }

  AgentSpec Spec(const std::string& username, const std::string& password = "secret-pass") {
    AgentSpec s;
    s.username = username;
    s.password = password;
    s.skills = std::vector<std::string>{"general"};
    return s;
  }

  FakeClock clock_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<AccountStore> store_;
};

TEST(Password, Argon2idHashVerifies) {
  auto h = HashPassword("correct horse", PwhashParams{1, 64 * 1024});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->rfind("$argon2id$", 0), 0u) << *h;
  EXPECT_TRUE(VerifyPassword(*h, "correct horse"));
  EXPECT_FALSE(VerifyPassword(*h, "correct horsE"));
  auto h2 = HashPassword("correct horse", PwhashParams{1, 64 * 1024});
  EXPECT_NE(*h, *h2);  // salted
}

// On SQLite and on PostgreSQL (skipped without a test server: storage/testing.h).
INSTANTIATE_TEST_SUITE_P(Engines, AccountsTest, ::testing::ValuesIn(storage::testdb::AllEngines()),
                         [](const auto& info) { return storage::testdb::EngineTestName(info.param); });

// Agent ids and session tokens are drawn from the crypto::RandomSource and
// nothing else (issue 14): exactly its bytes, one draw each.
TEST_P(AccountsTest, AgentIdsAndSessionTokensAreTheRandomSourcesBytes) {
  crypto::RecordingRandomSource fake;
  std::string id, token;
  {
    crypto::ScopedRandomSourceForTesting scope(fake);
    auto a = store_->Create("t1", Spec("carol"));
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    id = a->id;
    auto login = store_->Login("t1", "carol", "secret-pass");
    ASSERT_TRUE(login.ok());
    token = login->first;
  }
  auto draws = fake.Draws();
  ASSERT_EQ(draws.size(), 2u);
  EXPECT_EQ(draws[0].size(), 16u);  // 128 bits
  EXPECT_EQ(id, "a_" + crypto::Hex(draws[0]));
  EXPECT_EQ(draws[1].size(), 32u);  // 256 bits
  EXPECT_EQ(token, "kat_" + crypto::Hex(draws[1]));
  EXPECT_TRUE(store_->Authenticate(token).ok());
}

TEST_P(AccountsTest, CreateLoginAuthenticateExpireLogout) {
  auto a = store_->Create("t1", Spec("alice"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->role, Role::kAgent);
  EXPECT_EQ(store_->Create("t1", Spec("alice")).status().code(), ErrorCode::kAlreadyExists);
  EXPECT_TRUE(store_->Create("t2", Spec("alice")).ok());  // usernames are per tenant
  EXPECT_EQ(store_->Create("t1", Spec("bob", "short")).status().code(), ErrorCode::kInvalidArgument);

  EXPECT_EQ(store_->Login("t1", "alice", "wrong-pass").status().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(store_->Login("t2", "nobody", "secret-pass").status().code(), ErrorCode::kUnauthenticated);
  auto login = store_->Login("t1", "alice", "secret-pass");
  ASSERT_TRUE(login.ok());
  const std::string token = login->first;
  EXPECT_EQ(token.size(), 4u + 64u);  // "kat_" + 256 bits hex
  auto s = store_->Authenticate(token);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->tenant_id, "t1");
  EXPECT_EQ(s->agent_id, a->id);

  // Only the SHA-256 is stored.
  {
    auto sess = db_->Lock();
    auto& st = sess.Prepare("SELECT count(*) FROM agent_sessions WHERE token_sha256 = ?");
    st.Bind(1, token);
    ASSERT_TRUE(*st.Step());
    EXPECT_EQ(st.Int(0), 0);
    st.Reset();
  }
  // A second store (restart) finds the session from SQLite.
  AccountStore restarted(*db_, clock_, AccountSettings{{1, 64 * 1024}, 60'000, 5});
  EXPECT_TRUE(restarted.Authenticate(token).ok());

  EXPECT_EQ(store_->Authenticate("kat_nope").status().code(), ErrorCode::kUnauthenticated);
  clock_.AdvanceMs(60'001);
  EXPECT_EQ(store_->Authenticate(token).status().code(), ErrorCode::kUnauthenticated);

  auto again = store_->Login("t1", "alice", "secret-pass");
  ASSERT_TRUE(again.ok());
  store_->Logout(again->first);
  EXPECT_EQ(store_->Authenticate(again->first).status().code(), ErrorCode::kUnauthenticated);
}

TEST_P(AccountsTest, UpdateAndTenantScopedLookups) {
  auto a = store_->Create("t1", Spec("carol"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(store_->Get("t2", a->id).status().code(), ErrorCode::kNotFound);
  AgentSpec up;
  up.role = Role::kSupervisor;
  up.max_chats = 9;
  up.password = "new-password";
  EXPECT_EQ(store_->Update("t2", a->id, up).status().code(), ErrorCode::kNotFound);
  auto u = store_->Update("t1", a->id, up);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->role, Role::kSupervisor);
  EXPECT_EQ(u->max_chats, 9);
  EXPECT_FALSE(store_->Login("t1", "carol", "secret-pass").ok());
  EXPECT_TRUE(store_->Login("t1", "carol", "new-password").ok());

  ASSERT_TRUE(store_->PutGroup("t1", "vip", {"vip"}).ok());
  EXPECT_TRUE(store_->Group("t1", "vip").has_value());
  EXPECT_FALSE(store_->Group("t2", "vip").has_value());
}

}  // namespace
}  // namespace kefu::agents
