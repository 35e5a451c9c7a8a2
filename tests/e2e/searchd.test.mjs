// End-to-end tests of build/bin/searchd (KB_BIN selects the binaries folder):
// a real index of a temporary copy of corpora/, the real daemon on a free
// port of 127.0.0.1, plain HTTP through fetch and raw sockets.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, cp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { httpRaw, holdOpen, closeAll, waitFor, metric, refusedForNoFd, assertIdle, squeezeNofile,
  metricsServed } from './conn.mjs';
import { startDaemon as startProc, stopDaemon as stopProc } from './daemon.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const INDEXER = path.join(BIN, 'indexer');
const SEARCHD = path.join(BIN, 'searchd');
const INTERNAL_ID = 'KB-0033'; // corpora/articles/KB-0033-otp-token-resync.md: visibility: internal
const INTERNAL_QUERY = '动态口令 OTP 令牌同步';

const startDaemon = (args, timeoutMs = 20000) => startProc(SEARCHD, args, timeoutMs);
const stopDaemon = (d, deadlineMs = 8000) => stopProc(d, deadlineMs);
let tmp, corpus, index, www, token, daemon, base, daemonArgs;
const crashes = []; // daemons that died during the tests (restarted so later tests stay independent)

// ---- helpers ----------------------------------------------------------------

