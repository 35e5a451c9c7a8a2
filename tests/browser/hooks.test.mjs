// Browser test of the in-page notices (chatdesk/www/notify.js): a real
// PostgreSQL, the real indexer and chatdesk, headless Debian chromium
// (playwright-core). An agent in the agent page gets a notice when a ticket
// is transferred to their team and when one is assigned to them, turns the
// "assigned" notice off in the preferences panel (stored through PUT
// /api/v1/me/preferences) and gets no more of those; a requester on the
// chat page gets a notice when their ticket is resolved; the browser's
// notification permission is asked only on a click, never on load; an
// administrator adds and deletes a group robot on admin.html, and a webhook
// with too short a secret is refused there and stored nowhere.
//
//   KB_BIN=build/bin node --test --test-reporter=tap tests/browser/hooks.test.mjs
//
// Every wait is a condition, never a fixed sleep.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mustRun } from '../e2e/daemon.mjs';
import { deskClient } from '../e2e/desk.mjs';
import { startDesk, stopDesk, openPage, noProblems } from './lib.mjs';

const ADMIN = { username: 'boss', password: 'boss-secret-1' };
const MEMBER = { username: 'member', password: 'member-secret-1' };
const WAIT = 20000;

const d = {};
let base, wsUrl, browser;

// WebSocket clients (all kept in sockets) and requesters' tickets
const desk = deskClient(() => ({ base, wsUrl }), { wait: WAIT });
const { wsOpen, sockets } = desk;
const req = desk.wsRequest;
let people = 0;
const raiseTicket = (text) => desk.wsEscalate(`通知用户${++people}`, text);

before(async () => {
  await startDesk(d, 'kbdesk-hooks-browser', {
    agents: [{ ...ADMIN, name: '值班长' }, { ...MEMBER, name: '二线小张', team: 'second-line' }],
    // the shift lead moves tickets: an administrator
    prepare: () => mustRun('/usr/lib/postgresql/15/bin/psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', d.conninfo,
      '-c', `UPDATE people SET role = 'admin' WHERE username = '${ADMIN.username}'`], { timeoutMs: 60000 }),
  });
  ({ base, wsUrl, browser } = d);
}, { timeout: 300000 });

after(async () => {
  for (const ws of sockets) ws.terminate();
  await stopDesk(d);
}, { timeout: 60000 });

const notices = (page) => page.locator('[data-testid=notice]').allTextContents();

test('agent page: notices for a ticket moved into my team and one assigned to me; the preference turns them off', { timeout: 120000 }, async (t) => {
  const { page, problems } = await openPage(browser, t, { wait: WAIT, allowedConsole: /WebSocket/ });
  await page.goto(base + '/agent.html');
  await page.getByTestId('login-username').fill(MEMBER.username);
  await page.getByTestId('login-password').fill(MEMBER.password);
  await page.getByTestId('login-button').click();
  await page.getByTestId('desk').waitFor();
  // the panel loaded the preferences (all on) and asked for nothing on load
  await page.getByTestId('notify-prefs').locator('summary').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=pref-browser_assigned]').checked);
  assert.equal(await page.evaluate(() => Notification.permission), 'default');
  assert.equal(await page.getByTestId('notify-permission').isVisible(), true);

  const boss = await wsOpen();
  const w = await req(boss, { type: 'login', ...ADMIN });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  const peopleList = await (await fetch(`${base}/api/v1/people`, { headers: { authorization: `Bearer ${w.session}` } })).json();
  const memberId = peopleList.people.find((p) => p.name === '二线小张').id;

  const a = await raiseTicket('ERP 登录报错 500');
  assert.equal((await req(boss, { type: 'transfer', ticket: a, team: 'second-line', reason: '二线处理' })).type, 'ticket');
  await page.waitForFunction((n) => [...document.querySelectorAll('[data-testid=notice]')].some((e) => e.textContent.includes(n) && e.textContent.includes('新工单')), a);
  assert.equal((await req(boss, { type: 'transfer', ticket: a, agent: memberId, reason: '交给小张' })).type, 'ticket');
  await page.waitForFunction((n) => [...document.querySelectorAll('[data-testid=notice]')].some((e) => e.textContent.includes(n) && e.textContent.includes('分配给您')), a);

  // turn "assigned" notices off in the panel
  await page.getByTestId('pref-browser_assigned').uncheck();
  await page.getByTestId('pref-save').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=pref-msg]').textContent === '已保存');
  // stored: a fresh load of the panel shows it off
  await page.reload();
  await page.getByTestId('desk').waitFor();
  await page.getByTestId('notify-prefs').locator('summary').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=pref-browser_team]').checked
    && !document.querySelector('[data-testid=pref-browser_assigned]').checked);
  const b = await raiseTicket('打印机卡纸');
  const c = await raiseTicket('邮箱满了');
  assert.equal((await req(boss, { type: 'transfer', ticket: b, team: 'second-line', reason: '二线' })).type, 'ticket');
  assert.equal((await req(boss, { type: 'transfer', ticket: b, agent: memberId, reason: '交给小张' })).type, 'ticket');
  // the frames come in order: once c's team notice is there, b's assignment was handled
  assert.equal((await req(boss, { type: 'transfer', ticket: c, team: 'second-line', reason: '二线' })).type, 'ticket');
  await page.waitForFunction((n) => [...document.querySelectorAll('[data-testid=notice]')].some((e) => e.textContent.includes(n)), c);
  const all = await notices(page);
  assert.ok(all.some((s) => s.includes(b) && s.includes('新工单')), all.join('\n'));
  assert.ok(!all.some((s) => s.includes(b) && s.includes('分配给您')), all.join('\n'));
  await page.screenshot({ path: '/tmp/kbdesk-notices.png' });
  noProblems(problems);
});

