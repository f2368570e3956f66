// The DeskStore contract, run on SqlDeskStore (SQLite and PostgreSQL) and on
// FakeDeskStore, so that the fake the unit tests use behaves as the real one:
// hand-over only of open conversations, compare-and-set accepts of which
// exactly one of many racing wins, transfers that check the current agent,
// release to the bot, tenant isolation, handoff merges, notes, customers.
#include "agents/desk_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "agents/desk_store_fake.h"
#include "api/tenants.h"
#include "app/schema.h"
#include "common/clock.h"
#include "dialogue/conversation_store.h"
#include "storage/testing.h"
#include "tools/commerce_rows.h"

namespace kefu::agents {
namespace {

using nlohmann::json;

enum class Impl { kFake, kSqlite, kPostgres };

std::string ImplName(Impl impl) {
  switch (impl) {
    case Impl::kFake:
      return "fake";
    case Impl::kSqlite:
      return "sqlite";
    case Impl::kPostgres:
      return "postgresql";
  }
  return "unknown";
}
void PrintTo(Impl impl, std::ostream* os) {
  *os << ImplName(impl);
}

class DeskStoreTest : public ::testing::TestWithParam<Impl> {
 protected:
  void SetUp() override {
    if (GetParam() == Impl::kFake) {
      fake_ = std::make_unique<FakeDeskStore>();
      store_ = fake_.get();
      return;
    }
    const storage::Engine engine = GetParam() == Impl::kSqlite ? storage::Engine::kSqlite : storage::Engine::kPostgres;
    if (storage::testdb::Missing(engine)) GTEST_SKIP() << storage::testdb::kPostgresMissing;
    auto db = storage::testdb::OpenFresh(engine, app::Schema());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    api::TenantDirectory tenants(*db_, clock_);
    ASSERT_TRUE(tenants.Ensure("t1", "One", "w1").ok());
    ASSERT_TRUE(tenants.Ensure("t2", "Two", "w2").ok());
    conversations_ = std::make_unique<dialogue::ConversationStore>(*db_, clock_);
    sql_ = std::make_unique<SqlDeskStore>(*db_);
    store_ = sql_.get();
  }

  // An open conversation of `tenant` (the bot serves it).
  std::string Open(const std::string& tenant = "t1", const std::string& customer = "cust") {
    if (fake_) {
      const std::string id = "c" + std::to_string(++next_id_);
      fake_->Open(id, tenant, customer, clock_.NowMs());
      return id;
    }
    auto c = conversations_->Create(tenant, customer, "web");
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? c->id : "";
  }

  void PutCustomer(const std::string& tenant, const std::string& id, const std::string& name, const std::string& tier) {
    if (fake_) return fake_->PutCustomer(tenant, id, {name, tier});
    tools::rows::CustomerRecord r;
    r.id = id;
    r.name = name;
    r.tier = tier;
    auto s = db_->Lock();
    ASSERT_TRUE(tools::rows::UpsertCustomer(s, tenant, r, false).ok());
  }

  DeskConv Waiting(const std::string& id, const std::string& queue = "general", const std::string& skill = "",
                   int priority = 0) {
    DeskConv c;
    c.id = id;
    c.tenant_id = "t1";
    c.queue = queue;
    c.skill = skill;
    c.priority = priority;
    c.queued_ms = clock_.NowMs();
    return c;
  }

  std::vector<DeskConv> InService() {
    auto rows = store_->InService();
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? *rows : std::vector<DeskConv>{};
  }

