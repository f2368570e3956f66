#include "datahub/identity.h"

#include "datahub/test_util.h"
#include "storage/testing.h"

namespace kefu::datahub {
namespace {

using nlohmann::json;
using testing::DatahubTest;

class IdentityTest : public DatahubTest {
 protected:
  void SetUp() override {
    DatahubTest::SetUp();
    if (IsSkipped()) return;
    json crm = json::array({{{"id", "C1"},
                             {"name", "张伟"},
                             {"city", "杭州"},
                             {"phone", "+86 138-1234-5601"},
                             {"email", "ZhangWei@Example.com"},
                             {"identities", json::array({{{"kind", "device_id"}, {"value", "dev-1"}}})}}});
    ASSERT_EQ(Ingest(Kind::kCustomers, crm, "crm").created, 1);
  }
};

TEST(NormalizeIdentity, PhonesAndEmails) {
  EXPECT_EQ(*NormalizeIdentity("phone", "+86 138-1234-5601"), "13812345601");
  EXPECT_EQ(*NormalizeIdentity("phone", "0086 13812345601"), "13812345601");
  EXPECT_EQ(*NormalizeIdentity("email", " A@B.cn "), "a@b.cn");
  EXPECT_FALSE(NormalizeIdentity("phone", "call me").ok());
  EXPECT_FALSE(NormalizeIdentity("email", "nobody").ok());
  EXPECT_FALSE(NormalizeIdentity("fax", "1").ok());
  EXPECT_TRUE(IsStrongIdentity("wechat_unionid"));
  EXPECT_FALSE(IsStrongIdentity("wechat_openid"));
  EXPECT_FALSE(IsStrongIdentity("device_id"));
}

// On SQLite and on PostgreSQL (skipped without a test server: storage/testing.h).
INSTANTIATE_TEST_SUITE_P(Engines, IdentityTest, ::testing::ValuesIn(storage::testdb::AllEngines()),
                         [](const auto& info) { return storage::testdb::EngineTestName(info.param); });

TEST_P(IdentityTest, StrongIdentifierMergesAutomaticallyAndUnmergeRestores) {
  // The app knows the same person by app user id and phone number.
  json app = json::array({{{"id", "APP-77"},
                           {"name", "Zhang Wei"},
                           {"phone", "13812345601"},
                           {"identities", json::array({{{"kind", "app_user_id"}, {"value", "u-77"}}})}}});
  ASSERT_EQ(Ingest(Kind::kCustomers, app, "app").created, 1);
  EXPECT_EQ(*identity_->Resolve("t1", "app_user_id", "u-77"), "C1");
  EXPECT_EQ(*identity_->Resolve("t1", "phone", "138 1234 5601"), "C1");
  EXPECT_EQ(*identity_->Resolve("t1", "email", "zhangwei@example.com"), "C1");
  auto cluster = identity_->ClusterIds("t1", "APP-77");
  ASSERT_TRUE(cluster.ok());
  EXPECT_EQ(*cluster, (std::vector<std::string>{"C1", "APP-77"}));
  auto audit = identity_->Audit("t1", 10);
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].action, "merge");
  EXPECT_EQ((*audit)[0].primary_id, "C1");
  EXPECT_EQ((*audit)[0].secondary_id, "APP-77");
  EXPECT_EQ((*audit)[0].actor, "auto");
  EXPECT_EQ((*audit)[0].reason, "same phone");
  // Re-sending the app record unchanged does not merge (or audit) again.
  EXPECT_EQ(Ingest(Kind::kCustomers, app, "app").unchanged, 1);
  EXPECT_EQ(identity_->Audit("t1", 10)->size(), 1u);

