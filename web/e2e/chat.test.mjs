// End-to-end: the built widget in Debian's chromium against a real
// `kefu serve --demo` (see lib/harness.mjs). The tests share one browser page
// and run in order: ask, reload, reconnect.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  customerBubbles, ensureResultsDir, launchBrowser, newestOrder, renderedMessages,
  sendMessage, serverMessages, startServer, waitConnected,
} from './lib/harness.mjs';

const CUSTOMER = 'C0001';
const T = { timeout: 90000 };

describe('chat widget against kefu serve --demo', () => {
  let server;
  let browser;
  let context;
  let page;
  const pageErrors = [];

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 480, height: 820 }, locale: 'zh-CN', deviceScaleFactor: 1 });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
  });

  after(async () => {
    if (page && ensureResultsDir()) {
      await page.screenshot({ path: path.join(ensureResultsDir(), 'chat-final.png'), animations: 'disabled' }).catch(() => {});
    }
    if (browser) await browser.close();
    const crash = server && server.crashed();
    if (server) await server.stop();
    assert.equal(crash, null, `the server died during the tests: ${JSON.stringify(crash)}; see web/test-results/server.log`);
  });

  const conversationId = () => page.evaluate(() => window.__kefu.state.conversation.id);

  test('demo customer asks where the order is and sees its real logistics status', T, async () => {
    const { order, latestEvent } = newestOrder(CUSTOMER);
    await page.goto(`${server.baseUrl}/?customer=${CUSTOMER}`);
    await waitConnected(page);
    const shop = (await page.textContent('[data-testid="shop-name"]')).trim();
    assert.ok(shop.length > 0, 'shop name from /v1/widget/config in the header');
    assert.equal(await page.inputValue('[data-testid="customer-select"]'), CUSTOMER, 'demo selector shows the customer');

    await sendMessage(page, '我的订单到哪了');
    const wanted = [order.tracking_no, latestEvent && latestEvent.description].filter(Boolean);
    const handle = await page.waitForFunction((needles) => {
      const bots = [...document.querySelectorAll('.msg[data-role="bot"][data-seq] .kf-text')];
      const hit = bots.find((el) => needles.some((n) => el.textContent.includes(n)));
      return hit ? hit.textContent : null;
    }, wanted, { timeout: 30000 });
    const reply = await handle.jsonValue();
    assert.ok(wanted.some((w) => reply.includes(w)), `reply mentions ${wanted.join(' or ')}: ${reply}`);

    const msgs = await renderedMessages(page);
    const asked = msgs.filter((m) => m.role === 'customer' && m.text === '我的订单到哪了');
    assert.equal(asked.length, 1, 'the question is shown once');
    await page.screenshot({ path: path.join(ensureResultsDir(), 'chat.png'), animations: 'disabled' });
  });

  test('an inbox message sent through the API appears live as a notice card, not a chat message', T, async () => {
    const before = (await renderedMessages(page)).length;
    const title = `退款已到账 ${Date.now()}`;
    const res = await fetch(`${server.baseUrl}/v1/inbox/messages`, {
      method: 'POST',
      headers: { Authorization: 'Bearer demo-admin-key', 'Content-Type': 'application/json' },
      body: JSON.stringify({ customer_id: CUSTOMER, kind: 'notice', title, body: '请在"我的消息"中查看' }),
    });
    assert.equal(res.status, 201, await res.text());
    const card = await page.waitForSelector('[data-testid="inbox-notice"]', { timeout: 10000 });
    assert.match(await card.textContent(), new RegExp(`您有一条新消息：${title}`));
    assert.equal((await renderedMessages(page)).length, before, 'no chat bubble was added');
    const stored = await serverMessages(server.baseUrl, await conversationId());
    assert.equal(stored.filter((m) => m.text.includes(title)).length, 0, 'not stored in the conversation');
  });

  test('reload keeps the history without duplicates', T, async () => {
    const id = await conversationId();
    const before = await renderedMessages(page);
    assert.ok(before.length >= 2);
    await page.reload();
    await waitConnected(page);
    await page.waitForFunction((n) => document.querySelectorAll('.msg[data-seq]').length >= n, before.length);
    await page.waitForTimeout(500);  // let any replayed frames arrive: they must not add bubbles
    const afterReload = await renderedMessages(page);
    assert.equal(await conversationId(), id, 'same conversation after reload');
    assert.deepEqual(afterReload, before);
    const seqs = afterReload.map((m) => m.seq);
    assert.equal(new Set(seqs).size, seqs.length, 'no seq rendered twice');
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'rendered in seq order');
  });

  // Each reconnect scenario: the message must be stored once on the server and shown once.
  async function assertDeliveredOnce(text) {
    await page.waitForFunction((t) => [...document.querySelectorAll('.msg[data-role="customer"][data-seq] .kf-text')]
      .some((el) => el.textContent.trim() === t), text, { timeout: 30000 });
    await page.waitForTimeout(800);
    const shown = await customerBubbles(page, text);
    assert.equal(shown.length, 1, `"${text}" shown once: ${JSON.stringify(shown)}`);
    assert.equal(shown[0].pending, null, 'no longer pending');
    const stored = (await serverMessages(server.baseUrl, await conversationId()))
      .filter((m) => m.role === 'customer' && m.text === text);
    assert.equal(stored.length, 1, `"${text}" stored once on the server`);
    const rendered = await renderedMessages(page);
    const seqs = rendered.map((m) => m.seq);
    assert.equal(new Set(seqs).size, seqs.length, 'no seq rendered twice');
  }

  test('a message typed while disconnected is delivered exactly once after reconnect', T, async () => {
    await waitConnected(page);
    await page.evaluate(() => window.__kefu.debug.pause());
    await page.waitForSelector('[data-testid="status"][data-status="reconnecting"]');
    assert.match(await page.textContent('[data-testid="status"]'), /重新连接中/);
    const text = '断线时发的消息：你们几点下班？';
    await sendMessage(page, text);
    const pending = await customerBubbles(page, text);
    assert.deepEqual(pending, [{ seq: null, pending: 'sending' }], 'waits in the outbox while disconnected');
    await page.waitForTimeout(300);
    await page.evaluate(() => window.__kefu.debug.resume());
    await waitConnected(page);
    await assertDeliveredOnce(text);
  });

  test('a message whose ack is lost is resent with the same id and stored once', T, async () => {
    await waitConnected(page);
    await page.evaluate(() => window.__kefu.debug.dropAfterNextSend());
    const text = '确认丢失的消息：可以开发票吗？';
    await sendMessage(page, text);
    await waitConnected(page);
    await assertDeliveredOnce(text);
  });

  test('going offline and back online delivers the queued message exactly once', T, async () => {
    await waitConnected(page);
    await context.setOffline(true);
    await page.waitForSelector('[data-testid="status"][data-status="reconnecting"]', { timeout: 60000 });
    const text = '离线时发的消息：支持货到付款吗？';
    await sendMessage(page, text);
    await page.waitForTimeout(1500);
    assert.deepEqual(await customerBubbles(page, text), [{ seq: null, pending: 'sending' }]);
    await context.setOffline(false);
    await waitConnected(page, 30000);
    await assertDeliveredOnce(text);
  });

  test('the SSE fallback (?transport=sse) sends and receives without duplicates', T, async () => {
    const sseContext = await browser.newContext({ viewport: { width: 480, height: 820 }, locale: 'zh-CN' });
    const sse = await sseContext.newPage();
    sse.on('pageerror', (e) => pageErrors.push(String(e)));
    try {
      await sse.goto(`${server.baseUrl}/?customer=C0002&transport=sse`);
      await waitConnected(sse);
      assert.equal(await sse.evaluate(() => window.__kefu.debug.transport()), 'sse');
      const text = '怎么申请退货';
      await sendMessage(sse, text);
      // The reply to the stored question arrives over the event stream.
      await sse.waitForFunction((t) => {
        const msgs = window.__kefu.state.messages;
        const q = msgs.find((m) => m.role === 'customer' && m.text === t);
        // reply_to names the question: the server sends its id (a seq would be accepted too).
        return Boolean(q && msgs.some((m) => m.role !== 'customer' && m.seq > q.seq && (m.reply_to === q.id || m.reply_to === q.seq)));
      }, text, { timeout: 30000 }).catch(async (e) => {
        const st = await sse.evaluate(() => JSON.stringify({
          status: window.__kefu.state.status, transport: window.__kefu.debug.transport(), outbox: window.__kefu.state.outbox,
          messages: window.__kefu.state.messages.map((m) => [m.seq, m.role, m.reply_to, m.text.slice(0, 30)]),
        }));
        throw new Error(`${e.message}\nwidget state: ${st}`);
      });
      const rendered = await renderedMessages(sse);
      const seqs = rendered.map((m) => m.seq);
      assert.equal(new Set(seqs).size, seqs.length, 'no seq rendered twice');
      assert.equal(rendered.filter((m) => m.role === 'customer' && m.text === text).length, 1);
    } finally {
      await sseContext.close();
    }
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the pages');
  });
});
