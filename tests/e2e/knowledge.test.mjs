// End-to-end tests of desk-authored knowledge: chatdesk's /api/v1/knowledge
// (chatdesk/openapi.yaml) against a real PostgreSQL 15 (scripts/pg.sh,
// fsync off), with `indexer follow` keeping a real index up to date and a
// real searchd serving it throughout (KB_BIN selects the binaries folder).
// An agent writes an article, a reviewer approves it, it is published and
// found by /search within 5 seconds, and gone within 5 seconds of being
// retired; a requester can do none of it. No sleeps: every wait is for an
// answer or a condition, bounded in time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import WebSocket from 'ws';
import { ROOT, PG_SH, run, mustRun, startProgram as start, stopDaemon as stop, startPg, destroyPg }
  from './daemon.mjs';

const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const CHATDESK = path.join(BIN, 'chatdesk');
const INDEXER = path.join(BIN, 'indexer');
const SEARCHD = path.join(BIN, 'searchd');
const WAIT = 20000; // ms: the sanitizer build is slow
const VISIBLE_WITHIN = 5000; // ms: the promise for publish and retire
const AUTHOR = { username: 'author', password: 'author password 1' };
const REVIEWER = { username: 'reviewer', password: 'reviewer password 1' };
const WORD = '蓝鲸报销系统'; // in no corpus file

let tmp, pgdir, conninfo, index, chat, searchd, follower, base, sbase, agentToken;

async function api(method, p, { token, json, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    h['content-type'] = 'application/json';
    body = JSON.stringify(json);
  }
  const r = await fetch(base + p, { method, headers: h, body, signal: AbortSignal.timeout(WAIT) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null, text };
}

function assertError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body.error.code, code, r.text);
  assert.ok(r.body.error.message.length > 0);
}

async function login({ username, password }) {
  const r = await api('POST', '/api/v1/sessions', { json: { username, password } });
  assert.equal(r.status, 201, r.text);
  return r.body.token;
}