  ASSERT_TRUE(identity_->Unmerge("t1", "APP-77", "different people", "agent-7").ok());
  EXPECT_EQ(*identity_->Resolve("t1", "app_user_id", "u-77"), "APP-77");
  EXPECT_EQ(*identity_->Resolve("t1", "phone", "13812345601"), "C1");
  audit = identity_->Audit("t1", 10);
  ASSERT_EQ(audit->size(), 2u);
  EXPECT_EQ((*audit)[0].action, "unmerge");
  EXPECT_EQ((*audit)[0].actor, "agent-7");
  EXPECT_EQ((*audit)[0].secondary_id, "APP-77");
  EXPECT_EQ(identity_->Unmerge("t1", "APP-77", "", "x").code(), ErrorCode::kFailedPrecondition);
  // A manual merge puts them back together.
  ASSERT_TRUE(identity_->Merge("t1", "C1", "APP-77", "confirmed by phone call", "agent-7").ok());
  EXPECT_EQ(*identity_->Resolve("t1", "app_user_id", "u-77"), "C1");
  EXPECT_EQ(identity_->Merge("t1", "C1", "APP-77", "", "x").code(), ErrorCode::kFailedPrecondition);
}

TEST_P(IdentityTest, WeakIdentifiersOnlySuggest) {
  json wechat = json::array({{{"id", "WX-1"},
                              {"name", "微信用户"},
                              {"identities", json::array({{{"kind", "device_id"}, {"value", "dev-1"}},
                                                          {{"kind", "wechat_openid"}, {"value", "oW1"}}})}}});
  ASSERT_EQ(Ingest(Kind::kCustomers, wechat, "wechat").created, 1);
  EXPECT_EQ(*identity_->Resolve("t1", "wechat_openid", "oW1"), "WX-1");  // not merged
  auto open = identity_->Suggestions("t1", "open", 10);
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].customer_a, "C1");
  EXPECT_EQ((*open)[0].customer_b, "WX-1");
  EXPECT_EQ((*open)[0].reason, "same device_id");
  // Accepting it by merging closes the suggestion.
  ASSERT_TRUE(identity_->Merge("t1", "C1", "WX-1", "suggestion", "agent").ok());
  EXPECT_TRUE(identity_->Suggestions("t1", "open", 10)->empty());
  EXPECT_EQ(identity_->Suggestions("t1", "accepted", 10)->size(), 1u);
}

TEST_P(IdentityTest, SameNameAndCitySuggestsAndCanBeRejected) {
  json store = json::array({{{"id", "POS-9"}, {"name", "张伟"}, {"city", "杭州"}}});
  ASSERT_EQ(Ingest(Kind::kCustomers, store, "pos").created, 1);
  auto open = identity_->Suggestions("t1", "open", 10);
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].reason, "same name and city");
  ASSERT_TRUE(identity_->RejectSuggestion("t1", (*open)[0].id, "agent").ok());
  EXPECT_TRUE(identity_->Suggestions("t1", "open", 10)->empty());
  EXPECT_EQ(identity_->RejectSuggestion("t1", (*open)[0].id, "agent").code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(identity_->RejectSuggestion("t1", 999, "agent").code(), ErrorCode::kNotFound);
}

TEST_P(IdentityTest, UnknownIdentityCreatesACustomerOnce) {
  auto a = identity_->ResolveOrCreate("t1", "wechat_unionid", "uX");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->rfind("U-", 0), 0u);
  EXPECT_EQ(*identity_->ResolveOrCreate("t1", "wechat_unionid", "uX"), *a);
  EXPECT_EQ(*identity_->ResolveOrCreate("t1", "phone", "13812345601"), "C1");
  EXPECT_FALSE(identity_->ResolveOrCreate("t1", "phone", "nope").ok());
  // A later CRM record carrying that unionid merges the first-contact record into itself.
  json crm = json::array({{{"id", "C2"}, {"name", "李娜"},
                           {"identities", json::array({{{"kind", "wechat_unionid"}, {"value", "uX"}}})}}});
  ASSERT_EQ(Ingest(Kind::kCustomers, crm, "crm").created, 1);
  auto cluster = identity_->ClusterIds("t1", "C2");
  ASSERT_EQ(cluster->size(), 2u);
  EXPECT_EQ((*cluster)[0], *a);  // the first-contact record is older and stays the root
}

}  // namespace
}  // namespace kefu::datahub
