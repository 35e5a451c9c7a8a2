// Browser test of the knowledge workspace (chatdesk/www/knowledge.html):
// a real PostgreSQL (scripts/pg.sh), an index of corpora/ and the database
// kept up to date by a real `indexer follow`, a real searchd serving it, the
// real chatdesk serving the pages and the API on 127.0.0.1, and headless
// Debian chromium (playwright-core).
//
//   KB_BIN=build/bin node --test --test-reporter=tap tests/browser/knowledge.test.mjs
//
// An author writes an article in the editor (the preview renders Markdown;
// a <script>, an <img onerror> and a javascript: link in the source neither
// run nor reach the preview's DOM), saves twice, compares the versions and
// submits it; a reviewer approves and publishes it in the page, and searchd
// finds it within 5 s. Two pages editing one item: the second save shows
// the conflict and keeps its text. A resolved ticket becomes a draft from
// the agent page; an item's counters and feedback are shown when the API
// sends them. Every wait is a condition, never a fixed sleep.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as daemon from '../e2e/daemon.mjs';
import { wsClient as openWs } from '../e2e/desk.mjs';
import { startKnowledgeStack } from '../e2e/knowfix.mjs';
import { launchBrowser, noProblems, openPage as openPageOf } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const PG_SH = path.join(ROOT, 'scripts/pg.sh');
const WAIT = 20000; // ms, for each condition
const VISIBLE_WITHIN = 5000; // ms: publish to found in /search
const AUTHOR = { username: 'kwauthor', password: 'author password 1' };
const REVIEWER = { username: 'kwreviewer', password: 'reviewer password 1' };
const WORD = '孔雀门禁系统'; // in no corpus file

let tmp, pgdir, conninfo, index, chat, searchd, follower, base, sbase, agentToken, browser;

// programs run to their end (5 minutes at most), and daemons started and
// stopped (tests/e2e/daemon.mjs)
const run = (file, args, opts = {}) => daemon.run(file, args, { timeoutMs: 300000, ...opts });
const mustRun = (file, args, opts = {}) => daemon.mustRun(file, args, { timeoutMs: 300000, ...opts });
const start = (file, args, re, timeoutMs = 60000) => daemon.startProgram(file, args, re, timeoutMs);
const stop = daemon.stopDaemon;

async function api(method, p, { token, json, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (json !== undefined) h['content-type'] = 'application/json';
  const r = await fetch(base + p, { method, headers: h, body: json === undefined ? undefined : JSON.stringify(json),
    signal: AbortSignal.timeout(WAIT) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null, text };
}

async function login({ username, password }) {
  const r = await api('POST', '/api/v1/sessions', { json: { username, password } });
  assert.equal(r.status, 201, r.text);
  return r.body.token;
}

async function searchIds(q, token) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const r = await fetch(`${sbase}/search?${new URLSearchParams({ q, limit: '50' })}`, { headers, signal: AbortSignal.timeout(WAIT) });
  assert.equal(r.status, 200);
  return (await r.json()).hits.map((h) => h.id);
}

// A WebSocket client whose request(obj) resolves with the frame answering its id.
const wsClient = () => openWs(base.replace('http:', 'ws:') + '/ws', { wait: WAIT });

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kbkw-'));
  await chmod(tmp, 0o755); // the postgres user must enter it
  pgdir = path.join(tmp, 'pg');
  conninfo = (await mustRun(PG_SH, ['start', pgdir], { env: { PG_FSYNC: 'off' } })).trim().split('\n').pop();
  index = path.join(tmp, 'index');
  ({ agentToken, searchd, sbase, follower, chat, base } = await startKnowledgeStack({
    bin: BIN, conninfo, index, author: AUTHOR, reviewer: REVIEWER, mustRun, start }));
  browser = await launchBrowser();
}, { timeout: 300000 });

