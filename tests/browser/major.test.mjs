// Browser test of major incidents (agent_major.js on the agent page, the
// banner on the requester's chat page): a real PostgreSQL (scripts/pg.sh),
// the real indexer and chatdesk, headless Debian chromium (playwright-core).
// A team lead takes the requester's ticket, declares it a major incident
// with a message: the agent page says so (and shows the lead's own
// major_incident notice), the requester's ticket bar shows the banner with
// the message. The lead clears it: the banner goes.
//
//   KB_BIN=build/bin node --test --test-reporter=tap tests/browser/major.test.mjs
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
const USER = 'majordemo';
const PASS = 'major demo password';
const WAIT = 20000;
const MESSAGE = '全楼网络中断，工程师正在抢修';

let tmp, pgdir, chat, base, browser;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kbmajor-browser-'));
  await chmod(tmp, 0o755);
  pgdir = path.join(tmp, 'pg');
  const conninfo = (await mustRun(PG_SH, ['start', pgdir], { env: { PG_FSYNC: 'off' } })).trim();
  const index = path.join(tmp, 'index');
  await mustRun(path.join(KB_BIN, 'indexer'), ['build', '--quiet', '--corpus', 'corpora', '--index', index]);
  await mustRun(CHATDESK, ['useradd', '--agent', USER, '--db', conninfo], { input: `${PASS}\n` });
  await mustRun(CHATDESK, ['role', USER, 'team_lead', '--db', conninfo]);
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

test('重大事件: a lead declares a major incident, the requester sees the banner until it is cleared', { timeout: 120000 }, async (t) => {
  const { page: upage, problems: uprob } = await openPage(browser, t, { wait: WAIT, allowedConsole: /WebSocket/ });
  const { page: apage, problems: aprob } = await openPage(browser, t, { wait: WAIT, allowedConsole: /WebSocket/ });

  await upage.goto(base + '/');
  await upage.getByTestId('name-input').fill('王断网');
  await upage.getByTestId('email-input').fill('net@example.com');
  await upage.getByTestId('start-button').click();
  const input = upage.getByTestId('message-input');
  await input.waitFor();
  await upage.waitForFunction(() => document.querySelector('[data-testid=conn-status]').dataset.state === 'open');
  await input.fill('整层楼都上不了网');
  await input.press('Enter');
  await upage.waitForFunction(() => [...document.querySelectorAll('[data-testid=transcript] [data-testid=msg][data-from=me]')]
    .some((li) => li.dataset.state === 'sent'));
  await upage.getByTestId('escalate-toggle').click();
  await upage.getByTestId('escalate-submit').click();
  await upage.getByTestId('ticket-bar').waitFor();
  const number = await text(upage.getByTestId('ticket-number'));
  assert.equal(await upage.getByTestId('major-banner').count(), 0);

  await apage.goto(base + '/agent.html');
  await apage.getByTestId('login-username').fill(USER);
  await apage.getByTestId('login-password').fill(PASS);
  await apage.getByTestId('login-button').click();
  await apage.getByTestId('desk').waitFor();
  const item = apage.locator(`[data-testid=queue-item][data-number="${number}"]`);
  await item.getByTestId('take-button').click();
  await apage.waitForFunction(() => !document.querySelector('[data-testid=reply-input]').disabled);
  await apage.getByTestId('major-box').waitFor();
  assert.match(await text(apage.getByTestId('major-state')), /不是重大事件/);

  // an empty reason is refused on the page
  await apage.getByTestId('major-declare').click();
  await apage.waitForFunction(() => /请写明原因/.test(document.querySelector('[data-testid=major-message-line]').textContent));

  await apage.getByTestId('major-reason').fill('全楼断网');
  await apage.getByTestId('major-message').fill(MESSAGE);
  await apage.getByTestId('major-declare').click();
  await apage.waitForFunction(() => /本工单是重大事件/.test(document.querySelector('[data-testid=major-state]').textContent));
  // the lead is told (in-page notice)
  await apage.waitForFunction((n) => (document.querySelector('[data-testid=major-announce]')?.textContent || '').includes(n), number);
  assert.equal(await apage.getByTestId('major-clear').isVisible(), true);

  // the requester's page: the banner with the desk's message
  await upage.getByTestId('major-banner').waitFor();
  const banner = await text(upage.getByTestId('major-banner'));
  assert.ok(banner.includes(number) && banner.includes(MESSAGE), banner);

  // cleared: the banner goes
  await apage.getByTestId('major-clear').click();
  await apage.waitForFunction(() => /不是重大事件/.test(document.querySelector('[data-testid=major-state]').textContent));
  await upage.waitForFunction(() => !document.querySelector('[data-testid=major-banner]'));
  noProblems(uprob);
  noProblems(aprob);
});
