#include "dialogue/understanding_eval.h"

#include <gtest/gtest.h>

namespace kefu::dialogue {
namespace {

using nlohmann::json;

TurnObservation Answered() {
  TurnObservation o;
  o.conversation_status = "open";
  return o;
}

TEST(UnderstandingJudge, OrderNeedsTheRightOrderAndTool) {
  auto o = Answered();
  o.tools = {"track_logistics"};
  o.order_id = "SO1";
  EXPECT_TRUE(Judge({{"action", "order"}, {"order", "SO1"}}, o).correct);
  EXPECT_TRUE(Judge({{"action", "order"}, {"order", "SO1"}, {"tool", "track_logistics"}}, o).correct);
  auto wrong_tool = Judge({{"action", "order"}, {"order", "SO1"}, {"tool", "get_order"}}, o);
  EXPECT_FALSE(wrong_tool.correct);
  auto wrong_order = Judge({{"action", "order"}, {"order", "SO2"}}, o);
  EXPECT_FALSE(wrong_order.correct);
  EXPECT_EQ(wrong_order.got, "order:SO1");
  EXPECT_NE(wrong_order.reason.find("wrong order"), std::string::npos);
}

TEST(UnderstandingJudge, HandoffMustReallyReachAQueue) {
  auto claimed = Answered();
  claimed.handoff_claimed = true;  // "已为您登记转人工" while nothing was queued
  auto v = Judge({{"action", "handoff"}}, claimed);
  EXPECT_FALSE(v.correct);
  EXPECT_EQ(v.got, "empty_handoff");
  auto queued = claimed;
  queued.conversation_status = "queued";
  EXPECT_TRUE(Judge({{"action", "handoff"}}, queued).correct);
  TurnObservation silent;  // a human serves: the bot did not reply
  silent.bot_replied = false;
  silent.conversation_status = "human";
  EXPECT_TRUE(Judge({{"action", "handoff"}}, silent).correct);
  // A handoff where the bot should have answered is wrong.
  EXPECT_FALSE(Judge({{"action", "kb"}, {"kb", "kb-1"}}, queued).correct);
}

TEST(UnderstandingJudge, KbTakesTheTopCitationAmongEquallyRightEntries) {
  auto o = Answered();
  o.citations = {"kb-2", "kb-1"};
  EXPECT_TRUE(Judge({{"action", "kb"}, {"kb", json::array({"kb-1", "kb-2"})}}, o).correct);
  auto en = Answered();
  en.citations = {"kb-ship-01.en"};  // the English version of the entry
  EXPECT_TRUE(Judge({{"action", "kb"}, {"kb", "kb-ship-01"}}, en).correct);
  EXPECT_FALSE(Judge({{"action", "kb"}, {"kb", "kb-ship-02"}}, en).correct);
  EXPECT_FALSE(Judge({{"action", "kb"}, {"kb", "kb-1"}}, o).correct);
  o.clarify = true;
  EXPECT_FALSE(Judge({{"action", "kb"}, {"kb", "kb-2"}}, o).correct);
  EXPECT_TRUE(Judge({{"action", "clarify"}}, o).correct);
}

TEST(UnderstandingJudge, UnknownMeansNoInventedAnswer) {
  auto o = Answered();
  o.unknown = true;
  EXPECT_TRUE(Judge({{"action", "unknown"}}, o).correct);
  auto cited = Answered();
  cited.citations = {"kb-9"};
  EXPECT_FALSE(Judge({{"action", "unknown"}}, cited).correct);
  auto human = Answered();
  human.conversation_status = "queued";
  EXPECT_FALSE(Judge({{"action", "unknown"}}, human).correct);  // strict: a handoff is not the action
}

TEST(UnderstandingReport, CountsTargetsAndConfusions) {
  UnderstandingReport r;
  auto add = [&](std::string action, bool ok, std::string got, std::string lang) {
    UnderstandingReport::Item it;
    it.id = "u" + std::to_string(r.size());
    it.kind = "utterance";
    it.split = "dev";
    it.lang = lang;
    it.expect = {{"action", action}};
    it.verdict.correct = ok;
    it.verdict.got = got;
    it.server_cpu_us = 100 + double(r.size());
    r.Add(it);
  };
  add("handoff", true, "handoff", "zh");
  add("handoff", false, "empty_handoff", "en");
  add("unknown", false, "kb:kb-1", "zh");
  add("kb", true, "kb:kb-1", "en");
  json j = r.ToJson();
  EXPECT_EQ(j["overall"]["n"], 4);
  EXPECT_EQ(j["overall"]["correct"], 2);
  EXPECT_DOUBLE_EQ(j["targets"]["human_and_angry_reach_a_human"]["value"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["targets"]["no_invented_answer_for_unknowns"]["value"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(j["targets"]["english"]["value"].get<double>(), 0.5);
  EXPECT_EQ(j["failures"].size(), 2u);
  EXPECT_EQ(j["server_cpu_per_turn"]["turns"], 4);
  std::string md = UnderstandingReport::Markdown(j);
  EXPECT_NE(md.find("| handoff | empty_handoff | 1 |"), std::string::npos) << md;
}

}  // namespace
}  // namespace kefu::dialogue
