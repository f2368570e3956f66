// End-to-end: a picture sent from the widget (issue 17), against a real
// `kefu serve --demo` (lib/harness.mjs): the customer picks a screenshot of a
// courier page with the photo button; the server reads the waybill number in
// it (tesseract) and the bot answers with that order's tracking; the picture
// shows in the timeline as a thumbnail; a file that is not a picture is
// refused with the server's reason and the chat goes on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ensureResultsDir, launchBrowser, startServer, waitConnected } from './lib/harness.mjs';

const T = { timeout: 90000 };

describe('pictures in the widget', () => {
  let server;
  let browser;
  let page;
  const pageErrors = [];

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 420, height: 820 }, locale: 'zh-CN' });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(`${server.baseUrl}/?customer=C0001`);
    await waitConnected(page);
  });

  after(async () => {
    if (page && ensureResultsDir()) {
      await page.screenshot({ path: path.join(ensureResultsDir(), 'widget-picture.png'), animations: 'disabled' }).catch(() => {});
    }
    if (browser) await browser.close();
    const crash = server && server.crashed();
    if (server) await server.stop();
    assert.equal(crash, null, `the server died during the tests: ${JSON.stringify(crash)}`);
    assert.deepEqual(pageErrors, []);
  });

  test('a screenshot with a waybill number gets that order\'s tracking answer and shows as a thumbnail', T, async () => {
    // The "screenshot" is drawn in the page (Chinese fonts from Debian) and
    // handed to the photo button's file input as a PNG.
    const dataUrl = await page.evaluate(() => {
      const c = document.createElement('canvas');
      c.width = 640;
      c.height = 240;
      const g = c.getContext('2d');
      g.fillStyle = '#fff';
      g.fillRect(0, 0, c.width, c.height);
      g.fillStyle = '#000';
      g.font = '36px "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif';
      g.fillText('京东快递', 30, 60);
      g.fillText('运单号：JDVA50210433418', 30, 130);
      g.fillText('运输中', 30, 200);
      return c.toDataURL('image/png');
    });
    const buffer = Buffer.from(dataUrl.split(',')[1], 'base64');
    await page.fill('[data-testid="composer-input"]', '这个包裹到哪了');
    await page.setInputFiles('[data-testid="photo-input"]', { name: 'shot.png', mimeType: 'image/png', buffer });
    const reply = await page.waitForFunction(() => {
      const msgs = window.__kefu.state.messages;
      const mine = msgs.filter((m) => m.role === 'customer' && (m.parts || []).some((p) => p.type === 'image')).pop();
      const r = mine && msgs.find((m) => m.seq > mine.seq && m.role === 'bot');
      return r ? r.text : null;
    }, null, { timeout: 30000 });
    const text = await reply.jsonValue();
    assert.match(text, /SO202611010004/, text);
    assert.match(text, /JDVA50210433418/, text);
    const img = page.locator('[data-testid="message-images"] img').last();
    await img.waitFor({ timeout: 10000 });
    await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle(), { timeout: 10000 });
    // The typed text went with the picture, and the composer is empty again.
    assert.equal(await page.inputValue('[data-testid="composer-input"]'), '');
  });

  test('a file that is not a picture is refused with a reason and the chat goes on', T, async () => {
    await page.setInputFiles('[data-testid="photo-input"]', { name: 'fake.png', mimeType: 'image/png', buffer: Buffer.from('just text pretending to be a picture') });
    await page.waitForSelector('.kf-notice', { timeout: 10000 });
    assert.match(await page.textContent('.kf-notice'), /图片未发送：只能发送 JPEG/);
  });
});
