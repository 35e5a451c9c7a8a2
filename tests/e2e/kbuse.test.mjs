// End-to-end tests of knowledge utilisation and reader feedback
// (shared/store/store_kuse.h, table knowledge_use): a real PostgreSQL 15
// (scripts/pg.sh, fsync off), a real index of corpora/, the real chatdesk
// (KB_BIN selects the binaries folder), real WebSocket and HTTP clients.
// Each counter moves when its action happens and not otherwise: shown after
// a requester's message yields suggestions (and an agent's search), opened
// after `doc`, helpful / not_helpful / out_of_date after feedback (the chat's
// kb_feedback and POST .../feedback), linked after an agent links, and
// self_solved after the chat ends self-solved. A requester cannot read
// feedback or counters through the API; bad input gets a clear error and
// stores nothing. No sleeps: every wait is for a frame or an answer, bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, run, mustRun, startDaemon, stopDaemon } from './daemon.mjs';
import { Client as ChatClient, clients } from './chatfix.mjs';

const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const CHATDESK = path.join(BIN, 'chatdesk');
const INDEXER = path.join(BIN, 'indexer');
const PG_SH = path.join(ROOT, 'scripts/pg.sh');
const WAIT = 20000; // ms: the sanitizer build is slow
const VPN_TEXT = '我的电脑连不上VPN了，提示错误809';
const INTERNAL = 'KB-0011'; // an internal article of corpora/
const AGENT = { username: 'agent1', password: 'correct horse 1' };
const ZERO = { shown: 0, opened: 0, helpful: 0, not_helpful: 0, out_of_date: 0, linked: 0, self_solved: 0 };

let tmp, pgdir, conninfo, index, daemon, base, wsUrl;

function psqlBin() {
  for (const d of [process.env.PG_BIN, '/usr/lib/postgresql/15/bin']) {
    if (d && existsSync(path.join(d, 'psql'))) return path.join(d, 'psql');
  }
  return 'psql';
}

async function sqlOne(query) {
  const out = await mustRun(psqlBin(), ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', conninfo, '-c', query]);
  return out.trim();
}
const useRows = async () => Number(await sqlOne('SELECT count(*) FROM knowledge_use'));

// WebSocket clients that keep every frame (chatfix.mjs), on this file's daemon
const Client = { open: () => ChatClient.open(wsUrl, undefined, { handshakeTimeout: WAIT }) };

let people = 0;
async function requester() {
  const c = await Client.open();
  const w = await c.request({ type: 'hello', name: `读者${++people}` });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  c.session = w.session;
  return c;
}

// A requester that said text and got its suggestions: [client, item ids].
async function asked(text = VPN_TEXT) {
  const r = await requester();
  const ack = await r.request({ type: 'message', text });
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  const sg = await r.next('suggestions');
  assert.ok(sg.items.length > 0, 'the VPN question yields suggestions');
  return [r, sg.items.map((i) => i.id)];
}

async function api(method, p, { token, json } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(json);
  }
  const r = await fetch(base + p, { method, headers, body, signal: AbortSignal.timeout(WAIT) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null, text };
}

function assertError(r, status, code, re) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body.error.code, code, r.text);
  if (re) assert.match(r.body.error.message, re);
}

let agentToken;
async function counters(id) {
  const r = await api('GET', `/api/v1/knowledge/${encodeURIComponent(id)}/stats`, { token: agentToken });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.id, id);
  return r.body.counters;
}

// Asserts that exactly the counters named in delta moved, by delta.
async function assertMoved(id, beforeC, delta) {
  const now = await counters(id);
  const want = { ...beforeC };
  for (const [k, v] of Object.entries(delta)) want[k] += v;
  assert.deepEqual(now, want, `${id}: ${JSON.stringify(delta)}`);
  return now;
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kbuse-'));
  await chmod(tmp, 0o755);
  pgdir = path.join(tmp, 'pg');
  conninfo = (await mustRun(PG_SH, ['start', pgdir], { env: { PG_FSYNC: 'off' } })).trim();
  index = path.join(tmp, 'index');
  await mustRun(INDEXER, ['build', '--quiet', '--corpus', 'corpora', '--index', index]);
  await mustRun(CHATDESK, ['useradd', '--agent', AGENT.username, '--db', conninfo], { input: `${AGENT.password}\n` });
  daemon = startDaemon(CHATDESK, ['--index', index, '--db', conninfo, '--listen', '127.0.0.1:0',
    '--www', 'chatdesk/www', '--threads', '2', '--hello-per-minute', '100000', '--hello-burst', '100000']);
  base = await daemon.ready;
  wsUrl = base.replace('http:', 'ws:') + '/ws';
  const r = await api('POST', '/api/v1/sessions', { json: AGENT });
  assert.equal(r.status, 201, r.text);
  agentToken = r.body.token;
}, { timeout: 180000 });

