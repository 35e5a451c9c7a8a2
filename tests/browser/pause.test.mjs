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
import { startDesk, stopDesk, allDaySla, deskPages, openPage, noProblems } from './lib.mjs';

const USER = 'pausedemo';
const PASS = 'pause demo password';
const WAIT = 20000;
const REASON = '请提供打印机型号和报错照片';

const d = {};
const pages = deskPages(() => d.base, { user: USER, pass: PASS });

before(() => startDesk(d, 'kbpause-browser', {
  agents: [{ username: USER, password: PASS }],
  sla: allDaySla('desk', () => ({ response_minutes: 60, resolve_minutes: 240 })),
  args: ['--sla-interval', '1'],
}), { timeout: 180000 });

after(() => stopDesk(d), { timeout: 60000 });

const text = (loc) => loc.textContent().then((s) => (s || '').trim());

test('等待用户: the agent pauses a ticket with a reason, the requester sees it, their answer resumes it', { timeout: 120000 }, async (t) => {
  const { page: upage, problems: uprob } = await openPage(d.browser, t, { wait: WAIT, allowedConsole: /WebSocket/ });
  const { page: apage, problems: aprob } = await openPage(d.browser, t, { wait: WAIT, allowedConsole: /WebSocket/ });

  // the requester asks and escalates on the chat page
  await pages.startChat(upage, '李等待', 'wait@example.com');
  // escalate only once the server acknowledged the first message
  await pages.say(upage, '打印机一直卡纸');
  const number = await pages.escalate(upage);
  const input = upage.getByTestId('message-input');
  assert.equal(await upage.getByTestId('ticket-pending').count(), 0);

  // the agent takes it
  await pages.agentLogin(apage);
  await pages.take(apage, number);
  const item = pages.queueItem(apage, number);
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
