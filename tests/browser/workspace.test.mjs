// Browser test of the agents' workspace (chatdesk/www/tickets.js with
// agent.js): a real PostgreSQL (scripts/pg.sh), the real indexer and
// chatdesk, headless Debian chromium (playwright-core). An agent finds a
// closed ticket by a Chinese word from its messages, sees its rating and
// comment, edits its priority (the event appears in the history), writes a
// note that the requester's page and API never receive, reloads the page
// and is back on the same ticket and filters (the ticket neither closed nor
// released), transfers a ticket to a team whose member then sees it in
// their queue.
//
//   KB_BIN=build/bin node --test --test-reporter=tap tests/browser/workspace.test.mjs
//
// Every wait is a condition (waitFor / waitForFunction), never a fixed sleep.
// Screenshot: /tmp/kbdesk-workspace.png (the agent page with the list).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDesk, stopDesk, openPage as open, noProblems, deskPages } from './lib.mjs';
import { wsClient as openWs } from '../e2e/desk.mjs';

const AGENT_USER = 'demo';
const AGENT_PASS = 'secret';
const MEMBER_USER = 'member';
const MEMBER_PASS = 'member-secret';
const SHOT = '/tmp/kbdesk-workspace.png';
const WAIT = 20000; // ms, for each condition

const d = {};
let base;
let browser;
let wsUrl;

/* ---------- the daemons ---------- */

before(async () => {
  await startDesk(d, 'kbdesk-ws-browser', {
    agents: [{ username: AGENT_USER, password: AGENT_PASS },
      { username: MEMBER_USER, password: MEMBER_PASS, team: 'second-line' }],
  });
  ({ base, browser, wsUrl } = d);
});

after(() => stopDesk(d));

/* ---------- helpers ---------- */

/* A fresh page (lib.mjs); a WebSocket the test itself cut shows up as a
 * console error. */
const openPage = (t, viewport) => open(browser, t, { viewport, wait: WAIT, allowedConsole: /WebSocket/ });
const text = (loc) => loc.textContent().then((s) => (s || '').trim());

const { startChat, say, waitMine, chatMessages, agentLogin, queueItem, overflowX } =
  deskPages(() => base, { user: AGENT_USER, pass: AGENT_PASS });


/* ---------- a WebSocket client, for the parts not under test ---------- */

const wsClient = () => openWs(wsUrl, { wait: WAIT });

/* A ticket raised, resolved, confirmed and rated through the protocol. */
async function closedTicket(messages) {
  const u = await wsClient();
  assert.equal((await u.request({ type: 'hello', name: '关单用户' })).type, 'welcome');
  for (const text of messages) assert.equal((await u.request({ type: 'message', text })).type, 'ack');
  const t = await u.request({ type: 'escalate', impact: 2, urgency: 2 });
  const a = await wsClient();
  assert.equal((await a.request({ type: 'login', username: AGENT_USER, password: AGENT_PASS })).type, 'welcome');
  assert.equal((await a.request({ type: 'take', ticket: t.number })).type, 'ticket');
  assert.equal((await a.request({ type: 'resolve', ticket: t.number, resolution: '更换了 HDMI 线' })).type, 'ticket');
  assert.notEqual((await u.request({ type: 'confirm', ticket: t.number, accepted: true })).type, 'error');
  assert.notEqual((await u.request({ type: 'rate', ticket: t.number, score: 4, comment: '处理及时，投影已恢复' })).type, 'error');
  u.close();
  a.close();
  return t.number;
}

async function search(page, q, status) {
  await page.getByTestId('list-q').fill(q);
  await page.getByTestId('list-status').selectOption(status);
  await page.getByTestId('list-search').click();
  await page.waitForFunction(() => !/正在查找/.test(document.querySelector('[data-testid=list-message]').textContent));
  return page.locator('[data-testid=list-item]').evaluateAll((els) => els.map((li) => li.dataset.number));
}

const events = (page) => page.locator('[data-testid=events] [data-testid=event]').allTextContents();

/* ---------- tests ---------- */

test('find a closed ticket by a Chinese word, see its rating, edit its priority, write a note', async (t) => {
  const number = await closedTicket(['会议室的投影仪没有信号', '笔记本是 ThinkPad']);
  const other = await closedTicket(['打印机卡纸']);
  const { page, problems } = await openPage(t);
  await agentLogin(page);
  await page.getByTestId('ticket-list').waitFor();

  let found = await search(page, '投影仪', 'closed');
  assert.ok(found.includes(number), `found by a word of its messages: ${found}`);
  assert.ok(!found.includes(other), 'not the ticket without the word');
  found = await search(page, '防火墙', '');
  assert.ok(!found.includes(number), 'not by a word it does not hold');
  found = await search(page, '投影仪', 'closed');
  await page.screenshot({ path: SHOT, fullPage: true });

  await page.locator(`[data-testid=list-item][data-number="${number}"] [data-testid=list-open]`).click();
  await page.waitForFunction((n) => document.querySelector('[data-testid=ticket-number]').textContent === n, number);
  await page.getByTestId('edit-form').waitFor();
  assert.match(await text(page.getByTestId('ticket-rating')), /★★★★/);
  assert.equal(await text(page.getByTestId('ticket-rating-comment')), '处理及时，投影已恢复');

  // priority P3 -> P1 by impact and urgency; the history shows it
  await page.getByTestId('edit-impact').selectOption('1');
  await page.getByTestId('edit-urgency').selectOption('1');
  await page.getByTestId('edit-save').click();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=events] [data-testid=event]')]
    .some((li) => li.textContent.includes('优先级：P3 → P1')), null, { timeout: WAIT });
  await page.waitForFunction(() => document.querySelector('[data-testid=ticket-priority]').textContent.startsWith('P1'));
  assert.ok((await events(page)).some((e) => e.includes('修改') && e.includes('影响：中 → 高')));

  // a note shows for the agent
  await page.getByTestId('note-input').fill('内部：投影仪是租的，合同在行政 internalonly');
  await page.getByTestId('note-save').click();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=note-text]')]
    .some((n) => n.textContent.includes('internalonly')));

  // a reload keeps the ticket and the filters
  await page.reload();
  await page.waitForFunction((n) => document.querySelector('[data-testid=ticket-number]').textContent === n, number);
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=note-text]')].length === 1);
  assert.equal(await page.getByTestId('list-q').inputValue(), '投影仪');
  assert.equal(await page.getByTestId('list-status').inputValue(), 'closed');
  assert.match(page.url(), new RegExp(`#ticket=${number}`));
  noProblems(problems);
});

