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
import { startDesk, stopDesk, allDaySla, deskPages, openPage, noProblems } from './lib.mjs';

const USER = 'majordemo';
const PASS = 'major demo password';
const WAIT = 20000;
const MESSAGE = '全楼网络中断，工程师正在抢修';

const d = {};
const pages = deskPages(() => d.base, { user: USER, pass: PASS });

before(() => startDesk(d, 'kbmajor-browser', {
  agents: [{ username: USER, password: PASS, role: 'team_lead' }],
  sla: allDaySla('desk', () => ({ response_minutes: 60, resolve_minutes: 240 })),
  args: ['--sla-interval', '1'],
}), { timeout: 180000 });

after(() => stopDesk(d), { timeout: 60000 });

const text = (loc) => loc.textContent().then((s) => (s || '').trim());

test('重大事件: a lead declares a major incident, the requester sees the banner until it is cleared', { timeout: 120000 }, async (t) => {
  const { page: upage, problems: uprob } = await openPage(d.browser, t, { wait: WAIT, allowedConsole: /WebSocket/ });
  const { page: apage, problems: aprob } = await openPage(d.browser, t, { wait: WAIT, allowedConsole: /WebSocket/ });

  await pages.startChat(upage, '王断网', 'net@example.com');
  await pages.say(upage, '整层楼都上不了网');
  const number = await pages.escalate(upage);
  assert.equal(await upage.getByTestId('major-banner').count(), 0);

  await pages.agentLogin(apage);
  await pages.take(apage, number);
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