function run(file, args, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => (err ? reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`))
        : resolve({ stdout, stderr })));
  });
}

async function get(pathname, { headers = {}, method = 'GET' } = {}) {
  const r = await fetch(base + pathname, { headers, method });
  const body = await r.text();
  let json;
  if ((r.headers.get('content-type') || '').startsWith('application/json')) json = JSON.parse(body);
  return { status: r.status, headers: r.headers, body, json };
}

function qs(params) {
  return new URLSearchParams(params).toString();
}

async function search(params, headers) {
  const r = await get('/search?' + qs(params), { headers });
  assert.equal(r.status, 200, r.body);
  return r.json;
}

const ids = (res) => res.hits.map((h) => h.id);

// Sends raw bytes on a new connection; resolves to everything the server
// sent until it closed (or timeoutMs passed).
function rawRequest(bytes, timeoutMs = 10000) {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), '127.0.0.1');
    const chunks = [];
    const timer = setTimeout(() => { s.destroy(); resolve(Buffer.concat(chunks).toString('latin1')); }, timeoutMs);
    s.on('data', (c) => chunks.push(c));
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('latin1')); });
    s.write(bytes);
  });
}

// Splits raw bytes from the server into responses: [{status, headers, body}].
function parseResponses(raw) {
  const out = [];
  let rest = raw;
  while (rest.length) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const lines = rest.slice(0, end).split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(lines[0])?.[1]);
    const headers = Object.fromEntries(lines.slice(1).map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
    }));
    const len = Number(headers['content-length'] || 0);
    out.push({ status, headers, body: rest.slice(end + 4, end + 4 + len) });
    rest = rest.slice(end + 4 + len);
  }
  return out;
}

function metricValue(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

// ---- setup --------------------------------------------------------------------

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kb-searchd-'));
  corpus = path.join(tmp, 'corpus');
  index = path.join(tmp, 'index');
  www = path.join(tmp, 'www');
  await cp(path.join(ROOT, 'corpora'), corpus, { recursive: true });
  // the real search page plus one large file for the slow-client test
  await cp(path.join(ROOT, 'searchd/www'), www, { recursive: true });
  await writeFile(path.join(www, 'big.bin'), Buffer.alloc(16 << 20, 'x'));
  await run(INDEXER, ['build', '--quiet', '--corpus', corpus, '--index', index]);
  token = randomBytes(16).toString('hex');
  daemonArgs = ['--index', index, '--listen', '127.0.0.1:0', '--agent-token', token, '--www', www,
    '--threads', '2'];
  daemon = startDaemon(daemonArgs);
  base = await daemon.ready;
});

// A crash fails the test that caused it (and the last test); a fresh daemon
// keeps the tests after it meaningful.
beforeEach(async () => {
  if (!daemon) return;
  if (!daemon.exited) {
    try {
      await (await fetch(base + '/healthz')).arrayBuffer();
    } catch {
      await Promise.race([daemon.exit, new Promise((r) => setTimeout(r, 3000))]);
    }
  }
  if (daemon.exited) {
    crashes.push(`${JSON.stringify(daemon.exited)}\n${daemon.log.slice(-4000)}`);
    daemon = startDaemon(daemonArgs);
    base = await daemon.ready;
  }
});

after(async () => {
  await stopDaemon(daemon);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

// ---- ranking --------------------------------------------------------------------

test('a Chinese problem description ranks the VPN 809 article first', async () => {
  const res = await search({ q: '我的电脑连不上VPN了，提示错误809，怎么办' });
  assert.equal(res.hits[0]?.id, 'KB-0001', JSON.stringify(ids(res)));
});

test('error code 0x80070005 finds the Windows Update article and known error', async () => {
  const res = await search({ q: '0x80070005' });
  const top = ids(res).slice(0, 3);
  assert.ok(['KB-0025', 'KE-0012'].includes(top[0]), JSON.stringify(top));
  assert.ok(top.includes('KB-0025') && top.includes('KE-0012'), JSON.stringify(top));
});

test('ORA-12154 is the first hit for its code', async () => {
  const res = await search({ q: 'ORA-12154' });
  assert.equal(res.hits[0]?.id, 'KB-0035', JSON.stringify(ids(res)));
});

// ---- confidence and no good match ------------------------------------------------

test('every hit carries a confidence in [0, 1]; an answerable question is not flagged', async () => {
  const res = await search({ q: '我的电脑连不上VPN了，提示错误809，怎么办' });
  assert.equal(res.no_good_match, false);
  assert.ok(res.hits.length > 1);
  for (const h of res.hits) assert.ok(h.confidence >= 0 && h.confidence <= 1, JSON.stringify(h));
  assert.ok(res.hits[0].confidence >= 0.25, JSON.stringify(res.hits[0]));
  assert.ok(res.hits[0].confidence > res.hits[res.hits.length - 1].confidence);
});

test('out-of-scope questions come back with no_good_match', async () => {
  let flagged = 0;
  const qs = ['今天天气怎么样', '推荐一本好看的小说', 'tell me a joke', '红烧肉怎么做', 'who won the football match last night'];
  for (const q of qs) if ((await search({ q })).no_good_match === true) flagged++;
  assert.ok(flagged >= 4, `${flagged} of ${qs.length} flagged`);
});

test('min_confidence sets the threshold; a bad one is a 400 in the error shape', async () => {
  const q = '我的电脑连不上VPN了，提示错误809，怎么办';
  assert.equal((await search({ q, min_confidence: '0.999' })).no_good_match, true);
  assert.equal((await search({ q, min_confidence: '0.001' })).no_good_match, false);
  for (const v of ['0', '1.5', 'abc', '-0.2']) {
    const r = await fetch(`${base}/search?q=vpn&min_confidence=${v}`);
    assert.equal(r.status, 400, v);
    assert.equal((await r.json()).error.code, 'bad_min_confidence');
  }
});

// ---- typos ---------------------------------------------------------------------

test('a Chinese sound-alike typo is corrected: 配制管理 finds the configuration-management clauses first', async () => {
  const res = await search({ q: '配制管理' });
  assert.equal(res.corrected, '配置管理', JSON.stringify(res.corrected));
  assert.equal(res.suggestion, '配置管理');
  const top = res.hits.slice(0, 3);
  assert.ok(top.length === 3 && top.every((h) => h.title.includes('配置管理')), JSON.stringify(ids(res)));
  const plain = await search({ q: '配置管理' });
  assert.equal(plain.corrected ?? null, null, 'a correct query is left alone');
  assert.equal(plain.suggestion ?? null, null);
});

test('知识哭 is searched as 知识库; 已知错吴 as 已知错误', async () => {
  const a = await search({ q: '知识哭' });
  assert.equal(a.corrected, '知识库');
  assert.ok(a.hits[0]?.title.includes('知识库'), JSON.stringify(ids(a)));
  const b = await search({ q: '已知错吴' });
  assert.equal(b.corrected, '已知错误');
});

test('function characters are not "corrected": 邮件发不出去 keeps its 不', async () => {
  const res = await search({ q: '邮件发不出去' });
  assert.equal(res.suggestion ?? null, null, JSON.stringify(res.suggestion));
  assert.equal(res.corrected ?? null, null);
});

test('prnter offline suggests printer offline (an English word is not a typo)', async () => {
  const res = await search({ q: 'prnter offline' });
  assert.equal(res.suggestion, 'printer offline');
});

test('codes and versions are never corrected', async () => {
  for (const q of ['ORA-12514', '0x80070035', 'KB5005565', '10.0.19045', 'v2.3.1']) {
    const res = await search({ q });
    assert.equal(res.suggestion ?? null, null, `${q}: ${JSON.stringify(res.suggestion)}`);
    assert.equal(res.corrected ?? null, null, q);
  }
});

test('clause 8.3.4.1 finds that clause of the O&M standard with its fields', async () => {
  const res = await search({ q: '8.3.4.1' });
  const hit = res.hits.slice(0, 3).find((h) => h.id === 'std-s004:8.3.4.1');
  assert.ok(hit, JSON.stringify(ids(res)));
  assert.equal(hit.kind, 'standard');
  assert.equal(hit.clause, '8.3.4.1');
  assert.equal(typeof hit.heading, 'string');
  assert.ok(hit.heading.length > 0);
  assert.match(hit.standard, /运行维护/);
});

// English names of the standards' clause headings reach the Chinese clause
// through the glossary (corpora/glossary.txt). The clause is looked up by its
// Chinese title in the index's own list, not written down here.
async function clauseTitles() {
  const { stdout } = await run(INDEXER, ['list', '--index', index]);
  return stdout.split('\n').filter((l) => l.startsWith('std-')).map((l) => {
    const [id, title] = l.split('\t');
    return { id, title };
  });
}

test('English heading names find the Chinese clause in the top 3 (release management: 8.3.7)', async () => {
  const clauses = await clauseTitles();
  const cases = [
    ['release management', '8.3.7 发布管理'],
    ['capacity management', '容量管理'],
    ['data backup', '数据备份'],
    ['knowledge transfer', '知识转让'],
    ['staffing reserve', '人员储备'],
    ['response and support', '响应支持'],
    ['system backup', '系统备份'],
  ];
  for (const [q, title] of cases) {
    const want = clauses.filter((c) => c.title === title || c.title.endsWith(' ' + title)).map((c) => c.id);
    assert.ok(want.length > 0, `no clause titled ${title} in the index`);
    const res = await search({ q });
    const top = ids(res).slice(0, 3);
    assert.ok(top.some((id) => want.includes(id)), `${q}: want one of ${JSON.stringify(want)} in ${JSON.stringify(top)}`);
  }
  // a word the glossary does not know finds none of them
  const res = await search({ q: 'xylophone management' });
  assert.ok(!ids(res).slice(0, 3).includes('std-s004:8.3.7'), JSON.stringify(ids(res)));
});

test('English indicator names find the key-indicator clause that lists them', async () => {
  const cases = [
    ['knowledge utilisation rate', '知识利用率'],
    ['service desk satisfaction', '服务台满意度'],
    ['release success rate', '发布成功率'],
    ['response timeliness', '响应及时率'],
  ];
  for (const [q, word] of cases) {
    const res = await search({ q });
    const first = res.hits[0];
    assert.ok(first, `${q}: no hits`);
    assert.match(first.title, /关键指标$/, `${q}: ${JSON.stringify(ids(res))}`);
    const doc = await get('/doc/' + encodeURIComponent(first.id));
    assert.equal(doc.status, 200);
    assert.ok(doc.json.body.includes(word), `${q}: ${first.id} does not list ${word}`);
  }
});

test('snippets hold <mark> and no other tag, and are HTML-escaped', async () => {
  let marks = 0;
  for (const q of ['compat-mode IE8Enterprise site-list', 'VPN 809', '打印机 脱机', '<script>alert(1)</script> VPN']) {
    const res = await search({ q });
    for (const h of res.hits) {
      const bare = h.snippet.replace(/<\/?mark>/g, '');
      assert.ok(!/[<>]/.test(bare), `${h.id}: ${h.snippet}`);
      assert.ok(!/<script/i.test(h.snippet));
      marks += (h.snippet.match(/<mark>/g) || []).length;
    }
  }
  assert.ok(marks > 0);
  const xml = await search({ q: 'compat-mode IE8Enterprise site-list' });
  assert.equal(xml.hits[0]?.id, 'KB-0058');
  assert.match(xml.hits[0].snippet, /&lt;/); // the <site-list> XML in the article, escaped
});

// ---- facets and filters ------------------------------------------------------------

test('kind facets sum to at most the total and follow the kind filter', async () => {
  const all = await search({ q: 'VPN', facets: '1' });
  const sum = Object.values(all.facets.kind).reduce((a, b) => a + b, 0);
  assert.ok(sum > 0 && sum <= all.total, `${sum} vs ${all.total}`);
  assert.ok(Object.keys(all.facets.kind).length >= 2, JSON.stringify(all.facets.kind));
  const art = await search({ q: 'VPN', kind: 'article', facets: 'true' });
  assert.deepEqual(Object.keys(art.facets.kind), ['article']);
  assert.equal(art.facets.kind.article, all.facets.kind.article);
  assert.ok(art.total < all.total);
  assert.ok(art.hits.every((h) => h.kind === 'article'));
});

test('facets are counted only when asked; a bad facets value is a 400', async () => {
  const asked = await search({ q: 'VPN', facets: '1' });
  const plain = await search({ q: 'VPN' });
  const off = await search({ q: 'VPN', facets: '0' });
  assert.ok(Object.keys(asked.facets.kind).length >= 2, JSON.stringify(asked.facets));
  assert.equal(plain.facets, null);
  assert.equal(off.facets, null);
  // the same hits either way
  assert.deepEqual(ids(plain), ids(asked));
  for (const v of ['2', 'yes', 'on']) {
    const r = await get(`/search?q=vpn&facets=${v}`);
    assert.equal(r.status, 400, r.body);
    assert.equal(r.json.error.code, 'bad_facets');
  }
});

test('kind=standard returns only standard clauses', async () => {
  const res = await search({ q: '事件管理 服务级别', kind: 'standard', limit: 50 });
  assert.ok(res.hits.length > 0);
  assert.ok(res.hits.every((h) => h.kind === 'standard' && h.clause), JSON.stringify(ids(res)));
});

test('category filter keeps that category (and works on a parent level)', async () => {
  const all = await search({ q: 'VPN 证书', facets: '1' });
  const cat = Object.keys(all.facets.category).find((c) => c.includes('/'));
  assert.ok(cat, JSON.stringify(all.facets.category));
  const res = await search({ q: 'VPN 证书', category: cat, facets: '1' });
  assert.ok(res.hits.length > 0);
  assert.ok(res.hits.every((h) => h.category === cat), JSON.stringify(res.hits.map((h) => h.category)));
  const parent = cat.split('/')[0];
  const up = await search({ q: 'VPN 证书', category: parent, facets: '1' });
  assert.ok(up.hits.every((h) => h.category === parent || h.category.startsWith(parent + '/')));
  assert.ok(up.total >= res.total);
});

// ---- visibility ---------------------------------------------------------------------

test('internal documents are hidden without the agent token and shown with it', async () => {
  const anon = await search({ q: INTERNAL_QUERY, limit: 50 });
  assert.ok(!ids(anon).includes(INTERNAL_ID));
  assert.ok(anon.hits.every((h) => h.visibility !== 'internal'));
  const wrong = await search({ q: INTERNAL_QUERY, limit: 50 }, { Authorization: 'Bearer x' + token });
  assert.ok(!ids(wrong).includes(INTERNAL_ID));
  const bearer = await search({ q: INTERNAL_QUERY, limit: 50 }, { Authorization: `Bearer ${token}` });
  assert.ok(ids(bearer).includes(INTERNAL_ID), JSON.stringify(ids(bearer)));
  const header = await search({ q: INTERNAL_QUERY, limit: 50 }, { 'X-Agent-Token': token });
  assert.ok(ids(header).includes(INTERNAL_ID));
});

test('/doc/ID: public 200, internal 404 without the token and 200 with it, unknown 404', async () => {
  const pub = await get('/doc/KB-0001');
  assert.equal(pub.status, 200);
  assert.equal(pub.json.id, 'KB-0001');
  assert.match(pub.json.title, /809/);
  assert.equal(pub.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(pub.headers.get('cache-control'), 'no-store');
  const hidden = await get('/doc/' + INTERNAL_ID);
  assert.equal(hidden.status, 404);
  assert.equal(hidden.json.error.code, 'not_found');
  const shown = await get('/doc/' + INTERNAL_ID, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(shown.status, 200);
  assert.equal(shown.json.visibility, 'internal');
  const none = await get('/doc/NO-SUCH-DOC');
  assert.equal(none.status, 404);
  assert.equal(none.json.error.code, 'not_found');
});

test('/nav/ID gives a clause its parent and siblings; not a clause is 404', async () => {
  const nav = await get('/nav/' + encodeURIComponent('std-s004:8.3.4.1'));
  assert.equal(nav.status, 200, nav.body);
  assert.equal(nav.json.parent.clause, '8.3.4');
  assert.ok(Array.isArray(nav.json.children));
  const art = await get('/nav/KB-0001');
  assert.equal(art.status, 404);
  assert.equal(art.json.error.code, 'not_found');
});

test('/suggest completes a prefix', async () => {
  const r = await get('/suggest?' + qs({ q: '打印' }));
  assert.equal(r.status, 200);
  assert.ok(r.json.suggestions.length > 0);
  assert.ok(r.json.suggestions.some((s) => s.text.includes('打印')), r.body);
});

test('/standards lists the standards with clause counts', async () => {
  const r = await get('/standards');
  assert.equal(r.status, 200);
  assert.ok(r.json.length >= 5, r.body);
  assert.ok(r.json.every((s) => s.std && s.clauses > 0));
});

test('/healthz reports ok, the document count and the revision', async () => {
  const r = await get('/healthz');
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'ok');
  assert.ok(Number.isInteger(r.json.documents) && r.json.documents > 500, r.body);
  assert.ok(Number.isInteger(r.json.revision) && r.json.revision >= 1);
});

test('/metrics: Prometheus text whose counters increase', async () => {
  const m1 = await get('/metrics');
  assert.equal(m1.status, 200);
  assert.match(m1.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  for (const name of ['searchd_request_duration_seconds_bucket{le="0.001"}',
    'searchd_request_duration_seconds_bucket{le="2.5"}', 'searchd_request_duration_seconds_bucket{le="+Inf"}',
    'searchd_request_duration_seconds_count', 'searchd_requests_in_flight', 'searchd_index_documents',
    'searchd_index_revision', 'searchd_errors_total{class="client"}']) {
    assert.notEqual(metricValue(m1.body, name), undefined, name);
  }
  const ok = 'searchd_requests_total{endpoint="search",code="200"}';
  const bad = 'searchd_requests_total{endpoint="search",code="400"}';
  const before = metricValue(m1.body, ok);
  const errors = metricValue(m1.body, 'searchd_errors_total{class="client"}');
  const count = metricValue(m1.body, 'searchd_request_duration_seconds_count');
  for (const q of ['VPN', '打印机', 'ORA-12154']) await search({ q });
  assert.equal((await get('/search?q=')).status, 400);
  const m2 = (await get('/metrics')).body;
  assert.ok(metricValue(m2, ok) >= before + 3, `${before} -> ${metricValue(m2, ok)}`);
  assert.ok(metricValue(m2, bad) >= 1);
  assert.ok(metricValue(m2, 'searchd_errors_total{class="client"}') >= errors + 1);
  assert.ok(metricValue(m2, 'searchd_request_duration_seconds_count') >= count + 4);
  assert.ok(metricValue(m2, 'searchd_index_documents') > 500);
});

// ---- result cache ---------------------------------------------------------------------

const HIT = (ep) => `searchd_cache_requests_total{endpoint="${ep}",result="hit"}`;
const MISS = (ep) => `searchd_cache_requests_total{endpoint="${ep}",result="miss"}`;
const metrics = async () => (await get('/metrics')).body;
// a body without the "cached":true member a cached answer starts with
const uncached = (body) => body.replace(/^\{"cached":true,/, '{');

test('cache: a repeated search is answered from the cache with the same body', async () => {
  const q = '打印机 卡纸 ' + randomBytes(4).toString('hex'); // a query no other test asked
  const m0 = await metrics();
  const first = await get('/search?' + qs({ q, limit: 7, kind: 'article' }));
  assert.equal(first.status, 200);
  assert.equal(first.json.cached, undefined);
  const m1 = await metrics();
  assert.equal(metricValue(m1, MISS('search')), metricValue(m0, MISS('search')) + 1);
  const second = await get('/search?' + qs({ kind: 'article', limit: 7, q })); // same request, other order
  assert.equal(second.status, 200);
  assert.equal(second.json.cached, true);
  assert.equal(uncached(second.body), first.body);
  assert.equal(second.headers.get('content-type'), first.headers.get('content-type'));
  assert.equal(Number(second.headers.get('content-length')), Buffer.byteLength(second.body));
  const m2 = await metrics();
  assert.equal(metricValue(m2, HIT('search')), metricValue(m1, HIT('search')) + 1);
  assert.ok(metricValue(m2, 'searchd_cache_entries') >= 1);
  assert.ok(metricValue(m2, 'searchd_cache_bytes') > 0);
  assert.equal(metricValue(m2, 'searchd_cache_max_bytes'), 64 * 1024 * 1024);
  // anything that changes the answer is another entry: limit, offset, filters
  for (const p of [{ q, limit: 8, kind: 'article' }, { q, limit: 7, offset: 1, kind: 'article' },
    { q, limit: 7 }, { q, limit: 7, kind: 'article', lang: 'zh' }]) {
    const r = await get('/search?' + qs(p));
    assert.equal(r.status, 200);
    assert.equal(r.json.cached, undefined, JSON.stringify(p));
  }
  // HEAD of a cached answer: same headers, no body
  const head = await fetch(base + '/search?' + qs({ q, limit: 7, kind: 'article' }), { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
  assert.equal(Number(head.headers.get('content-length')), Buffer.byteLength(second.body));
});

test('cache: /suggest answers are cached too', async () => {
  const q = '打印' + randomBytes(2).toString('hex');
  const first = await get('/suggest?' + qs({ q }));
  const second = await get('/suggest?' + qs({ q }));
  assert.equal(first.status, 200);
  assert.equal(second.json.cached, true);
  assert.equal(uncached(second.body), first.body);
});

test('cache: internal and public answers never mix', async () => {
  const q = INTERNAL_QUERY + ' ' + randomBytes(3).toString('hex');
  const p = { q, limit: 50 };
  const pub1 = await search(p);
  const pub2 = await search(p);
  assert.equal(pub2.cached, true);
  assert.ok(!ids(pub2).includes(INTERNAL_ID));
  // the agent's first ask is not the public answer from the cache
  const agent1 = await search(p, { Authorization: `Bearer ${token}` });
  assert.equal(agent1.cached, undefined);
  assert.ok(ids(agent1).includes(INTERNAL_ID), JSON.stringify(ids(agent1)));
  const agent2 = await search(p, { 'X-Agent-Token': token });
  assert.equal(agent2.cached, true);
  assert.ok(ids(agent2).includes(INTERNAL_ID));
  // a wrong token gets the public answer, and the public answer stays public
  const wrong = await search(p, { Authorization: 'Bearer x' + token });
  assert.ok(!ids(wrong).includes(INTERNAL_ID));
  const pub3 = await search(p);
  assert.equal(pub3.cached, true);
  assert.deepEqual(ids(pub3), ids(pub1));
  // the same for /suggest and a prefix of the internal document's title
  const sq = { q: '动态口令' };
  const s1 = await get('/suggest?' + qs(sq));
  const s2 = await get('/suggest?' + qs(sq), { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(s2.json.cached, undefined);
  const s3 = await get('/suggest?' + qs(sq));
  assert.equal(uncached(s3.body), uncached(s1.body));
});

test('cache: bounded by bytes, least recently used answers leave first', async () => {
  const d = startDaemon(['--index', index, '--listen', '127.0.0.1:0', '--www', www, '--threads', '2',
    '--cache-mb', '1']);
  try {
    const url = await d.ready;
    const ask = async (q) => {
      const r = await fetch(url + '/search?' + qs({ q, limit: 100 }));
      assert.equal(r.status, 200);
      return r.json();
    };
    const words = ['VPN', '打印机', '证书', '服务台', '密码', '邮件', '网络', '事件', '问题', '变更',
      'Windows', 'Office', '服务', '管理', '系统', '用户', '错误', '账号', '安全', '数据'];
    for (const w of words) await ask(w);
    for (const w of words) await ask(w + ' 要求'); // more answers than 1 MiB holds
    const m = await (await fetch(url + '/metrics')).text();
    assert.equal(metricValue(m, 'searchd_cache_max_bytes'), 1024 * 1024);
    assert.ok(metricValue(m, 'searchd_cache_bytes') <= 1024 * 1024, m);
    assert.ok(metricValue(m, 'searchd_cache_evictions_total') > 0, m);
    // the most recent answer is still there, the first one left
    assert.equal((await ask(words.at(-1) + ' 要求')).cached, true);
    assert.equal((await ask(words[0])).cached, undefined);
  } finally {
    assert.deepEqual(await stopDaemon(d), { code: 0, signal: null }, d.log);
  }
});

test('cache: --cache-mb 0 turns it off', async () => {
  const d = startDaemon(['--index', index, '--listen', '127.0.0.1:0', '--www', www, '--threads', '1',
    '--cache-mb', '0']);
  try {
    const url = await d.ready;
    const bodies = [];
    for (let i = 0; i < 3; i++) {
      const r = await fetch(url + '/search?q=VPN');
      assert.equal(r.status, 200);
      bodies.push(await r.json());
    }
    assert.ok(bodies.every((b) => b.cached === undefined));
    const m = await (await fetch(url + '/metrics')).text();
    assert.equal(metricValue(m, HIT('search')), 0);
    assert.equal(metricValue(m, MISS('search')), 0);
    assert.equal(metricValue(m, 'searchd_cache_max_bytes'), 0);
    assert.equal(metricValue(m, 'searchd_cache_entries'), 0);
  } finally {
    assert.deepEqual(await stopDaemon(d), { code: 0, signal: null }, d.log);
  }
  // a bad value is a usage error
  const e = await run(SEARCHD, ['--index', index, '--cache-mb', 'lots']).then(() => null, (x) => x);
  assert.match(e.message, /--cache-mb: "lots" is not a number/);
});

test('static files: the page with strict security headers; no escape from www', async () => {
  const page = await get('/');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  assert.match(page.body, /<meta charset="utf-8">/i);
  const csp = page.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'/);
  assert.ok(!/unsafe-inline/.test(csp));
  assert.equal(page.headers.get('x-frame-options'), 'deny');
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  const js = await get('/app.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /javascript/);
  const up = await rawRequest('GET /%2e%2e/README.md HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(up, /^HTTP\/1\.1 404 /);
  assert.match(up, /"not_found"/);
  const missing = await get('/no/such/page.html');
  assert.equal(missing.status, 404);
  assert.equal(missing.json.error.code, 'not_found');
});

// ---- bad input --------------------------------------------------------------------------

const badInputs = [
  ['missing q', '/search', 400, 'missing_query'],
  ['empty q', '/search?q=', 400, 'missing_query'],
  ['blank q', '/search?q=%20%20+', 400, 'missing_query'],
  ['q one byte too long', '/search?q=' + 'a'.repeat(4097), 413, 'query_too_long'],
  ['q of 3000 CJK characters (9000 bytes)', '/search?' + qs({ q: '中'.repeat(3000) }), 413, 'query_too_long'],
  ['q of 1 MB', '/search?q=' + 'b'.repeat(1 << 20), 413, 'query_too_long'],
  ['invalid UTF-8 in q', '/search?q=%FF%FE', 400, 'bad_encoding'],
  ['truncated UTF-8 in q', '/search?q=%E4%B8', 400, 'bad_encoding'],
  ['NUL in q', '/search?q=abc%00def', 400, 'bad_encoding'],
  ['NUL in kind', '/search?q=vpn&kind=article%00', 400, 'bad_encoding'],
  ['invalid UTF-8 in category', '/search?q=vpn&category=%C3%28', 400, 'bad_encoding'],
  ['NUL in /suggest q', '/suggest?q=%00', 400, 'bad_encoding'],
  ['bad %-escape', '/search?q=100%zz', 400, 'bad_escape'],
  ['truncated %-escape', '/search?q=abc%2', 400, 'bad_escape'],
  ['bad %-escape in the path', '/doc/KB%G1', 400, 'bad_escape'],
  ['negative limit', '/search?q=vpn&limit=-5', 400, 'bad_limit'],
  ['limit not a number', '/search?q=vpn&limit=ten', 400, 'bad_limit'],
  ['fractional limit', '/search?q=vpn&limit=1.5', 400, 'bad_limit'],
  ['negative offset', '/search?q=vpn&offset=-1', 400, 'bad_offset'],
  ['offset over 10000', '/search?q=vpn&offset=10001', 400, 'bad_offset'],
  ['offset not a number', '/search?q=vpn&offset=x', 400, 'bad_offset'],
  ['unknown kind', '/search?q=vpn&kind=bogus', 400, 'bad_kind'],
  ['unknown kind in a list', '/search?q=vpn&kind=article,bogus', 400, 'bad_kind'],
  ['unknown lang', '/search?q=vpn&lang=fr', 400, 'bad_lang'],
  ['unknown path', '/no-such-endpoint', 404, 'not_found'],
  ['/suggest without q', '/suggest', 400, 'missing_query'],
  ['/suggest q over 256 bytes', '/suggest?q=' + 'a'.repeat(257), 413, 'query_too_long'],
];

for (const [name, url, status, code] of badInputs) {
  test(`bad input: ${name} -> ${status} ${code}`, async () => {
    const r = await get(url);
    assert.equal(r.status, status, r.body);
    assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(r.json.error.code, code);
    assert.equal(typeof r.json.error.message, 'string');
  });
}

for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
  test(`method ${method} -> 405 with Allow`, async () => {
    const r = await get('/search?q=vpn', { method });
    assert.equal(r.status, 405);
    assert.equal(r.json.error.code, 'method_not_allowed');
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
  });
}

test('malformed HTTP gets a JSON 400 and an unknown HTTP version a 505', async () => {
  const junk = await rawRequest('this is not http\r\n\r\n');
  assert.match(junk, /^HTTP\/1\.1 400 /);
  assert.match(junk, /"bad_request"/);
  const v2 = await rawRequest('GET /healthz HTTP/2.0\r\n\r\n');
  assert.match(v2, /^HTTP\/1\.1 505 /);
});

test('limit above 100 is clamped to 100; limit 0 means the default 10', async () => {
  const big = await search({ q: '服务', limit: 500 });
  assert.equal(big.limit, 100);
  assert.ok(big.hits.length > 10 && big.hits.length <= 100);
  const zero = await search({ q: '服务', limit: 0 });
  assert.equal(zero.limit, 10);
  assert.equal(zero.hits.length, 10);
});

test('HEAD gives the headers of GET without a body', async () => {
  const r = await fetch(base + '/healthz', { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.ok(Number(r.headers.get('content-length')) > 0);
  assert.equal((await r.arrayBuffer()).byteLength, 0);
});

test('odd but valid queries get 200 from /search and /suggest', async () => {
  const odd = ['8.3.4.1', 'zzqqxx', '-', '""', '"unclosed', 'kind:', 'clause:', 'kind:standard',
    '-vpn', '***', '😀 表情', '中'.repeat(85), 'a'.repeat(256), '\u3000', '%', '0x', 'ora-'];
  for (const q of [...odd, '中'.repeat(1365), 'a'.repeat(4096)]) {
    for (const ep of Buffer.byteLength(q) <= 256 ? ['/search', '/suggest'] : ['/search']) {
      const r = await get(ep + '?' + qs({ q }));
      assert.equal(r.status, 200, `${ep} q=${q.slice(0, 20)}: ${r.body.slice(0, 200)}`);
    }
  }
});

test('clients hanging up while their search runs do not disturb the daemon', async () => {
  const { port } = new URL(base);
  await Promise.all(Array.from({ length: 40 }, (_, i) => new Promise((resolve) => {
    const s = net.connect(Number(port), '127.0.0.1', () => {
      s.write(`GET /search?${qs({ q: '服务台 事件管理 ' + i, limit: 100 })} HTTP/1.1\r\nHost: x\r\n\r\n`);
      if (i % 2) s.resetAndDestroy(); else s.destroy();
    });
    s.on('close', resolve);
    s.on('error', resolve);
  })));
  // pipelined requests, then gone before the answers
  await new Promise((resolve) => {
    const s = net.connect(Number(port), '127.0.0.1', () => {
      s.write('GET /search?q=VPN HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      setTimeout(() => s.destroy(), 5);
    });
    s.on('close', resolve);
    s.on('error', resolve);
  });
  const r = await get('/search?q=VPN');
  assert.equal(r.status, 200);
});

test('pipelined requests are answered in order on one connection', async () => {
  const out = await rawRequest('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' +
    'GET /search?q=ORA-12154&limit=1 HTTP/1.1\r\nHost: x\r\n\r\n' +
    'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const res = parseResponses(out);
  assert.deepEqual(res.map((r) => r.status), [200, 200, 404]);
  assert.equal(JSON.parse(res[0].body).status, 'ok');
  assert.equal(JSON.parse(res[1].body).hits[0].id, 'KB-0035');
  assert.equal(JSON.parse(res[2].body).error.code, 'not_found');
  assert.deepEqual(res.map((r) => r.headers.connection), ['keep-alive', 'keep-alive', 'close']);
});

test('after all the bad input the daemon still answers /healthz', async () => {
  const r = await get('/healthz');
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'ok');
  assert.equal(daemon.exited, null);
});

// ---- load ------------------------------------------------------------------------

test('50 concurrent requests all succeed', async () => {
  const queries = ['VPN 809', '打印机脱机', 'ORA-12154', '0x80070005', '密码过期', '8.3.4', '邮箱满了',
    'Outlook', '证书', '服务级别协议'];
  const all = await Promise.all(Array.from({ length: 50 }, (_, i) => {
    const p = i % 5 === 4 ? '/doc/KB-0001' : '/search?' + qs({ q: queries[i % queries.length] });
    return get(p);
  }));
  for (const r of all) assert.equal(r.status, 200, r.body);
  assert.ok(all.filter((r) => r.json.hits).every((r) => r.json.total > 0));
});

test('a slow client does not stall a normal request', async () => {
  const { port } = new URL(base);
  // one client asks for 6 x 16 MB (more than loopback's socket buffers, up to
  // 32 MB + 4 MB here) and never reads; another sends half a request head
  const slow = net.connect(Number(port), '127.0.0.1');
  slow.pause();
  slow.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(6));
  const half = net.connect(Number(port), '127.0.0.1');
  half.write('GET /search?q=vpn HTTP/1.1\r\nHost:');
  try {
    // wait until the big answer is being written (in flight) and stuck
    const deadline = Date.now() + 5000;
    let inflight = 0;
    while (Date.now() < deadline) {
      inflight = metricValue((await get('/metrics')).body, 'searchd_requests_in_flight');
      if (inflight >= 2) break; // the stuck answer and this /metrics request
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(inflight >= 2, `in flight: ${inflight}`);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const r = await get('/search?q=VPN');
    const ms = Date.now() - t0;
    assert.equal(r.status, 200);
    assert.ok(ms < 2000, `a normal search took ${ms} ms`);
    assert.equal((await get('/healthz')).status, 200);
    // the slow client is still connected and still has not got everything
    assert.ok(!slow.destroyed);
    const still = metricValue((await get('/metrics')).body, 'searchd_requests_in_flight');
    assert.ok(still >= 2, `in flight: ${still}`);
  } finally {
    slow.destroy();
    half.destroy();
  }
});

// ---- live index -------------------------------------------------------------------

test('a rebuilt index is served within about a second, without failing requests', async (t) => {
  const marker = 'kbmarker' + Array.from(randomBytes(8), (b) => String.fromCharCode(97 + (b % 26))).join('');
  const before = (await get('/healthz')).json;
  assert.equal((await search({ q: marker })).total, 0);
  // the empty answer is now cached; the new revision must not serve it
  const cachedEmpty = await search({ q: marker });
  assert.equal(cachedEmpty.cached, true);
  assert.equal(cachedEmpty.total, 0);
  const inval0 = metricValue(await metrics(), 'searchd_cache_invalidations_total');
  await writeFile(path.join(corpus, 'articles', 'KB-9999-e2e-marker.md'),
    `---\nid: KB-9999\nkind: article\ntitle: E2E live reindex ${marker}\ncategory: 测试\n` +
    `tags: e2e\nlang: en\nvisibility: public\nupdated: 2026-01-01\n---\n` +
    `## Symptom\nThe word ${marker} appears only in this article.\n`);
  // searches run all through the rebuild; none may fail
  let stop = false;
  const failures = [];
  let count = 0;
  const loop = (async () => {
    while (!stop) {
      for (const p of ['/search?q=VPN', '/doc/KB-0001', '/suggest?q=%E6%89%93']) {
        try {
          const r = await fetch(base + p);
          await r.arrayBuffer();
          count++;
          if (r.status !== 200) failures.push(`${p}: ${r.status}`);
        } catch (e) {
          failures.push(`${p}: ${e.message}`);
        }
      }
    }
  })();
  try {
    await run(INDEXER, ['build', '--quiet', '--corpus', corpus, '--index', index]);
    const exited = Date.now();
    let found = null;
    while (Date.now() - exited < 5000) {
      const res = await search({ q: marker });
      if (res.hits.some((h) => h.id === 'KB-9999')) {
        found = Date.now() - exited;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.notEqual(found, null, `${marker} not found 5 s after the indexer exited`);
    t.diagnostic(`new document served ${found} ms after the indexer exited`);
    assert.ok(found <= 1500, `took ${found} ms`);
    // keep the loop running a little past the switch
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    stop = true;
    await loop;
  }
  assert.deepEqual(failures, []);
  assert.ok(count > 0);
  const afterH = (await get('/healthz')).json;
  assert.equal(afterH.documents, before.documents + 1);
  assert.ok(afterH.revision > before.revision);
  assert.ok(metricValue(await metrics(), 'searchd_cache_invalidations_total') > inval0);
  // the new answer is cached in its turn
  const again = await search({ q: marker });
  assert.equal(again.cached, true);
  assert.ok(again.hits.some((h) => h.id === 'KB-9999'));
});

// ---- options and config ------------------------------------------------------------

test('--help documents every flag and config key', async () => {
  const { stdout } = await run(SEARCHD, ['--help']);
  for (const s of ['--index', '--listen', '--config', '--agent-token', '--threads', '--www', '--log-level',
    '--cache-mb', 'agent_token', 'log_level', 'threads', 'www', 'cache_mb', '413', 'clamped']) {
    assert.ok(stdout.includes(s), s);
  }
});

test('config: an unknown key or a bad value is an error naming FILE:LINE (exit 2)', async () => {
  const conf = path.join(tmp, 'bad.conf');
  await writeFile(conf, `# comment\nindex = ${index}\n\nthreads = many\n`);
  const e1 = await run(SEARCHD, ['--config', conf]).then(() => null, (e) => e);
  assert.ok(e1);
  assert.match(e1.message, new RegExp(`${conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: threads`));
  const child = spawn(SEARCHD, ['--config', conf], { stdio: 'ignore' });
  const [code] = await new Promise((r) => child.on('exit', (...a) => r(a)));
  assert.equal(code, 2);
  await writeFile(conf, `colour = blue\n`);
  const e2 = await run(SEARCHD, ['--config', conf]).then(() => null, (e) => e);
  assert.match(e2.message, /bad\.conf:1: unknown key "colour"/);
});

test('config: the file sets values and flags override them', async () => {
  const conf = path.join(tmp, 'good.conf');
  await writeFile(conf, `index = ${index}\nlisten = 127.0.0.1:1\nagent_token = from-the-file\n` +
    `threads = 1\nlog_level = warn\nwww = ${www}\n`);
  const d = startDaemon(['--config', conf, '--listen', '127.0.0.1:0']);
  try {
    const url = await d.ready;
    assert.notEqual(new URL(url).port, '1');
    const r = await fetch(url + '/doc/' + INTERNAL_ID, { headers: { 'X-Agent-Token': 'from-the-file' } });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  } finally {
    const e = await stopDaemon(d);
    assert.deepEqual(e, { code: 0, signal: null });
  }
});

// ---- connection caps and /metrics exposure ------------------------------------------
// Each test starts its own searchd with small caps from a config file. The
// second client address is 127.0.0.2 (on loopback, like 127.0.0.1).

async function startWith(lines) {
  const conf = path.join(tmp, `caps-${randomBytes(4).toString('hex')}.conf`);
  await writeFile(conf, `index = ${index}\nlisten = 127.0.0.1:0\nwww = ${www}\nthreads = 2\n` +
    lines.join('\n') + '\n');
  const d = startDaemon(['--config', conf]);
  const url = await d.ready;
  return { d, port: Number(new URL(url).port), pid: d.child.pid };
}

const metricsFrom = async (port, localAddress = '127.0.0.2', headers = {}) =>
  (await httpRaw(port, '/metrics', { localAddress, headers })).body;

// A keep-alive connection with one answered request: proof it was admitted.
async function admitted(port, localAddress) {
  const r = await httpRaw(port, '/healthz', { localAddress, keep: true });
  assert.equal(r.status, 200, JSON.stringify(r));
  return r.socket;
}

function assertRefused(r, re) {
  assert.equal(r.status, 503, JSON.stringify(r));
  assert.equal(r.json?.error?.code, 'too_many_connections', r.body);
  assert.match(r.json.error.message, re);
  assert.equal(r.headers['retry-after'], '5');
}

test('caps: beyond max_connections_per_address an address gets 503, another is served', async () => {
  const { d, port } = await startWith(['max_connections_per_address = 4', 'max_connections = 50']);
  const held = [];
  try {
    for (let i = 0; i < 4; i++) held.push(await admitted(port, '127.0.0.1'));
    assertRefused(await httpRaw(port, '/healthz'), /your address/);
    const other = await httpRaw(port, '/healthz', { localAddress: '127.0.0.2' });
    assert.equal(other.status, 200, JSON.stringify(other));
    const text = await metricsFrom(port);
    assert.equal(metric(text, 'searchd_connections_refused_total{reason="per_address"}'), 1, text);
    assert.equal(metric(text, 'searchd_connections_refused_total{reason="total"}'), 0);
    assert.equal(metric(text, 'searchd_connections_open'), 5); // 4 held + this request
    assert.equal(metric(text, 'searchd_connections_max_per_address'), 4);
    // a closed connection gives its place back
    held.pop().destroy();
    await waitFor(async () => (await httpRaw(port, '/healthz')).status === 200, '127.0.0.1 served again');
  } finally {
    closeAll(held);
    assert.deepEqual(await stopDaemon(d), { code: 0, signal: null }, d.log);
  }
});

test('caps: beyond max_connections every address gets 503 (reason total)', async () => {
  const { d, port } = await startWith(['max_connections = 5', 'max_connections_per_address = 0']);
  const held = [];
  try {
    for (let i = 0; i < 5; i++) held.push(await admitted(port, '127.0.0.1'));
    assertRefused(await httpRaw(port, '/healthz', { localAddress: '127.0.0.2' }), /server has too many connections/);
    held.pop().destroy();
    const text = await metricsServed(port, 'a place to free up');
    // (the waiting above may have been refused too before the place was free)
    assert.ok(metric(text, 'searchd_connections_refused_total{reason="total"}') >= 1, text);
    assert.equal(metric(text, 'searchd_connections_refused_total{reason="per_address"}'), 0, text);
    assert.equal(metric(text, 'searchd_connections_max'), 5);
  } finally {
    closeAll(held);
    assert.deepEqual(await stopDaemon(d), { code: 0, signal: null }, d.log);
  }
});

test('caps: out of descriptors searchd refuses (no_fd), stays idle and serves again', async () => {
  // max_open_files sets RLIMIT_NOFILE low, so a few hundred sockets exhaust it
  const { d, port, pid } = await startWith(['max_open_files = 128', 'max_connections_per_address = 0']);
  let held = [];
  try {
    assert.match(d.log, /RLIMIT_NOFILE: 128 descriptors/);
    held = await holdOpen(port, 300);
    // another client is still answered, not left hanging: at once, or (once
    // the idle refused sockets have given up their refusal slots) with the
    // reason
    const r = await refusedForNoFd(port, '/healthz');
    assertRefused(r, /file descriptors/);
    await assertIdle(pid, 'searchd', 'with the descriptors held');
    closeAll(held);
    held = [];
    await waitFor(async () => (await httpRaw(port, '/healthz', { localAddress: '127.0.0.2' })).status === 200,
      'searchd serving after the sockets closed');
    await assertIdle(pid, 'searchd', 'idle afterwards');
    const text = await metricsFrom(port);
    assert.ok(metric(text, 'searchd_connections_refused_total{reason="no_fd"}') > 0, text);
    assert.equal(metric(text, 'searchd_open_files_limit'), 128);
    const budget = metric(text, 'searchd_connections_fd_budget');
    assert.ok(budget > 0 && budget < 128, text);

    // accept() itself failing with EMFILE: the limit lowered under searchd's
    // feet (below what it counted on when it started)
    await squeezeNofile(pid);
    const logAt = d.log.length;
    held = await holdOpen(port, 200);
    await waitFor(() => /out of file descriptors/.test(d.log.slice(logAt)), 'EMFILE in the log');
    const before = metric(text, 'searchd_connections_refused_total{reason="no_fd"}');
    await assertIdle(pid, 'searchd', 'at EMFILE');
    closeAll(held);
    held = [];
    const after = await metricsServed(port, 'searchd serving after EMFILE');
    assert.ok(metric(after, 'searchd_connections_refused_total{reason="no_fd"}') > before, after);
  } finally {
    closeAll(held);
    assert.deepEqual(await stopDaemon(d), { code: 0, signal: null }, d.log);
  }
});

test('/metrics: loopback by default, a token when configured, 403 in the error shape otherwise', async () => {
  // the shared daemon: default loopback, 127.0.0.2 is loopback
  const lo = await httpRaw(Number(new URL(base).port), '/metrics', { localAddress: '127.0.0.2' });
  assert.equal(lo.status, 200);
  assert.match(lo.body, /^searchd_connections_open \d+$/m);
  const { d, port } = await startWith(['metrics_access = token', 'metrics_token = m-3tr1cs-t0ken']);
  try {
    for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: 'Bearer m-3tr1cs-t0ke' },
      { 'X-Agent-Token': 'nope' }]) {
      const r = await httpRaw(port, '/metrics', { headers });
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.equal(r.json?.error?.code, 'forbidden');
      assert.doesNotMatch(r.body, /searchd_/);
    }
    const ok = await httpRaw(port, '/metrics', { headers: { Authorization: 'Bearer m-3tr1cs-t0ken' } });
    assert.equal(ok.status, 200);
    assert.match(ok.body, /searchd_connections_refused_total\{reason="per_address"\} 0/);
    assert.equal((await httpRaw(port, '/healthz')).status, 200); // only /metrics is guarded
  } finally {
    assert.deepEqual(await stopDaemon(d), { code: 0, signal: null }, d.log);
  }
  const pub = await startWith(['metrics_access = public']);
  try {
    assert.equal((await httpRaw(pub.port, '/metrics')).status, 200);
  } finally {
    await stopDaemon(pub.d);
  }
});

test('config: connection keys are checked and documented', async () => {
  const { stdout } = await run(SEARCHD, ['--help']);
  for (const k of ['max_connections', 'max_connections_per_address', 'max_open_files', 'metrics_access',
    'metrics_token']) assert.ok(stdout.includes(k), k);
  const conf = path.join(tmp, 'caps-bad.conf');
  for (const [line, re] of [['max_connections = 0', /:2: max_connections/],
    ['max_connections_per_address = lots', /:2: max_connections_per_address/],
    ['metrics_access = world', /:2: metrics_access/],
    ['metrics_access = token', /metrics_token/]]) {
    await writeFile(conf, `index = ${index}\n${line}\n`);
    const child = spawn(SEARCHD, ['--config', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => { err += c; });
    const [code] = await new Promise((r) => child.on('exit', (...a) => r(a)));
    assert.equal(code, 2, line);
    assert.match(err, re);
  }
});

// ---- shutdown (last) -------------------------------------------------------------------

test('SIGTERM stops the daemon cleanly with exit status 0, and it never crashed', async () => {
  const e = await stopDaemon(daemon);
  assert.deepEqual(e, { code: 0, signal: null }, daemon.log);
  assert.deepEqual(crashes, []);
});
