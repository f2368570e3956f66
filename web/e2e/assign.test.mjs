// End-to-end: automatic assignment and LLM assist against a real
// `kefu serve --demo` configured with a fake OpenAI-compatible model
// (lib/fake-openai.mjs). An angry customer goes straight to the online agent
// (no accept), who sees the model's handoff summary arrive live, picks an
// LLM-drafted reply, and the customer gets it; the bot stays silent.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  ensureResultsDir, launchBrowser, sendMessage, serverMessages, startServer, waitConnected,
} from './lib/harness.mjs';
import { loginAgent } from './lib/agent.mjs';
import { startFakeOpenAi } from './lib/fake-openai.mjs';

const T = { timeout: 90000 };
const ANGRY = '你们太差劲了，我要投诉！东西用了两天就坏了';
const SUMMARY = '客户投诉商品两天即损坏，情绪激动，要求处理；机器人尚未解决。建议先致歉再登记退换。';
const DRAFTS = ['非常抱歉给您带来不好的体验，麻烦提供一下订单号，我马上为您登记退换。', '商品质量问题支持7天无理由退换，我先为您登记售后。'];
const shot = (page, name) => page.screenshot({ path: path.join(ensureResultsDir(), name), animations: 'disabled' });

describe('automatic assignment and LLM assist against kefu serve --demo', () => {
  let llm;
  let server;
  let browser;
  const contexts = [];

  async function open(viewport) {
    const ctx = await browser.newContext({ viewport, locale: 'zh-CN', deviceScaleFactor: 1 });
    contexts.push(ctx);
    return ctx.newPage();
  }

  before(async () => {
    llm = await startFakeOpenAi((req) => {
      const system = String((req.messages && req.messages[0] && req.messages[0].content) || '');
      if (system.includes('交接摘要')) return SUMMARY;
      if (system.includes('起草')) return JSON.stringify(DRAFTS);
      const last = req.messages[req.messages.length - 1];
      return `fake answer: ${last && last.content}`;
    });
    server = await startServer({
      env: { KEFU_AGENTS_ASSIGNMENT: 'auto', KEFU_LLM_BASE_URL: llm.baseUrl, KEFU_LLM_MODEL: 'fake-model' },
    });
    browser = await launchBrowser();
  });

  after(async () => {
    if (browser) await browser.close();
    const crash = server && server.crashed();
    if (server) await server.stop();
    if (llm) await llm.close();
    assert.equal(crash, null, `the server died during the tests: ${JSON.stringify(crash)}; see web/test-results/server.log`);
  });

  test('an angry customer goes straight to the online agent, who gets the LLM summary and drafts', T, async () => {
    const agent = await open({ width: 1440, height: 900 });
    await loginAgent(agent, server.baseUrl, 'agent1');
    const agentName = (await agent.textContent('[data-testid="me-name"]')).trim();

    const customer = await open({ width: 480, height: 820 });
    await customer.goto(`${server.baseUrl}/?customer=C0002`);
    await waitConnected(customer);
    await sendMessage(customer, ANGRY);
    // No queue: the customer is told at once who serves them.
    const notice = await customer.waitForSelector('.msg[data-role="system"][data-notice="agent"]', { timeout: 30000 });
    assert.ok((await notice.textContent()).includes(agentName), `the notice names ${agentName}`);
    assert.equal(await customer.getAttribute('[data-testid="serving"]', 'data-serving'), 'human');
    const cid = await customer.evaluate(() => window.__kefu.state.conversation.id);

    // The conversation is already the agent's: listed under "mine" without an accept.
    const mine = `[data-testid="mine"] [data-conversation="${cid}"]`;
    await agent.waitForSelector(mine, { timeout: 20000 });
    assert.equal(await agent.locator(`[data-testid="queue"] [data-conversation="${cid}"]`).count(), 0, 'never queued');
    // Not opened yet: marked unread, and the tab title counts it.
    await agent.waitForSelector(`${mine} [data-testid="unread"]`, { timeout: 10000 });
    assert.match(await agent.title(), /^\(\d+\) 客服工作台$/);
    await agent.click(mine);
    await agent.waitForFunction(() => document.title === '客服工作台', null, { timeout: 10000 });
    assert.equal(await agent.locator(`${mine} [data-testid="unread"]`).count(), 0, 'read once opened');
    await agent.waitForSelector(`[data-testid="chat"][data-conversation="${cid}"]`, { timeout: 15000 });
    // The model's summary (written in the background) shows in the handoff card.
    const gen = await agent.waitForSelector('[data-testid="handoff-generated"]', { timeout: 20000 });
    assert.match(await gen.textContent(), /客户投诉商品两天即损坏/);
    assert.ok(await agent.locator('[data-testid="handoff-summary"]').count() > 0, 'the extractive summary stays below it');
    const summaryReq = llm.requests.find((r) => String(r.messages[0].content).includes('交接摘要'));
    assert.ok(summaryReq && String(summaryReq.messages[1].content).includes('你们太差劲了'), 'the transcript went to the model');

    // The model's drafts come first among the suggestions, labelled as such.
    await agent.click('[data-testid="tab-suggest"]');
    await agent.waitForFunction((t) => [...document.querySelectorAll('[data-testid="suggestion"]')]
      .some((el) => el.textContent.includes(t)), DRAFTS[0], { timeout: 20000 });
    const first = agent.locator('[data-testid="suggestion"]').first();
    assert.match(await first.textContent(), /大模型/);
    await shot(agent, 'agent-auto-assigned-llm.png');
    await first.click();
    assert.equal(await agent.inputValue('[data-testid="composer-input"]'), DRAFTS[0]);
    await agent.click('[data-testid="composer-send"]');
    await customer.waitForFunction((t) => [...document.querySelectorAll('.msg[data-role="agent"] .kf-text')]
      .some((el) => el.textContent.trim() === t), DRAFTS[0], { timeout: 15000 });

    const stored = await serverMessages(server.baseUrl, cid);
    assert.deepEqual(stored.filter((m) => m.role === 'bot'), [], 'the bot never answered');
    assert.equal(stored.filter((m) => m.role === 'agent' && m.text === DRAFTS[0]).length, 1);
  });
});
