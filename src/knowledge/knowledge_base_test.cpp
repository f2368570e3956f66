#include "knowledge/knowledge_base.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "app/schema.h"
#include "storage/testing.h"

namespace kefu::knowledge {
namespace {

const char* kDict = "/usr/lib/python3/dist-packages/jieba/dict.txt";

const char* kDemo =
    "# 发货\n"
    "## 多久发货\n"
    "id: kb-ship-01\n"
    "questions: 什么时候发货 | 几天能发货\n"
    "\n"
    "付款后 48 小时内从杭州仓发货，预售商品以页面时间为准。\n"
    "## 快递公司\n"
    "id: kb-ship-02\n"
    "questions: 用什么快递 | 发什么快递\n"
    "\n"
    "默认顺丰，偏远地区使用中通。\n"
    "# 售后\n"
    "## 如何申请退款\n"
    "id: kb-refund-01\n"
    "questions: 怎么退款 | 退款流程\n"
    "\n"
    "在订单详情页点击申请退款，审核通过后 1-3 个工作日原路退回。\n"
    "## 七天无理由退货\n"
    "id: kb-return-01\n"
    "questions: 可以退货吗 | 不想要了能退吗\n"
    "\n"
    "签收后七天内商品完好可无理由退货，运费由买家承担。\n"
    "## 发票\n"
    "id: kb-invoice-01\n"
    "questions: 怎么开发票 | 能开专票吗\n"
    "\n"
    "在订单页申请电子发票，专票请联系客服。\n";

class KnowledgeBaseTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kDict)) GTEST_SKIP() << "python3-jieba dict.txt not installed at " << kDict;
    cfg_.segmenter = GetParam();
    auto seg = text::CreateSegmenter(cfg_);
    ASSERT_TRUE(seg.ok()) << seg.status().ToString();
    seg_ = std::move(*seg);
    auto db = storage::testdb::OpenFresh(storage::Engine::kSqlite, app::Schema());
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
    {
      auto s = db_->Lock();
      ASSERT_TRUE(s.Exec("INSERT INTO tenants VALUES('t1','T1','k1',1), ('t2','T2','k2',1)").ok());
    }
    auto kb = KnowledgeBase::Create(*db_, *seg_, cfg_, clock_);
    ASSERT_TRUE(kb.ok());
    kb_ = std::move(*kb);
  }
  void ImportDemo() {
    auto r = kb_->Import("t1", Format::kMarkdown, kDemo, "demo.md");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->imported, 5);
    ASSERT_TRUE(r->errors.empty());
  }

  std::unique_ptr<text::Segmenter> seg_;
  std::unique_ptr<storage::Database> db_;
  KnowledgeConfig cfg_;
  FakeClock clock_;
  std::unique_ptr<KnowledgeBase> kb_;
};

TEST_P(KnowledgeBaseTest, RanksTheMatchingEntryFirst) {
  ImportDemo();
  EXPECT_EQ(kb_->Size("t1"), 5u);
  EXPECT_EQ(kb_->Size("t2"), 0u);
  auto p = kb_->Search("t1", "我的东西什么时候发货？", 3);
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(p[0].id, "kb-ship-01");
  EXPECT_EQ(p[0].category, "发货");
  for (size_t i = 1; i < p.size(); ++i) EXPECT_GE(p[i - 1].score, p[i].score);
  EXPECT_EQ(kb_->Search("t1", "退款流程是怎样的", 1).at(0).id, "kb-refund-01");
  EXPECT_EQ(kb_->Search("t1", "用的哪家快递", 1).at(0).id, "kb-ship-02");
  EXPECT_EQ(kb_->Search("t1", "能开发票吗", 1).at(0).id, "kb-invoice-01");
  EXPECT_TRUE(kb_->Search("t2", "发货", 3).empty());  // tenants are isolated
  EXPECT_TRUE(kb_->Search("t1", "？！。", 3).empty());
}

// A search restricted to one language returns that language's entries only,
// even when entries of another language share the query's words and fill
// top_k (the candidates were counted before the filter, and the passages past
// the filtered ones were read from the stale end of the candidate list).
TEST_P(KnowledgeBaseTest, ALanguageFilterReturnsOnlyThatLanguage) {
  ImportDemo();  // five Chinese entries; four mention 发货, 退款, 退货 or 订单
  KbEntry en;
  en.id = "kb-refund-01.en";
  en.title = "How do I get a refund";
  en.body = "Open the order and tap 申请退款 (request a refund); it is paid back in 1-3 working days.";
  en.questions = {"refund", "退款 in English"};
  en.lang = "en";
  ASSERT_TRUE(kb_->Upsert("t1", en).ok());
  const auto all = kb_->Search("t1", "退款 退货 发货 订单 refund", 5, "*");
  ASSERT_GE(all.size(), 3u);  // both languages match
  const auto only_en = kb_->Search("t1", "退款 退货 发货 订单 refund", 5, "en");
  ASSERT_EQ(only_en.size(), 1u);
  EXPECT_EQ(only_en[0].id, "kb-refund-01.en");
  for (const auto& p : kb_->Search("t1", "退款 退货 发货 订单", 5, "")) EXPECT_EQ(p.lang, "") << p.id;
}

