// Browser test of the agent page's service-level badge (chatdesk/www
// agent.js slaBadge / onSlaAlert): a real PostgreSQL (scripts/pg.sh), the
// real indexer and chatdesk (--sla-interval 1) with a seconds-short policy
// loaded by `chatdesk sla-load`, headless Debian chromium (playwright-core)
// on the agent page, and a requester escalating over a real WebSocket. The
// queue item shows "SLA 预警" and then "SLA 超时" as the timer's frames
// arrive, and still "SLA 超时" after a reload (from the ticket JSON).
//
//   KB_BIN=build/bin node --test --test-reporter=tap tests/browser/sla.test.mjs
//
// Every wait is a condition, never a fixed sleep.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, chmod, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import { ROOT, run, mustRun, startDaemon, stopDaemon } from '../e2e/daemon.mjs';

const KB_BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const CHATDESK = path.join(KB_BIN, 'chatdesk');
const PG_SH = path.join(ROOT, 'scripts', 'pg.sh');
const USER = 'slademo';
const PASS = 'sla demo password';
const WAIT = 20000;

let tmp, pgdir, chat, base, browser;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kbsla-browser-'));
  await chmod(tmp, 0o755);
  pgdir = path.join(tmp, 'pg');
  const conninfo = (await mustRun(PG_SH, ['start', pgdir], { env: { PG_FSYNC: 'off' } })).trim();
  const index = path.join(tmp, 'index');
  await mustRun(path.join(KB_BIN, 'indexer'), ['build', '--quiet', '--corpus', 'corpora', '--index', index]);
  await mustRun(CHATDESK, ['useradd', '--agent', USER, '--db', conninfo], { input: `${PASS}\n` });
  // 7x24: response 6 s (warning at 3 s), resolution 60 s
  const file = path.join(tmp, 'fast.json');
  await writeFile(file, JSON.stringify({
    calendars: [{ name: 'fast', tz: 'Asia/Shanghai', always: true }],
    services: [{ name: 'fast', title: 'fast', calendar: 'fast', default: true }],
    policies: [1, 2, 3, 4].map((p) => ({ service: 'fast', priority: p, response_minutes: 0.1,
      resolve_minutes: 1, warn_percent: 50 })),
  }));
  await mustRun(CHATDESK, ['sla-load', file, '--db', conninfo]);
  chat = startDaemon(CHATDESK, ['--index', index, '--db', conninfo, '--listen', '127.0.0.1:0',
    '--www', 'chatdesk/www', '--sla-interval', '1']);
  base = await chat.ready;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, { timeout: 180000 });

after(async () => {
  if (browser) await browser.close().catch(() => {});
  await stopDaemon(chat);
  if (pgdir) await run(PG_SH, ['destroy', pgdir]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, { timeout: 60000 });

// A requester's escalated ticket over a real WebSocket; resolves to its number.
async function escalate() {
  const ws = new WebSocket(base.replace('http:', 'ws:') + '/ws', { handshakeTimeout: WAIT });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const frames = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString('utf8'))));
  const answer = async (obj) => {
    ws.send(JSON.stringify(obj));
    const end = Date.now() + WAIT;
    for (;;) {
      const f = frames.find((x) => x.id === obj.id && x.type !== 'message');
      if (f) return f;
      if (Date.now() > end) throw new Error(`no answer to ${obj.type}: ${JSON.stringify(frames)}`);
      await new Promise((r) => ws.once('message', r));
    }
  };
  assert.equal((await answer({ type: 'hello', id: 'h', name: '预警用户' })).type, 'welcome');
  assert.equal((await answer({ type: 'message', id: 'm', text: '打印机卡纸' })).type, 'ack');
  const t = await answer({ type: 'escalate', id: 'e', impact: 2, urgency: 2 });
  assert.equal(t.type, 'ticket', JSON.stringify(t));
  ws.close();
  return t.number;
}

test('the agent page marks a ticket SLA 预警, then SLA 超时, and keeps it after a reload', { timeout: 120000 }, async (t) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'zh-CN' });
  t.after(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  await page.goto(base + '/agent.html');
  await page.getByTestId('login-username').fill(USER);
  await page.getByTestId('login-password').fill(PASS);
  await page.getByTestId('login-button').click();
  await page.getByTestId('desk').waitFor();
  await page.waitForFunction(() => /个未关闭/.test(document.querySelector('[data-testid=queue-count]').textContent));

  const number = await escalate();
  const item = page.locator(`[data-testid=queue-item][data-number="${number}"]`);
  await item.waitFor();
  assert.equal(await item.getByTestId('queue-sla').count(), 0, 'no badge while the clock is fine');
  await page.waitForFunction((n) => {
    const b = document.querySelector(`[data-testid=queue-item][data-number="${n}"] [data-testid=queue-sla]`);
    return b && b.textContent === 'SLA 预警';
  }, number);
  await page.waitForFunction((n) => {
    const b = document.querySelector(`[data-testid=queue-item][data-number="${n}"] [data-testid=queue-sla]`);
    return b && b.textContent === 'SLA 超时' && b.classList.contains('breached');
  }, number);
  // a reload reads the queue afresh: the state comes with the ticket JSON
  await page.reload();
  await page.waitForFunction(() => {
    const desk = document.querySelector('[data-testid=desk]');
    const login = document.querySelector('[data-testid=login-username]');
    return (desk && !desk.hidden && desk.offsetParent) || (login && login.offsetParent);
  });
  if (await page.getByTestId('login-username').isVisible()) {
    await page.getByTestId('login-username').fill(USER);
    await page.getByTestId('login-password').fill(PASS);
    await page.getByTestId('login-button').click();
  }
  await page.waitForFunction((n) => {
    const b = document.querySelector(`[data-testid=queue-item][data-number="${n}"] [data-testid=queue-sla]`);
    return b && b.textContent === 'SLA 超时';
  }, number);
  assert.deepEqual(problems, []);
});
