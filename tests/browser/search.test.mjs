// Browser test of searchd's search page (searchd/www): the real indexer
// builds an index of corpora/ in a temporary folder, the real searchd serves
// it and the page on 127.0.0.1 (a free port), and headless Debian chromium
// (playwright-core) drives the page.
//
//   KB_BIN=build/bin node --test --test-reporter=tap tests/browser/search.test.mjs
//
// Every wait is a condition (waitFor / waitForFunction), never a fixed sleep.
// A screenshot of the desktop layout goes to /tmp/kbdesk-search.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT, KB_BIN, startDaemon, stopProc, launchBrowser, openPage as open, noProblems } from './lib.mjs';
const TOKEN = 'browser-test-agent-token-7f3a9c';
const SHOT = '/tmp/kbdesk-search.png';
const WAIT = 15000; // ms, for each condition

let tmp;
let searchd;
let base;
let browser;

/* ---------- the daemon ---------- */

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kbdesk-browser-'));
  const index = path.join(tmp, 'index');
  await promisify(execFile)(path.join(KB_BIN, 'indexer'),
    ['build', '--quiet', '--corpus', 'corpora', '--index', index], { cwd: ROOT, timeout: 300000 });
  const started = await startDaemon(path.join(KB_BIN, 'searchd'), [
    '--index', index, '--listen', '127.0.0.1:0', '--www', path.join(ROOT, 'searchd', 'www'),
    '--agent-token', TOKEN, '--threads', '2',
  ]);
  searchd = started.proc;
  base = started.url;
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  await stopProc(searchd);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/* ---------- helpers ---------- */

/* A fresh page (lib.mjs); a 4xx answer the test asked for is logged as
 * "Failed to load resource". */
const openPage = (t, viewport) => open(browser, t, { viewport, wait: WAIT, allowedConsole: /Failed to load resource/ });

async function api(p) {
  const r = await fetch(base + p);
  assert.equal(r.status, 200, `GET ${p}`);
  return r.json();
}

/* Waits until the search for the URL's state has been answered and drawn. */
function searchDone(page) {
  return page.waitForFunction(() => {
    const res = document.getElementById('results');
    return !res.hasAttribute('aria-busy') && document.getElementById('status').textContent !== '';
  });
}

const urlParam = (page, k) => new URL(page.url()).searchParams.get(k);
const text = (loc) => loc.textContent().then((s) => (s || '').trim());

function waitDocTitle(page, title) {
  return page.waitForFunction((t) => {
    const h = document.querySelector('[data-testid=doc-view]:not([hidden]) [data-testid=doc-title]');
    return h && h.textContent === t;
  }, title);
}

/* Waits until <html lang> is l (after a language switch reloaded the page). */
const langIs = (page, l) => page.waitForFunction((x) => document.documentElement.lang === x, l);

/* The expected citation: std_code (or std_title when there is no code), clause, heading. */
const citationOf = (d) => `${d.std_code || d.std_title} ${d.clause} ${d.heading}`;

/* ---------- tests ---------- */

