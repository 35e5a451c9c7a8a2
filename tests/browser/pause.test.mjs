// Browser test of waiting for the requester (agent_pending.js, the chat
// page's ticket bar): a real PostgreSQL (scripts/pg.sh), the real indexer
// and chatdesk with a 7x24 service level loaded, headless Debian chromium
// (playwright-core) with the requester's chat page and the agent page. The
// agent takes the ticket, fills the reason and clicks 等待用户: the ticket
// and queue show 待用户反馈 with the reason, the list filter 待用户反馈
// finds it, and the requester's page says the desk waits for their answer.
// The requester answers: both pages show 处理中 again, the wait is gone.
// The agent pauses again and resumes with 恢复处理.
//
//   KB_BIN=build/bin node --test --test-reporter=tap tests/browser/pause.test.mjs
//
// Every wait is a condition, never a fixed sleep.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, chmod, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT, run, mustRun, startDaemon, stopDaemon } from '../e2e/daemon.mjs';
import { launchBrowser, openPage, noProblems } from './lib.mjs';

const KB_BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const CHATDESK = path.join(KB_BIN, 'chatdesk');
const PG_SH = path.join(ROOT, 'scripts', 'pg.sh');
const USER = 'pausedemo';
const PASS = 'pause demo password';
const WAIT = 20000;
const REASON = '请提供打印机型号和报错照片';

let tmp, pgdir, chat, base, browser;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kbpause-browser-'));
  await chmod(tmp, 0o755);
  pgdir = path.join(tmp, 'pg');
  const conninfo = (await mustRun(PG_SH, ['start', pgdir], { env: { PG_FSYNC: 'off' } })).trim();
  const index = path.join(tmp, 'index');
  await mustRun(path.join(KB_BIN, 'indexer'), ['build', '--quiet', '--corpus', 'corpora', '--index', index]);
  await mustRun(CHATDESK, ['useradd', '--agent', USER, '--db', conninfo], { input: `${PASS}\n` });
  const file = path.join(tmp, 'svc.json');
  await writeFile(file, JSON.stringify({
    calendars: [{ name: 'all-day', tz: 'Asia/Shanghai', always: true }],
    services: [{ name: 'desk', title: 'desk', calendar: 'all-day', default: true }],
    policies: [1, 2, 3, 4].map((p) => ({ service: 'desk', priority: p, response_minutes: 60, resolve_minutes: 240 })),
  }));
  await mustRun(CHATDESK, ['sla-load', file, '--db', conninfo]);
  chat = startDaemon(CHATDESK, ['--index', index, '--db', conninfo, '--listen', '127.0.0.1:0',
    '--www', 'chatdesk/www', '--sla-interval', '1']);
  base = await chat.ready;
  browser = await launchBrowser();
}, { timeout: 180000 });