after(async () => {
  for (const c of [...clients]) {
    try { c.ws.terminate(); } catch { /* gone */ }
  }
  await stopDaemon(daemon);
  if (pgdir) await run(PG_SH, ['destroy', pgdir]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, { timeout: 60000 });

test('shown, opened, reader feedback and self_solved move with their actions only', { timeout: 120000 }, async () => {
  assert.deepEqual(await counters('KB-0001'), ZERO);
  const [r, ids] = await asked();
  assert.ok(ids.includes('KB-0001'), `suggestions: ${ids}`);
  // shown: once per suggestion, for each suggested item; nothing else
  const c0 = {};
  for (const id of ids) c0[id] = await assertMoved(id, ZERO, { shown: 1 });

  // opened: the whole article, read from the chat
  const d = await r.request({ type: 'doc', item: 'KB-0001' });
  assert.equal(d.type, 'doc', JSON.stringify(d));
  assert.ok(d.doc.body.length > 100);
  let k = await assertMoved('KB-0001', c0['KB-0001'], { opened: 1 });
  // an internal document is not found for a requester, and counts nothing
  const internal0 = await counters(INTERNAL);
  assert.equal((await r.request({ type: 'doc', item: INTERNAL })).code, 'not_found');
  await assertMoved(INTERNAL, internal0, {});

  // reader feedback, each verdict on its own counter
  const fb = await r.request({ type: 'kb_feedback', item: 'KB-0001', verdict: 'helpful', comment: '第3步有用' });
  assert.deepEqual([fb.type, fb.item, fb.verdict, fb.comment], ['kb_feedback_ack', 'KB-0001', 'helpful', '第3步有用']);
  k = await assertMoved('KB-0001', k, { helpful: 1 });
  assert.equal((await r.request({ type: 'kb_feedback', item: 'KB-0001', verdict: 'not_helpful' })).type, 'kb_feedback_ack');
  k = await assertMoved('KB-0001', k, { not_helpful: 1 });
  assert.equal((await r.request({ type: 'kb_feedback', item: 'KB-0001', verdict: 'out_of_date', comment: '   ' })).type, 'kb_feedback_ack');
  k = await assertMoved('KB-0001', k, { out_of_date: 1 });

  // bad input: a clear error, nothing stored
  const rows = await useRows();
  const bad = [
    [{ item: 'KB-0001', verdict: 'great' }, 'bad_field', 'verdict', /helpful, not_helpful or out_of_date/],
    [{ item: 'KB-0001' }, 'missing_field', 'verdict', /verdict/],
    [{ item: 'KB-0001', verdict: 'helpful', comment: 'x'.repeat(2001) }, 'bad_field', 'comment', /2000/],
    [{ item: 'KB-0001', verdict: 'helpful', comment: 7 }, 'bad_field', 'comment', /string/],
    [{ item: 'KB-9999', verdict: 'helpful' }, 'not_found', undefined, /no such item/],
    [{ item: INTERNAL, verdict: 'helpful' }, 'not_found', undefined, /no such item/],
  ];
  for (const [f, code, field, re] of bad) {
    const e = await r.request({ type: 'kb_feedback', ...f });
    assert.equal(e.type, 'error', JSON.stringify(e));
    assert.equal(e.code, code, JSON.stringify(e));
    if (field) assert.equal(e.field, field, JSON.stringify(e));
    assert.match(e.message, re);
  }
  // 2000 characters of comment is fine (and counts)
  assert.equal((await r.request({ type: 'kb_feedback', item: 'KB-0001', verdict: 'helpful', comment: '长'.repeat(2000) })).type, 'kb_feedback_ack');
  assert.equal(await useRows(), rows + 1);
  k = await assertMoved('KB-0001', k, { helpful: 1 });

  // self_solved: the chat's "did this help" ends it; every suggested item counts
  const others = {};
  for (const id of ids) others[id] = await counters(id);
  const ended = await r.request({ type: 'feedback', item: 'KB-0001', helpful: true });
  assert.equal(ended.type, 'feedback_ack', JSON.stringify(ended));
  assert.equal(ended.ended, true);
  for (const id of ids) await assertMoved(id, others[id], { self_solved: 1 });
  // a "not helpful" chat verdict in another conversation ends nothing and counts nothing
  const [r2, ids2] = await asked();
  const c2 = await counters(ids2[0]);
  const no = await r2.request({ type: 'feedback', item: ids2[0], helpful: false });
  assert.equal(no.ended, false);
  await assertMoved(ids2[0], c2, {});
  await r.close();
  await r2.close();
});

test('agents: search results count as shown, doc as opened, a link as linked (once)', { timeout: 120000 }, async () => {
  const a = await Client.open();
  const w = await a.request({ type: 'login', ...AGENT });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  const before1 = await counters('KB-0001');
  const res = await a.request({ type: 'search', q: 'VPN 错误 809', limit: 5 });
  assert.equal(res.type, 'search_results', JSON.stringify(res));
  const hit = res.items.map((i) => i.id);
  assert.ok(hit.includes('KB-0001'), `hits ${hit}`);
  let k = await assertMoved('KB-0001', before1, { shown: 1 });
  // an agent opens an internal document: counted
  const i0 = await counters(INTERNAL);
  assert.equal((await a.request({ type: 'doc', item: INTERNAL })).type, 'doc');
  await assertMoved(INTERNAL, i0, { opened: 1 });

  // a ticket: the requester asks and escalates, the agent takes it
  const [r, ids] = await asked();
  const t = await r.request({ type: 'escalate', impact: 2, urgency: 2 });
  assert.equal(t.type, 'ticket', JSON.stringify(t));
  k = await counters('KB-0001');
  const taken = await a.request({ type: 'take', ticket: t.number });
  assert.equal(taken.type, 'ticket', JSON.stringify(taken));
  await assertMoved('KB-0001', k, {}); // taking links nothing
  const l = await a.request({ type: 'link', ticket: t.number, item: 'KB-0001' });
  assert.deepEqual([l.type, l.added], ['linked', true], JSON.stringify(l));
  k = await assertMoved('KB-0001', k, { linked: 1 });
  const again = await a.request({ type: 'link', ticket: t.number, item: 'KB-0001' });
  assert.equal(again.added, false);
  k = await assertMoved('KB-0001', k, {});
  // a link to an unknown document is refused and counts nothing
  const rows = await useRows();
  assert.equal((await a.request({ type: 'link', ticket: t.number, item: 'KB-9999' })).code, 'not_found');
  assert.equal(await useRows(), rows);
  assert.equal(Number(await sqlOne(`SELECT count(*) FROM knowledge_use WHERE kind = 'linked' AND doc_id = 'KB-0001' AND ticket_id = (SELECT id FROM tickets WHERE number = '${t.number}')`)), 1);
  assert.ok(ids.length > 0);
  await a.close();
  await r.close();
});

test('API: feedback for every reader, counters and feedback for agents only, bad input refused', { timeout: 120000 }, async () => {
  const [r] = await asked();
  const rtok = r.session;
  const k0 = await counters('KE-0002');
  const ok = await api('POST', '/api/v1/knowledge/KE-0002/feedback', { token: rtok,
    json: { verdict: 'out_of_date', comment: '网关已下线' } });
  assert.equal(ok.status, 201, ok.text);
  assert.deepEqual(ok.body, { item: 'KE-0002', verdict: 'out_of_date', comment: '网关已下线' });
  await assertMoved('KE-0002', k0, { out_of_date: 1 });
  // a corpus file's feedback, for agents: GET .../feedback
  const fl = await api('GET', '/api/v1/knowledge/KE-0002/feedback', { token: agentToken });
  assert.equal(fl.status, 200, fl.text);
  assert.deepEqual([fl.body.feedback[0].verdict, fl.body.feedback[0].comment, fl.body.feedback[0].by_role], ['out_of_date', '网关已下线', 'requester']);
  assertError(await api('GET', '/api/v1/knowledge/KE-0002/feedback', { token: rtok }), 403, 'forbidden');

  // bad input: 4xx with a clear message, nothing stored
  const rows = await useRows();
  assertError(await api('POST', '/api/v1/knowledge/KE-0002/feedback', { token: rtok, json: { verdict: 'meh' } }), 400, 'bad_field', /helpful, not_helpful or out_of_date/);
  assertError(await api('POST', '/api/v1/knowledge/KE-0002/feedback', { token: rtok, json: {} }), 400, 'bad_field', /verdict/);
  assertError(await api('POST', '/api/v1/knowledge/KE-0002/feedback', { token: rtok,
    json: { verdict: 'helpful', comment: '长'.repeat(2001) } }), 400, 'bad_field', /2000/);
  assertError(await api('POST', '/api/v1/knowledge/KE-0002/feedback', { token: rtok,
    json: { verdict: 'helpful', rating: 5 } }), 400, 'bad_field', /rating/);
  assertError(await api('POST', '/api/v1/knowledge/KB-9999/feedback', { token: rtok, json: { verdict: 'helpful' } }), 404, 'not_found');
  assertError(await api('POST', `/api/v1/knowledge/${INTERNAL}/feedback`, { token: rtok, json: { verdict: 'helpful' } }), 404, 'not_found');
  assertError(await api('POST', '/api/v1/knowledge/KE-0002/feedback', { json: { verdict: 'helpful' } }), 401, 'unauthorized');
  assert.equal(await useRows(), rows);

  // a requester reads neither counters nor feedback
  assertError(await api('GET', '/api/v1/knowledge/KE-0002/stats', { token: rtok }), 403, 'forbidden');
  assertError(await api('GET', '/api/v1/knowledge/KB-9999/stats', { token: agentToken }), 404, 'not_found');
  assertError(await api('GET', '/api/v1/knowledge/KE-0002/stats?from=soon', { token: agentToken }), 400, 'bad_query');
  // a period: everything so far is before "to = now + 1 h", nothing after "from = now + 1 h"
  const later = Math.floor(Date.now() / 1000) + 3600;
  assert.equal((await api('GET', `/api/v1/knowledge/KE-0002/stats?from=${later}`, { token: agentToken })).body.counters.out_of_date, 0);
  assert.equal((await api('GET', `/api/v1/knowledge/KE-0002/stats?to=${later}`, { token: agentToken })).body.counters.out_of_date, k0.out_of_date + 1);

  // a desk item (a draft, not in the index): an agent's feedback; GET shows
  // counters and the feedback newest first; a requester gets 403
  const created = await api('POST', '/api/v1/knowledge', { token: agentToken,
    json: { title: '报销系统白屏', body: '清除缓存后重试。', visibility: 'internal' } });
  assert.equal(created.status, 201, created.text);
  const id = created.body.id;
  for (const [verdict, comment] of [['helpful', '第一条'], ['out_of_date', '第二条']]) {
    const f = await api('POST', `/api/v1/knowledge/${id}/feedback`, { token: agentToken, json: { verdict, comment } });
    assert.equal(f.status, 201, f.text);
  }
  assertError(await api('POST', `/api/v1/knowledge/${id}/feedback`, { token: rtok, json: { verdict: 'helpful' } }), 404, 'not_found');
  const item = await api('GET', `/api/v1/knowledge/${id}`, { token: agentToken });
  assert.equal(item.status, 200, item.text);
  assert.deepEqual(item.body.counters, { ...ZERO, helpful: 1, out_of_date: 1 });
  // newest first, with who
  assert.deepEqual(item.body.feedback.map((f) => [f.verdict, f.comment]), [['out_of_date', '第二条'], ['helpful', '第一条']]);
  const me = await api('GET', '/api/v1/me', { token: agentToken });
  for (const f of item.body.feedback) assert.deepEqual([f.by, f.by_id], [me.body.name, me.body.id], me.text);
  assert.equal(typeof item.body.feedback[0].at, 'number');
  assert.equal(item.body.feedback[0].by_role, 'agent');
  assertError(await api('GET', `/api/v1/knowledge/${id}`, { token: rtok }), 403, 'forbidden');
  assertError(await api('GET', `/api/v1/knowledge/${id}/stats`, { token: rtok }), 403, 'forbidden');
  assert.deepEqual((await counters(id)), { ...ZERO, helpful: 1, out_of_date: 1 });
  await r.close();
});

test('GET /api/v1/knowledge pages with ?after= (keyset) and ?limit=', { timeout: 60000 }, async () => {
  const made = [];
  for (let i = 0; i < 3; i++) {
    const c = await api('POST', '/api/v1/knowledge', { token: agentToken,
      json: { title: `分页 ${i}`, body: 'x', visibility: 'public' } });
    assert.equal(c.status, 201, c.text);
    made.push(c.body.id);
  }
  const all = await api('GET', '/api/v1/knowledge', { token: agentToken });
  assert.equal(all.status, 200, all.text);
  assert.equal(all.body.next, null);
  const ids = all.body.items.map((i) => i.id);
  assert.ok(ids.length >= 4);
  for (const id of made) assert.ok(ids.includes(id));
  const seen = [];
  let after = null;
  for (let pages = 0; pages < 10; pages++) {
    const q = new URLSearchParams({ limit: '2' });
    if (after) q.set('after', after);
    const p = await api('GET', `/api/v1/knowledge?${q}`, { token: agentToken });
    assert.equal(p.status, 200, p.text);
    assert.ok(p.body.items.length <= 2);
    seen.push(...p.body.items.map((i) => i.id));
    if (!p.body.next) break;
    assert.equal(p.body.next, p.body.items.at(-1).id);
    after = p.body.next;
  }
  assert.deepEqual(seen, ids);
  assertError(await api('GET', '/api/v1/knowledge?limit=0', { token: agentToken }), 400, 'bad_query');
  assertError(await api('GET', '/api/v1/knowledge?limit=501', { token: agentToken }), 400, 'bad_query');
  assertError(await api('GET', '/api/v1/knowledge?after=a%20b', { token: agentToken }), 400, 'bad_query');
});