test('search with completions, standards filter, clause view, parent link, back and reload', async (t) => {
  const { page, problems } = await openPage(t);
  await page.goto(base + '/');
  const input = page.getByTestId('search-input');
  await input.waitFor();
  assert.equal(await page.evaluate(() => document.characterSet), 'UTF-8');
  await page.getByTestId('std-list').locator('li a').first().waitFor(); // /standards answered

  // completions as you type; pick a title completion with the keyboard
  await input.click();
  await input.pressSequentially('服务台');
  const items = page.getByTestId('suggestion-item');
  await items.first().waitFor();
  assert.equal(await input.getAttribute('aria-expanded'), 'true');
  const kinds = await items.evaluateAll((els) => els.map((e) => e.dataset.kind));
  const ti = kinds.indexOf('title');
  assert.ok(ti >= 0, `a title completion for 服务台 (got ${kinds.join(',')})`);
  for (let i = 0; i <= ti; i++) await page.keyboard.press('ArrowDown');
  const chosen = items.nth(ti);
  assert.equal(await chosen.getAttribute('aria-selected'), 'true');
  assert.equal(await input.getAttribute('aria-activedescendant'), await chosen.getAttribute('id'));
  const chosenText = await text(chosen.locator('.sug-text'));
  await page.keyboard.press('Enter');
  await page.getByTestId('doc-title').waitFor();
  await page.waitForFunction((s) => document.querySelector('[data-testid=doc-title]').textContent.includes(s), chosenText);
  const chosenId = urlParam(page, 'doc');
  assert.ok(chosenId, 'the chosen completion is in the URL');
  assert.equal(urlParam(page, 'q'), '服务台');
  assert.equal(await items.count(), 0, 'completions closed');
  const chosenTitle = await text(page.getByTestId('doc-title'));
  await searchDone(page);
  assert.ok((await page.getByTestId('result-item').count()) > 0, 'results for 服务台');
  assert.match(await text(page.getByTestId('result-status')), /共 \d+ 条结果.*用时 [\d.]+ 毫秒/);

  // filter to standard clauses
  await page.getByTestId('kind-standard').click();
  await page.waitForFunction(() => {
    const hits = [...document.querySelectorAll('[data-testid=result-item]')];
    return new URL(location.href).searchParams.get('kind') === 'standard'
      && !document.getElementById('results').hasAttribute('aria-busy')
      && hits.length > 0 && hits.every((h) => h.dataset.kind === 'standard');
  });
  assert.equal(await page.getByTestId('kind-standard').getAttribute('aria-pressed'), 'true');
  assert.equal(await page.getByTestId('kind-all').getAttribute('aria-pressed'), 'false');
  const badges = await page.getByTestId('kind-badge').allTextContents();
  assert.ok(badges.length > 0 && badges.every((b) => b === '标准条款'), `only standard badges: ${badges}`);
  const marks = await page.locator('[data-testid=result-item] [data-testid=snippet] mark').allTextContents();
  assert.ok(marks.length > 0, 'highlighted matches in the snippets');
  assert.ok(marks.some((m) => '服务台'.includes(m) || m.includes('服务台')), `a highlight of 服务台: ${marks}`);
  const onlyMarks = await page.locator('[data-testid=snippet]').evaluateAll((els) =>
    els.every((e) => [...e.querySelectorAll('*')].every((c) => c.tagName === 'MARK' && c.children.length === 0)));
  assert.ok(onlyMarks, 'snippets hold only text and <mark>');
  assert.ok(urlParam(page, 'doc'), 'the open document stays open while filtering');

  // open a clause that has a parent
  const ids = await page.getByTestId('result-item').evaluateAll((els) => els.map((e) => e.dataset.id));
  const clauseId = ids.find((id) => id !== chosenId && id.slice(id.lastIndexOf(':') + 1).includes('.'));
  assert.ok(clauseId, `a sub-clause among ${ids}`);
  const doc = await api('/doc/' + clauseId);
  const nav = await api('/nav/' + clauseId);
  assert.ok(nav.parent, 'the clause has a parent');
  await page.locator(`[data-testid=result-item][data-id="${clauseId}"] [data-testid=result-link]`).click();
  await waitDocTitle(page, doc.title);
  assert.equal(urlParam(page, 'doc'), clauseId);
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'doc-title', 'focus moves to the document');
  const crumbs = await page.getByTestId('breadcrumbs').locator('li').allTextContents();
  assert.deepEqual(crumbs, [doc.std_code || doc.std_title, ...doc.path.split(' > '), `${doc.clause} ${doc.heading}`]);
  assert.equal(await text(page.getByTestId('citation')), citationOf(doc));
  assert.equal(await text(page.getByTestId('nav-parent')), `${nav.parent.clause} ${nav.parent.heading}`);
  assert.equal(await page.locator(`[data-testid=result-item][data-id="${clauseId}"] a[aria-current=true]`).count(), 1);
  await page.screenshot({ path: SHOT });

  // the parent link moves up the standard
  const parent = await api('/doc/' + nav.parent.id);
  await page.getByTestId('nav-parent').click();
  await waitDocTitle(page, parent.title);
  assert.ok(parent.title.includes(nav.parent.heading));
  assert.equal(urlParam(page, 'doc'), nav.parent.id);
  assert.equal(await text(page.getByTestId('citation')), citationOf(parent));

  // back: the clause, then the completion's document with the filter, then no filter
  await page.goBack();
  await waitDocTitle(page, doc.title);
  assert.equal(await text(page.getByTestId('citation')), citationOf(doc));
  await page.goBack();
  await waitDocTitle(page, chosenTitle);
  assert.equal(urlParam(page, 'kind'), 'standard');
  assert.equal(await page.getByTestId('kind-standard').getAttribute('aria-pressed'), 'true');
  await page.goBack();
  await page.waitForFunction(() => document.querySelector('[data-testid=kind-all]').getAttribute('aria-pressed') === 'true');
  await searchDone(page);
  assert.equal(urlParam(page, 'kind'), null);
  await waitDocTitle(page, chosenTitle);
  assert.equal(await input.inputValue(), '服务台');
  // forward again, then reload: the state comes back from the URL
  await page.goForward();
  await page.goForward();
  await waitDocTitle(page, doc.title);
  await page.reload();
  await waitDocTitle(page, doc.title);
  await searchDone(page);
  assert.equal(await input.inputValue(), '服务台');
  assert.equal(await page.getByTestId('kind-standard').getAttribute('aria-pressed'), 'true');
  noProblems(problems);
});