test('chat page: a notice when the ticket is resolved; notification permission only on a click', { timeout: 120000 }, async (t) => {
  const { context, page, problems } = await openPage(browser, t, { wait: WAIT, allowedConsole: /WebSocket/ });
  await page.goto(base + '/');
  assert.equal(await page.getByTestId('notify-permission').isVisible(), true);
  assert.equal(await page.evaluate(() => Notification.permission), 'default');
  await page.getByTestId('name-input').fill('陈静');
  await page.getByTestId('email-input').fill('chen.jing@example.cn');
  await page.getByTestId('start-button').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=conn-status]').dataset.state === 'open');
  await page.getByTestId('message-input').fill('共享盘打不开');
  await page.getByTestId('message-input').press('Enter');
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=msg][data-from=me]')].some((li) => li.dataset.state === 'sent'));
  await page.getByTestId('escalate-toggle').click();
  await page.getByTestId('escalate-submit').click();
  await page.waitForFunction(() => /INC-\d+/.test(document.querySelector('[data-testid=ticket-number]')?.textContent || ''));
  const number = (await page.getByTestId('ticket-number').textContent()).match(/INC-\d+/)[0];
  const boss = await wsOpen();
  assert.equal((await req(boss, { type: 'login', ...ADMIN })).type, 'welcome');
  assert.equal((await req(boss, { type: 'take', ticket: number })).type, 'ticket');
  assert.equal((await req(boss, { type: 'resolve', ticket: number, resolution: '重新映射了网络驱动器' })).type, 'ticket');
  await page.waitForFunction((n) => [...document.querySelectorAll('[data-testid=notice]')].some((e) => e.textContent.includes(n) && e.textContent.includes('已解决')), number);
  // a granted permission hides the button (the request itself needs a real user)
  await context.grantPermissions(['notifications'], { origin: base });
  await page.reload();
  await page.waitForFunction(() => Notification.permission === 'granted');
  assert.equal(await page.getByTestId('notify-permission').isVisible(), false);
  noProblems(problems);
});

test('admin page: an administrator adds a group robot, a bad webhook is refused and adds nothing, the robot is deleted', { timeout: 120000 }, async (t) => {
  const { page, problems } = await openPage(browser, t, { wait: WAIT, allowedConsole: /WebSocket|status of 422/ });
  await page.goto(base + '/agent.html');
  await page.getByTestId('login-username').fill(ADMIN.username);
  await page.getByTestId('login-password').fill(ADMIN.password);
  await page.getByTestId('login-button').click();
  await page.getByTestId('desk').waitFor();
  await page.goto(base + '/admin.html');
  await page.getByTestId('admin-hooks').waitFor();
  await page.waitForFunction(() => document.querySelectorAll('#hook-team option[value=second-line]').length === 1);
  const before = await page.getByTestId('admin-hook').count();
  // a DingTalk robot of the second line (never posted to: no event follows)
  await page.getByTestId('admin-hook-kind').selectOption('dingtalk');
  await page.getByTestId('admin-hook-name').fill('二线群');
  await page.getByTestId('admin-hook-url').fill('http://127.0.0.1:9/robot/send?access_token=t');
  await page.getByTestId('admin-hook-secret').fill('SECadmin');
  await page.getByTestId('admin-hook-team').selectOption('second-line');
  await page.getByTestId('admin-hook-events').fill('created, resolved');
  await page.getByTestId('admin-hook-add').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=admin-msg]').textContent === '已添加 二线群。');
  const row = page.locator('[data-testid=admin-hook][data-kind=dingtalk]');
  await row.waitFor();
  const text = await row.textContent();
  assert.match(text, /钉钉群机器人/);
  assert.match(text, /二线群/);
  assert.match(text, /second-line/);
  assert.match(text, /created, resolved/);
  assert.match(text, /0 \/ 0 \/ 0/);
  assert.doesNotMatch(await page.locator('#hook-rows').textContent(), /SECadmin/, 'the secret is never shown');
  // a webhook with a short secret: a clear error, no row
  await page.getByTestId('admin-hook-kind').selectOption('webhook');
  assert.equal(await page.getByTestId('admin-hook-name').isDisabled(), true);
  await page.getByTestId('admin-hook-url').fill('http://127.0.0.1:9/hook');
  await page.getByTestId('admin-hook-secret').fill('short');
  await page.getByTestId('admin-hook-add').click();
  await page.waitForFunction(() => /^操作失败：/.test(document.querySelector('[data-testid=admin-msg]').textContent));
  assert.equal(await page.getByTestId('admin-hook').count(), before + 1);
  const api = await (await fetch(`${base}/api/v1/webhooks`, { headers: { authorization: `Bearer ${await page.evaluate(() => JSON.parse(sessionStorage.getItem('kbdesk.agent.session')))}` } })).json();
  assert.equal(api.items.filter((h) => h.url === 'http://127.0.0.1:9/hook').length, 0, 'the refused webhook was not stored');
  // deleted
  await row.getByTestId('admin-hook-delete').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid=admin-hook][data-kind=dingtalk]'));
  assert.equal(await page.getByTestId('admin-hook').count(), before);
  noProblems(problems);
});
