// End-to-end: verified customers against a real `kefu serve --demo` that
// requires them ([dialogue] require_verified_customer). A widget that only
// claims a customer id gets no order data; the same customer opened with a
// signed customer token (minted by the "shop backend" with the API key) gets
// the order, and its unread inbox notices survive a reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ensureResultsDir, launchBrowser, sendMessage, startServer, waitConnected } from './lib/harness.mjs';

const T = { timeout: 90000 };
const ADMIN = { Authorization: 'Bearer demo-admin-key', 'Content-Type': 'application/json' };

/** The text of the first bot reply after the customer's `question`. */
async function botReplyTo(page, question) {
  const handle = await page.waitForFunction((q) => {
    const msgs = window.__kefu.state.messages;
    const asked = msgs.find((m) => m.role === 'customer' && m.text === q);
    const reply = asked && msgs.find((m) => m.seq > asked.seq && m.role === 'bot');
    return reply ? reply.text : null;
  }, question, { timeout: 30000 });
  return handle.jsonValue();
}

describe('verified customers against kefu serve --demo', () => {
  let server;
  let browser;
  const contexts = [];

  async function open() {
    const ctx = await browser.newContext({ viewport: { width: 480, height: 820 }, locale: 'zh-CN', deviceScaleFactor: 1 });
    contexts.push(ctx);
    return ctx.newPage();
  }

  before(async () => {
    server = await startServer({ env: { KEFU_DIALOGUE_REQUIRE_VERIFIED_CUSTOMER: 'true' } });
    browser = await launchBrowser();
  });

  after(async () => {
    if (browser) await browser.close();
    const crash = server && server.crashed();
    if (server) await server.stop();
    assert.equal(crash, null, `the server died during the tests: ${JSON.stringify(crash)}`);
  });

  test('a claimed id gets no orders; a signed token does, and unread inbox notices survive a reload', T, async () => {
    const claimed = await open();
    await claimed.goto(`${server.baseUrl}/?customer=C0001`);
    await waitConnected(claimed);
    await sendMessage(claimed, '我的订单到哪了');
    const refused = await botReplyTo(claimed, '我的订单到哪了');
    assert.match(refused, /登录/, refused);
    assert.doesNotMatch(refused, /SO\d/, 'no order number for an unverified customer');

    const minted = await (await fetch(`${server.baseUrl}/v1/customers/C0001/inbox/token`, {
      method: 'POST', headers: ADMIN, body: '{}',
    })).json();
    assert.ok(minted.token, JSON.stringify(minted));
    const page = await open();
    await page.goto(`${server.baseUrl}/?customer_token=${encodeURIComponent(minted.token)}`);
    await waitConnected(page);
    assert.equal(await page.evaluate(() => window.__kefu.state.conversation.customer_id), 'C0001');
    await sendMessage(page, '我的订单到哪了');
    const answer = await botReplyTo(page, '我的订单到哪了');
    assert.match(answer, /SO\d/, answer);
    assert.doesNotMatch(answer, /登录/);

    // An inbox message arrives live, and is still there after a reload (it is unread).
    const sent = await fetch(`${server.baseUrl}/v1/inbox/messages`, {
      method: 'POST', headers: ADMIN,
      body: JSON.stringify({ customer_id: 'C0001', kind: 'remedy', title: '72小时内上门维修', body: '师傅将在72小时内联系您' }),
    });
    assert.equal(sent.status, 201);
    await page.waitForSelector('[data-testid="inbox-notice"]', { timeout: 15000 });
    await page.reload();
    await waitConnected(page);
    const card = await page.waitForSelector('[data-testid="inbox-notice"]', { timeout: 15000 });
    assert.match(await card.textContent(), /72小时内上门维修/);
    await page.screenshot({ path: path.join(ensureResultsDir(), 'widget-verified.png'), animations: 'disabled' });
  });
});
