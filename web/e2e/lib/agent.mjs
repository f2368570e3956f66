// Page helpers for the agent workspace (/agent) in the browser tests.

export const DEMO_PASSWORD = 'demo1234';

/** Fills the login form at /agent/login; does not wait for the outcome. */
export async function submitLogin(page, baseUrl, { tenant = 'demo', username, password }) {
  await page.goto(`${baseUrl}/agent/login`);
  await page.waitForSelector('[data-testid="login-form"]');
  await page.fill('[data-testid="login-tenant"]', tenant);
  await page.fill('[data-testid="login-username"]', username);
  await page.fill('[data-testid="login-password"]', password);
  await page.click('[data-testid="login-submit"]');
}

/** Logs in, waits for the live feed, and sets the presence (default 在线). */
export async function loginAgent(page, baseUrl, username, { presence = 'online' } = {}) {
  await submitLogin(page, baseUrl, { username, password: DEMO_PASSWORD });
  await page.waitForSelector('[data-testid="connection"][data-status="connected"]', { timeout: 20000 });
  if (presence) {
    await page.click(`[data-testid="presence"] [data-presence="${presence}"]`);
    await page.waitForSelector(`[data-testid="presence"] [data-presence="${presence}"].active`, { timeout: 10000 });
  }
}

/** The queue item of a conversation in the left column, once it is there. */
export async function waitQueueItem(page, conversationId, timeout = 20000) {
  const sel = `[data-testid="queue"] [data-testid="queue-item"][data-conversation="${conversationId}"]`;
  await page.waitForSelector(sel, { timeout });
  return page.locator(sel);
}
