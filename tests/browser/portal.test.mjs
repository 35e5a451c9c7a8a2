// Browser test of the requester portal on the chat page (chatdesk/www:
// chat.js, portal.js): a real PostgreSQL (scripts/pg.sh), the real index,
// the real chatdesk with its mail sender pointed at a local SMTP sink
// (Debian's aiosmtpd, scripts/mailsink.py, on 127.0.0.1), headless Debian
// chromium (playwright-core) for the requester, and a WebSocket client for
// the agent (the agent page has its own test).
//
//   KB_BIN=build/bin node --test --test-reporter=tap tests/browser/portal.test.mjs
//
// Every wait is a condition with a deadline, never a fixed sleep.
// Screenshot: /tmp/kbdesk-my-tickets.png ("my tickets" after sign-in).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deskFixture, startDesk, stopDesk } from '../e2e/deskfix.mjs';
import { launchBrowser } from './lib.mjs';

const WAIT = 20000;
const AGENT = { username: 'agent', password: 'portal browser pw' };
const SHOT = '/tmp/kbdesk-my-tickets.png';

// the desk (tests/e2e/deskfix.mjs startDesk, with the SMTP sink) and the
// fixture's bounded waits, the sink's mails and the agent's WebSocket client
const d = {};
let base, browser;
const { until, mails, Client, clients } = deskFixture(WAIT, () => d);

// The sink's mails to `to`: decoded subject and body.
const mailsTo = async (to) => (await mails()).filter((m) => m.rcpt.includes(to));

// ---- setup ---------------------------------------------------------------------------

before(async () => {
  await startDesk(d, 'kbportal-browser', { agents: [{ ...AGENT, name: '李坐席' }], mail: {}, wait: WAIT });
  base = d.base;
  browser = await launchBrowser();
}, { timeout: 300000 });

after(async () => {
  for (const c of clients) c.ws.terminate();
  if (browser) await browser.close().catch(() => {});
  await stopDesk(d);
}, { timeout: 60000 });

async function openPage(t) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 860 }, locale: 'zh-CN' });
  t.after(() => context.close().catch(() => {}));
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/WebSocket/.test(m.text())) problems.push(`console: ${m.text()}`); });
  return { context, page, problems };
}

const connected = (page) => page.waitForFunction(() => document.querySelector('[data-testid=conn-status]').dataset.state === 'open');

async function say(page, text) {
  await page.getByTestId('message-input').fill(text);
  await page.getByTestId('message-input').press('Enter');
  await page.waitForFunction((m) => [...document.querySelectorAll('[data-testid=msg][data-from=me]')]
    .some((li) => li.querySelector('[data-testid=msg-text]').textContent === m && li.dataset.state === 'sent'), text);
}

const messages = (page) => page.locator('[data-testid=transcript] [data-testid=msg]').evaluateAll((els) =>
  els.map((li) => `${li.dataset.from}: ${li.querySelector('[data-testid=msg-text]').textContent}`));

// ---- tests ----------------------------------------------------------------------------

test('an anonymous requester raises a ticket, closes the page, and continues in a fresh browser through the private link', { timeout: 120000 }, async (t) => {
  const a = await openPage(t);
  await a.page.goto(base + '/');
  await a.page.getByTestId('name-input').fill('王小明');
  await a.page.getByTestId('email-input').fill('wang@example.cn');
  await a.page.getByTestId('start-button').click();
  await connected(a.page);
  await say(a.page, '共享打印机一直显示脱机');
  await a.page.getByTestId('escalate-toggle').click();
  await a.page.getByTestId('escalate-submit').click();
  const linkBox = a.page.getByTestId('private-link');
  await linkBox.waitFor();
  const url = await linkBox.inputValue();
  assert.match(url, new RegExp(`^${base}/\\?t=[A-Za-z0-9_-]{43}$`));
  const number = (await a.page.getByTestId('ticket-number').textContent()).match(/INC-\d+/)[0];
  assert.deepEqual(a.problems, []);
  await a.context.close(); // the page and its storage are gone

  // the agent takes it and replies while the requester is away
  const ag = await Client.open();
  assert.equal((await ag.request({ type: 'login', ...AGENT })).type, 'welcome');
  assert.equal((await ag.request({ type: 'take', ticket: number })).type, 'ticket');
  assert.equal((await ag.request({ type: 'reply', ticket: number, text: '请问打印机型号是什么？' })).type, 'ack');

  // another browser (a fresh context: no storage) opens the link
  const b = await openPage(t);
  await b.page.goto(url);
  await connected(b.page);
  await b.page.waitForFunction(() => document.querySelectorAll('[data-testid=msg]').length >= 2);
  assert.deepEqual(await messages(b.page), ['me: 共享打印机一直显示脱机', 'agent: 请问打印机型号是什么？']);
  assert.equal(new URL(b.page.url()).search, '', 'the token leaves the address bar');
  assert.match(await b.page.getByTestId('ticket-number').textContent(), new RegExp(number));
  await say(b.page, 'HP LaserJet M404，在三楼');
  await until('the agent gets the message', () => ag.frames.find((f) => f.type === 'message' && f.text === 'HP LaserJet M404，在三楼'));
  // reloading keeps the conversation (the new session is kept in the tab)
  await b.page.reload();
  await connected(b.page);
  await b.page.waitForFunction(() => document.querySelectorAll('[data-testid=msg]').length >= 3);
  assert.deepEqual(b.problems, []);
  ag.ws.close();
});