  FakeClock clock_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<dialogue::ConversationStore> conversations_;
  std::unique_ptr<SqlDeskStore> sql_;
  std::unique_ptr<FakeDeskStore> fake_;
  DeskStore* store_ = nullptr;
  int next_id_ = 0;
};

TEST_P(DeskStoreTest, HandsOverOnlyOpenConversations) {
  const std::string id = Open();
  EXPECT_TRUE(InService().empty());
  ASSERT_TRUE(store_->HandOver(Waiting(id, "after_sale", "after_sale", 3), "", {{"reason", "complaint"}}).value());
  EXPECT_FALSE(store_->HandOver(Waiting(id), "", json::object()).value()) << "already queued";
  auto rows = InService();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, id);
  EXPECT_EQ(rows[0].tenant_id, "t1");
  EXPECT_EQ(rows[0].customer_id, "cust");
  EXPECT_EQ(rows[0].status, ConvStatus::kQueued);
  EXPECT_EQ(rows[0].queue, "after_sale");
  EXPECT_EQ(rows[0].skill, "after_sale");
  EXPECT_EQ(rows[0].priority, 3);
  EXPECT_EQ(rows[0].queued_ms, clock_.NowMs());
  EXPECT_EQ(rows[0].reason, "complaint");
  EXPECT_EQ(rows[0].agent_id, "");
  // Served at once (auto assignment).
  const std::string other = Open();
  ASSERT_TRUE(store_->HandOver(Waiting(other), "a1", json::object()).value());
  rows = InService();
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& r : rows)
    if (r.id == other) {
      EXPECT_EQ(r.status, ConvStatus::kHuman);
      EXPECT_EQ(r.agent_id, "a1");
    }
  EXPECT_FALSE(store_->HandOver(Waiting("missing"), "", json::object()).value());
}

