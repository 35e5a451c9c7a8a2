// End-to-end tests of build/bin/searchd's search (KB_BIN selects the
// binaries folder): ranking, confidence and no good match, typos, clauses
// and English heading names, snippets, facets and filters, visibility of
// internal documents, documents, navigation, suggestions, /healthz and
// /metrics, the result cache, static files and a live index rebuild;
// against a real index of a temporary copy of corpora/ and the real daemon
// on a free port of 127.0.0.1 (searchfix.mjs). HTTP handling, bad input,
// load, options and connection caps are in searchd_http.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { httpRaw, holdOpen, closeAll, waitFor, metric, refusedForNoFd, assertIdle, squeezeNofile,
  metricsServed } from './conn.mjs';
import { ROOT, BIN, INDEXER, SEARCHD, INTERNAL_ID, INTERNAL_QUERY, startDaemon, stopDaemon, crashes, run, get, qs,
  search, ids, rawRequest, parseResponses, metricValue, useSearchd, tmp, corpus, index, www, token, daemon, base,
  daemonArgs } from './searchfix.mjs';

useSearchd('kb-searchd');

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

test('doc cache: hits read from the cache of decoded heads answer as without it', async () => {
  const start = (mb) => startDaemon(['--index', index, '--listen', '127.0.0.1:0', '--www', www,
    '--threads', '1', '--cache-mb', '0', '--doc-cache-mb', mb]);
  const on = start('8'), off = start('0');
  try {
    const [uon, uoff] = await Promise.all([on.ready, off.ready]);
    const body = async (url, q) => {
      const r = await fetch(url + '/search?' + qs(q));
      assert.equal(r.status, 200);
      const j = await r.json();
      assert.equal(j.cached, undefined);
      delete j.took_ms;
      return j;
    };
    const queries = [{ q: 'VPN 连不上' }, { q: '打印机卡纸' }, { q: '8.3.4.1' }, { q: '服务级别' },
      { q: 'password reset', facets: '1' }, { q: '密码', limit: '20' }, { q: '网络 故障' }];
    for (let round = 0; round < 2; round++) { // the second round's hits come from the cache
      for (const q of queries) {
        const a = await body(uon, q), b = await body(uoff, q);
        assert.ok(a.hits.length > 0, q.q);
        assert.deepEqual(a, b, q.q);
      }
    }
  } finally {
    assert.deepEqual(await stopDaemon(on), { code: 0, signal: null }, on.log);
    assert.deepEqual(await stopDaemon(off), { code: 0, signal: null }, off.log);
  }
  const e = await run(SEARCHD, ['--index', index, '--doc-cache-mb', '-1']).then(() => null, (x) => x);
  assert.match(e.message, /--doc-cache-mb/);
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

// ---- shutdown (last) -------------------------------------------------------------------

test('SIGTERM stops the daemon cleanly with exit status 0, and it never crashed', async () => {
  const e = await stopDaemon(daemon);
  assert.deepEqual(e, { code: 0, signal: null }, daemon.log);
  assert.deepEqual(crashes, []);
});
