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
import { deskClient } from '../e2e/desk.mjs';
import { startDesk, stopDesk, allDaySla, deskPages, openPage, noProblems } from './lib.mjs';

const USER = 'slademo';
const PASS = 'sla demo password';
const WAIT = 20000;

const d = {};
const pages = deskPages(() => d.base, { user: USER, pass: PASS });
const desk = deskClient(() => ({ base: d.base, wsUrl: d.base.replace('http:', 'ws:') + '/ws' }), { wait: WAIT });

// 7x24: response 6 s (warning at 3 s), resolution 60 s
before(() => startDesk(d, 'kbsla-browser', {
  agents: [{ username: USER, password: PASS }],
  sla: allDaySla('fast', () => ({ response_minutes: 0.1, resolve_minutes: 1, warn_percent: 50 })),
  args: ['--sla-interval', '1'],
}), { timeout: 180000 });

after(() => stopDesk(d), { timeout: 60000 });

test('the agent page marks a ticket SLA 预警, then SLA 超时, and keeps it after a reload', { timeout: 120000 }, async (t) => {
  const { page, problems } = await openPage(d.browser, t, { wait: WAIT, allowedConsole: /^$/ });
  await pages.agentLogin(page);

  const number = await desk.wsEscalate('预警用户', '打印机卡纸');
  const item = pages.queueItem(page, number);
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
  noProblems(problems);
});
