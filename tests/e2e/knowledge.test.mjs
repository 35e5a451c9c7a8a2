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
import { ROOT, PG_SH, run, mustRun, startProgram as start, stopDaemon as stop, startPg, destroyPg }
  from './daemon.mjs';
import { wsClient as openWs } from './desk.mjs';
import { startKnowledgeStack } from './knowfix.mjs';

const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const CHATDESK = path.join(BIN, 'chatdesk');
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
  const c = await wsClient();
  const w = await c.request({ type: 'hello', name: '知识访客' });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  assert.equal((await c.request({ type: 'message', text: '报销系统打不开' })).type, 'ack');
  await c.close();
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
  ({ agentToken, searchd, sbase, follower, chat, base } = await startKnowledgeStack({
    bin: BIN, conninfo, index, author: AUTHOR, reviewer: REVIEWER, mustRun, start }));
  assert.notEqual((await run(CHATDESK, ['reviewer', 'nobody', '--db', conninfo])).code, 0);
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

// A WebSocket client whose request(obj) resolves with the frame answering
// its id (bounded by WAIT).
const wsClient = () => openWs(base.replace('http:', 'ws:') + '/ws', { wait: WAIT });

test('POST /api/v1/tickets/{n}/knowledge: a draft from a resolved ticket; 409 while open; requesters 403', { timeout: 120000 }, async () => {
  const author = await login(AUTHOR);
  const reviewer = await login(REVIEWER);
  const me = await api('GET', '/api/v1/me', { token: author });
  assert.equal(me.status, 200, me.text);
  assert.equal(me.body.knowledge_reviewer, false);
  assert.equal((await api('GET', '/api/v1/me', { token: reviewer })).body.knowledge_reviewer, true);

  // a requester's words, escalated into a ticket
  const words = '紫藤差旅系统提交报销单时提示 E-4711，\n附件也传不上去';
  const rq = await wsClient();
  const w = await rq.request({ type: 'hello', name: '工单访客', email: 'visitor@example.cn' });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  assert.equal((await rq.request({ type: 'message', text: words })).type, 'ack');
  const t = await rq.request({ type: 'escalate', impact: 2, urgency: 2, summary: '紫藤差旅系统报销单提交失败' });
  assert.equal(t.type, 'ticket', JSON.stringify(t));
  const number = t.number;
  const requester = w.session;

  // while open: 409 with nothing written
  const before = (await api('GET', '/api/v1/knowledge', { token: author })).body.items.length;
  assertError(await api('POST', `/api/v1/tickets/${number}/knowledge`, { token: author, json: { kind: 'article' } }),
    409, 'conflict');
  assert.equal((await api('GET', '/api/v1/knowledge', { token: author })).body.items.length, before);

  // the author takes and resolves it over the WebSocket
  const ag = await wsClient();
  assert.equal((await ag.request({ type: 'login', ...AUTHOR })).type, 'welcome');
  await ag.request({ type: 'take', ticket: number });
  const resolution = '在 IE 兼容模式下清除缓存，并把附件大小控制在 10 MB 以内后重新提交。';
  const rs = await ag.request({ type: 'resolve', ticket: number, resolution });
  assert.notEqual(rs.type, 'error', JSON.stringify(rs));

  // the requester (whose ticket it is) may not; nor may nobody; bad input is refused
  assertError(await api('POST', `/api/v1/tickets/${number}/knowledge`, { token: requester, json: { kind: 'article' } }),
    403, 'forbidden');
  assertError(await api('POST', `/api/v1/tickets/${number}/knowledge`, { json: { kind: 'article' } }), 401, 'unauthorized');
  assertError(await api('POST', `/api/v1/tickets/${number}/knowledge`, { token: author, json: { kind: 'standard' } }),
    400, 'bad_field');
  assertError(await api('POST', `/api/v1/tickets/${number}/knowledge`, { token: author, json: { kind: 'article', x: 1 } }),
    400, 'bad_field');
  assertError(await api('POST', '/api/v1/tickets/INC-999999/knowledge', { token: author, json: { kind: 'article' } }),
    404, 'not_found');
  assert.equal((await api('GET', '/api/v1/knowledge', { token: author })).body.items.length, before);

  // an article: summary, the requester's words quoted, the resolution, the ticket
  const key = { 'idempotency-key': `from-${number}` };
  const a = await api('POST', `/api/v1/tickets/${number}/knowledge`, { token: author, json: { kind: 'article' }, headers: key });
  assert.equal(a.status, 201, a.text);
  assert.match(a.body.id, /^KB-D\d{6}$/);
  assert.equal(a.body.state, 'draft');
  assert.equal(a.body.version, 1);
  assert.equal(a.body.owner_id, me.body.id);
  assert.equal(a.body.source_ticket, number);
  assert.equal(a.body.document.title, '紫藤差旅系统报销单提交失败');
  assert.equal(a.body.document.visibility, 'internal');
  assert.ok(a.body.document.body.includes('> 紫藤差旅系统提交报销单时提示 E-4711，\n> 附件也传不上去'), a.body.document.body);
  assert.ok(a.body.document.body.includes(resolution), a.body.document.body);
  // the same key again: the same draft, nothing new
  const again = await api('POST', `/api/v1/tickets/${number}/knowledge`, { token: author, json: { kind: 'article' }, headers: key });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.id, a.body.id);
  // it reads back with its ticket and is an ordinary draft (saved, submitted)
  const g = await api('GET', `/api/v1/knowledge/${a.body.id}`, { token: reviewer });
  assert.equal(g.body.source_ticket, number);
  const put = await api('PUT', `/api/v1/knowledge/${a.body.id}`, { token: author, headers: { 'if-match': '"1"' },
    json: { ...a.body.document, title: '紫藤差旅系统报销单提交失败（E-4711）' } });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.body.source_ticket, number);

  // a known error: the symptom is the summary and the words, the resolution the ticket's
  const k = await api('POST', `/api/v1/tickets/${number}/knowledge`, { token: reviewer, json: { kind: 'known_error' } });
  assert.equal(k.status, 201, k.text);
  assert.match(k.body.id, /^KE-D\d{6}$/);
  assert.equal(k.body.kind, 'known_error');
  assert.ok(k.body.document.symptom.startsWith('紫藤差旅系统报销单提交失败'), k.body.document.symptom);
  assert.ok(k.body.document.symptom.includes('附件也传不上去'), k.body.document.symptom);
  assert.equal(k.body.document.resolution, resolution);
  assert.equal(k.body.document.status, 'resolved');
  assert.equal(k.body.source_ticket, number);
  // an item written from scratch has none
  const plain = await api('POST', '/api/v1/knowledge', { token: author, json: { title: '无来源', visibility: 'internal' } });
  assert.equal(plain.body.source_ticket, null);
  rq.close();
  ag.close();
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
