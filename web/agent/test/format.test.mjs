// Unit tests of the label table and display helpers (src/format.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LABELS, alertKindLabel, channelLabel, emotionLabel, intentLabel, label, localizeSummary, localizeTried,
  logisticsStatusLabel, orderStatusLabel, productLabel, productNames, queueLabel, reasonLabel, ruleLabel,
  sentimentLabel, urgencyLabel,
} from '../src/format.js';

const CJK = /[\u4e00-\u9fff]/;

test('every code the workspace shows maps to a Chinese label', () => {
  const expect = {
    emotion: ['neutral', 'anger', 'disgust', 'sadness', 'fear', 'surprise', 'happiness', 'like'],
    sentiment: ['negative', 'positive', 'neutral'],
    reason: ['human_agent', 'human-requested', 'abuse-to-human', 'stuck-customer', 'repeat', 'complaint-to-human',
      'angry-to-human', 'threat-to-human', 'upset-after-sale', 'upset-after-sale-emotion', 'upset-refund', 'rising-negative', 'long-wait'],
    logistics: ['picked_up', 'in_transit', 'out_for_delivery', 'delivered'],
    order: ['paid', 'shipped', 'refunding', 'refunded', 'delivered', 'in_transit', 'cancelled'],
    intent: ['track_logistics', 'order_status', 'faq', 'human', 'human_agent', 'complaint', 'refund', 'oos'],
    channel: ['web', 'app', 'wechat'],
    queue: ['complaints', 'after_sale', 'general'],
  };
  for (const [kind, codes] of Object.entries(expect)) {
    for (const code of codes) {
      const l = label(kind, code);
      assert.match(l, CJK, `${kind}.${code} → ${l}`);
      assert.notEqual(l, code);
    }
  }
  assert.equal(reasonLabel('abuse-to-human'), '辱骂/暴怒');
  assert.equal(reasonLabel('stuck-customer'), '客户说机器人帮不上');
  assert.equal(reasonLabel('human-requested'), '客户要求人工');
  assert.equal(ruleLabel('abuse-to-human'), '辱骂/暴怒');
  assert.equal(emotionLabel('neutral'), '平静');
  assert.equal(emotionLabel('anger'), '愤怒');
  assert.equal(sentimentLabel('negative'), '负面');
  assert.equal(logisticsStatusLabel('picked_up'), '已揽收');
  assert.equal(logisticsStatusLabel('out_for_delivery'), '派送中');
  assert.equal(orderStatusLabel('refunding'), '退款中');
  assert.equal(intentLabel('track_logistics'), '物流查询');
  assert.equal(channelLabel('web'), '网页');
  assert.equal(queueLabel('complaints'), '投诉组');
  assert.equal(alertKindLabel('anger_spike'), '情绪激增');
  assert.equal(urgencyLabel('keyword:骗子'), '关键词「骗子」');
  assert.equal(urgencyLabel('repeated_punctuation'), '连续标点');
});

test('an unknown code passes through unchanged; none is empty', () => {
  for (const kind of [...Object.keys(LABELS), 'no-such-table']) {
    assert.equal(label(kind, 'brand_new_code'), 'brand_new_code');
    assert.equal(label(kind, ''), '');
    assert.equal(label(kind, null), '');
  }
  assert.equal(reasonLabel('some-new-rule'), 'some-new-rule');
  assert.equal(orderStatusLabel('on_hold'), 'on_hold');
  assert.equal(label('emotion', 'toString'), 'toString', 'no inherited property leaks in');
  assert.equal(emotionLabel(''), '未知');
});

test('products are named from the panel\'s orders; an id nobody names stays an id', () => {
  const panel = {
    orders: [{ id: 'SO1', items: [{ product_id: 'P4005', name: '索尼 WH-1000XM5 头戴式降噪耳机', qty: 1, spec: '' }] }],
    profile: { recent_orders: [{ items: [{ product_id: 'P2001', name: '优衣库 男士摇粒绒拉链外套' }] }],
      recent_browsing: [{ product_id: 'P9', product_name: '九号' }] },
  };
  const names = productNames(panel);
  assert.equal(productLabel('P4005', names), '索尼 WH-1000XM5 头戴式降噪耳机');
  assert.equal(productLabel('P2001', names), '优衣库 男士摇粒绒拉链外套');
  assert.equal(productLabel('P9', names), '九号');
  assert.equal(productLabel('P1006', names), 'P1006');
  assert.equal(productLabel({ product_id: 'P2', name: '外套', spec: 'XL', qty: 2 }), '外套（XL） ×2');
  assert.deepEqual(productNames(null), {});
});

test('the extractive handoff summary and bot_tried read in Chinese', () => {
  const s = localizeSummary('转人工原因：abuse-to-human。意图：complaint。订单：SO202611010001。商品：P4005。情绪：neutral→anger。机器人已回答 1 次。客户最后说：“你们就是骗子 退钱！！！”',
    { P4005: '索尼耳机' });
  assert.equal(s, '转人工原因：辱骂/暴怒。意图：投诉。订单：SO202611010001。商品：索尼耳机。情绪：平静→愤怒。机器人已回答 1 次。客户最后说：“你们就是骗子 退钱！！！”');
  assert.doesNotMatch(s, /abuse|complaint|neutral|anger|P4005/);
  assert.equal(localizeTried('track_logistics: 您的订单 SO1 运输中'), '物流查询：您的订单 SO1 运输中');
  assert.equal(localizeTried('其他文字'), '其他文字');
});
