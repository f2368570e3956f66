#include "dialogue/conversation_store.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <filesystem>
#include <thread>
#include <unordered_set>
#include <vector>

#include "app/schema.h"
#include "common/crypto.h"
#include "common/random_testing.h"
#include "storage/testing.h"

namespace kefu::dialogue {
namespace {

// Every store test runs on SQLite and on PostgreSQL (skipped without a test
// server: storage/testing.h).
class ConversationStoreTest : public ::testing::TestWithParam<storage::Engine> {
 protected:
  void SetUp() override {
    if (storage::testdb::Missing(GetParam())) GTEST_SKIP() << storage::testdb::kPostgresMissing;
    auto db = storage::testdb::OpenFresh(GetParam(), app::Schema());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Lock().Exec("INSERT INTO tenants VALUES('t1','T','w1',0)").ok());
    store_ = std::make_unique<ConversationStore>(*db_, clock_);
  }
  FakeClock clock_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<ConversationStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Engines, ConversationStoreTest, ::testing::ValuesIn(storage::testdb::AllEngines()),
                         [](const auto& info) { return storage::testdb::EngineTestName(info.param); });

TEST_P(ConversationStoreTest, AppendsWithIncreasingSeqAndDedupesByClientId) {
  auto c = store_->Create("t1", "C1", "web");
  ASSERT_TRUE(c.ok());
  auto a = store_->AppendCustomerMessage(c->id, "m1", "你好", {});
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->duplicate);
  EXPECT_EQ(a->message.seq, 1);
  auto r = store_->AppendMessage(c->id, "bot", "您好", a->message.id, {{"source", "grounded"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->seq, 2);

  auto again = store_->AppendCustomerMessage(c->id, "m1", "你好", {});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->message.id, a->message.id);
  ASSERT_TRUE(again->reply.has_value());
  EXPECT_EQ(again->reply->text, "您好");

  auto list = store_->List(c->id, 0, 100);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].meta["source"], "grounded");
  auto after = store_->List(c->id, 1, 100);
  ASSERT_EQ(after->size(), 1u);
}

// Typed parts (issue 17): stored with the message, read back by every way
// messages are read, and the attachment rows found only in their conversation.
TEST_P(ConversationStoreTest, PartsAndAttachmentsAreStoredWithTheMessage) {
  auto c = store_->Create("t1", "C1", "web");
  auto other = store_->Create("t1", "C2", "web");
  ASSERT_TRUE(c.ok() && other.ok());
  MessagePart text = MessagePart::Text("看这个");
  MessagePart img;
  img.kind = PartKind::kImage;
  img.attachment_id = "a_0123456789abcdef0123456789abcdef";
  img.mime = "image/png";
  img.bytes = 1234;
  img.width = 640;
  img.height = 480;
  img.thumbnail = true;
  MessagePart ocr;
  ocr.kind = PartKind::kTranscript;
  ocr.text = "订单号 SO202611010001";
  ocr.source = "ocr";
  ocr.attachment_id = img.attachment_id;
  Attachment a;
  a.id = img.attachment_id;
  a.tenant_id = "t1";
  a.blob_key = std::string(64, 'a');
  a.thumb_key = std::string(64, 'b');
  a.mime = "image/png";
  a.bytes = 1234;
  auto m = store_->AppendCustomerMessage(c->id, "p1", "看这个", {}, {text, img, ocr}, {a});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->message.parts.size(), 3u);
  auto list = store_->List(c->id, 0, 10);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  const Message& back = (*list)[0];
  ASSERT_EQ(back.parts.size(), 3u);
  EXPECT_EQ(back.parts[1].kind, PartKind::kImage);
  EXPECT_EQ(back.parts[1].width, 640);
  EXPECT_EQ(back.parts[2].text, "订单号 SO202611010001");
  EXPECT_EQ(TurnText(back.text, back.parts), "看这个\n订单号 SO202611010001");
  EXPECT_EQ(back.ToJson()["parts"][2]["source"], "ocr");
  auto recent = store_->Recent(c->id, 5, /*with_meta=*/false);
  ASSERT_TRUE(recent.ok());
  EXPECT_EQ((*recent)[0].parts.size(), 3u);
  auto unanswered = store_->UnansweredIn(c->id);
  ASSERT_TRUE(unanswered.ok());
  ASSERT_EQ(unanswered->size(), 1u);
  EXPECT_EQ((*unanswered)[0].parts.size(), 3u);
  // A retry returns the stored message (with its parts) and adds no row.
  auto dup = store_->AppendCustomerMessage(c->id, "p1", "看这个", {}, {text, img, ocr}, {a});
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->message.parts.size(), 3u);
  auto found = store_->FindAttachment(c->id, a.id);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->blob_key, a.blob_key);
  EXPECT_EQ(found->thumb_key, a.thumb_key);
  EXPECT_EQ(found->message_id, m->message.id);
  EXPECT_EQ(store_->FindAttachment(other->id, a.id).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->FindAttachment(c->id, "a_nope").status().code(), ErrorCode::kNotFound);
  // A text message has no parts in its JSON (unchanged shape).
  auto plain = store_->AppendCustomerMessage(c->id, "p2", "你好", {});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->message.ToJson().contains("parts"));
}