test('a note never reaches the requester; a reload keeps the ticket taken; a transfer reaches the team\'s queue', async (t) => {
  const user = await openPage(t);
  const upage = user.page;
  await startChat(upage, '李雷', 'lilei@example.cn');
  await say(upage, '财务系统 SAPGUI 登录报错');
  await upage.getByTestId('escalate-toggle').click();
  await upage.getByTestId('escalate-submit').click();
  await upage.getByTestId('ticket-bar').waitFor();
  const number = await text(upage.getByTestId('ticket-number'));

  const agent = await openPage(t);
  const apage = agent.page;
  await agentLogin(apage);
  await queueItem(apage, number).waitFor();
  await queueItem(apage, number).getByTestId('take-button').click();
  await apage.waitForFunction(() => document.querySelector('[data-testid=ticket-agent]')?.textContent === 'demo');

  // reload: the same ticket, still taken by this agent, still assigned
  await apage.reload();
  await apage.waitForFunction((n) => document.querySelector('[data-testid=ticket-number]').textContent === n, number);
  await apage.waitForFunction(() => document.querySelector('[data-testid=ticket-agent]')?.textContent === 'demo');
  await apage.getByTestId('edit-form').waitFor();
  assert.equal(await text(apage.getByTestId('ticket-status')), '处理中');

  // the note, then a reply: when the reply is on the requester's page, the note would be too
  const SECRET = '备注：此用户上周也报过 secretnote42';
  await apage.getByTestId('note-input').fill(SECRET);
  await apage.getByTestId('note-save').click();
  await apage.waitForFunction(() => [...document.querySelectorAll('[data-testid=note-text]')].some((n) => n.textContent.includes('secretnote42')));
  await apage.getByTestId('reply-input').fill('请提供报错截图');
  await apage.getByTestId('reply-input').press('Enter');
  await upage.waitForFunction(() => document.body.textContent.includes('请提供报错截图'));
  assert.ok(!(await upage.content()).includes('secretnote42'), 'the requester\'s page never shows the note');
  // the requester's API: their own session token reads the ticket, never the note
  const token = await upage.evaluate(() => JSON.parse(sessionStorage.getItem('kbdesk.chat.state')).session);
  const got = await upage.evaluate(async ([n, tk]) => {
    const h = { authorization: `Bearer ${tk}` };
    const r = await Promise.all([`/api/v1/tickets/${n}`, `/api/v1/tickets/${n}/events`, `/api/v1/tickets/${n}/notes`]
      .map((p) => fetch(p, { headers: h }).then(async (x) => [x.status, await x.text()])));
    return r;
  }, [number, token]);
  assert.deepEqual(got.map((x) => x[0]), [200, 200, 404]);
  assert.ok(!got.some((x) => x[1].includes('secretnote42') || x[1].includes('noted')), JSON.stringify(got));
  // a reload of the requester's page (catch-up from the server) still has no note
  await upage.reload();
  await upage.waitForFunction(() => document.body.textContent.includes('请提供报错截图'));
  assert.ok(!(await upage.content()).includes('secretnote42'));

  // transfer to the second line: the member sees it in the queue
  await apage.getByTestId('transfer-team').selectOption('second-line');
  await apage.getByTestId('transfer-reason').fill('需要 SAP 顾问');
  await apage.getByTestId('transfer-save').click();
  await apage.waitForFunction(() => [...document.querySelectorAll('[data-testid=events] [data-testid=event]')]
    .some((li) => li.textContent.includes('需要 SAP 顾问')));
  const member = await openPage(t);
  await agentLogin(member.page, MEMBER_USER, MEMBER_PASS);
  await queueItem(member.page, number).waitFor();
  assert.equal(await queueItem(member.page, number).getByTestId('take-button').isVisible(), true, 'the member can take it');
  // the agent outside the team (on a fresh page) no longer has it in the queue
  const outside = await openPage(t);
  await agentLogin(outside.page);
  assert.equal(await queueItem(outside.page, number).count(), 0, 'not in the queue of an agent outside the team');
  noProblems(outside.problems);
  // the one 404 on the requester's page is the test's own request for the notes
  noProblems(user.problems.filter((x) => !/status of 404/.test(x)));
  assert.equal(user.problems.length, 1, user.problems.join('\n'));
  noProblems(agent.problems);
  noProblems(member.problems);
});