test('a term completion chosen with the mouse searches it; Esc closes the list', async (t) => {
  const { page, problems } = await openPage(t);
  await page.goto(base + '/');
  const input = page.getByTestId('search-input');
  await input.click();
  await input.pressSequentially('服务台');
  const items = page.getByTestId('suggestion-item');
  await items.first().waitFor();
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => document.getElementById('suggest-list').hidden);
  assert.equal(await input.inputValue(), '服务台', 'Esc keeps what was typed');
  await page.keyboard.press('ArrowDown'); // reopens
  await items.first().waitFor();
  const n = await items.count();
  const terms = await page.locator('[data-testid=suggestion-item][data-kind=term]').count();
  assert.ok(terms > 0, `a term completion among ${n}`);
  const termText = await text(page.locator('[data-testid=suggestion-item][data-kind=term] .sug-text').first());
  await page.locator('[data-testid=suggestion-item][data-kind=term]').first().click();
  await searchDone(page);
  assert.equal(urlParam(page, 'q'), termText);
  assert.equal(await input.inputValue(), termText);
  assert.equal(urlParam(page, 'doc'), null);
  noProblems(problems);
});

test('citation of a clause, copy button, clause with no standard code', async (t) => {
  const { context, page, problems } = await openPage(t);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  await page.goto(base + '/?doc=' + encodeURIComponent('std-db21t1799.1:8.2.2.2'));
  await waitDocTitle(page, '8.2.2.2 服务等级协议内容');
  assert.equal(await text(page.getByTestId('citation')), 'DB21/T 1799.1—XXXX 8.2.2.2 服务等级协议内容');
  const crumbs = await page.getByTestId('breadcrumbs').locator('li').allTextContents();
  assert.deepEqual(crumbs, ['DB21/T 1799.1—XXXX', '8 信息服务管理过程', '8.2 服务水平管理', '8.2.2 服务等级协议', '8.2.2.2 服务等级协议内容']);
  assert.equal(await text(page.getByTestId('nav-parent')), '8.2.2 服务等级协议');
  await page.getByTestId('copy-citation').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=copy-citation]').textContent === '已复制');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'DB21/T 1799.1—XXXX 8.2.2.2 服务等级协议内容');

  // a breadcrumb link opens that level
  await page.getByTestId('breadcrumbs').getByText('8.2 服务水平管理').click();
  await waitDocTitle(page, '8.2 服务水平管理');
  const kids = await page.getByTestId('nav-child').allTextContents();
  assert.ok(kids.includes('8.2.2 服务等级协议'), `children of 8.2: ${kids}`);

  await page.goto(base + '/?doc=' + encodeURIComponent('std-s004:8.3.4.1'));
  await waitDocTitle(page, '8.3.4.1 要求');
  assert.equal(await text(page.getByTestId('citation')), '信息技术服务运行维护通用要求用户实施规范 8.3.4.1 要求');
  noProblems(problems);
});