// A requester's session token (the WebSocket's hello and a first message).
async function requesterToken() {
  const ws = new WebSocket(base.replace('http:', 'ws:') + '/ws', { handshakeTimeout: WAIT });
  const frames = [];
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const answer = (id) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer: ${JSON.stringify(frames)}`)), WAIT);
    const check = () => {
      const f = frames.find((x) => x.id === id);
      if (f) { clearTimeout(timer); ws.off('message', check); resolve(f); }
    };
    ws.on('message', (d) => { frames.push(JSON.parse(d.toString('utf8'))); check(); });
  });
  const hello = answer('h1');
  ws.send(JSON.stringify({ type: 'hello', id: 'h1', name: '知识访客' }));
  const w = await hello;
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  const ack = answer('m1');
  ws.send(JSON.stringify({ type: 'message', id: 'm1', text: '报销系统打不开' }));
  assert.equal((await ack).type, 'ack');
  ws.close();
  return w.session;
}

async function searchIds(q, token) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const r = await fetch(`${sbase}/search?${new URLSearchParams({ q, limit: '50' })}`,
    { headers, signal: AbortSignal.timeout(WAIT) });
  assert.equal(r.status, 200);
  return (await r.json()).hits.map((h) => h.id);
}

// Polls search until want(ids) holds; resolves to the milliseconds it took.
async function searchUntil(q, token, want, deadline) {
  const t0 = Date.now();
  for (;;) {
    const ids = await searchIds(q, token);
    if (want(ids)) return Date.now() - t0;
    if (Date.now() - t0 > deadline) assert.fail(`search ${q}: condition not met after ${deadline} ms: ${ids}\n${follower.log}`);
    await new Promise((resolve) => setImmediate(resolve)); // yield; the request itself paces the loop
  }
}

before(async () => {
  ({ tmp, pgdir, conninfo } = await startPg('kbknow'));
  index = path.join(tmp, 'index');
  for (const a of [AUTHOR, REVIEWER])
    await mustRun(CHATDESK, ['useradd', '--agent', a.username, '--db', conninfo], { input: `${a.password}\n` });
  await mustRun(CHATDESK, ['reviewer', REVIEWER.username, '--db', conninfo]);
  assert.notEqual((await run(CHATDESK, ['reviewer', 'nobody', '--db', conninfo])).code, 0);
  await mustRun(INDEXER, ['build', '--quiet', '--corpus', 'corpora', '--index', index, '--db', conninfo]);
  agentToken = randomBytes(16).toString('hex');
  searchd = start(SEARCHD, ['--index', index, '--listen', '127.0.0.1:0', '--agent-token', agentToken,
    '--www', 'searchd/www', '--threads', '2'], /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/m);
  sbase = await searchd.ready;
  follower = start(INDEXER, ['follow', '--corpus', 'corpora', '--index', index, '--db', conninfo,
    '--poll-ms', '1000'], /^(following .*)\n/m);
  await follower.ready;
  chat = start(CHATDESK, ['--index', index, '--db', conninfo, '--listen', '127.0.0.1:0',
    '--www', 'chatdesk/www', '--threads', '2'], /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/m);
  base = await chat.ready;
}, { timeout: 180000 });

after(async () => {
  await stop(chat);
  const f = await stop(follower);
  await stop(searchd);
  await destroyPg({ tmp, pgdir });
  assert.deepEqual(f, { code: 0, signal: null }, `indexer follow: ${follower?.log}`);
}, { timeout: 60000 });

test('write, review, publish: found within 5 s (internal: agents only); retire: gone within 5 s', { timeout: 120000 }, async () => {
  const author = await login(AUTHOR);
  const reviewer = await login(REVIEWER);
  const requester = await requesterToken();

  // a requester may neither write nor read
  assertError(await api('POST', '/api/v1/knowledge', { token: requester,
    json: { title: `${WORD} 访客`, visibility: 'public' } }), 403, 'forbidden');
  assertError(await api('GET', '/api/v1/knowledge', { token: requester }), 403, 'forbidden');
  assertError(await api('POST', '/api/v1/knowledge', { json: { title: 'x', visibility: 'public' } }), 401, 'unauthorized');

  // bad input is refused whole
  assertError(await api('POST', '/api/v1/knowledge', { token: author,
    json: { title: 'x', visibility: 'secret' } }), 422, 'invalid');
  assertError(await api('POST', '/api/v1/knowledge', { token: author,
    json: { title: 'x', visibility: 'public', colour: 'red' } }), 400, 'bad_field');
  assertError(await api('POST', '/api/v1/knowledge', { token: author,
    json: { kind: 'standard', title: 'x', visibility: 'public' } }), 400, 'bad_field');

  const v1 = { title: `${WORD}登录后白屏`, visibility: 'internal', category: '办公/报销',
    body: `打开${WORD}后页面一片空白。清除浏览器缓存后重试。`, lang: 'zh' };
  const key = { 'idempotency-key': `create-${randomBytes(8).toString('hex')}` };
  const created = await api('POST', '/api/v1/knowledge', { token: author, json: v1, headers: key });
  assert.equal(created.status, 201, created.text);
  const id = created.body.id;
  // a retry with the same Idempotency-Key creates nothing twice
  const retried = await api('POST', '/api/v1/knowledge', { token: author, json: v1, headers: key });
  assert.equal(retried.status, 200, retried.text);
  assert.equal(retried.body.id, id);
  assert.match(id, /^KB-D\d{6}$/);
  assert.equal(created.body.state, 'draft');
  assert.equal(created.body.version, 1);
  assert.equal(created.body.document.title, v1.title);
  assertError(await api('GET', `/api/v1/knowledge/${id}`, { token: requester }), 403, 'forbidden');

  // two editors from version 1: the second gets 412 and its text is not saved
  const v2 = { ...v1, title: `${WORD}登录后白屏（Chrome 120）`, body: `${v1.body} 或改用 Edge。` };
  const saved = await api('PUT', `/api/v1/knowledge/${id}`, { token: author, json: v2, headers: { 'if-match': '"1"' } });
  assert.equal(saved.status, 200, saved.text);
  assert.equal(saved.body.version, 2);
  const lost = await api('PUT', `/api/v1/knowledge/${id}`, { token: reviewer,
    json: { ...v1, title: '覆盖' }, headers: { 'if-match': '"1"' } });
  assertError(lost, 412, 'precondition_failed');
  assert.match(lost.body.error.message, /version 2, not 1/);
  assertError(await api('PATCH', `/api/v1/knowledge/${id}`, { token: author, json: { product: '报销' } }), 428, 'precondition_required');
  assertError(await api('PATCH', `/api/v1/knowledge/${id}`, { token: author, json: { product: '报销', version: 1 } }), 409, 'conflict');
  assert.equal((await api('GET', `/api/v1/knowledge/${id}`, { token: author })).body.document.title, v2.title);

  // a draft is not searchable
  assert.ok(!(await searchIds(WORD, agentToken)).includes(id));

  // review: the author may not approve their own version; nor may anyone
  // approve before it is submitted
  assertError(await api('POST', `/api/v1/knowledge/${id}/approve`, { token: reviewer, json: {} }), 422, 'invalid');
  assertError(await api('POST', `/api/v1/knowledge/${id}/publish`, { token: author, json: {} }), 422, 'invalid');
  const sub = await api('POST', `/api/v1/knowledge/${id}/submit`, { token: author, json: { comment: '请审核' } });
  assert.equal(sub.status, 200, sub.text);
  assert.equal(sub.body.state, 'in_review');
  assertError(await api('POST', `/api/v1/knowledge/${id}/approve`, { token: author, json: {} }), 403, 'forbidden');
  assertError(await api('POST', `/api/v1/knowledge/${id}/return`, { token: reviewer, json: {} }), 422, 'invalid');
  const ret = await api('POST', `/api/v1/knowledge/${id}/return`, { token: reviewer, json: { comment: '请写明浏览器版本' } });
  assert.equal(ret.body.state, 'draft', ret.text);
  assert.equal((await api('POST', `/api/v1/knowledge/${id}/submit`, { token: author, json: {} })).body.state, 'in_review');
  const ok = await api('POST', `/api/v1/knowledge/${id}/approve`, { token: reviewer, json: { comment: '可以' } });
  assert.equal(ok.body.state, 'approved', ok.text);

  const pub = await api('POST', `/api/v1/knowledge/${id}/publish`, { token: author, json: {} });
  assert.equal(pub.status, 200, pub.text);
  assert.equal(pub.body.state, 'published');
  assert.equal(pub.body.published_version, 2);
  assert.ok(pub.body.review_due > Date.now() / 1000 + 170 * 86400);
  const foundMs = await searchUntil(WORD, agentToken, (ids) => ids.includes(id), VISIBLE_WITHIN);
  console.log(`published -> found by searchd in ${foundMs} ms`);
  // internal: not for the public, nor for a wrong token
  assert.ok(!(await searchIds(WORD)).includes(id));
  assert.ok(!(await searchIds(WORD, `x${agentToken}`)).includes(id));

  // the version list shows every save; a restore brings back old text
  const vs = await api('GET', `/api/v1/knowledge/${id}/versions`, { token: author });
  assert.deepEqual(vs.body.versions.map((v) => v.version), [1, 2]);
  assert.deepEqual(vs.body.versions.map((v) => v.title), [v1.title, v2.title]);
  assertError(await api('POST', `/api/v1/knowledge/${id}/versions/9/restore`, { token: author, headers: { 'if-match': '2' } }), 404, 'not_found');
  const rest = await api('POST', `/api/v1/knowledge/${id}/versions/1/restore`, { token: author, headers: { 'if-match': '2' } });
  assert.equal(rest.status, 200, rest.text);
  assert.equal(rest.body.version, 3);
  assert.equal(rest.body.state, 'draft');
  assert.equal(rest.body.published_version, 2, 'the published version stays live');
  assert.equal(rest.body.document.body, v1.body);
  assert.equal((await api('GET', `/api/v1/knowledge/${id}?version=2`, { token: author })).body.document.title, v2.title);
  assert.equal((await api('GET', `/api/v1/knowledge/${id}/versions`, { token: author })).body.versions.length, 3);
  assert.ok((await searchIds(WORD, agentToken)).includes(id), 'a new draft leaves the published version searchable');

  // lists
  const drafts = await api('GET', '/api/v1/knowledge?state=draft', { token: author });
  assert.ok(drafts.body.items.some((i) => i.id === id), drafts.text);
  assert.equal(drafts.body.items.length, 1, 'the retried create made no second item');
  const due = await api('GET', '/api/v1/knowledge?due_for_review=1', { token: author });
  assert.ok(!due.body.items.some((i) => i.id === id));
  assertError(await api('GET', '/api/v1/knowledge?state=lost', { token: author }), 400, 'bad_query');

  // retire: by the owner; gone from search within 5 s
  const gone = await api('POST', `/api/v1/knowledge/${id}/retire`, { token: author, json: { comment: '系统已下线' } });
  assert.equal(gone.body.state, 'retired', gone.text);
  const goneMs = await searchUntil(WORD, agentToken, (ids) => !ids.includes(id), VISIBLE_WITHIN);
  console.log(`retired -> gone from searchd in ${goneMs} ms`);
  assert.ok(/indexed: 1 from the database/.test(follower.out), follower.out);
  assert.ok(/0 from the database, 1 removed/.test(follower.out), follower.out);
});

test('indexer follow rides out a PostgreSQL restart: a publish afterwards is found within 5 s, by everyone when public', { timeout: 120000 }, async () => {
  await mustRun(PG_SH, ['stop', pgdir]);
  await mustRun(PG_SH, ['start', pgdir], { env: { PG_FSYNC: 'off' } });
  // chatdesk reconnects by itself: a request may meet the dead connection once
  let author;
  for (let i = 0; i < 3 && !author; i++) {
    const r = await api('POST', '/api/v1/sessions', { json: AUTHOR });
    if (r.status === 201) author = r.body.token;
    else assert.equal(r.status, 503, r.text);
  }
  assert.ok(author, 'chatdesk did not reconnect');
  const reviewer = await login(REVIEWER);
  const word = '青鸟考勤机';
  const c = await api('POST', '/api/v1/knowledge', { token: author,
    json: { kind: 'known_error', title: `${word}打卡失败`, visibility: 'public', symptom: `${word}显示“网络异常”`, status: 'open' } });
  assert.equal(c.status, 201, c.text);
  assert.match(c.body.id, /^KE-D\d{6}$/);
  const id = c.body.id;
  assert.equal((await api('POST', `/api/v1/knowledge/${id}/submit`, { token: author, json: {} })).status, 200);
  assert.equal((await api('POST', `/api/v1/knowledge/${id}/approve`, { token: reviewer, json: {} })).status, 200);
  assert.equal((await api('POST', `/api/v1/knowledge/${id}/publish`, { token: reviewer, json: {} })).status, 200);
  const ms = await searchUntil(word, null, (ids) => ids.includes(id), VISIBLE_WITHIN);
  console.log(`after a PostgreSQL restart: published -> found in ${ms} ms`);
  assert.equal(follower.exited, null, 'the follower is still running');
});
