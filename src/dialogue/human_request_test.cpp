#include "dialogue/human_request.h"

#include <gtest/gtest.h>

namespace kefu::dialogue {
namespace {

// Wordings of the issue and of the audit, plus their variants; none of these
// strings is in tests/understanding (the benchmark stays unseen).
TEST(HumanNeed, EveryWayOfAskingForAPerson) {
  for (const char* t : {"我要找真人", "叫你们经理来", "转个人工呗", "human agent please", "人工！", "人呢？？",
                        "人工客服", "轉人工", "ＡＧＥＮＴ", "I want a real person", "can I speak to someone", "人 工",
                        "不要机器人回答", "找你们领导", "Representative.", "叫个小二过来", "想找真正的客服", "不想跟机器聊了", "能直接找人吗",
                        "this bot is not helping", "is there anyone real here"}) {
    auto n = DetectHumanNeed(t);
    EXPECT_TRUE(n.asks_for_human) << t;
    EXPECT_FALSE(n.cue.empty()) << t;
  }
}

TEST(HumanNeed, AngerAndAbuse) {
  for (const char* t : {"你们就是骗子 退钱！！！", "TMD到底还发不发货了", "给你们差评", "气死我了😡", "什么破平台",
                        "this is a scam", "WTF where is my stuff", "fk 又没到", "草 又坏了", "烦死了", "这质量也太烂了", "your chatbot sucks", "还不发货？？？！！！", "你們就是騙子"}) {
    EXPECT_TRUE(DetectHumanNeed(t).abusive) << t;
  }
}

TEST(HumanNeed, GoingRoundInCircles) {
  for (const char* t : {"说了三遍了 到底送不送", "你倒是说啊", "还是不行啊", "I already asked this"})
    EXPECT_TRUE(DetectHumanNeed(t).stuck) << t;
  EXPECT_FALSE(DetectHumanNeed("发票怎么开").stuck);
}

TEST(HumanNeed, NotARequestOrNotAngry) {
  for (const char* t : {"人工客服几点上班", "客服电话多少", "海尔滚筒洗衣机有货吗", "谢谢！！！", "太好了!!!",
                        "what size for a person 170cm tall", "我的订单到哪了", "退款多久到账", "agents fee?",
                        "小二 发票怎么开", "草莓味的有吗", "草本的面霜"}) {
    auto n = DetectHumanNeed(t);
    EXPECT_FALSE(n.abusive) << t;
    if (std::string(t) != "agents fee?") EXPECT_FALSE(n.asks_for_human) << t;
  }
  EXPECT_FALSE(DetectHumanNeed("agents fee?").asks_for_human);
}

TEST(HumanNeed, HoursOfTheServiceAndImpostorsAreQuestions) {
  // When someone is on duty: a question about the service, not a request now.
  for (const char* t :
       {"人工客服周六上不上班", "凌晨两点还有客服在线吗", "国庆放假客服休息吗", "每天几点以后就没人工了"})
    EXPECT_FALSE(DetectHumanNeed(t).asks_for_human) << t;
  EXPECT_TRUE(DetectHumanNeed("现在有人工吗 我要转人工").asks_for_human);
  // A report of someone posing as the shop: the fraud words are the caller's.
  for (const char* t :
       {"有个自称你们客服的打电话说要赔钱给我 让我下载软件", "短信说我中奖了 是你们发的吗 不会是诈骗吧",
        "a guy phoned pretending to be your support, said it's a refund, is this a scam", "我妈的手机收到退款短信"}) {
    EXPECT_FALSE(DetectHumanNeed(t).abusive) << t;
    EXPECT_FALSE(DetectHumanNeed(t).asks_for_human) << t;
  }
  // Still abuse: at the shop itself, or 他妈的.
  for (const char* t : {"你们就是诈骗", "他妈的 退钱", "妈的 又没到", "你们这帮骗子 冒充什么正规店"})
    EXPECT_TRUE(DetectHumanNeed(t).abusive) << t;
}

TEST(HumanNeed, MaskedSwearingSarcasmAndShuttingTheBotUp) {
  for (const char* t : {"傻x客服", "你们这么坑顾客 早点关门吧", "lovely, still nothing 🙄", "你们真行 又发错了"})
    EXPECT_TRUE(DetectHumanNeed(t).abusive) << t;
  EXPECT_TRUE(DetectHumanNeed("别回复了 让人来").asks_for_human);
  EXPECT_FALSE(DetectHumanNeed("页面一直转圈🙄 付不了款").abusive);  // an eye roll alone is no fury
  // Praise next to the failure, 呵呵 on a complaint, keeping the money.
  for (const char* t : {"wow great service 👏 three weeks and still nothing. amazing.", "呵呵 你们这效率真是绝了 等到明年吧",
                        "大疆到现在还在派送 你们快递是走路送的吗 呵呵", "两笔退款一个多月了一分没到 你们是不是想吞了我的钱"})
    EXPECT_TRUE(DetectHumanNeed(t).abusive) << t;
  EXPECT_FALSE(DetectHumanNeed("发货真快 谢谢 还没拆呢").abusive);
  EXPECT_FALSE(DetectHumanNeed("great, thanks! it still works fine").abusive);
  EXPECT_TRUE(DetectHumanNeed("叫你们店长出来说话").asks_for_human);
  EXPECT_FALSE(DetectHumanNeed("投诉渠道有哪些").abusive);  // a calm question (kb-contact-03)
  EXPECT_TRUE(DetectHumanNeed("我要投诉").abusive);
  EXPECT_FALSE(DetectHumanNeed("人工客服週末幾點有人在").asks_for_human);
  EXPECT_FALSE(DetectHumanNeed("有人打电话给我说是你们平台的 让我加微信 是真的吗").asks_for_human);
}

TEST(HumanNeed, OtherWaysOfAskingForAPerson) {
  for (const char* t : {"不想跟机器聊 要人", "换人！", "能让小二来一下吗", "叫你们客服小姐姐出来",
                        "给我打个电话吧 打字太累", "客服！客服！在不在", "来人啊", "put me through to your staff",
                        "can someone who can actually help reply", "please call me back",
                        "能让客服打个电话给我吗 就打我注册的那个号", "rg", "zrg", "RGKF", "rengong", "kf kf kf",
                        "我年纪大了 打字慢 能不能叫个客服跟我说话"})
    EXPECT_TRUE(DetectHumanNeed(t).asks_for_human) << t;
  // Pinyin initials only as the whole message: not inside words.
  for (const char* t : {"rgb灯", "org", "我的订单rg123"}) EXPECT_FALSE(DetectHumanNeed(t).asks_for_human) << t;
  for (const char* t :
       {"呵呵 服务真好啊 问十遍都是同一句话", "你们客服是死光了吗", "wow, 5 days and still 'processing'. amazing service 👏",
        "我要complain", "你们客服都是死人吗", "等着吃官司吧", "我找律师", "这都什么玩意儿", "一问三不知"})
    EXPECT_TRUE(DetectHumanNeed(t).abusive) << t;
  for (const char* t : {"you're not answering my question", "你听不懂我说的吗", "you keep dodging. yes or no??"})
    EXPECT_TRUE(DetectHumanNeed(t).stuck) << t;
  // Not requests: paying by someone else, the delivery person, hiring.
  for (const char* t : {"可以找人代付吗", "送货的人什么时候来", "你们还要人吗", "我想找人帮我收货", "客服电话多少"})
    EXPECT_FALSE(DetectHumanNeed(t).asks_for_human) << t;
}

TEST(HumanNeed, EnglishAngerWithInflectionsAndShouting) {
  for (const char* t : {"you lot are scammers", "this is fraudulent", "i got cheated", "stop lying to me",
                        "filing a chargeback with my bank", "leaving you a one star review", "what a joke of a shop",
                        "i am so fed up with this", "WHERE IS MY ORDER", "i need it changed NOW", "idiots"})
    EXPECT_TRUE(DetectHumanNeed(t).abusive) << t;
  for (const char* t : {"youre just repeating yourself", "that's not what i asked", "you didnt answer my question",
                        "are you a bot or what", "说了半天还是这句"})
    EXPECT_TRUE(DetectHumanNeed(t).stuck) << t;
  // Names in capitals, and inflections that make another word, are not anger.
  for (const char* t : {"can you ship by SF or JD", "is the USB-C cable included", "do you sell scampi",
                        "my iPhone 15 PRO MAX", "I want the same thing in blue", "how many times can I exchange"}) {
    auto n = DetectHumanNeed(t);
    EXPECT_FALSE(n.abusive) << t;
    EXPECT_FALSE(n.stuck) << t;
  }
}

TEST(HumanNeed, MoreWaysOfAskingAndOfBeingUpset) {
  for (const char* t : {"能不能帮我转接一下", "你是AI吧 我想找个能说话的人", "一直是机器人在回", "在吗 在吗 在吗",
                        "get me your boss", "can I speak with support", "is anybody there?", "I'd like to escalate"})
    EXPECT_TRUE(DetectHumanNeed(t).asks_for_human) << t;
  for (const char* t : {"真的很生气", "你们太坑了", "无语了", "我很不满意", "退钱马上", "I'm really upset",
                        "such a bad experience", "i am disappointed"})
    EXPECT_TRUE(DetectHumanNeed(t).abusive) << t;
  for (const char* t : {"nobody is helping me", "你能不能直接告诉我"}) EXPECT_TRUE(DetectHumanNeed(t).stuck) << t;
  // A condition in a policy question, a bank transfer and an adapter are not.
  for (const char* t : {"到了如果不满意可以退吗", "can I pay by bank transfer", "有type-c转接头吗"}) {
    auto n = DetectHumanNeed(t);
    EXPECT_FALSE(n.abusive || n.asks_for_human || n.stuck) << t;
  }
}

TEST(HumanNeed, EnglishVerbBeforeStaffWord) {
  for (const char* t : {"can i just talk to an actual person please", "can i talk to a customer service rep please",
                        "hello?? any humans here", "get me a supervisor", "i need a live rep", "a real human being pls",
                        "i wanna speak with somebody from your team", "let me talk to the store manager",
                        "when is a real person going to answer me", "human please, when is my refund coming"}) {
    EXPECT_TRUE(DetectHumanNeed(t).asks_for_human) << t;
  }
  for (const char* t : {"the delivery person left it at the door", "can i get a refund", "what size for a person 170cm",
                        "my repair person never came", "do you need my order number", "i see people saying it's fake",
                        "is there a size chart for people with wide feet", "what hours are your live agents available",
                        "what time do the human agents start in the morning"}) {
    EXPECT_FALSE(DetectHumanNeed(t).asks_for_human) << t;
  }
}

TEST(HumanNeed, ContemptAndGoingPublic) {
  for (const char* t :
       {"你们这客服就是摆设吧", "人工智障", "再不处理我就发微博", "this bot is pointless", "what a joke of a shop"})
    EXPECT_TRUE(DetectHumanNeed(t).abusive) << t;
}

TEST(HumanNeed, SpecialistsCannedRepliesAndSarcasm) {
  for (const char* t : {"这个问题你解决不了的 请安排专员跟进一下", "别再给我发这些模板话了 找个能做主的来",
                        "mmp 又是自动回复", "等了一个礼拜了 天天说在处理 处理个毛线", "stop sending me canned answers",
                        "wow, great help, thanks for nothing", "你们这service太差了 I'm reporting you"}) {
    const auto n = DetectHumanNeed(t);
    EXPECT_TRUE(n.asks_for_human || n.abusive || n.stuck) << t;
  }
  for (const char* t : {"质量太差了能退吗", "毛线帽有货吗", "发票模板在哪下载"}) {
    const auto n = DetectHumanNeed(t);
    EXPECT_FALSE(n.asks_for_human || n.abusive) << t;
  }
}

TEST(HumanNeed, FoldingIsUtf8Safe) {
  EXPECT_EQ(FoldForHumanNeed("ＡＢＣ！？"), "abc!?");
  EXPECT_EQ(FoldForHumanNeed("人 工"), "人工");
  EXPECT_EQ(FoldForHumanNeed("a b"), "a b");
  EXPECT_EQ(FoldForHumanNeed("\xff\xfe"), FoldForHumanNeed(std::string("\xff\xfe")));  // invalid bytes: no crash
  EXPECT_FALSE(DetectHumanNeed(std::string(4000, 'a')).asks_for_human);
}

TEST(HumanNeed, AGreetingAsksWhetherAnyoneIsThereNotForAPerson) {
  for (const char* t : {"哈囉 有人嗎", "哈喽 有人吗", "你好 有人在吗?", "hi 有人吗"})
    EXPECT_FALSE(DetectHumanNeed(t).asks_for_human) << t;
  for (const char* t : {"有人吗", "客服呢？？？有人吗！！！", "你好 有人吗？？", "人呢？？"})
    EXPECT_TRUE(DetectHumanNeed(t).asks_for_human) << t;
}

TEST(HumanNeed, NobodyHandledItAndHowLongItUsuallyTakes) {
  EXPECT_FALSE(DetectHumanNeed("提交的售后单一直没人理 正常要等多久").stuck);
  EXPECT_TRUE(DetectHumanNeed("提交的售后单一直没人理").stuck);
  EXPECT_FALSE(DetectHumanNeed("售后单交了两天没人理 正常吗").stuck);
  EXPECT_FALSE(DetectHumanNeed("派送中一整天了 人呢").asks_for_human);
  EXPECT_TRUE(DetectHumanNeed("人呢？？").asks_for_human);
  EXPECT_FALSE(DetectHumanNeed("顺丰快递自己的人工电话你们知道吗").asks_for_human);
}

TEST(HumanNeed, APersonDescribedAndStaffFarFromTheVerb) {
  for (const char* t : {"叫个懂行的人来跟我说", "找个专业点的人来处理", "换一个靠谱的人", "Could I speak with a member of your staff, please?"})
    EXPECT_TRUE(DetectHumanNeed(t).asks_for_human) << t;
  for (const char* t : {"那新人呢", "老人呢 有优惠吗", "收件的人填错了"})
    EXPECT_FALSE(DetectHumanNeed(t).asks_for_human) << t;
  EXPECT_TRUE(DetectHumanNeed("🙄🙄 这服务真够可以的").abusive);
}

}  // namespace
}  // namespace kefu::dialogue