test('HTML in a query, an id, a snippet or a document is shown as text', async (t) => {
  const { page, problems } = await openPage(t);
  const evil = '<img src=x onerror=alert(1)>';
  await page.goto(base + '/');
  const input = page.getByTestId('search-input');
  await input.fill(evil);
  await input.press('Enter');
  await page.waitForFunction((q) => new URL(location.href).searchParams.get('q') === q, evil);
  await searchDone(page);
  assert.ok((await text(page.getByTestId('result-status'))).includes(evil), 'the query is shown as text');
  assert.ok((await page.title()).includes(evil));
  assert.equal(await page.locator('img[src="x"]').count(), 0, 'no element injected');
  assert.equal(await page.locator('img').count(), 1, 'only the logo');

  // an id in the URL
  await page.goto(base + '/?doc=' + encodeURIComponent('"><img src=y onerror=alert(2)>'));
  await page.getByTestId('doc-error').waitFor();
  assert.ok((await text(page.getByTestId('doc-error'))).includes('<img src=y onerror=alert(2)>'));
  assert.equal(await page.locator('img[src="y"]').count(), 0);

  // a snippet: only <mark> is markup, entities are decoded once
  await page.route(/\/search\?/, async (route) => {
    const resp = await route.fetch();
    const body = await resp.json();
    if (body.hits && body.hits.length) {
      body.hits[0].snippet = 'A &lt;b&gt;bold&lt;/b&gt; <mark>VPN</mark> &amp;lt; <img src=z onerror=alert(3)> &quot;q&quot; &#39;s&#39;';
      body.hits[0].title = '<script>alert(4)</script>标题';
    }
    await route.fulfill({ response: resp, json: body });
  });
  await page.goto(base + '/?q=VPN');
  await searchDone(page);
  const first = page.getByTestId('result-item').first();
  assert.equal(await text(first.getByTestId('snippet')), 'A <b>bold</b> VPN &lt; <img src=z onerror=alert(3)> "q" \'s\'');
  assert.deepEqual(await first.locator('[data-testid=snippet] *').evaluateAll((els) => els.map((e) => e.outerHTML)), ['<mark>VPN</mark>']);
  assert.equal(await text(first.getByTestId('result-link')), '<script>alert(4)</script>标题');
  assert.equal(await page.locator('img[src="z"], #results script, #results b').count(), 0);
  await page.unroute(/\/search\?/);

  // a document whose body holds markup (an XML site list in a code block)
  await page.goto(base + '/?doc=KB-0058');
  await page.getByTestId('doc-title').waitFor();
  assert.ok((await text(page.getByTestId('doc-body'))).includes('<site-list version="12">'));
  assert.equal(await page.locator('site-list, site, compat-mode').count(), 0);
  noProblems(problems);
});

test('known error sections, pagination, category filter, spelling, inline API errors', async (t) => {
  const { page, problems } = await openPage(t);
  await page.goto(base + '/?doc=KE-0017');
  await page.getByTestId('doc-title').waitFor();
  const sections = await page.locator('[data-testid=ke-section] > h3').allTextContents();
  assert.deepEqual(sections, ['症状', '原因', '临时解决方案', '解决方案']);

  await page.goto(base + '/?q=VPN');
  await searchDone(page);
  assert.equal(await page.getByTestId('result-item').count(), 10);
  assert.equal(await page.getByTestId('pager').isVisible(), true);
  await page.getByTestId('next-page').click();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('offset') === '10'
    && /第 11–/.test(document.getElementById('status').textContent));
  await page.goBack();
  await page.waitForFunction(() => /第 1–/.test(document.getElementById('status').textContent));

  const kes = page.locator('[data-testid=result-item][data-kind=known_error]');
  await page.getByTestId('kind-known_error').click();
  await page.waitForFunction(() => {
    const hits = [...document.querySelectorAll('[data-testid=result-item]')];
    return hits.length > 0 && hits.every((h) => h.dataset.kind === 'known_error');
  });
  assert.ok((await kes.first().getByTestId('ke-status').count()) === 1, 'a known error shows its status');

  // a category from the facets (a whole level), then clearing the filters
  await page.goto(base + '/?q=VPN');
  await searchDone(page);
  const options = await page.getByTestId('category-filter').locator('option').evaluateAll((els) => els.map((o) => o.value));
  assert.ok(options.includes('网络') && options.includes('网络/VPN'), `category levels offered: ${options}`);
  await page.getByTestId('category-filter').selectOption('网络');
  await page.waitForFunction(() => {
    const hits = [...document.querySelectorAll('[data-testid=result-item]')];
    return new URL(location.href).searchParams.get('category') === '网络'
      && !document.getElementById('results').hasAttribute('aria-busy')
      && hits.length > 0 && hits.every((h) => h.querySelector('.hit-meta').textContent.startsWith('网络'));
  });
  await page.getByTestId('clear-filters').click();
  await page.waitForFunction(() => new URL(location.href).search === '?q=VPN'
    && document.querySelector('[data-testid=category-filter]').value === '');
  assert.equal(await page.getByTestId('clear-filters').isVisible(), false);

  // a misspelt query that matched nothing is answered for the correction
  await page.goto(base + '/?q=outlok');
  await searchDone(page);
  assert.match(await text(page.getByTestId('notice')), /已显示 outlook 的结果/);
  assert.ok((await page.getByTestId('result-item').count()) > 0);
  // "did you mean": the link searches the suggestion (the answer is rewritten to carry one)
  await page.route(/\/search\?/, async (route) => {
    const resp = await route.fetch();
    const body = await resp.json();
    if (body.query === 'VPN 连接') { body.suggestion = 'VPN 连接失败'; body.corrected = null; }
    await route.fulfill({ response: resp, json: body });
  });
  await page.goto(base + '/?q=' + encodeURIComponent('VPN 连接'));
  await searchDone(page);
  assert.equal(await text(page.getByTestId('notice')), '您是不是要找：VPN 连接失败');
  await page.getByTestId('suggestion-link').click();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('q') === 'VPN 连接失败');
  await searchDone(page);
  assert.equal(await page.getByTestId('search-input').inputValue(), 'VPN 连接失败');
  await page.unroute(/\/search\?/);

  // an error from the API is shown in the page
  await page.goto(base + '/?q=VPN&offset=20000');
  await page.getByTestId('search-error').waitFor();
  assert.match(await text(page.getByTestId('search-error')), /^搜索失败：.+/);
  await page.goto(base + '/?doc=KB-does-not-exist');
  await page.getByTestId('doc-error').waitFor();
  noProblems(problems);
});