TEST_P(ConversationStoreTest, TenantIsolationAndClosedConversations) {
  auto c = store_->Create("t1", "C1", "web");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(store_->Get("other", c->id).status().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(store_->Close(c->id).ok());
  auto a = store_->AppendCustomerMessage(c->id, "m1", "x", {});
  EXPECT_EQ(a.status().code(), ErrorCode::kConflict);
  EXPECT_EQ(store_->AppendCustomerMessage("c_missing", "m1", "x", {}).status().code(), ErrorCode::kNotFound);
}

TEST_P(ConversationStoreTest, UnansweredFindsMessagesWithoutReply) {
  auto c = store_->Create("t1", "C1", "web");
  auto a = store_->AppendCustomerMessage(c->id, "m1", "q1", {});
  auto b = store_->AppendCustomerMessage(c->id, "m2", "q2", {});
  ASSERT_TRUE(store_->AppendMessage(c->id, "bot", "a1", a->message.id, {}).ok());
  auto u = store_->Unanswered(10);
  ASSERT_TRUE(u.ok());
  ASSERT_EQ(u->size(), 1u);
  EXPECT_EQ((*u)[0].id, b->message.id);
}

TEST_P(ConversationStoreTest, CustomerTextsOfOneTenantSinceATime) {
  ASSERT_TRUE(db_->Lock().Exec("INSERT INTO tenants VALUES('t2','T2','w2',0)").ok());
  auto c = store_->Create("t1", "C1", "web");
  auto other = store_->Create("t2", "C9", "web");
  ASSERT_TRUE(c.ok() && other.ok());
  ASSERT_TRUE(store_->AppendCustomerMessage(c->id, "m1", "旧消息", {}).ok());
  clock_.AdvanceMs(1000);
  const int64_t since = clock_.NowMs();
  auto a = store_->AppendCustomerMessage(c->id, "m2", "送餐太慢了", {});
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(store_->AppendMessage(c->id, "bot", "抱歉", a->message.id, {}).ok());
  ASSERT_TRUE(store_->AppendCustomerMessage(c->id, "m3", "菜都凉了", {}).ok());
  ASSERT_TRUE(store_->AppendCustomerMessage(other->id, "m1", "别的租户", {}).ok());
  std::vector<std::string> got;
  ASSERT_TRUE(store_->ForEachCustomerText("t1", since, [&](const std::string& t) { got.push_back(t); }).ok());
  EXPECT_EQ(got, (std::vector<std::string>{"送餐太慢了", "菜都凉了"}));
  got.clear();
  ASSERT_TRUE(store_->ForEachCustomerText("t1", 0, [&](const std::string& t) { got.push_back(t); }).ok());
  EXPECT_EQ(got.size(), 3u);
}

TEST_P(ConversationStoreTest, ContextRoundTrips) {
  auto c = store_->Create("t1", "C1", "web");
  ASSERT_TRUE(store_->SaveContext(c->id, {{"last_order_id", "SO1"}}).ok());
  auto g = store_->GetById(c->id);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->context["last_order_id"], "SO1");
}