TEST_P(KnowledgeBaseTest, AFollowUpIsReadWithTheTopicSoFar) {
  ImportDemo();
  // "那退款呢？" after a question about returns: the follow-up's own word
  // decides, the context only ranks.
  // (Passages come in score order; the dialogue decides by confidence.)
  auto most_confident = [](std::vector<Passage> ps) {
    std::stable_sort(ps.begin(), ps.end(), [](const auto& a, const auto& b) { return a.confidence > b.confidence; });
    return ps;
  };
  auto p = most_confident(kb_->SearchFollowUp("t1", "那退款呢？", "七天无理由退货 不想要了能退吗", 3));
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(p[0].id, "kb-refund-01");
  // The entry the context alone points at is not what the follow-up asks.
  for (const auto& x : p)
    if (x.id == "kb-return-01") EXPECT_LT(x.confidence, p[0].confidence);
  // "专票呢" after the invoice question: same entry, found through the topic.
  auto q = most_confident(kb_->SearchFollowUp("t1", "专票呢", "怎么开发票", 3));
  ASSERT_FALSE(q.empty());
  EXPECT_EQ(q[0].id, "kb-invoice-01");
  // A follow-up about nothing the knowledge base has finds nothing confident.
  auto none = kb_->SearchFollowUp("t1", "天气呢", "用什么快递", 3);
  EXPECT_TRUE(none.empty() || none[0].confidence < 0.25) << none[0].id << " " << none[0].confidence;
}

TEST_P(KnowledgeBaseTest, TheEntryClassifierReadsParaphrases) {
  ImportDemo();
  // Trained on the entries' titles and similar questions when the index is built.
  for (auto [q, want] : {std::pair{"啥时候给我发货啊", "kb-ship-01"}, std::pair{"钱怎么退回来，流程是啥", "kb-refund-01"},
                         std::pair{"发票咋开", "kb-invoice-01"}}) {
    auto ps = kb_->Search("t1", q, 5);
    ASSERT_FALSE(ps.empty()) << q;
    const Passage* top = nullptr;
    double sum = 0;
    for (const auto& p : ps) {
      ASSERT_GE(p.classified, 0.0) << q << " " << p.id;
      ASSERT_LE(p.classified, 1.0);
      sum += p.classified;
      if (!top || p.classified > top->classified) top = &p;
    }
    EXPECT_LE(sum, 1.0 + 1e-6) << q;
    EXPECT_EQ(top->id, want) << q;
  }
  // A follow-up's confidence is its own words' (no classifier).
  for (const auto& p : kb_->SearchFollowUp("t1", "专票呢", "怎么开发票", 3)) EXPECT_EQ(p.classified, -1) << p.id;
}

TEST_P(KnowledgeBaseTest, ConfidenceSeparatesParaphrasesFromUnrelated) {
  ImportDemo();
  for (const char* q : {"什么时候发货", "几天能发货啊", "怎么退款"}) {
    auto p = kb_->Search("t1", q, 3);
    ASSERT_FALSE(p.empty()) << q;
    EXPECT_GE(p[0].confidence, 0.55) << q;
    EXPECT_LE(p[0].confidence, 1.0) << q;
  }
  for (const char* q : {"今天天气怎么样", "你们老板是谁", "我想买一台笔记本电脑"}) {
    auto p = kb_->Search("t1", q, 3);
    double c = p.empty() ? 0 : p[0].confidence;
    EXPECT_LT(c, 0.30) << q;
    EXPECT_GE(c, 0.0) << q;
  }
}