test('agent token shows internal documents', async (t) => {
  const { page, problems } = await openPage(t);
  await page.goto(base + '/?doc=KB-0033'); // visibility: internal
  await page.getByTestId('doc-error').waitFor();
  await page.getByTestId('token-toggle').click();
  await page.getByTestId('token-input').fill(TOKEN);
  await page.getByTestId('token-input').press('Enter');
  await page.getByTestId('doc-title').waitFor();
  assert.equal(await page.getByTestId('doc-error').isVisible(), false);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('kbdesk.agentToken')), TOKEN);
  assert.ok((await text(page.getByTestId('doc-view'))).includes('内部'));
  noProblems(problems);
});

test('an internal id named in a public document is plain text without the token, a link with it', async (t) => {
  // KB-0044 (public) says "see KB-0045", an internal article
  const { page, problems } = await openPage(t);
  const doc = await (await fetch(base + '/doc/KB-0044')).json();
  assert.ok(doc.body.includes('KB-0045') && !doc.refs.includes('KB-0045'), JSON.stringify(doc.refs));
  await page.goto(base + '/?doc=KB-0044');
  await page.getByTestId('doc-title').waitFor();
  assert.ok((await text(page.getByTestId('doc-body'))).includes('KB-0045'));
  assert.equal(await page.locator('a[data-doc="KB-0045"]').count(), 0);
  await page.getByTestId('token-toggle').click();
  await page.getByTestId('token-input').fill(TOKEN);
  await page.getByTestId('token-input').press('Enter');
  await page.locator('a[data-doc="KB-0045"]').waitFor();
  await page.locator('a[data-doc="KB-0045"]').click();
  await page.getByTestId('doc-title').filter({ hasText: 'pg_hba' }).waitFor();
  noProblems(problems);
});

test('360 px wide: no horizontal scrolling, the document replaces the list', async (t) => {
  const { page, problems } = await openPage(t, { width: 360, height: 740 });
  await page.goto(base + '/?q=' + encodeURIComponent('服务台'));
  await searchDone(page);
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok((await overflow()) <= 0, 'results fit');
  await page.getByTestId('result-link').first().click();
  await page.getByTestId('doc-title').waitFor();
  assert.equal(await page.locator('#results').isVisible(), false);
  assert.ok((await overflow()) <= 0, 'the document fits');
  await page.getByTestId('doc-close').click();
  await page.getByTestId('result-item').first().waitFor();
  assert.equal(urlParam(page, 'doc'), null);
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'result-link', 'focus back on the result');
  // the English labels (longer) fit too
  await page.getByTestId('lang-en').click();
  await langIs(page, 'en');
  await searchDone(page);
  assert.ok((await overflow()) <= 0, 'English results fit');
  await page.getByTestId('result-link').first().click();
  await page.getByTestId('doc-title').waitFor();
  assert.ok((await overflow()) <= 0, 'the document fits in English');
  await page.screenshot({ path: '/tmp/kbdesk-search-en-360.png', fullPage: false });
  noProblems(problems);
});

/* ---------- Markdown bodies (markdown-it + DOMPurify) ---------- */

/* Serves doc's answer with body and refs replaced (the rest is searchd's). */
function rewriteDoc(page, id, body, refs) {
  return page.route((u) => u.pathname === '/doc/' + id, async (route) => {
    const resp = await route.fetch();
    const json = await resp.json();
    json.body = body;
    json.refs = refs;
    await route.fulfill({ response: resp, json });
  });
}