// Ids are credentials (issue 14): every id's random part is exactly what the
// crypto::RandomSource handed out, 128 bits, with no PRNG in between.
TEST(NewId, IsThePrefixAndExactlyTheSourcesBytes) {
  crypto::RecordingRandomSource fake;
  std::vector<std::string> ids;
  {
    crypto::ScopedRandomSourceForTesting scope(fake);
    for (int i = 0; i < 1000; ++i) ids.push_back(NewId(i % 2 ? "c_" : "a_"));
  }
  auto draws = fake.Draws();
  ASSERT_EQ(draws.size(), ids.size()) << "one draw per id";
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(draws[i].size(), kIdRandomBytes);
    EXPECT_EQ(ids[i], std::string(i % 2 ? "c_" : "a_") + crypto::Hex(draws[i])) << i;
  }
  EXPECT_EQ(kIdRandomBytes * 8, 128u);
}

TEST_P(ConversationStoreTest, ConversationIdsComeFromTheRandomSource) {
  crypto::RecordingRandomSource fake;
  std::vector<std::string> ids;
  {
    crypto::ScopedRandomSourceForTesting scope(fake);
    for (int i = 0; i < 5; ++i) {
      auto c = store_->Create("t1", "C1", "web");
      ASSERT_TRUE(c.ok());
      ids.push_back(c->id);
    }
  }
  auto hex = fake.HexDraws();
  ASSERT_EQ(hex.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], "c_" + hex[i]);
  // And they are what the store knows.
  EXPECT_TRUE(store_->Get("t1", ids[0]).ok());
}

