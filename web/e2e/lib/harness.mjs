// Shared pieces of the widget's browser tests: start a real kefu server in a
// temporary data directory, launch Debian's chromium through playwright-core,
// read expectations from the demo shop data, and small page helpers.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const resultsDir = path.join(repoRoot, 'web/test-results');

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `$KEFU_BIN serve --demo --port 0 --data-dir <tmp> --port-file <tmp>/port`
 * (cwd = repo root) with `env` added to the environment (KEFU_<SECTION>_<KEY>
 * config overrides), waits for the port file and GET /healthz. Returns
 * { baseUrl, stop(), log(), crashed() }; the log is copied to web/test-results/server.log on stop. Throws with the server's output when it does not come up.
 */
export async function startServer({ timeoutMs = 60000, env = {} } = {}) {
  const bin = path.resolve(repoRoot, process.env.KEFU_BIN || 'build/src/app/kefu');
  if (!fs.existsSync(bin)) {
    throw new Error(`kefu server binary not found at ${bin}: build it first or set KEFU_BIN`);
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kefu-web-e2e-'));
  const portFile = path.join(dataDir, 'port');
  const logPath = path.join(dataDir, 'server.log');
  const logFd = fs.openSync(logPath, 'a');
  const child = spawn(bin, ['serve', '--demo', '--port', '0', '--data-dir', dataDir, '--port-file', portFile], {
    cwd: repoRoot,
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, ...env },
  });
  fs.closeSync(logFd);
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  const log = () => { try { return fs.readFileSync(logPath, 'utf8'); } catch { return ''; } };
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      for (let i = 0; i < 50 && !exited; i++) await sleep(100);
      if (!exited) child.kill('SIGKILL');
    }
    // Keep the server's output for post-mortems (a crash shows up here).
    try {
      fs.mkdirSync(resultsDir, { recursive: true });
      fs.copyFileSync(logPath, path.join(resultsDir, 'server.log'));
    } catch { /* nothing logged */ }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  let port = 0;
  while (Date.now() < deadline && !exited) {
    const text = fs.existsSync(portFile) ? fs.readFileSync(portFile, 'utf8') : '';
    if (/^\s*\d+\s*$/.test(text) && Number(text) > 0) { port = Number(text); break; }
    await sleep(100);
  }
  const fail = async (why) => {
    const out = log();
    await stop();
    throw new Error(`${why}\n--- server output ---\n${out.slice(-4000)}`);
  };
  if (exited) return fail(`kefu exited early (${JSON.stringify(exited)})`);
  if (!port) return fail(`no port in ${portFile} after ${timeoutMs} ms`);
  const baseUrl = `http://127.0.0.1:${port}`;
  for (;;) {
    try {
      const res = await fetch(`${baseUrl}/healthz`);
      if (res.ok) break;
    } catch { /* not listening yet */ }
    if (exited) return fail(`kefu exited (${JSON.stringify(exited)})`);
    if (Date.now() > deadline) return fail(`GET /healthz did not succeed within ${timeoutMs} ms`);
    await sleep(100);
  }
  /** null while running, else { code, signal } of an exit the tests did not ask for. */
  const crashed = () => exited;
  return { baseUrl, stop, log, crashed };
}

/** Debian's chromium (or CHROMIUM_BIN), headless; `args` are added to the defaults (e.g. fake media devices). */
export async function launchBrowser({ args = [] } = {}) {
  const executablePath = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
  return chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_ARGS, ...args] });
}

/**
 * The demo customer's newest order (smallest created_days_ago) from
 * demo/shop/orders.json, with its latest logistics event (largest `hours`).
 */
export function newestOrder(customerId) {
  const file = path.join(repoRoot, 'demo/shop/orders.json');
  const raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  const orders = (Array.isArray(raw) ? raw : raw.orders).filter((o) => o.customer_id === customerId);
  if (!orders.length) throw new Error(`no orders for ${customerId} in ${file}`);
  orders.sort((a, b) => a.created_days_ago - b.created_days_ago);
  const order = orders[0];
  const events = [...(order.events || [])].sort((a, b) => a.hours - b.hours);
  return { order, latestEvent: events[events.length - 1] || null };
}

/** Waits until the widget says 已连接. */
export async function waitConnected(page, timeout = 20000) {
  await page.waitForSelector('[data-testid="status"][data-status="connected"]', { timeout });
}

/** Stored messages as rendered: [{seq, role, text}] in DOM order (outbox and streaming bubbles excluded). */
export async function renderedMessages(page) {
  return page.$$eval('[data-testid="messages"] .msg[data-seq]', (els) =>
    els.map((el) => ({
      seq: Number(el.dataset.seq),
      role: el.dataset.role,
      text: (el.querySelector('.kf-text, .kf-system') || el).textContent.trim(),
    })));
}

/** Customer bubbles (stored or still in the outbox) whose text equals `text`. */
export async function customerBubbles(page, text) {
  return page.$$eval(
    '[data-testid="messages"] .msg[data-role="customer"]',
    (els, t) => els.filter((el) => (el.querySelector('.kf-text') || el).textContent.trim() === t)
      .map((el) => ({ seq: el.dataset.seq ? Number(el.dataset.seq) : null, pending: el.dataset.pending || null })),
    text,
  );
}

/** Types into the composer and presses Enter. */
export async function sendMessage(page, text) {
  const input = page.locator('[data-testid="composer-input"]');
  await input.click();
  await input.fill(text);
  await input.press('Enter');
}

/** The conversation's stored messages, straight from the server. */
export async function serverMessages(baseUrl, conversationId) {
  const out = [];
  let after = 0;
  for (;;) {
    const res = await fetch(`${baseUrl}/v1/conversations/${encodeURIComponent(conversationId)}/messages?after_seq=${after}&limit=100`, {
      headers: { 'X-Kefu-Widget-Key': 'demo' },
    });
    if (!res.ok) throw new Error(`GET messages: HTTP ${res.status}: ${await res.text()}`);
    const page = (await res.json()).messages;
    out.push(...page);
    if (page.length < 100) return out;
    after = page[page.length - 1].seq;
  }
}

/**
 * The stored routing decision of every customer turn, by message id (the admin
 * route with the demo tenant's API key: the customer's own view has none).
 */
export async function serverDecisions(baseUrl, conversationId) {
  const res = await fetch(`${baseUrl}/v1/conversations/${encodeURIComponent(conversationId)}/decisions`, {
    headers: { Authorization: 'Bearer demo-admin-key' },
  });
  if (!res.ok) throw new Error(`GET decisions: HTTP ${res.status}: ${await res.text()}`);
  const byId = new Map();
  for (const item of (await res.json()).items) byId.set(item.message_id, item.decision);
  return byId;
}

export function ensureResultsDir() {
  fs.mkdirSync(resultsDir, { recursive: true });
  return resultsDir;
}
