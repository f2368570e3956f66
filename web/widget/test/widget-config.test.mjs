// Unit tests for URL parameters, /v1/widget/config normalisation and the choice of customer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseCustomer, normalizeConfig, readUrlParams, rememberDemoCustomer, tokenCustomer } from '../src/widget-config.js';

class MemoryStorage {
  constructor() { this.m = new Map(); }
  getItem(k) { return this.m.has(k) ? this.m.get(k) : null; }
  setItem(k, v) { this.m.set(k, String(v)); }
}

test('URL parameters', () => {
  assert.deepEqual(readUrlParams(''), { widgetKey: 'demo', customer: '', customerToken: '', transport: 'auto' });
  assert.deepEqual(readUrlParams('?key=shop1&customer=C0002&transport=sse'),
    { widgetKey: 'shop1', customer: 'C0002', customerToken: '', transport: 'sse' });
  assert.equal(readUrlParams('?customer_token=abc.def').customerToken, 'abc.def');
  assert.equal(readUrlParams('?transport=carrier-pigeon').transport, 'auto');
});

test('the demo tenant config as the server sends it', () => {
  const c = normalizeConfig({
    name: '示例商城', greeting: '您好', quick_questions: ['我的订单到哪了', '怎么退货'], service_hours: '9:00-21:00',
    demo_customers: [{ id: 'C0001', name: '张伟' }, { id: 'C0002', name: '王芳' }],
  });
  assert.equal(c.name, '示例商城');
  assert.equal(c.greeting, '您好');
  assert.deepEqual(c.quickQuestions, ['我的订单到哪了', '怎么退货']);
  assert.deepEqual(c.demoCustomers, [{ id: 'C0001', label: 'C0001 · 张伟' }, { id: 'C0002', label: 'C0002 · 王芳' }]);
});

test('missing or odd config fields fall back to defaults', () => {
  const c = normalizeConfig({ quick_questions: [{ text: '发票' }, 7, ''], demo_customers: ['C9', { name: 'no id' }] });
  assert.equal(c.name, '在线客服');
  assert.deepEqual(c.quickQuestions, ['发票']);
  assert.deepEqual(c.demoCustomers, [{ id: 'C9', label: 'C9' }]);
  assert.deepEqual(normalizeConfig(null).demoCustomers, []);
});

test('customer choice: URL, then remembered demo choice, then C0001; visitors keep a stable id', () => {
  const demo = normalizeConfig({ demo_customers: [{ id: 'C0002' }, { id: 'C0001' }] });
  const s = new MemoryStorage();
  assert.equal(chooseCustomer(demo, 'C0007', s), 'C0007');
  assert.equal(chooseCustomer(demo, '', s), 'C0001');
  rememberDemoCustomer('C0002', s);
  assert.equal(chooseCustomer(demo, '', s), 'C0002');
  const plain = normalizeConfig({});
  const v = chooseCustomer(plain, '', s);
  assert.match(v, /^v_[0-9a-f]{16}$/);
  assert.equal(chooseCustomer(plain, '', s), v);
});

test('the customer a signed token names (the server checks the signature)', () => {
  const head = Buffer.from('demo\n张伟-C0001\n1795000000000', 'utf8').toString('base64url');
  assert.equal(tokenCustomer(`${head}.c2lnbmF0dXJl`), '张伟-C0001');
  assert.equal(tokenCustomer(''), '');
  assert.equal(tokenCustomer('not-a-token'), '');
  assert.equal(tokenCustomer(`${Buffer.from('only-one-part').toString('base64url')}.x`), '');
});