// The real source (OpenSSL): 100k ids all differ, every bit of the random part
// is set in 50 % +- 2 % of them (the standard error is 0.16 %), consecutive ids
// share no random part, and each id fits the API's id validators (1-64 of
// letters, digits, - _ . : @).
TEST(NewId, RealSourceIsUniqueAndUnbiased) {
  constexpr int kIds = 100'000;
  std::unordered_set<std::string> seen;
  seen.reserve(kIds);
  std::array<int, kIdRandomBytes * 8> ones{};
  std::string prev;
  for (int i = 0; i < kIds; ++i) {
    std::string id = NewId("c_");
    ASSERT_EQ(id.size(), 2 + 2 * kIdRandomBytes);
    ASSERT_LE(id.size(), 64u);
    std::string random = id.substr(2);
    ASSERT_EQ(random.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    ASSERT_TRUE(seen.insert(id).second) << "duplicate id " << id;
    ASSERT_NE(random, prev);
    prev = random;
    for (size_t k = 0; k < random.size(); ++k) {
      int nibble = random[k] <= '9' ? random[k] - '0' : random[k] - 'a' + 10;
      for (int b = 0; b < 4; ++b) ones[k * 4 + b] += (nibble >> b) & 1;
    }
  }
  for (size_t bit = 0; bit < ones.size(); ++bit) {
    double p = static_cast<double>(ones[bit]) / kIds;
    EXPECT_NEAR(p, 0.5, 0.02) << "bit " << bit;
  }
}

// On a database file (SQLite: reader connections, group commit) and on
// PostgreSQL (concurrent transactions on a pool): writers racing on one
// conversation get distinct, gapless seqs; a client_msg_id raced from several
// threads is stored once; reads see every acknowledged message.
class ConversationStoreConcurrency : public ::testing::TestWithParam<storage::Engine> {};

INSTANTIATE_TEST_SUITE_P(Engines, ConversationStoreConcurrency, ::testing::ValuesIn(storage::testdb::AllEngines()),
                         [](const auto& info) { return storage::testdb::EngineTestName(info.param); });

TEST_P(ConversationStoreConcurrency, SeqsAndIdempotencyHoldUnderConcurrentWriters) {
  if (storage::testdb::Missing(GetParam())) GTEST_SKIP() << storage::testdb::kPostgresMissing;
  const auto dir = std::filesystem::temp_directory_path() / ("kefu_conv_store_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    FakeClock clock;
    auto db = storage::testdb::OpenFresh(GetParam(), app::Schema(), (dir / "kefu.db").string());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_GT((*db)->read_connections(), 0);
    ASSERT_TRUE((*db)->Lock().Exec("INSERT INTO tenants VALUES('t1','T','w1',0)").ok());
    ConversationStore store(**db, clock);
    auto c = store.Create("t1", "C1", "web");
    ASSERT_TRUE(c.ok());
    constexpr int kThreads = 6, kEach = 40;
    std::atomic<int> failed{0}, stored_once{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          auto m = store.AppendMessage(c->id, "bot", "r" + std::to_string(t) + "-" + std::to_string(i), std::nullopt,
                                       {{"t", t}});
          if (!m.ok()) ++failed;
          // Every thread sends the same customer message ids.
          auto a = store.AppendCustomerMessage(c->id, "same-" + std::to_string(i), "q", {});
          if (!a.ok()) ++failed;
          else if (!a->duplicate) ++stored_once;
          auto seen = store.List(c->id, 0, 100000);
          if (!seen.ok() || (m.ok() && std::none_of(seen->begin(), seen->end(),
                                                    [&](const Message& x) { return x.id == m->id; })))
            ++failed;
        }
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(stored_once.load(), kEach);
    auto all = store.List(c->id, 0, 100000);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), static_cast<size_t>(kThreads * kEach + kEach));
    for (size_t i = 0; i < all->size(); ++i) EXPECT_EQ((*all)[i].seq, static_cast<int64_t>(i + 1));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kefu::dialogue

namespace kefu::dialogue {
namespace {

// Two nodes answering one message (a lease that expired under a stalled
// node): the second reply is not stored, the first is returned to it.
TEST_P(ConversationStoreTest, AMessageIsAnsweredAtMostOnceEvenWhenTwoWritersReply) {
  auto c = store_->Create("t1", "C1", "web");
  ASSERT_TRUE(c.ok());
  auto a = store_->AppendCustomerMessage(c->id, "m1", "你好", {});
  ASSERT_TRUE(a.ok());
  const nlohmann::json first_context = {{"turn", 1}};
  auto r1 = store_->AppendReply(c->id, "您好", a->message.id, {{"source", "grounded"}}, &first_context);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  const nlohmann::json second_context = {{"turn", 2}};
  auto r2 = store_->AppendReply(c->id, "您好呀", a->message.id, {}, &second_context);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(r2->id, r1->id);
  EXPECT_EQ(r2->text, "您好");
  auto all = store_->List(c->id, 0, 10);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(store_->GetById(c->id)->context, first_context) << "the second writer's context is not stored either";
  auto next = store_->AppendCustomerMessage(c->id, "m2", "在吗", {});
  EXPECT_EQ(next->message.seq, 3) << "the refused reply took no seq";

  // Concurrent writers (PostgreSQL runs them side by side): one reply.
  auto b = store_->AppendCustomerMessage(c->id, "m3", "发货", {});
  std::vector<std::thread> writers;
  std::atomic<int64_t> ids[4];
  for (int i = 0; i < 4; ++i)
    writers.emplace_back([&, i] {
      auto r = store_->AppendReply(c->id, "reply " + std::to_string(i), b->message.id, {}, nullptr);
      ids[i] = r.ok() ? r->id : -1;
    });
  for (auto& w : writers) w.join();
  for (int i = 1; i < 4; ++i) EXPECT_EQ(ids[i].load(), ids[0].load());
  EXPECT_GT(ids[0].load(), 0);
  EXPECT_TRUE(store_->UnansweredIn(c->id)->size() == 1u) << "m2 only";
}

}  // namespace
}  // namespace kefu::dialogue