after(async () => {
  if (browser) await browser.close().catch(() => {});
  await stopDaemon(chat);
  if (pgdir) await run(PG_SH, ['destroy', pgdir]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, { timeout: 60000 });

const text = (loc) => loc.textContent().then((s) => (s || '').trim());

test('等待用户: the agent pauses a ticket with a reason, the requester sees it, their answer resumes it', { timeout: 120000 }, async (t) => {
  const { page: upage, problems: uprob } = await openPage(browser, t, { wait: WAIT, allowedConsole: /WebSocket/ });
  const { page: apage, problems: aprob } = await openPage(browser, t, { wait: WAIT, allowedConsole: /WebSocket/ });

  // the requester asks and escalates on the chat page
  await upage.goto(base + '/');
  await upage.getByTestId('name-input').fill('李等待');
  await upage.getByTestId('email-input').fill('wait@example.com');
  await upage.getByTestId('start-button').click();
  const input = upage.getByTestId('message-input');
  await input.waitFor();
  await upage.waitForFunction(() => document.querySelector('[data-testid=conn-status]').dataset.state === 'open');
  await input.fill('打印机一直卡纸');
  await input.press('Enter');
  // escalate only once the server acknowledged the first message
  await upage.waitForFunction(() => [...document.querySelectorAll('[data-testid=transcript] [data-testid=msg][data-from=me]')]
    .some((li) => li.dataset.state === 'sent'));
  await upage.getByTestId('escalate-toggle').click();
  await upage.getByTestId('escalate-submit').click();
  await upage.getByTestId('ticket-bar').waitFor();
  const number = await text(upage.getByTestId('ticket-number'));
  assert.equal(await upage.getByTestId('ticket-pending').count(), 0);

  // the agent takes it
  await apage.goto(base + '/agent.html');
  await apage.getByTestId('login-username').fill(USER);
  await apage.getByTestId('login-password').fill(PASS);
  await apage.getByTestId('login-button').click();
  await apage.getByTestId('desk').waitFor();
  const item = apage.locator(`[data-testid=queue-item][data-number="${number}"]`);
  await item.getByTestId('take-button').click();
  await apage.waitForFunction(() => !document.querySelector('[data-testid=reply-input]').disabled);
  const form = apage.getByTestId('pending-form');
  await form.waitFor();
  assert.equal(await apage.getByTestId('resume-button').isVisible(), false);

  // an empty reason is refused on the page, nothing sent
  await apage.getByTestId('pending-button').click();
  await apage.waitForFunction(() => /请写明/.test(document.querySelector('[data-testid=pending-message]').textContent));
  assert.equal(await text(apage.getByTestId('ticket-status')), '处理中');

  await apage.getByTestId('pending-reason').fill(REASON);
  await apage.getByTestId('pending-button').click();
  await apage.waitForFunction(() => document.querySelector('[data-testid=ticket-status]').textContent === '待用户反馈');
  assert.equal(await text(apage.getByTestId('ticket-pending-reason')), REASON);
  await apage.waitForFunction((n) => document.querySelector(`[data-testid=queue-item][data-number="${n}"]`)?.dataset.status === 'pending', number);
  assert.equal(await text(item.getByTestId('queue-status')), '待用户反馈');
  assert.equal(await apage.getByTestId('resume-button').isVisible(), true);
  assert.equal(await apage.getByTestId('pending-reason').isVisible(), false);

  // the list's status filter finds it
  await apage.getByTestId('list-status').selectOption('pending');
  await apage.waitForFunction((n) => [...document.querySelectorAll('[data-testid=list-item]')].map((li) => li.dataset.number).join() === n, number);

  // the requester's page: the desk waits for their answer, with the reason
  await upage.waitForFunction(() => document.querySelector('[data-testid=ticket-status]').textContent === '待用户反馈');
  const note = await text(upage.getByTestId('ticket-pending'));
  assert.ok(note.includes('客服正在等待您的回复') && note.includes(REASON), note);

  // the requester answers: the wait ends on both pages
  await input.fill('型号是 HP M404，照片稍后发');
  await input.press('Enter');
  await upage.waitForFunction(() => document.querySelector('[data-testid=ticket-status]').textContent === '处理中');
  assert.equal(await upage.getByTestId('ticket-pending').count(), 0);
  await apage.waitForFunction(() => document.querySelector('[data-testid=ticket-status]').textContent === '处理中');
  assert.equal(await apage.getByTestId('ticket-pending-reason').count(), 0);
  await apage.waitForFunction(() => [...document.querySelectorAll('[data-testid=event]')].some((e) => /恢复处理/.test(e.textContent)));

  // pause again, then 恢复处理 by the agent
  await apage.getByTestId('pending-reason').fill('等待照片');
  await apage.getByTestId('pending-button').click();
  await apage.waitForFunction(() => document.querySelector('[data-testid=ticket-status]').textContent === '待用户反馈');
  await upage.waitForFunction(() => /等待照片/.test(document.querySelector('[data-testid=ticket-pending]')?.textContent || ''));
  await apage.getByTestId('resume-button').click();
  await apage.waitForFunction(() => document.querySelector('[data-testid=ticket-status]').textContent === '处理中');
  await upage.waitForFunction(() => document.querySelector('[data-testid=ticket-status]').textContent === '处理中');
  noProblems(uprob);
  noProblems(aprob);
});