after(async () => {
  if (browser) await browser.close().catch(() => {});
  await stop(chat);
  await stop(follower);
  await stop(searchd);
  if (pgdir) await run(PG_SH, ['destroy', pgdir]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, { timeout: 60000 });

/* ---------- helpers ---------- */

/* A fresh context and page (lib.mjs openPage); console errors about the
 * WebSocket are not problems, nor those of the HTTP statuses allowed, which
 * the test provokes on purpose (a 412 is a console error in Chromium). */
const openPage = (t, allowed = []) => openPageOf(browser, t, { viewport: { width: 1400, height: 950 }, wait: WAIT,
  allowedConsole: new RegExp(['WebSocket', ...allowed.map((st) => `status of ${st} `)].join('|')) });
const text = (loc) => loc.textContent().then((s) => (s || '').trim());

async function kwLogin(page, who, hash = '') {
  await page.goto(`${base}/knowledge.html${hash}`);
  assert.equal(await page.evaluate(() => document.characterSet), 'UTF-8');
  await page.getByTestId('kw-username').fill(who.username);
  await page.getByTestId('kw-password').fill(who.password);
  await page.getByTestId('kw-login-button').click();
  await page.getByTestId('kw').waitFor();
}

const waitText = (page, testid, re) => page.waitForFunction(([id, src]) => {
  const e = document.querySelector(`[data-testid="${id}"]`);
  return e && new RegExp(src).test(e.textContent);
}, [testid, re.source]);

/* ---------- tests ---------- */

test('write in the editor (safe preview), save twice, diff, submit; a reviewer approves and publishes; found in 5 s', { timeout: 180000 }, async (t) => {
  const { page, problems } = await openPage(t);
  await kwLogin(page, AUTHOR);
  assert.equal(await page.getByTestId('kw-who').isVisible(), true);

  await page.getByTestId('kw-new-article').click();
  const title = `${WORD}刷卡无反应`;
  await page.getByTestId('kw-title').fill(title);
  await page.getByTestId('kw-category').fill('办公/门禁');
  await page.getByTestId('kw-tags').fill('门禁, 刷卡');
  const body = [
    '# 处理步骤', '',
    '- 检查读卡器指示灯', '- 重新插拔网线', '',
    '<script>window.__pwned = 1</script>', '',
    '<img src="x" onerror="window.__pwned = 2">', '',
    '[坏链接](javascript:window.__pwned=3) [好链接](https://example.org/guide) [邮件](mailto:desk@example.cn)', '',
    '![图标](favicon.svg)', '',
  ].join('\n');
  await page.getByTestId('kw-body').fill(body);

  const preview = page.getByTestId('kw-preview');
  // rendered Markdown: a heading and a two-item list
  await preview.locator('h1', { hasText: '处理步骤' }).waitFor();
  assert.deepEqual(await preview.locator('ul > li').allTextContents(), ['检查读卡器指示灯', '重新插拔网线']);
  // the one image that may load has loaded, so an <img onerror> would have fired by now
  await page.waitForFunction(() => {
    const img = document.querySelector('[data-testid=kw-preview] img[src="favicon.svg"]');
    return img && img.complete && img.naturalWidth > 0;
  });
  await page.waitForLoadState('networkidle');
  const dom = await preview.evaluate((p) => ({
    scripts: p.querySelectorAll('script').length,
    handlers: [...p.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => /^on/i.test(a.name))).length,
    imgs: [...p.querySelectorAll('img')].map((i) => i.getAttribute('src')),
    hrefs: [...p.querySelectorAll('a')].map((a) => a.getAttribute('href')),
    text: p.textContent,
  }));
  assert.equal(dom.scripts, 0, 'no <script> in the preview');
  assert.equal(dom.handlers, 0, 'no event handler attribute in the preview');
  assert.deepEqual(dom.imgs, ['favicon.svg'], 'only the Markdown image');
  assert.deepEqual(dom.hrefs, ['https://example.org/guide', 'mailto:desk@example.cn'], 'no javascript: link');
  assert.ok(dom.text.includes('<script>window.__pwned = 1</script>'), 'raw HTML shows as text');
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'nothing from the source ran');

  await page.screenshot({ path: '/tmp/kbdesk-knowledge.png', fullPage: true });
  // save: version 1, an id, the URL follows
  await page.getByTestId('kw-save').click();
  await waitText(page, 'kw-save-state', /第 1 版/);
  const id = await text(page.getByTestId('kw-id'));
  assert.match(id, /^KB-D\d{6}$/);
  assert.equal(new URL(page.url()).hash, `#${id}`);
  assert.equal(await text(page.getByTestId('kw-state')), '草稿');
  assert.match(await text(page.getByTestId('kw-owner')), /（我）/);
  // the second save: version 2
  await page.getByTestId('kw-body').fill(body.replace('- 重新插拔网线', '- 重新插拔网线\n- 联系物业重启控制器'));
  await page.getByTestId('kw-save').click();
  await waitText(page, 'kw-save-state', /第 2 版/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=kw-version-row]').length === 2);
  // the diff of 1 -> 2 shows the added line as an insertion and nothing deleted
  await page.getByTestId('kw-diff-button').click();
  await page.getByTestId('kw-diff-text').waitFor();
  const ins = await page.locator('[data-testid=kw-diff-text] ins').allTextContents();
  assert.ok(ins.join('').includes('联系物业重启控制器'), `inserted: ${ins}`);
  assert.equal(await page.locator('[data-testid=kw-diff-text] del').count(), 0);
  // the author is no reviewer: no approve / return
  assert.equal(await page.getByTestId('kw-approve').isVisible(), false);
  await page.getByTestId('kw-submit').click();
  await waitText(page, 'kw-state', /审核中/);
  assert.equal(await page.getByTestId('kw-approve').isVisible(), false);
  assert.equal(await page.getByTestId('kw-return').isVisible(), false);
  assert.equal(await page.getByTestId('kw-save').isDisabled(), true, 'in review: not editable');
  assert.equal(await page.getByTestId('kw-submit').isVisible(), false);
  // in the list, in review
  await page.getByTestId('kw-f-state').selectOption('in_review');
  await page.locator(`[data-testid=kw-row][data-id="${id}"]`).waitFor();
  noProblems(problems);

  // the reviewer: return needs a comment (said in the page, nothing sent), approve, publish
  const rv = await openPage(t);
  await kwLogin(rv.page, REVIEWER, `#${id}`);
  await waitText(rv.page, 'kw-id', new RegExp(id));
  await rv.page.getByTestId('kw-return').click();
  await waitText(rv.page, 'kw-msg', /意见/);
  assert.equal(await text(rv.page.getByTestId('kw-state')), '审核中');
  await rv.page.getByTestId('kw-approve').click();
  await waitText(rv.page, 'kw-state', /已批准/);
  assert.equal(await rv.page.getByTestId('kw-review-due').textContent(), '—');
  await rv.page.getByTestId('kw-publish').click();
  await waitText(rv.page, 'kw-state', /已发布/);
  const published = Date.now();
  assert.match(await text(rv.page.getByTestId('kw-review-due')), /\d/);
  // internal by default: searchd finds it with the agent token, within 5 s
  for (;;) {
    const ids = await searchIds(WORD, agentToken);
    if (ids.includes(id)) break;
    if (Date.now() - published > VISIBLE_WITHIN) assert.fail(`${id} not found within ${VISIBLE_WITHIN} ms: ${ids}\n${follower.log}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  console.log(`published in the page -> found by /search in ${Date.now() - published} ms`);
  assert.ok(!(await searchIds(WORD)).includes(id), 'internal: not found without the agent token');
  noProblems(rv.problems);

  // a refusal shows the API's message: the author tries to publish nothing new
  const r = await api('POST', `/api/v1/knowledge/${id}/publish`, { token: await login(AUTHOR), json: {} });
  assert.equal(r.status, 422);
});

test('two pages edit one item: the second save shows who saved which version, keeps its text, and can save on top', { timeout: 120000 }, async (t) => {
  const author = await login(AUTHOR);
  const c = await api('POST', '/api/v1/knowledge', { token: author,
    json: { kind: 'known_error', title: `${WORD}离线`, visibility: 'internal', symptom: '控制器离线', status: 'open' } });
  assert.equal(c.status, 201, c.text);
  const id = c.body.id;
  const a = await openPage(t);
  const b = await openPage(t, [412]);
  await kwLogin(a.page, AUTHOR, `#${id}`);
  await kwLogin(b.page, REVIEWER, `#${id}`);
  for (const p of [a.page, b.page]) await waitText(p, 'kw-id', new RegExp(id));
  assert.equal(await a.page.getByTestId('kw-symptom').inputValue(), '控制器离线');

  await a.page.getByTestId('kw-cause').fill('交换机端口被误关闭');
  await a.page.getByTestId('kw-save').click();
  await waitText(a.page, 'kw-save-state', /第 2 版/);

  const mine = '控制器离线，门禁面板显示 E-17，我的修改';
  await b.page.getByTestId('kw-symptom').fill(mine);
  await b.page.getByTestId('kw-save').click();
  await b.page.getByTestId('kw-conflict').waitFor();
  const msg = await text(b.page.getByTestId('kw-conflict-text'));
  assert.match(msg, new RegExp(`${AUTHOR.username}.*第 2 版.*第 1 版`), msg);
  assert.equal(await b.page.getByTestId('kw-symptom').inputValue(), mine, 'nothing typed is lost');
  let v = await api('GET', `/api/v1/knowledge/${id}`, { token: author });
  assert.equal(v.body.version, 2, 'the stale save wrote nothing');
  // a reload keeps the typed text too
  await b.page.reload();
  await waitText(b.page, 'kw-id', new RegExp(id));
  await waitText(b.page, 'kw-save-state', /未保存/);
  assert.equal(await b.page.getByTestId('kw-symptom').inputValue(), mine);
  await b.page.getByTestId('kw-save').click();
  await b.page.getByTestId('kw-conflict').waitFor();
  // compare, then save on top of the latest
  await b.page.getByTestId('kw-conflict-compare').click();
  await b.page.getByTestId('kw-diff-text').waitFor();
  assert.ok((await b.page.locator('[data-testid=kw-diff-text] ins').allTextContents()).join('').includes('E-17'));
  await b.page.getByTestId('kw-conflict-rebase').click();
  await waitText(b.page, 'kw-save-state', /第 3 版/);
  v = await api('GET', `/api/v1/knowledge/${id}`, { token: author });
  assert.equal(v.body.version, 3);
  assert.equal(v.body.document.symptom, mine);
  noProblems(a.problems);
  noProblems(b.problems);
});

test('a resolved ticket becomes a draft from the agent page and opens in the workspace', { timeout: 120000 }, async (t) => {
  const rq = await wsClient();
  const w = await rq.request({ type: 'hello', name: '门禁用户', email: 'door@example.cn' });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  assert.equal((await rq.request({ type: 'message', text: `${WORD}的读卡器一直闪红灯` })).type, 'ack');
  const tk = await rq.request({ type: 'escalate', impact: 2, urgency: 2, summary: `${WORD}读卡器闪红灯` });
  assert.equal(tk.type, 'ticket', JSON.stringify(tk));

  const { page, problems } = await openPage(t);
  await page.goto(`${base}/agent.html`);
  await page.getByTestId('login-username').fill(AUTHOR.username);
  await page.getByTestId('login-password').fill(AUTHOR.password);
  await page.getByTestId('login-button').click();
  await page.getByTestId('desk').waitFor();
  const item = page.locator(`[data-testid=queue-item][data-number="${tk.number}"]`);
  await item.getByTestId('take-button').click();
  await waitText(page, 'ticket-number', new RegExp(tk.number));
  assert.equal(await page.getByTestId('ticket-knowledge').isVisible(), false, 'not while the ticket is open');
  await page.getByTestId('resolution-input').waitFor({ state: 'visible' });
  await page.waitForFunction(() => !document.querySelector('[data-testid=resolution-input]').disabled);
  await page.getByTestId('resolution-input').fill('读卡器固件回滚到 2.1 版后恢复。');
  await page.getByTestId('resolve-button').click();
  await page.getByTestId('ticket-knowledge').waitFor();
  await page.getByTestId('ticket-kb-article').click();
  await page.waitForURL(/knowledge\.html#KB-D\d{6}$/);
  await waitText(page, 'kw-source-ticket', new RegExp(tk.number));
  assert.equal(await page.getByTestId('kw-title').inputValue(), `${WORD}读卡器闪红灯`);
  const src = await page.getByTestId('kw-body').inputValue();
  assert.ok(src.includes(`> ${WORD}的读卡器一直闪红灯`) && src.includes('固件回滚'), src);
  // the preview renders the quote
  await page.locator('[data-testid=kw-preview] blockquote', { hasText: '闪红灯' }).waitFor();
  assert.equal(await text(page.getByTestId('kw-state')), '草稿');
  // the item JSON carries its use counters (knowledge_use): the usage section shows them
  await page.getByTestId('kw-usage').waitFor();
  // when the API sends them (the item answer extended in flight), they are
  // shown, a feedback comment as text
  const id = await text(page.getByTestId('kw-id'));
  await page.route(`**/api/v1/knowledge/${id}`, async (route) => {
    const res = await route.fetch();
    const item = await res.json();
    item.counters = { shown: 12, opened: 5, helpful: 3, not_helpful: 1, out_of_date: 0, linked: 2, self_solved: 1 };
    item.feedback = [{ verdict: 'out_of_date', comment: '<img src=x onerror="window.__pwned=4">固件已更新', at: 1767225600, by: '王小明' }];
    await route.fulfill({ response: res, json: item });
  });
  await page.reload();
  await page.getByTestId('kw-usage').waitFor();
  assert.equal(await text(page.getByTestId('kw-counter-shown')), '12');
  assert.equal(await text(page.getByTestId('kw-counter-self_solved')), '1');
  const fb = page.getByTestId('kw-feedback-item');
  assert.match(await text(fb), /已过时.*王小明/);
  assert.ok((await text(fb)).includes('<img src=x onerror="window.__pwned=4">固件已更新'));
  assert.equal(await page.locator('[data-testid=kw-feedback] img').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  rq.close();
  noProblems(problems);
});