test('a document body: headings below the title, a table, code blocks, lists, ids linked from refs only', async (t) => {
  const { page, problems } = await openPage(t);
  // a corpus article: "## 现象" under the h2 title, a table, a code block inside an ordered list
  const real = await api('/doc/KB-0004');
  await page.goto(base + '/?doc=KB-0004');
  await waitDocTitle(page, real.title);
  const body = page.getByTestId('doc-body');
  assert.deepEqual((await body.locator('h3').allTextContents()).slice(0, 3), ['现象', '原因', '处理步骤']);
  assert.equal(await body.locator('h1, h2').count(), 0, 'no heading at or above the title');
  assert.deepEqual(await body.locator('div.table-wrap > table > thead th').allTextContents(), ['VPN Type', '端口 / 协议']);
  assert.equal(await body.locator('div.table-wrap > table > tbody > tr').count(), 4);
  assert.match(await text(body.locator('ol > li pre.code > code').first()), /^Test-NetConnection fj-vpn\.example\.gov\.cn -Port 443$/);
  assert.equal(await body.locator('ol').first().locator(':scope > li').count(), 3);
  assert.equal(await body.locator('blockquote').count(), 1);
  for (const id of ['KB-0001', 'KB-0003']) {
    assert.ok(real.refs.includes(id), `${id} in refs ${real.refs}`);
    assert.equal(await body.locator(`a[data-doc="${id}"]`).count(), 1, `${id} is a link`);
  }

  // a body written for the test: every construct, and ids in text, code, a link and outside refs
  const md = [
    '# 一级', '', '## 二级', '', '### 三级', '', '#### 四级', '',
    '第一行 *强调* **加粗**', '第二行见 KB-0001 与 KE-0002，又见 KB-0099。', '',
    '- 项目一', '- 项目二 `KB-0001`', '  - 子项', '',
    '3. 第三步', '4. 第四步', '',
    '| 列 A | 列 B |', '| :--- | ---: |', '| a1 | KE-0002 |', '',
    '```xml', '<site-list version="12">KB-0001</site-list>', '```', '',
    '> 引用 [KB-0001 的说明](https://example.invalid/kb)', '',
    '地址 https://example.invalid/auto 自动成为链接，文件名 install.sh 不会。', '',
  ].join('\n');
  await rewriteDoc(page, 'KB-0044', md, ['KB-0001', 'KE-0002']);
  const doc44 = await api('/doc/KB-0044');
  await page.goto(base + '/?doc=KB-0044');
  await waitDocTitle(page, doc44.title);
  assert.deepEqual(await body.locator('h3, h4, h5, h6').evaluateAll((els) => els.map((e) => `${e.tagName}:${e.textContent}`)),
    ['H3:一级', 'H3:二级', 'H4:三级', 'H5:四级']);
  assert.equal(await text(body.locator('p em')), '强调');
  assert.equal(await text(body.locator('p strong')), '加粗');
  assert.equal(await body.locator('p br').count(), 1, 'a line break in a paragraph stays one');
  assert.deepEqual(await body.locator('ul > li').evaluateAll((els) => els.map((e) => e.firstChild.textContent.trim())), ['项目一', '项目二', '子项']);
  assert.equal(await body.locator('ul ul > li').count(), 1, 'a nested list');
  assert.equal(await body.locator('ol').getAttribute('start'), '3');
  assert.deepEqual(await body.locator('ol > li').allTextContents(), ['第三步', '第四步']);
  assert.equal(await body.locator('div.table-wrap > table th[scope=col]').count(), 2);
  assert.equal(await body.locator('td.al-right').count(), 1, 'alignment as a class');
  assert.equal(await page.locator('#doc [style]').count(), 0, 'no style attribute (CSP)');
  assert.equal(await text(body.locator('pre.code > code')), '<site-list version="12">KB-0001</site-list>');
  assert.equal(await page.locator('#doc site-list').count(), 0);
  // KB-0001: linked once (the paragraph), not in inline code, the code block or inside the other link
  assert.equal(await body.locator('a[data-doc="KB-0001"]').count(), 1);
  assert.equal(await body.locator('p > a[data-doc="KB-0001"]').count(), 1);
  assert.equal(await body.locator('code a, pre a, a a').count(), 0);
  assert.equal(await body.locator('td a[data-doc="KE-0002"]').count(), 1, 'an id in a table cell');
  assert.equal(await body.locator('a[data-doc="KB-0099"]').count(), 0, 'an id outside refs stays text');
  assert.ok((await text(body)).includes('KB-0099'));
  const ext = body.locator('blockquote a');
  assert.equal(await ext.getAttribute('href'), 'https://example.invalid/kb');
  assert.equal(await ext.getAttribute('rel'), 'noopener noreferrer nofollow');
  assert.deepEqual(await body.locator('a:not([data-doc])').evaluateAll((els) => els.map((a) => a.getAttribute('href'))),
    ['https://example.invalid/kb', 'https://example.invalid/auto'], 'an address with a scheme is linked, a file name is not');
  // an id link opens that document in place
  const ke = await api('/doc/KE-0002');
  await body.locator('p > a[data-doc="KE-0002"]').click();
  await waitDocTitle(page, ke.title);
  assert.equal(urlParam(page, 'doc'), 'KE-0002');
  noProblems(problems);
});

