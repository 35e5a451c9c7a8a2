// Browser test of reading a suggestion in full inside the chat page
// (chatdesk/www/chat.js, its document reader) and of the reader's feedback:
// a real PostgreSQL (scripts/pg.sh), the real indexer (corpora/ indexed, and
// imported into PostgreSQL as published items), the real chatdesk on a free
// port of 127.0.0.1, headless Debian chromium (playwright-core). A requester
// gets a known error suggested, opens it in full without leaving the chat
// (its symptom, workaround and resolution shown), marks it helpful with a
// comment, and the agent's API read of the item shows the counters and the
// comment. Every wait is a condition, never a fixed sleep. Screenshot:
// /tmp/kbdesk-reader.png.
//
//   KB_BIN=build/bin node --test --test-reporter=tap tests/browser/kbuse.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mustRun } from '../e2e/daemon.mjs';
import { KB_BIN, openPage, startDesk, stopDesk } from './lib.mjs';

const AGENT = { username: 'owner', password: 'owner password 1' };
const WAIT = 20000; // ms, for each condition
const QUESTION = 'SSL VPN 客户端连接时提示服务器证书不受信任，继续连接后 30 秒就断开了';
const SHOT = '/tmp/kbdesk-reader.png'; // the reader open over the chat
const COMMENT = '按第 3 步安装根证书后可以连上了 <b>谢谢</b>';

const d = {};
let base, browser;

before(async () => {
  await startDesk(d, 'kbuse-browser', {
    agents: [AGENT],
    // the corpus as published desk items, owned by the agent: GET /api/v1/knowledge/{id} reads them
    prepare: (dd) => mustRun(path.join(KB_BIN, 'indexer'), ['import', '--corpus', 'corpora', '--db', dd.conninfo,
      '--owner', AGENT.username]),
  });
  ({ base, browser } = d);
}, { timeout: 300000 });

after(() => stopDesk(d), { timeout: 120000 });

async function api(method, p, { token, json } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (json !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(base + p, { method, headers, body: json === undefined ? undefined : JSON.stringify(json),
    signal: AbortSignal.timeout(WAIT) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null, text };
}

const text = (loc) => loc.textContent().then((s) => (s || '').trim());

test('a requester reads a known error in full inside the chat, marks it helpful with a comment; the agent sees it', { timeout: 180000 }, async (t) => {
  const agentTok = (await api('POST', '/api/v1/sessions', { json: AGENT })).body.token;
  assert.ok(agentTok);
  const before0 = await api('GET', '/api/v1/knowledge/KE-0001', { token: agentTok });
  assert.equal(before0.status, 200, before0.text);
  assert.deepEqual([before0.body.counters.opened, before0.body.counters.helpful, before0.body.feedback.length], [0, 0, 0]);

  const { page, problems } = await openPage(browser, t, { wait: WAIT });

  await page.goto(base + '/');
  await page.getByTestId('name-input').fill('李读者');
  await page.getByTestId('email-input').fill('li@example.cn');
  await page.getByTestId('start-button').click();
  await page.getByTestId('message-input').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid=conn-status]').dataset.state === 'open');
  await page.getByTestId('message-input').fill(QUESTION);
  await page.getByTestId('message-input').press('Enter');

  const card = page.getByTestId('suggestions').last().locator('[data-testid=suggestion][data-id="KE-0001"]');
  await card.waitFor();
  const url = page.url();
  await card.getByTestId('suggestion-read').click();

  // the reader: a modal dialog over the chat, the page not left
  const reader = page.getByTestId('reader');
  await reader.locator('[data-testid=reader-doc][data-id="KE-0001"]').waitFor();
  assert.equal(await reader.evaluate((d) => d.open && d.tagName), 'DIALOG');
  assert.equal(page.url(), url);
  assert.match(await text(reader.getByTestId('reader-title')), /SSL VPN 网关证书过期/);
  assert.match(await text(reader.getByTestId('reader-symptom')), /NET::ERR_CERT_DATE_INVALID/);
  assert.match(await text(reader.getByTestId('reader-cause')), /未按期续期/);
  const wa = reader.getByTestId('reader-workaround');
  assert.match(await text(wa), /临时解决方案/);
  assert.match(await text(wa), /内部 CA 签发的证书/);
  assert.equal(await wa.locator('ol > li').count(), 4, 'the numbered steps render as a list');
  assert.match(await text(reader.getByTestId('reader-resolution')), /CHG-2026-0142/);
  // the code block stays text
  assert.match(await text(reader.locator('[data-testid=reader-symptom] pre')), /openssl s_client/);

  await page.screenshot({ path: SHOT });
  // feedback with a comment (HTML in it stays text on the way back too)
  await reader.getByTestId('reader-comment').fill(COMMENT);
  await reader.getByTestId('reader-helpful').click();
  await reader.getByTestId('reader-feedback-done').waitFor();
  assert.match(await text(reader.getByTestId('reader-feedback-done')), /有帮助/);

  // back in the chat, the chat's own "did this help" is still to answer
  await reader.getByTestId('reader-close').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid=reader]').open);
  assert.equal(await card.getByTestId('helpful-yes').isEnabled(), true);
  assert.equal(await page.getByTestId('message-input').isVisible(), true);

  // the agent's API read of the item: the counters moved, the comment is there
  const item = await api('GET', '/api/v1/knowledge/KE-0001', { token: agentTok });
  assert.equal(item.status, 200, item.text);
  assert.equal(item.body.counters.opened, 1);
  assert.equal(item.body.counters.helpful, 1);
  assert.ok(item.body.counters.shown >= 1);
  assert.equal(item.body.counters.not_helpful, 0);
  assert.deepEqual(item.body.feedback.map((f) => [f.verdict, f.comment, f.by, f.by_role]),
    [['helpful', COMMENT, '李读者', 'requester']]);
  assert.deepEqual(problems, [], 'no page errors, console errors or dialogs');
});