test('a signed-in requester (code from the SMTP sink) sees the closed ticket with its rating in my tickets', { timeout: 120000 }, async (t) => {
  const email = 'li.hua@example.cn';
  const a = await openPage(t);
  await a.page.goto(base + '/');
  await a.page.getByTestId('name-input').fill('李华');
  await a.page.getByTestId('email-input').fill(email);
  await a.page.getByTestId('start-button').click();
  await connected(a.page);
  await say(a.page, 'Outlook 收不到新邮件');
  await a.page.getByTestId('escalate-toggle').click();
  await a.page.getByTestId('escalate-submit').click();
  await a.page.getByTestId('private-link').waitFor();
  const number = (await a.page.getByTestId('ticket-number').textContent()).match(/INC-\d+/)[0];
  // the agent resolves; the requester confirms and rates on the page
  const ag = await Client.open();
  await ag.request({ type: 'login', ...AGENT });
  await ag.request({ type: 'take', ticket: number });
  await ag.request({ type: 'resolve', ticket: number, resolution: '重建了 Outlook 配置文件。' });
  await a.page.getByTestId('confirm-yes').click();
  await a.page.getByTestId('star-4').check();
  await a.page.getByTestId('rating-comment').fill('很快解决了');
  await a.page.getByTestId('rate-submit').click();
  await a.page.getByTestId('rating-done').waitFor();
  await a.context.close();

  // a fresh browser: sign in with the mailed code
  const b = await openPage(t);
  await b.page.goto(base + '/');
  await b.page.getByTestId('start-signin').click();
  await b.page.getByTestId('signin-email').fill(email);
  const before = (await mailsTo(email)).filter((m) => /验证码/.test(m.subject)).length;
  await b.page.getByTestId('signin-send').click();
  const mail = await until('the sign-in mail', async () => (await mailsTo(email)).filter((m) => /验证码/.test(m.subject))[before]);
  const code = /验证码是：(\d{6})/.exec(mail.body)[1];
  // a wrong code first: a clear error, the dialog stays
  await b.page.getByTestId('signin-code').fill(code === '000000' ? '111111' : '000000');
  await b.page.getByTestId('signin-submit').click();
  await b.page.waitForFunction(() => /验证码不正确，还可以再试 4 次/.test(document.querySelector('[data-testid=signin-msg]').textContent));
  await b.page.getByTestId('signin-code').fill(code);
  await b.page.getByTestId('signin-submit').click();
  await b.page.getByTestId('signin-dialog').waitFor({ state: 'hidden' });
  await b.page.getByTestId('my-tickets-open').click();
  const item = b.page.locator(`[data-testid=my-ticket][data-number="${number}"]`);
  await item.waitFor();
  assert.equal(await item.getAttribute('data-status'), 'closed');
  assert.match(await item.getByTestId('my-ticket-resolution').textContent(), /重建了 Outlook 配置文件/);
  const rating = item.getByTestId('my-ticket-rating');
  assert.equal(await rating.getAttribute('data-score'), '4');
  assert.match(await rating.textContent(), /★★★★☆（很快解决了）/);
  assert.match(await item.textContent(), /Outlook 收不到新邮件/);
  assert.equal(await item.getByTestId('my-ticket-continue').count(), 0, 'a closed ticket cannot be continued');
  await b.page.screenshot({ path: SHOT });
  assert.deepEqual(b.problems, []);
  ag.ws.close();
});
