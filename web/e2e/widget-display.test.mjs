// End-to-end: what the customer sees in the widget (issue 15), against a real
// `kefu serve --demo` (see lib/harness.mjs), one page, in order:
// 1. the bot's Markdown answer (运费怎么算: **bold** and a list) is rendered,
//    not shown as literal `**` / `- `;
// 2. a message over the 4000-character limit is refused in the composer with a
//    Chinese message and a counter, and nothing is sent;
// 3. a message the server rejects stays where it was sent, marked failed with
//    the server's message and 重试 / 删除, and later replies still appear below it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ensureResultsDir, launchBrowser, sendMessage, serverMessages, startServer, waitConnected } from './lib/harness.mjs';

const CUSTOMER = 'C0001';
const T = { timeout: 90000 };

/** Waits for the first stored bot reply after the customer's `question`; returns its seq. */
async function botReplySeq(page, question) {
  const handle = await page.waitForFunction((q) => {
    const msgs = window.__kefu.state.messages;
    const asked = msgs.filter((m) => m.role === 'customer' && m.text === q).pop();
    const reply = asked && msgs.find((m) => m.seq > asked.seq && m.role === 'bot');
    return reply ? reply.seq : null;
  }, question, { timeout: 30000 });
  return handle.jsonValue();
}

describe('what the customer sees in the widget', () => {
  let server;
  let browser;
  let page;
  const pageErrors = [];
  const sentFrames = [];     // WebSocket frames the page sent
  const receivedFrames = []; // and received
  const posts = [];          // HTTP POSTs of messages (SSE transport)

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 420, height: 820 }, locale: 'zh-CN', deviceScaleFactor: 1 });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('websocket', (ws) => {
      ws.on('framesent', (f) => sentFrames.push(String(f.payload)));
      ws.on('framereceived', (f) => receivedFrames.push(String(f.payload)));
    });
    page.on('request', (r) => {
      if (r.method() === 'POST' && /\/messages/.test(r.url())) posts.push(r.url());
    });
    await page.goto(`${server.baseUrl}/?customer=${CUSTOMER}`);
    await waitConnected(page);
  });

  after(async () => {
    if (page && ensureResultsDir()) {
      await page.screenshot({ path: path.join(ensureResultsDir(), 'widget-display.png'), animations: 'disabled' }).catch(() => {});
    }
    if (browser) await browser.close();
    const crash = server && server.crashed();
    if (server) await server.stop();
    assert.equal(crash, null, `the server died during the tests: ${JSON.stringify(crash)}; see web/test-results/server.log`);
  });

  const messageFramesSent = () => sentFrames.filter((p) => p.includes('"type":"message"')).length;

  test('the bot answer about shipping fees renders its Markdown: bold and a list, no literal **', T, async () => {
    const q = '运费怎么算';
    await sendMessage(page, q);
    const seq = await botReplySeq(page, q);
    const bubble = page.locator(`.msg[data-role="bot"][data-seq="${seq}"] .kf-bubble`);
    const raw = await page.evaluate((s) => window.__kefu.state.messages.find((m) => m.seq === s).text, seq);
    assert.match(raw, /\*\*/, `the stored answer is Markdown: ${raw}`);
    assert.ok(await bubble.locator('strong').count() >= 1, 'a <strong> element');
    assert.ok(await bubble.locator('li').count() >= 2, 'list items');
    const text = await bubble.textContent();
    assert.ok(!text.includes('**'), `no literal ** in the bubble: ${text}`);
    assert.ok(!/^\s*- /m.test(await bubble.innerText()), 'no literal "- " list markers');
    assert.equal(await bubble.locator('script, img, [onerror], [onclick]').count(), 0);
    // The customer's own message stays plain text.
    const own = page.locator('.msg[data-role="customer"][data-seq] .kf-text').last();
    assert.equal((await own.textContent()).trim(), q);
    assert.equal(await own.locator('*').count(), 0, 'no markup in the customer bubble');
    await page.screenshot({ path: path.join(ensureResultsDir(), 'widget-markdown.png'), animations: 'disabled' });
  });

  test('a 4001-character message is refused with a Chinese message and a counter, and nothing is sent', T, async () => {
    const input = page.locator('[data-testid="composer-input"]');
    // 4000 characters = 4000 code points (6000 UTF-16 units): allowed, counter shown.
    await input.fill('😀'.repeat(2000) + '字'.repeat(2000));
    assert.equal((await page.textContent('[data-testid="composer-counter"]')).trim(), '4000/4000');
    assert.equal((await page.textContent('[data-testid="composer-error"]')).trim(), '');

    const framesBefore = messageFramesSent();
    const postsBefore = posts.length;
    const storedBefore = (await serverMessages(server.baseUrl, await page.evaluate(() => window.__kefu.state.conversation.id))).length;
    const long = `${'字'.repeat(3999)}😀😀`;  // 4001 characters
    await input.fill(long);
    await input.press('Enter');
    await page.locator('[data-testid="send"]').click({ force: true }).catch(() => {});
    await page.waitForTimeout(800);

    const error = page.locator('[data-testid="composer-error"]');
    assert.equal((await error.textContent()).trim(), '消息太长了，最多 4000 个字，请分几次发送。');
    assert.ok(await error.isVisible(), 'the message is visible');
    assert.equal((await page.textContent('[data-testid="composer-counter"]')).trim(), '4001/4000');
    assert.ok(await page.locator('[data-testid="send"]').isDisabled(), 'the send button is disabled');
    assert.equal(await input.inputValue(), long, 'the text stays in the input (not cut, not cleared)');
    assert.equal(messageFramesSent(), framesBefore, 'no message frame was sent');
    assert.equal(posts.length, postsBefore, 'no message was POSTed');
    assert.equal(await page.evaluate(() => window.__kefu.state.outbox.length), 0, 'nothing queued');
    const convId = await page.evaluate(() => window.__kefu.state.conversation.id);
    assert.equal((await serverMessages(server.baseUrl, convId)).length, storedBefore, 'nothing stored');
    await page.screenshot({ path: path.join(ensureResultsDir(), 'widget-too-long.png'), animations: 'disabled' });

    await input.fill('');
    assert.equal(await page.locator('[data-testid="composer-error"]').count(), 0, 'the message goes with the text');
  });

  test('a message the server rejects stays in place, marked failed, and later replies still appear', T, async () => {
    // Bypass the composer's check so the server is the one that refuses it.
    const rejectedText = 'x'.repeat(4001);
    const id = await page.evaluate((t) => window.__kefu.client.send(t).client_msg_id, rejectedText);
    const failed = page.locator(`.msg[data-role="customer"][data-pending="failed"]`);
    await failed.waitFor({ timeout: 15000 });
    const serverError = receivedFrames.map((p) => { try { return JSON.parse(p); } catch { return {}; } }).find((f) => f.type === 'error' && f.client_msg_id === id);
    assert.ok(serverError && serverError.message, `the server answered with an error frame: ${JSON.stringify(serverError)}`);
    assert.equal((await failed.locator('.kf-failed').textContent()).trim(), serverError.message, "the server's message is shown");
    assert.equal(await failed.getByRole('button', { name: '重试' }).count(), 1);
    assert.equal(await failed.getByRole('button', { name: '删除' }).count(), 1);

    const q = '怎么申请退货';
    await sendMessage(page, q);
    const replySeq = await botReplySeq(page, q);
    await page.waitForTimeout(300);
    // DOM order: ... failed message, the next question, its reply.
    const order = await page.$$eval('[data-testid="messages"] .msg', (els) => els.map((el) => (
      el.dataset.pending ? `pending:${el.dataset.pending}` : `${el.dataset.role}:${el.dataset.seq || ''}`)));
    const iFailed = order.indexOf('pending:failed');
    const iQuestion = order.findIndex((x, i) => i > iFailed && x.startsWith('customer:'));
    const iReply = order.indexOf(`bot:${replySeq}`);
    assert.ok(iFailed >= 0 && iFailed < iQuestion && iQuestion < iReply, `failed message stays where it was sent: ${order.join(' ')}`);
    assert.equal(await failed.count(), 1, 'still shown, still failed');
    const below = await page.evaluate(() => {
      const el = document.querySelector('[data-testid="messages"]');
      return el.scrollHeight - el.scrollTop - el.clientHeight;
    });
    assert.ok(below < 80, `the list followed the reply to the bottom (${below}px left below)`);
    await page.screenshot({ path: path.join(ensureResultsDir(), 'widget-rejected.png'), animations: 'disabled' });

    await failed.getByRole('button', { name: '删除' }).click();
    await page.waitForFunction(() => !document.querySelector('.msg[data-pending="failed"]'));
    assert.equal(await page.evaluate(() => window.__kefu.state.outbox.length), 0);
    const stored = await serverMessages(server.baseUrl, await page.evaluate(() => window.__kefu.state.conversation.id));
    assert.equal(stored.filter((m) => m.text === rejectedText).length, 0, 'the rejected message was never stored');
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  });
});