TEST_P(DeskStoreTest, OfManyRacingAcceptsExactlyOneWins) {
  const std::string id = Open();
  ASSERT_TRUE(store_->HandOver(Waiting(id), "", json::object()).value());
  constexpr int kAgents = 8;
  std::atomic<int> wins{0}, errors{0};
  std::vector<std::string> winner(kAgents);
  std::vector<std::thread> threads;
  for (int i = 0; i < kAgents; ++i)
    threads.emplace_back([&, i] {
      auto won = store_->AssignQueued("t1", id, "a" + std::to_string(i), clock_.NowMs());
      if (!won.ok()) ++errors;
      if (won.ok() && *won) {
        ++wins;
        winner[i] = "a" + std::to_string(i);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(wins.load(), 1);
  auto rows = InService();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, ConvStatus::kHuman);
  EXPECT_NE(std::find(winner.begin(), winner.end(), rows[0].agent_id), winner.end());
  // No longer queued: a late accept loses too.
  EXPECT_FALSE(store_->AssignQueued("t1", id, "late", clock_.NowMs()).value());
}

TEST_P(DeskStoreTest, TransfersCheckTheCurrentAgent) {
  const std::string id = Open();
  ASSERT_TRUE(store_->HandOver(Waiting(id), "", json::object()).value());
  ASSERT_TRUE(store_->AssignQueued("t1", id, "a1", clock_.NowMs()).value());
  // Take-over / transfer to an agent: only from the agent the caller saw.
  EXPECT_FALSE(store_->Reassign("t1", id, "a9", "a2", clock_.NowMs()).value());
  EXPECT_FALSE(store_->Reassign("t1", id, "", "a2", clock_.NowMs()).value());
  ASSERT_TRUE(store_->Reassign("t1", id, "a1", "a2", clock_.NowMs()).value());
  // Back to a group's queue.
  clock_.AdvanceMs(1'000);
  EXPECT_FALSE(store_->Requeue("t1", id, "a1", "vip", "vip", clock_.NowMs()).value());
  ASSERT_TRUE(store_->Requeue("t1", id, "a2", "vip", "vip", clock_.NowMs()).value());
  auto rows = InService();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, ConvStatus::kQueued);
  EXPECT_EQ(rows[0].queue, "vip");
  EXPECT_EQ(rows[0].skill, "vip");
  EXPECT_EQ(rows[0].queued_ms, clock_.NowMs());
  EXPECT_EQ(rows[0].agent_id, "");
  // A supervisor's take-over of a queued one expects nobody.
  ASSERT_TRUE(store_->Reassign("t1", id, "", "s1", clock_.NowMs()).value());
  // Release to the bot, once.
  ASSERT_TRUE(store_->Release("t1", id, clock_.NowMs()).value());
  EXPECT_FALSE(store_->Release("t1", id, clock_.NowMs()).value());
  EXPECT_FALSE(store_->Reassign("t1", id, "", "s1", clock_.NowMs()).value()) << "open: not the desk's";
  EXPECT_TRUE(InService().empty());
  // And it can be handed over again.
  EXPECT_TRUE(store_->HandOver(Waiting(id), "", json::object()).value());
}

TEST_P(DeskStoreTest, AnotherTenantChangesNothing) {
  const std::string id = Open();
  ASSERT_TRUE(store_->HandOver(Waiting(id), "", {{"reason", "r"}}).value());
  EXPECT_FALSE(store_->AssignQueued("t2", id, "a1", clock_.NowMs()).value());
  EXPECT_FALSE(store_->Reassign("t2", id, "", "a1", clock_.NowMs()).value());
  EXPECT_FALSE(store_->Requeue("t2", id, "", "q", "", clock_.NowMs()).value());
  EXPECT_FALSE(store_->Release("t2", id, clock_.NowMs()).value());
  auto h = store_->Handoff("t2", id);
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(*h);
  EXPECT_FALSE(store_->MergeHandoff("t2", id, json::object(), {{"x", 1}}));
  ASSERT_EQ(InService().size(), 1u);
  EXPECT_EQ(InService()[0].status, ConvStatus::kQueued);
}

TEST_P(DeskStoreTest, HandoffIsMergedNotReplaced) {
  const std::string id = Open();
  ASSERT_TRUE(store_->HandOver(Waiting(id), "", {{"reason", "complaint"}, {"summary", "extractive"}}).value());
  auto merged = store_->MergeHandoff("t1", id, json::object(), {{"generated_summary", "llm"}});
  ASSERT_TRUE(merged);
  EXPECT_EQ((*merged)["summary"], "extractive");
  EXPECT_EQ((*merged)["generated_summary"], "llm");
  auto stored = store_->Handoff("t1", id);
  ASSERT_TRUE(stored.ok() && *stored);
  EXPECT_EQ(**stored, *merged);
  // A conversation never handed over has an empty handoff.
  const std::string plain = Open();
  stored = store_->Handoff("t1", plain);
  ASSERT_TRUE(stored.ok() && *stored);
  EXPECT_EQ(**stored, json::object());
}

TEST_P(DeskStoreTest, NotesInOrder) {
  const std::string id = Open();
  auto first = store_->AddNote("t1", id, "a1", "first", 10);
  auto second = store_->AddNote("t1", id, "a2", "second", 20);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_LT(*first, *second);
  auto notes = store_->Notes("t1", id);
  ASSERT_TRUE(notes.ok());
  ASSERT_EQ(notes->size(), 2u);
  EXPECT_EQ((*notes)[0].text, "first");
  EXPECT_EQ((*notes)[0].agent_id, "a1");
  EXPECT_EQ((*notes)[0].created_ms, 10);
  EXPECT_EQ((*notes)[1].text, "second");
  EXPECT_TRUE(store_->Notes("t2", id)->empty());
}

TEST_P(DeskStoreTest, Customers) {
  PutCustomer("t1", "C1", "张三", "vip");
  auto c = store_->Customer("t1", "C1");
  ASSERT_TRUE(c.ok() && *c);
  EXPECT_EQ((*c)->name, "张三");
  EXPECT_EQ((*c)->tier, "vip");
  c = store_->Customer("t2", "C1");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(*c);
  auto panel = store_->CustomerTables("t1", "C1");
  ASSERT_TRUE(panel.ok()) << panel.status().ToString();
  EXPECT_EQ((*panel)["customer"]["name"], "张三");
  EXPECT_EQ(store_->CustomerTables("t1", "nobody").status().code(), ErrorCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Impls, DeskStoreTest, ::testing::Values(Impl::kFake, Impl::kSqlite, Impl::kPostgres),
                         [](const ::testing::TestParamInfo<Impl>& info) { return ImplName(info.param); });

}  // namespace
}  // namespace kefu::agents