test('hostile Markdown in a body renders inert: raw HTML is text, javascript: and data: links are not links', async (t) => {
  const { page, problems } = await openPage(t);
  const md = [
    '<img src=x onerror=alert(1)>', '',
    '<script>alert(2)</script>', '',
    'inline <img src=y onerror=alert(3)> and <b onclick=alert(4)>b</b>', '',
    '[one](javascript:alert(5)) [two](JaVaScRiPt:alert(6)) [three](java&#115;cript:alert(7)) <javascript:alert(8)>', '',
    '[four](data:text/html;base64,PHNjcmlwdD5hbGVydCg5KTwvc2NyaXB0Pg==) [five](vbscript:msgbox)', '',
    '<a href="javascript:alert(10)">raw link</a> <style>body{display:none}</style> <iframe src="/"></iframe>', '',
    '| <img src=z onerror=alert(11)> | [six](javascript:alert(12)) |', '| --- | --- |', '| x | y |', '',
    '[safe](https://example.invalid/ok) [rel](/?q=VPN)',
  ].join('\n');
  await rewriteDoc(page, 'KB-0044', md, []);
  const doc44 = await api('/doc/KB-0044');
  await page.goto(base + '/?doc=KB-0044');
  await waitDocTitle(page, doc44.title);
  const body = page.getByTestId('doc-body');
  const shown = await text(body);
  for (const s of ['<img src=x onerror=alert(1)>', '<script>alert(2)</script>', '<b onclick=alert(4)>b</b>',
    '<a href="javascript:alert(10)">raw link</a>', '<style>body{display:none}</style>', '<img src=z onerror=alert(11)>']) {
    assert.ok(shown.includes(s), `shown as text: ${s}`);
  }
  assert.equal(await page.locator('#doc img, #doc script, #doc style, #doc iframe, #doc b, #doc [onerror], #doc [onclick]').count(), 0);
  const hrefs = await body.locator('a').evaluateAll((els) => els.map((a) => a.getAttribute('href')));
  assert.deepEqual(hrefs, ['https://example.invalid/ok', '/?q=VPN'], 'only the safe links are links');
  assert.equal(await page.evaluate(() => document.body.style.display), '');
  noProblems(problems);
});

/* ---------- English interface ---------- */

const CJK = /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/;

/* The interface text of the page: static labels, built labels, status
 * lines (not documents, titles, snippets or the example queries). */
const chromeText = (page) => page.evaluate(() => {
  const sel = ['body [data-i18n]', '#status', '#page-info', '#notice', '#error', '#doc-error > strong', '.kind-btn', '.badge',
    '.meta-updated', '.wa-label', '.doc-meta dt', '[data-testid=ke-section] > h3', '.cite-label', '.nav-label',
    '.clause-nav h3', '#token-toggle', '#category option:first-child', '#standard option:first-child', '.std-count', '[data-testid=std-browse]'];
  const out = [];
  for (const e of document.querySelectorAll(sel.join(','))) out.push(e.textContent);
  const attrs = ['placeholder', 'aria-label', 'title'];
  for (const e of document.querySelectorAll(attrs.map((a) => `[${a}]`).join(','))) {
    for (const a of attrs) if (e.hasAttribute(a) && !e.closest('#doc')) out.push(e.getAttribute(a));
  }
  return out;
});