// A NUL (or another control character) in one title refuses the whole file:
// 400-style InvalidArgument naming the entry, nothing stored, nothing indexed.
TEST_P(KnowledgeBaseTest, ControlCharacterInATitleRefusesTheWholeFile) {
  ImportDemo();
  const std::string file = std::string("# 售后\n## 新的条目\nid: kb-new-01\n\n新内容。\n## 退货") +
                           std::string("\0", 1) + "政策\nid: kb-bad-01\n\n七天无理由。\n";
  auto r = kb_->Import("t1", Format::kMarkdown, file, "bad.md");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("line 6"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("退货\\u0000政策"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("nothing was imported"), std::string::npos) << r.status().message();
  EXPECT_EQ(kb_->Size("t1"), 5u);
  EXPECT_FALSE(kb_->Get("t1", "kb-new-01").ok());
  {
    auto s = db_->Lock();
    auto& st = s.Prepare("SELECT COUNT(*) FROM kb_entries WHERE tenant_id = 't1'");
    ASSERT_TRUE(*st.Step());
    EXPECT_EQ(st.Int(0), 5);
    st.Reset();
  }
  // One entry at a time too.
  KbEntry e;
  e.id = "kb-put";
  e.title = std::string("标题\x1b[31m");
  e.body = "正文";
  Status put = kb_->Upsert("t1", e);
  EXPECT_EQ(put.code(), ErrorCode::kInvalidArgument) << put.ToString();
  EXPECT_NE(put.message().find("U+001B"), std::string::npos) << put.message();
}

TEST_P(KnowledgeBaseTest, SynonymsExpandTheQuery) {
  ImportDemo();
  auto before = kb_->Search("t1", "怎么返款", 1);
  ASSERT_TRUE(kb_->SetSynonyms("t1", {{"退款", "退钱", "返款"}}).ok());
  auto after = kb_->Search("t1", "怎么返款", 1);
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after[0].id, "kb-refund-01");
  EXPECT_GT(after[0].confidence, before.empty() ? 0.0 : before[0].confidence);
  EXPECT_EQ(kb_->Synonyms("t1").size(), 1u);
}

// The built-in English thesaurus and the places table (knowledge/thesaurus.h,
// places.h): the customer's words find the entry written in the shop's.
TEST_P(KnowledgeBaseTest, CustomersWordsFindTheShopsEntry) {
  KbEntry fee;
  fee.id = "kb-member-fee.en";
  fee.title = "Is there an annual fee for membership?";
  fee.body = "Membership is free; there is no annual fee.";
  fee.lang = "en";
  KbEntry remote;
  remote.id = "kb-remote.en";
  remote.title = "Do you deliver to Xinjiang and Tibet?";
  remote.body = "Yes, remote areas take 5-7 days.";
  remote.lang = "en";
  KbEntry back;
  back.id = "kb-return.en";
  back.title = "How do I send back an item?";
  back.body = "Request a return in the order page.";
  back.lang = "en";
  for (const auto& e : {fee, remote, back}) ASSERT_TRUE(kb_->Upsert("t1", e).ok());
  auto yearly = kb_->Search("t1", "is there a yearly charge for vip", 1, "en");
  ASSERT_FALSE(yearly.empty());
  EXPECT_EQ(yearly[0].id, "kb-member-fee.en");
  auto lhasa = kb_->Search("t1", "can you deliver to lhasa", 1, "en");
  ASSERT_FALSE(lhasa.empty());
  EXPECT_EQ(lhasa[0].id, "kb-remote.en");
  EXPECT_GT(lhasa[0].confidence, kb_->Search("t1", "can you deliver to gotham", 1, "en").at(0).confidence);
  // Whole words only: "mistake" holds no "take back".
  const double returned = kb_->Search("t1", "can i take back an item", 1, "en").at(0).confidence;
  const double mistaken = kb_->Search("t1", "can i mistake back an item", 1, "en").at(0).confidence;
  EXPECT_GT(returned, mistaken);
  // The built-in Chinese thesaurus: 库存不足 is 缺货 (the entry's word).
  KbEntry stock;
  stock.id = "kb-stock";
  stock.title = "想换的尺码缺货怎么办";
  stock.body = "可以先退货，等补货后重新购买。";
  KbEntry pay;
  pay.id = "kb-pay";
  pay.title = "换货要补钱吗";
  pay.body = "同价位换货不用补钱。";
  for (const auto& e : {stock, pay}) ASSERT_TRUE(kb_->Upsert("t1", e).ok());
  auto short_stock = kb_->Search("t1", "提示库存不足", 1, "");
  ASSERT_FALSE(short_stock.empty());
  EXPECT_EQ(short_stock[0].id, "kb-stock");
}

