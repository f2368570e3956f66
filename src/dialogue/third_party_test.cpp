#include "dialogue/third_party.h"

#include <gtest/gtest.h>

namespace kefu::dialogue {
namespace {

TEST(ThirdParty, AnotherCompanysContactOrPolicy) {
  for (const char* q : {"顺丰的客服电话是多少", "小米的售后电话多少", "华为官网上怎么说的", "中通客服电话",
                        "what's Dyson's customer service number", "SF Express hotline?", "韵达的投诉电话多少",
                        "兰州有没有华为的售后网点", "is there a Sony service center in Chengdu", "美团外卖的客服电话多少",
                        "饿了么的客服电话是多少"})
    EXPECT_TRUE(AboutAThirdParty(q).is) << q;
  EXPECT_EQ(AboutAThirdParty("顺丰的客服电话是多少").who, "顺丰");
}

TEST(ThirdParty, BoughtElsewhereOrComparedWithAnotherPlatform) {
  for (const char* q : {"京东买的东西能在你们这退吗", "在淘宝上买的能保修吗", "does Amazon have a better return policy than you?",
                        "Do you price match with JD.com?", "拼多多比你们便宜多了", "I bought it on amazon, can you fix it",
                        "拼多多的运费险怎么赔", "天猫618什么时候开始", "京东的保价是几天", "Does Amazon do free returns?"})
    EXPECT_TRUE(AboutAThirdParty(q).is) << q;
}

TEST(ThirdParty, TheShopsOwnQuestionsAreNot) {
  // Carriers and brands the shop works with, asked about the shop's service.
  for (const char* q : {"能发顺丰吗", "顺丰的快递员电话打不通", "京东物流到哪了", "小米手机有货吗", "华为平板保修多久",
                        "客服电话是多少", "用哪家快递", "do you ship with SF Express?", "my Sony headphones haven't arrived",
                        "Santa hat in stock?", "我的京东物流单号是多少", "可以指定京东快递送吗"})
    EXPECT_FALSE(AboutAThirdParty(q).is) << q;
}

TEST(ThirdParty, AShopOnAnotherPlatform) {
  for (const char* q : {"你们在momo上也有开店吗", "你们有在虾皮开店吗", "你们在小红书上有店吗", "顺丰快递自己的人工电话你们知道吗",
                        "京东物流的人工电话是多少"})
    EXPECT_TRUE(AboutAThirdParty(q).is) << q;
  for (const char* q : {"你们在线下有店吗", "我在你们旗舰店买的", "你们的人工电话多少"})
    EXPECT_FALSE(AboutAThirdParty(q).is) << q;
}

}  // namespace
}  // namespace kefu::dialogue
