// End-to-end: human handoff across two (three) browser contexts against a real
// `kefu serve --demo`: the customer's widget at `/`, an agent's workspace at
// `/agent`, and a supervisor's board. Scenarios run in order on one server:
// login errors, an angry message reaches the agent's queue with its emotion and
// the supervisor's alert list live, the agent accepts and replies while the bot
// stays silent, and a question asked three times (by meaning) escalates.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  ensureResultsDir, launchBrowser, renderedMessages, sendMessage, serverDecisions, serverMessages, startServer, waitConnected,
} from './lib/harness.mjs';
import { DEMO_PASSWORD, loginAgent, submitLogin, waitQueueItem } from './lib/agent.mjs';

const T = { timeout: 90000 };
const ANGRY = '你们太差劲了，我要投诉！';
const shot = (page, name) => page.screenshot({ path: path.join(ensureResultsDir(), name), animations: 'disabled' });

describe('agent workspace and handoff against kefu serve --demo', () => {
  let server;
  let browser;
  const contexts = {};
  const pages = {};
  const pageErrors = [];

  async function open(name, viewport) {
    contexts[name] = await browser.newContext({ viewport, locale: 'zh-CN', deviceScaleFactor: 1 });
    const page = await contexts[name].newPage();
    page.on('pageerror', (e) => pageErrors.push(`${name}: ${e}`));
    pages[name] = page;
    return page;
  }

  before(async () => {
    // Manual assignment: these scenarios walk the queue and the accept (assign.test.mjs: automatic).
    server = await startServer({ env: { KEFU_AGENTS_ASSIGNMENT: 'manual' } });
    browser = await launchBrowser();
  });

  after(async () => {
    if (browser) await browser.close();
    const crash = server && server.crashed();
    if (server) await server.stop();
    assert.equal(crash, null, `the server died during the tests: ${JSON.stringify(crash)}; see web/test-results/server.log`);
  });

  test('the workspace is served at /agent (any /agent/... path) next to the widget and the API', T, async () => {
    const agentHtml = await (await fetch(`${server.baseUrl}/agent/`)).text();
    assert.match(agentHtml, /客服工作台/);
    const deep = await fetch(`${server.baseUrl}/agent/some/deep/link`);
    assert.equal(deep.status, 200, 'SPA fallback for unknown /agent paths');
    assert.match(await deep.text(), /客服工作台/);
    const widget = await fetch(`${server.baseUrl}/`);
    assert.equal(widget.status, 200);
    assert.doesNotMatch(await widget.text(), /客服工作台/, '/ is still the chat widget');
    assert.equal((await fetch(`${server.baseUrl}/v1/no-such-route`)).status, 404, 'unknown /v1 routes stay 404');
    assert.equal((await fetch(`${server.baseUrl}/agent/assets/missing.js`)).status, 404, 'missing assets are 404, not the app');
  });

  test('a wrong password shows an error; an expired session goes back to login with a message', T, async () => {
    const page = await open('agent', { width: 1440, height: 900 });
    await submitLogin(page, server.baseUrl, { username: 'agent1', password: 'wrong-password' });
    const err = await page.waitForSelector('[data-testid="login-error"]', { timeout: 10000 });
    assert.match(await err.textContent(), /用户名或密码错误/);
    await shot(page, 'agent-login-error.png');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('kefu:agent:session')), null, 'no session stored');

    // A token the server does not know (expired or revoked): back to the login page with a message.
    await page.evaluate(() => sessionStorage.setItem('kefu:agent:session',
      JSON.stringify({ token: 'expired-token', expires_ms: Date.now() + 3600e3, agent: { username: 'agent1' } })));
    await page.goto(`${server.baseUrl}/agent/`);
    const msg = await page.waitForSelector('[data-testid="login-message"]', { timeout: 20000 });
    assert.match(await msg.textContent(), /登录已过期/);
  });

  let angryConversation = '';

  test('an angry message is queued and shows on the agent\'s screen with its emotion; the supervisor gets the alert live', T, async () => {
    const sup = await open('supervisor', { width: 1440, height: 900 });
    await loginAgent(sup, server.baseUrl, 'super');
    await sup.click('[data-testid="tab-supervisor"]');
    await sup.waitForSelector('[data-testid="supervisor"]');
    const alertsBefore = await sup.locator('[data-testid="alert"]').count();

    const agent = pages.agent;
    await loginAgent(agent, server.baseUrl, 'agent1');

    const customer = await open('customer', { width: 480, height: 820 });
    await customer.goto(`${server.baseUrl}/?customer=C0001`);
    await waitConnected(customer);
    await sendMessage(customer, ANGRY);
    // The bot's answer is replaced by the handoff notice (place in the queue, estimated wait).
    await customer.waitForSelector('.msg[data-role="system"][data-notice="handoff"]', { timeout: 30000 });
    angryConversation = await customer.evaluate(() => window.__kefu.state.conversation.id);

    const item = await waitQueueItem(agent, angryConversation);
    assert.match(await item.textContent(), /太差劲/);
    // The indicator shows the turn's analysis as stored (the NLU's label; any negative emotion is coloured).
    const asked = (await serverMessages(server.baseUrl, angryConversation)).find((m) => m.role === 'customer');
    const analysis = asked.meta.analysis;
    assert.ok(analysis && analysis.emotion, `the message was analysed: ${JSON.stringify(asked.meta)}`);
    assert.equal(asked.meta.decision, undefined, 'the customer\'s view carries no routing internals');
    assert.ok((await serverDecisions(server.baseUrl, angryConversation)).get(asked.id).handoff, 'the routing decision hands off');
    const emotion = item.locator('[data-testid="emotion"]');
    assert.equal(await emotion.getAttribute('data-emotion'), analysis.emotion);
    const LABELS = { anger: '愤怒', disgust: '厌恶', sadness: '难过', fear: '担忧', surprise: '惊讶', neutral: '平静' };
    if (LABELS[analysis.emotion]) assert.match(await emotion.textContent(), new RegExp(LABELS[analysis.emotion]));
    if (['anger', 'disgust', 'sadness', 'fear'].includes(analysis.emotion)) {
      assert.match(await emotion.getAttribute('data-level'), /^(low|mid|high)$/, 'a negative emotion is coloured by intensity');
    }
    await shot(agent, 'agent-queue.png');

    // The supervisor's alert list grows without a reload.
    await sup.waitForFunction((n) => document.querySelectorAll('[data-testid="alert"]').length > n, alertsBefore, { timeout: 20000 });
    const alertText = await sup.locator('[data-testid="alert"]').first().textContent();
    assert.match(alertText, /情绪激增|愤怒/);
    await shot(sup, 'agent-supervisor.png');
  });

  test('the supervisor board shows, live, which agents have their workspace open', T, async () => {
    const sup = pages.supervisor;
    const row = (user, ws) => `[data-testid="board-agents"] tr[data-agent="${user}"][data-workspace="${ws}"]`;
    await sup.waitForSelector(row('agent1', 'connected'), { timeout: 15000 });
    const other = await open('agent3', { width: 1280, height: 800 });
    await loginAgent(other, server.baseUrl, 'agent3');
    const open3 = await sup.waitForSelector(row('agent3', 'connected'), { timeout: 15000 });
    assert.doesNotMatch(await open3.textContent(), /工作台未连接/);
    // The tab closes while the agent is still 在线: the board says so without a reload.
    await contexts.agent3.close();
    const closed3 = await sup.waitForSelector(row('agent3', 'disconnected'), { timeout: 15000 });
    assert.match(await closed3.textContent(), /在线.*工作台未连接/);
    assert.doesNotMatch(await sup.locator(row('agent1', 'connected')).textContent(), /工作台未连接/);
  });

  test('the agent accepts and replies; the customer sees the reply and who serves; the bot stays silent', T, async () => {
    assert.ok(angryConversation, 'needs the previous test');
    const agent = pages.agent;
    const customer = pages.customer;
    await (await waitQueueItem(agent, angryConversation)).locator('[data-testid="accept"]').click();
    await agent.waitForSelector(`[data-testid="chat"][data-conversation="${angryConversation}"]`, { timeout: 15000 });
    await agent.waitForSelector(`[data-testid="mine"] [data-conversation="${angryConversation}"]`);
    await agent.waitForSelector('[data-testid="handoff"]', { timeout: 10000 });
    assert.equal(await agent.locator(`[data-testid="queue"] [data-conversation="${angryConversation}"]`).count(), 0, 'left the queue');
    // The customer panel shows C0001 with the data hub's 360° profile (open ticket, browsing, value).
    await agent.waitForSelector('[data-testid="customer-name"]:has-text("张伟")', { timeout: 10000 });
    await agent.waitForSelector('[data-testid="profile-360"] [data-testid="profile-ticket"]', { timeout: 10000 });
    assert.ok(await agent.locator('[data-testid="profile-browsing"]').count() > 0, 'recent browsing shown');
    assert.match(await agent.textContent('[data-testid="profile-value"]'), /生命周期价值/);

    // The customer is told who serves them.
    const notice = await customer.waitForSelector('.msg[data-role="system"][data-notice="agent"]', { timeout: 15000 });
    assert.match(await notice.textContent(), /客服.*为您服务/);
    const agentName = (await agent.textContent('[data-testid="me-name"]')).trim();
    assert.ok((await notice.textContent()).includes(agentName), `the notice names ${agentName}`);

    const reply = '非常抱歉给您带来不好的体验，我是客服，马上为您处理。';
    await agent.fill('[data-testid="composer-input"]', reply);
    await agent.click('[data-testid="composer-send"]');
    await customer.waitForFunction((t) => [...document.querySelectorAll('.msg[data-role="agent"] .kf-text')]
      .some((el) => el.textContent.trim() === t), reply, { timeout: 15000 });
    assert.match(await customer.textContent('.msg[data-role="agent"] .kf-label'), new RegExp(agentName));

    // The customer answers; it reaches the agent live, and no bot message follows.
    const followUp = '好的，订单号在上面，请尽快处理';
    await sendMessage(customer, followUp);
    await agent.waitForFunction((t) => [...document.querySelectorAll('[data-testid="message"][data-role="customer"]')]
      .some((el) => el.textContent.includes(t)), followUp, { timeout: 15000 });
    await customer.waitForTimeout(1500);  // time for a (wrong) bot answer to show up
    const stored = await serverMessages(server.baseUrl, angryConversation);
    const handoffAt = stored.findIndex((m) => m.role === 'system');
    assert.ok(handoffAt >= 0, 'a handoff notice was stored');
    const botAfter = stored.slice(handoffAt).filter((m) => m.role === 'bot');
    assert.deepEqual(botAfter, [], 'no bot message after the handoff');
    assert.equal(stored.filter((m) => m.role === 'agent' && m.text === reply).length, 1, 'the reply is stored once');
    const shown = await renderedMessages(customer);
    assert.equal(shown.filter((m) => m.role === 'bot').length, 0, 'the customer saw no bot bubble in this conversation');
    assert.equal(await customer.locator('[data-testid="typing"]').count(), 0, 'no typing indicator while a human serves');
    assert.equal(await customer.getAttribute('[data-testid="serving"]', 'data-serving'), 'human');

    // The decision trace of the angry turn shows the rules that fired, as stored with the turn.
    const decisions = await serverDecisions(server.baseUrl, angryConversation);
    const fired = decisions.get(stored.find((m) => m.role === 'customer').id).trace.fired;
    assert.ok(fired.length > 0, 'a rule fired for the angry turn');
    await agent.locator('[data-testid="message"][data-role="customer"] [data-testid="trace-toggle"]').first().click();
    const trace = await agent.textContent('[data-testid="trace"]');
    // Each fired rule is in the trace under its Chinese label (the rule id stays in data-rule).
    for (const rule of fired) {
      assert.equal(await agent.locator(`[data-testid="trace"] [data-rule="${rule}"].fired`).count(), 1, `trace shows ${rule}: ${trace}`);
    }
    assert.match(trace, /转人工/);
    // A suggested reply goes into the composer; an internal note never reaches the customer.
    await agent.waitForSelector('[data-testid="suggestion"]', { timeout: 10000 });
    await agent.locator('[data-testid="suggestion"]').first().click();
    assert.ok((await agent.inputValue('[data-testid="composer-input"]')).length > 0, 'suggestion copied into the composer');
    await agent.fill('[data-testid="composer-input"]', '');
    await agent.click('[data-testid="mode-note"]');
    const note = '内部备注：客户情绪激动，优先处理';
    await agent.fill('[data-testid="composer-input"]', note);
    await agent.click('[data-testid="composer-send"]');
    await agent.waitForSelector('[data-testid="message"][data-role="note"]', { timeout: 10000 });
    await agent.click('[data-testid="mode-reply"]');
    await shot(agent, 'agent-workspace.png');
    await customer.waitForTimeout(300);
    assert.equal((await renderedMessages(customer)).filter((m) => m.text.includes('内部备注')).length, 0, 'the note is not shown to the customer');
    assert.equal((await serverMessages(server.baseUrl, angryConversation)).filter((m) => m.text === note).length, 0,
      'the note is not in the customer history');
    await shot(customer, 'agent-customer.png');
  });

  test('the third repetition of a question (by meaning) escalates to the queue', T, async () => {
    const page = await open('customer2', { width: 480, height: 820 });
    await page.goto(`${server.baseUrl}/?customer=C0002`);
    await waitConnected(page);
    // Same question by meaning (docs/routing.md: all three normalise to 何时发货).
    const asks = ['什么时候发货', '到底什么时候发货', '怎么还不发货'];
    for (let i = 0; i < asks.length; i++) {
      await sendMessage(page, asks[i]);
      // Each turn is answered before the next one (bot reply or the handoff notice).
      await page.waitForFunction((t) => {
        const msgs = window.__kefu.state.messages;
        const q = msgs.find((m) => m.role === 'customer' && m.text === t);
        return Boolean(q && msgs.some((m) => m.seq > q.seq && (m.role === 'bot' || m.role === 'system')));
      }, asks[i], { timeout: 30000 });
      const handoffs = await page.locator('.msg[data-role="system"][data-notice="handoff"]').count();
      assert.equal(handoffs, i === 2 ? 1 : 0, `handoff notice after ask ${i + 1}: ${handoffs}`);
    }
    const id = await page.evaluate(() => window.__kefu.state.conversation.id);
    // The supervisor sees every queue: the conversation and the repeated-question alert arrive live.
    const sup = pages.supervisor;
    await sup.waitForSelector(`[data-testid="super-queue-item"][data-conversation="${id}"]`, { timeout: 15000 });
    await sup.waitForFunction((cid) => window.__agent.state.alerts.some((a) => a.conversation_id === cid), id, { timeout: 15000 });
    const stored = await serverMessages(server.baseUrl, id);
    const third = stored.filter((m) => m.role === 'customer').at(-1);
    const decision = (await serverDecisions(server.baseUrl, third.conversation_id)).get(third.id);
    assert.ok(decision && decision.handoff, `the third turn's decision hands off: ${JSON.stringify(decision)}`);
    assert.ok(decision.trace.fired.includes('repeat'), `fired: ${JSON.stringify(decision.trace.fired)}`);

    // The supervisor takes the conversation over from the board; the customer is told who serves.
    await sup.locator(`[data-testid="super-queue-item"][data-conversation="${id}"] button`).click();
    await sup.waitForSelector(`[data-testid="chat"][data-conversation="${id}"]`, { timeout: 15000 });
    const supName = (await sup.textContent('[data-testid="me-name"]')).trim();
    await page.waitForFunction((n) => [...document.querySelectorAll('.msg[data-role="system"][data-notice="agent"]')]
      .some((el) => el.textContent.includes(n)), supName, { timeout: 15000 });
  });

  test('an abusive message: the agent\'s conversation view shows Chinese labels, no raw codes; the supervisor\'s alert names the customer', T, async () => {
    const sup = pages.supervisor;
    const agent = pages.agent;
    await sup.click('[data-testid="tab-supervisor"]');  // the take-over above opened the workspace tab
    await sup.waitForSelector('[data-testid="supervisor"]');
    const page = await open('customer3', { width: 480, height: 820 });
    await page.goto(`${server.baseUrl}/?customer=C0003`);
    await waitConnected(page);
    await sendMessage(page, '你们就是骗子 退钱！！！');
    await page.waitForSelector('.msg[data-role="system"][data-notice="handoff"]', { timeout: 30000 });
    const id = await page.evaluate(() => window.__kefu.state.conversation.id);

    // Supervisor: the alert of this conversation names the customer (as the queue does), not just the conversation.
    const queued = await sup.waitForSelector(`[data-testid="super-queue-item"][data-conversation="${id}"]`, { timeout: 15000 });
    const name = (await queued.evaluate((el) => el.querySelector('span').textContent)).trim();
    assert.match(name, /[\u4e00-\u9fff]/, `the demo customer C0003 has a Chinese name: ${name}`);
    await sup.waitForFunction((cid) => window.__agent.state.alerts.some((a) => a.conversation_id === cid), id, { timeout: 15000 });
    const alertIndex = await sup.evaluate((cid) => window.__agent.state.alerts.findIndex((a) => a.conversation_id === cid), id);
    const alert = sup.locator('[data-testid="alert"]').nth(alertIndex);
    await sup.waitForFunction(({ i, n }) => {
      const el = document.querySelectorAll('[data-testid="alert"]')[i];
      return el && el.querySelector('[data-testid="alert-customer"]').textContent.includes(n);
    }, { i: alertIndex, n: name }, { timeout: 10000 });
    assert.doesNotMatch(await alert.textContent(), new RegExp(id), 'the alert shows the customer, not the conversation id');
    await shot(sup, 'agent-supervisor-alert-customer.png');

    // Agent: the queue item, then the accepted conversation with its handoff card and decision trace.
    const item = await waitQueueItem(agent, id);
    const itemText = await item.textContent();
    assert.match(itemText, /投诉组/);
    assert.match(itemText, /辱骂\/暴怒/);
    await item.locator('[data-testid="accept"]').click();
    await agent.waitForSelector(`[data-testid="chat"][data-conversation="${id}"] [data-testid="handoff"]`, { timeout: 15000 });
    assert.equal(await agent.textContent('[data-testid="handoff-reason"]'), '辱骂/暴怒');
    const row = agent.locator(`[data-testid="mine"] [data-conversation="${id}"]`);
    assert.equal(await row.locator('[data-testid="reply-state"]').getAttribute('data-reply'), 'pending', '待回复 before the agent replies');
    await agent.locator(`[data-testid="chat"][data-conversation="${id}"] [data-testid="message"][data-role="customer"] [data-testid="trace-toggle"]`).first().click();
    await agent.waitForSelector('[data-testid="trace"]');
    await agent.waitForSelector('[data-testid="orders"] [data-testid="order"]', { timeout: 10000 }).catch(() => {});
    const RAW = /\b(abuse-to-human|angry-to-human|complaint-to-human|threat-to-human|human-requested|stuck-customer|upset-after-sale|upset-refund|rising-negative|long-wait|vip-priority|repeat|neutral|anger|disgust|sadness|negative|positive|complaints?|after_sale|general|human_agent|human|track_logistics|order_status|faq|oos|repeated_punctuation|abuse|keyword|transfer|alert_supervisor|raise_priority|in_transit|delivered|picked_up|out_for_delivery|paid|shipped|refunding|refunded|cancelled|web|app)\b/;
    for (const sel of [`[data-testid="chat"][data-conversation="${id}"]`, `[data-testid="mine"] [data-conversation="${id}"]`, '[data-testid="orders"]']) {
      const text = await agent.textContent(sel);
      const m = RAW.exec(text);
      assert.equal(m, null, `raw code "${m && m[0]}" in ${sel}: …${m ? text.slice(Math.max(0, m.index - 60), m.index + 60) : ''}…`);
    }
    assert.match(await agent.textContent('[data-testid="trace"]'), /辱骂\/暴怒/);
    await shot(agent, 'agent-labels.png');

    // 已回复 once the agent has answered.
    await agent.fill('[data-testid="composer-input"]', '非常抱歉，我马上为您核实退款。');
    await agent.click('[data-testid="composer-send"]');
    await agent.waitForSelector(`[data-testid="mine"] [data-conversation="${id}"] [data-testid="reply-state"][data-reply="replied"]`, { timeout: 10000 });
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the pages');
  });
});