test('English interface: the switch, kept across reloads, and Chinese again', async (t) => {
  const { page, problems } = await openPage(t);
  await page.goto(base + '/?q=VPN');
  await searchDone(page);
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN', 'a Chinese browser gets Chinese');
  assert.equal(await text(page.getByTestId('search-button')), '搜索');
  assert.equal(await page.getByTestId('lang-zh').getAttribute('aria-pressed'), 'true');

  await page.getByTestId('lang-en').click(); // saves the choice and reloads
  await langIs(page, 'en');
  await searchDone(page);
  assert.equal(await page.evaluate(() => localStorage.getItem('kbdesk.lang')), 'en', 'the desk pages\' key');
  assert.equal(await page.getByTestId('lang-en').getAttribute('aria-pressed'), 'true');
  assert.equal(urlParam(page, 'q'), 'VPN', 'the search is still there');
  assert.equal(await text(page.getByTestId('search-button')), 'Search');
  assert.equal(await page.getByTestId('search-input').getAttribute('placeholder'),
    'A problem, an error code or a clause number, e.g. VPN 809, ORA-12154, 8.2.2');
  assert.equal(await text(page.getByTestId('kind-all').locator('[data-i18n]')), 'All');
  assert.equal(await text(page.getByTestId('kind-known_error').locator('[data-i18n]')), 'Known errors');
  assert.match(await text(page.getByTestId('result-status')), /^“VPN”: \d+ results, 1–10 shown \(took [\d.]+ ms\)$/);
  assert.match(await text(page.locator('#page-info')), /^Page 1 of \d+$/);
  assert.equal(await text(page.getByTestId('token-toggle')), 'Agent token');
  const badges = new Set(await page.getByTestId('kind-badge').allTextContents());
  assert.ok([...badges].every((b) => ['Articles', 'Known errors', 'Standard clauses'].includes(b)), [...badges].join());
  assert.match(await page.title(), /^Results for “VPN” · kbdesk knowledge search$/);
  let chrome = await chromeText(page);
  assert.deepEqual(chrome.filter((s) => CJK.test(s)), [], 'no Chinese left in the results\' interface');

  // a known error: English section names, the body stays as written
  await page.goto(base + '/?doc=KE-0017');
  await page.getByTestId('doc-title').waitFor();
  assert.deepEqual(await page.locator('[data-testid=ke-section] > h3').allTextContents(), ['Symptom', 'Cause', 'Workaround', 'Resolution']);
  assert.ok(CJK.test(await text(page.getByTestId('doc-view'))), 'the Chinese document itself is not translated');
  // a clause: citation, navigation
  await page.goto(base + '/?doc=' + encodeURIComponent('std-db21t1799.1:8.2.2.2'));
  await waitDocTitle(page, '8.2.2.2 服务等级协议内容');
  assert.equal(await text(page.getByTestId('copy-citation')), 'Copy citation');
  assert.equal(await page.getByTestId('breadcrumbs').getAttribute('aria-label'), 'Clause position');
  chrome = await chromeText(page);
  assert.deepEqual(chrome.filter((s) => CJK.test(s)), [], 'no Chinese left in the document view\'s interface');
  // errors
  await page.goto(base + '/?doc=KB-does-not-exist');
  await page.getByTestId('doc-error').waitFor();
  assert.equal(await text(page.getByTestId('doc-error')), 'The document cannot be opened: there is no document KB-does-not-exist, or you may not see it.');
  await page.goto(base + '/?q=VPN&offset=20000');
  await page.getByTestId('search-error').waitFor();
  assert.match(await text(page.getByTestId('search-error')), /^Search failed: The page is out of range/);

  // the welcome panel, after a reload
  await page.goto(base + '/');
  await page.reload();
  await langIs(page, 'en');
  await page.getByTestId('std-browse').first().waitFor();
  assert.equal(await text(page.locator('#welcome h2').first()), 'Common searches');
  assert.equal(await text(page.getByTestId('hint')), 'Advanced: "exact phrase", -excluded, kind:standard, clause:8.3.');
  chrome = await chromeText(page);
  assert.deepEqual(chrome.filter((s) => CJK.test(s)), [], 'no Chinese left on the welcome panel\'s interface');

  // back to Chinese
  await page.getByTestId('lang-zh').click();
  await langIs(page, 'zh-CN');
  await page.getByTestId('std-browse').first().waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('kbdesk.lang')), 'zh');
  assert.equal(await text(page.locator('#welcome h2').first()), '常用检索');
  assert.equal(await text(page.getByTestId('search-button')), '搜索');
  assert.equal(await text(page.getByTestId('std-browse').first()), '从第 1 章阅读');
  noProblems(problems);
});

test('an English browser gets the English interface; a saved choice wins over the browser', async (t) => {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 860 } });
  t.after(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  await page.goto(base + '/?q=' + encodeURIComponent('服务台'));
  await searchDone(page);
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  assert.match(await text(page.getByTestId('result-status')), /^“服务台”: \d+ results/);
  await page.evaluate(() => localStorage.setItem('kbdesk.lang', 'zh'));
  await page.reload();
  await langIs(page, 'zh-CN');
  await searchDone(page);
  assert.match(await text(page.getByTestId('result-status')), /^“服务台”共 \d+ 条结果/);
  noProblems(problems);
});