TEST_P(KnowledgeBaseTest, IncrementalUpdatesAreVisibleAndPersisted) {
  ImportDemo();
  KbEntry e;
  e.title = "会员积分怎么用";
  e.body = "积分可在结算时抵扣现金，100 积分抵 1 元。";
  e.questions = {"积分能抵钱吗"};
  ASSERT_TRUE(kb_->Upsert("t1", e).ok());
  EXPECT_EQ(kb_->Size("t1"), 6u);
  auto p = kb_->Search("t1", "积分可以抵扣吗", 1);
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(p[0].id, StableId("会员积分怎么用"));

  // Re-importing the same file changes nothing; an edited entry counts as updated.
  auto r = kb_->Import("t1", Format::kMarkdown, kDemo, "demo.md");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->unchanged, 5);
  std::string edited = std::string(kDemo);
  edited.replace(edited.find("默认顺丰"), std::string("默认顺丰").size(), "默认京东");
  r = kb_->Import("t1", Format::kMarkdown, edited, "demo.md");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->updated, 1);
  EXPECT_EQ(r->unchanged, 4);
  EXPECT_NE(kb_->Get("t1", "kb-ship-02")->body.find("京东"), std::string::npos);

  ASSERT_TRUE(kb_->Remove("t1", "kb-ship-02").ok());
  EXPECT_EQ(kb_->Remove("t1", "kb-ship-02").code(), ErrorCode::kNotFound);
  EXPECT_EQ(kb_->Get("t1", "kb-ship-02").status().code(), ErrorCode::kNotFound);
  for (const auto& hit : kb_->Search("t1", "快递公司", 5)) EXPECT_NE(hit.id, "kb-ship-02");
  ASSERT_TRUE(kb_->SetSynonyms("t1", {{"退款", "退钱"}}).ok());

  // A fresh instance rebuilds the same state from the database.
  auto kb2 = KnowledgeBase::Create(*db_, *seg_, cfg_, clock_);
  ASSERT_TRUE(kb2.ok());
  ASSERT_TRUE((*kb2)->LoadAll().ok());
  EXPECT_EQ((*kb2)->Size("t1"), 5u);
  auto got = (*kb2)->Get("t1", "kb-ship-01");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->questions.size(), 2u);
  EXPECT_EQ(got->source, "demo.md");
  EXPECT_EQ(got->updated_ms, clock_.NowMs());
  EXPECT_EQ((*kb2)->Synonyms("t1").size(), 1u);
  EXPECT_EQ((*kb2)->Search("t1", "退钱", 1).at(0).id, "kb-refund-01");
}

TEST_P(KnowledgeBaseTest, ImportsCsvAndJsonWithBadRows) {
  auto r = kb_->Import("t2", Format::kCsv,
                       "id,title,body,category,questions\n"
                       "c1,运费,满 99 包邮,物流,邮费|运费多少\n"
                       "c2,,没有标题,,\n"
                       "c3,退货地址,\"浙江省杭州市\n某某路 1 号\",售后,\n",
                       "faq.csv");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->imported, 2);
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].line, 3);
  EXPECT_EQ(kb_->Get("t2", "c3")->category, "售后");

  r = kb_->Import("t2", Format::kJson,
                  R"({"entries": [{"id": "j1", "title": "营业时间", "body": "每天 9:00-21:00", "questions": ["几点上班"]},
                                  {"id": "j2", "body": "缺标题"}],
                      "synonyms": [["运费", "邮费", "快递费"]]})",
                  "faq.json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->imported, 1);
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].line, 2);
  EXPECT_EQ(kb_->Size("t2"), 3u);
  EXPECT_EQ(kb_->Search("t2", "快递费多少钱", 1).at(0).id, "c1");

  // Whole-file problems are reported, nothing is written.
  r = kb_->Import("t2", Format::kCsv, "name,answer\nx,y\n", "bad.csv");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->imported, 0);
  EXPECT_EQ(r->errors.at(0).line, 1);
  r = kb_->Import("t2", Format::kMarkdown, "## 标题\n\n正文\xff\n", "bad.md");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->errors.at(0).line, 3);
  EXPECT_EQ(kb_->Size("t2"), 3u);

  // Unknown tenants are refused before anything is written.
  auto missing = kb_->Import("nobody", Format::kMarkdown, kDemo, "demo.md");
  EXPECT_EQ(missing.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(kb_->Size("nobody"), 0u);
}

TEST_P(KnowledgeBaseTest, ConcurrentSearchDuringImport) {
  ImportDemo();
  std::atomic<bool> stop{false};
  std::atomic<int> searches{0}, wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t)
    readers.emplace_back([&] {
      while (!stop) {
        auto p = kb_->Search("t1", "什么时候发货", 3);
        if (p.empty() || p[0].id != "kb-ship-01") ++wrong;
        ++searches;
      }
    });
  for (int round = 0; round < 20; ++round) {
    std::string md;
    for (int i = 0; i < 20; ++i)
      md += "## 其他问题 " + std::to_string(round * 100 + i) + "\nid: x-" + std::to_string(i) + "\n\n保修政策第 " +
            std::to_string(round) + " 版，第 " + std::to_string(i) + " 条。\n";
    auto r = kb_->Import("t1", Format::kMarkdown, md, "bulk.md");
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(kb_->Remove("t1", "x-0").ok());
  }
  stop = true;
  for (auto& th : readers) th.join();
  EXPECT_GT(searches.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(kb_->Size("t1"), 5u + 19u);
}

INSTANTIATE_TEST_SUITE_P(Segmenters, KnowledgeBaseTest, ::testing::Values("hybrid", "jieba", "bigram"));

}  // namespace
}  // namespace kefu::knowledge
