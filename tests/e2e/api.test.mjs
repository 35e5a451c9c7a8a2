// End-to-end tests of chatdesk's JSON API (/api/v1, chatdesk/openapi.yaml)
// against the real daemon (KB_BIN selects the binaries folder), a real
// PostgreSQL 15 started with scripts/pg.sh (fsync off), a real index of
// corpora/, agents created with `chatdesk useradd`, real HTTP (node's fetch
// and node:http) and real WebSocket clients (npm `ws`) on 127.0.0.1.
// No sleeps: every wait is for an answer, bounded in time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import path from 'node:path';
import WebSocket from 'ws';
import { PG_SH, mustRun, startDaemon as startProc, stopDaemon as stopProc } from './daemon.mjs';
import { startDesk, stopDesk, deskClientOf } from './deskfix.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const CHATDESK = path.join(BIN, 'chatdesk');
const WAIT = 20000; // ms: the sanitizer build is slow
const AGENT = { username: 'agent', password: 'demo agent pw 1' };
const BODY_MAX = 64 * 1024;

const startDaemon = (args, timeoutMs = 30000) => startProc(CHATDESK, args, timeoutMs);
const stopDaemon = (d, deadlineMs = 15000) => stopProc(d, deadlineMs);
const d = {};
let tmp, conninfo, index, daemon, base, wsUrl;

const pg = (what) => mustRun(PG_SH, [what, d.pgdir], { env: { PG_FSYNC: 'off' } });

// the API and WebSocket clients of the desk in d (tests/e2e/deskfix.mjs)
const { api, assertError, login, wsOpen, wsRequest, wsClose, sockets, wsWait: deskWait } =
  deskClientOf(d, AGENT, WAIT);

// A requester with an escalated ticket: { c, session, number }.
let people = 0;
async function requesterWithTicket() {
  const c = await wsOpen();
  const w = await wsRequest(c, { type: 'hello', name: `接口用户${++people}`, email: `api${people}@example.cn` });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  assert.equal((await wsRequest(c, { type: 'message', text: '打印机脱机，无法打印' })).type, 'ack');
  const t = await wsRequest(c, { type: 'escalate', impact: 2, urgency: 2 });
  assert.equal(t.type, 'ticket', JSON.stringify(t));
  return { c, session: w.session, number: t.number };
}

// ---- setup --------------------------------------------------------------------------

before(async () => {
  await startDesk(d, 'kbapi', { agents: [{ ...AGENT, name: '演示坐席' }], wait: WAIT });
  ({ tmp, conninfo, index, chat: daemon, base, wsUrl } = d);
}, { timeout: 180000 });

after(async () => {
  for (const ws of sockets) ws.terminate();
  await stopDaemon(daemon);
  await stopDesk(d);
}, { timeout: 60000 });

// ---- tests -------------------------------------------------------------------------------

test('POST /api/v1/sessions: the demo agent gets a token; a wrong password gets 401', { timeout: 60000 }, async () => {
  const before = Math.floor(Date.now() / 1000);
  const r = await api('POST', '/api/v1/sessions', { json: AGENT });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.match(r.body.token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(r.body.token_type, 'Bearer');
  assert.equal(r.body.role, 'agent');
  assert.equal(r.body.username, AGENT.username);
  assert.equal(r.body.name, '演示坐席');
  // the default session_ttl is 7 days
  assert.ok(Math.abs(r.body.expires_at - (before + 7 * 86400)) < 120, `expires_at ${r.body.expires_at}`);
  const again = await login();
  assert.notEqual(again, r.body.token, 'each login is a new session');

  const me = await api('GET', '/api/v1/me', { token: r.body.token });
  assert.equal(me.status, 200, me.text);
  assert.deepEqual([me.body.role, me.body.name], ['agent', '演示坐席']);
  assert.ok(Number.isInteger(me.body.id));

  for (const creds of [{ ...AGENT, password: 'wrong' }, { username: 'nobody', password: AGENT.password }]) {
    const bad = await api('POST', '/api/v1/sessions', { json: creds });
    assertError(bad, 401, 'login_failed');
    assert.match(bad.headers.get('www-authenticate'), /^Bearer/);
    assert.equal(bad.body.error.message, 'wrong user name or password'); // the same for both
  }
  // fields checked like the WebSocket's login
  assertError(await api('POST', '/api/v1/sessions', { json: { username: AGENT.username } }), 400, 'bad_field');
  assertError(await api('POST', '/api/v1/sessions', { json: { username: 7, password: 'x' } }), 400, 'bad_field');
  assertError(await api('POST', '/api/v1/sessions', { json: { username: AGENT.username, password: '' } }), 400, 'bad_field');
});

test('a token reads tickets: agents any, requesters their own; others get the 404 of a missing ticket', { timeout: 60000 }, async () => {
  const { c, session, number } = await requesterWithTicket();
  const token = await login();
  const r = await api('GET', `/api/v1/tickets/${number}`, { token });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.number, number);
  assert.equal(r.body.status, 'new');
  assert.equal(r.body.priority, 3); // impact 2 x urgency 2
  assert.equal(r.body.requester, `接口用户${people}`);
  // the fields chatdesk/openapi.yaml promises (the WebSocket's ticket object)
  assert.deepEqual(Object.keys(r.body).sort(), ['agent', 'category', 'closed_at', 'created_at',
    'first_response_at', 'impact', 'number', 'priority', 'rating', 'requester', 'resolution',
    'resolution_due', 'resolved_at', 'response_due', 'sla', 'status', 'summary', 'updated_at',
    'urgency', 'rating_comment', 'team', 'team_name', 'merged_into', 'pending_reason', 'major'].sort());
  assert.equal(r.body.sla, null); // no service-level data loaded here

  // the requester's WebSocket session token is a bearer token too
  const own = await api('GET', `/api/v1/tickets/${number}`, { token: session });
  assert.equal(own.status, 200, own.text);
  assert.deepEqual(own.body, r.body);
  const me = await api('GET', '/api/v1/me', { token: session });
  assert.deepEqual([me.status, me.body.role], [200, 'requester']);

  // another requester: exactly the answer for a ticket that does not exist
  const other = await requesterWithTicket();
  const theirs = await api('GET', `/api/v1/tickets/${number}`, { token: other.session });
  const missing = await api('GET', '/api/v1/tickets/INC-999999', { token: other.session });
  assertError(theirs, 404, 'not_found');
  assert.equal(theirs.text, missing.text);
  assert.equal((await api('GET', `/api/v1/tickets/${other.number}`, { token: other.session })).status, 200);

  // no token, a malformed one, one that is not a session
  for (const headers of [{}, { authorization: 'Basic ZGVtbzpkZW1v' }, { authorization: 'Bearer short' },
    { authorization: `Bearer ${'A'.repeat(43)}` }]) {
    const u = await api('GET', `/api/v1/tickets/${number}`, { headers });
    assertError(u, 401, 'unauthorized');
    assert.equal(u.headers.get('www-authenticate'), 'Bearer realm="chatdesk"');
  }
  await wsClose(c);
  await wsClose(other.c);
});

test('bad requests get their status in the error shape and the server goes on', { timeout: 60000 }, async () => {
  const token = await login();
  assertError(await api('POST', '/api/v1/sessions', { body: '{"username":', headers: { 'content-type': 'application/json' } }), 400, 'bad_json');
  assertError(await api('POST', '/api/v1/sessions', { body: '["demo"]', headers: { 'content-type': 'application/json' } }), 400, 'bad_json');
  assertError(await api('POST', '/api/v1/sessions', { body: JSON.stringify(AGENT), headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
  assertError(await api('POST', '/api/v1/sessions'), 400, 'bad_json'); // no body at all
  for (const p of ['/api/v1/nothing', '/api/v1/ticket', '/api/v1/tickets/INC-1/extra', '/api/v2/me', '/api', '/api/v1/me/']) {
    assertError(await api('GET', p, { token }), 404, 'not_found');
  }
  assertError(await api('GET', '/api/v1/me', { token, headers: { 'idempotency-key': 'k'.repeat(300) } }), 400, 'bad_header');
  const m = await api('PUT', '/api/v1/me', { token, json: {} });
  assertError(m, 405, 'method_not_allowed');
  assert.equal(m.headers.get('allow'), 'GET');
  const g = await api('GET', '/api/v1/sessions');
  assertError(g, 405, 'method_not_allowed');
  assert.equal(g.headers.get('allow'), 'POST');
  // a body over the limit: 413, and the pages and API still answer
  const big = JSON.stringify({ username: 'x'.repeat(BODY_MAX), password: 'y' });
  assertError(await api('POST', '/api/v1/sessions', { body: big, headers: { 'content-type': 'application/json' } }), 413, 'too_large');
  assert.equal((await api('GET', '/api/v1/me', { token })).status, 200);
  assert.equal((await fetch(base + '/')).status, 200);
  assert.equal(daemon.exited, null);
});

test('one keep-alive connection serves requests after errors, including a dropped oversize body', { timeout: 60000 }, async () => {
  const token = await login();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const u = new URL(base);
  const req = (method, p, body, headers = {}) => new Promise((resolve, reject) => {
    const r = http.request({ host: u.hostname, port: u.port, method, path: p, agent, timeout: WAIT,
      headers: { ...headers, ...(body ? { 'content-length': Buffer.byteLength(body) } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (s) => { text += s; });
      res.on('end', () => resolve({ status: res.statusCode, text, reused: r.reusedSocket }));
    });
    r.on('error', reject);
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.end(body);
  });
  const auth = { authorization: `Bearer ${token}` };
  const seq = [
    ['GET', '/api/v1/me', null, auth, 200],
    ['POST', '/api/v1/sessions', 'z'.repeat(BODY_MAX * 2), { 'content-type': 'application/json' }, 413],
    ['GET', '/api/v1/nothing', null, auth, 404],
    ['POST', '/api/v1/nothing', '{"a":1}', { 'content-type': 'application/json' }, 404],
    ['DELETE', '/api/v1/me', null, auth, 405],
    ['HEAD', '/api/v1/me', null, auth, 405], // a head without a body
    ['POST', '/api/v1/sessions', '{"username":"agent"}', { 'content-type': 'application/json' }, 400],
    ['GET', '/api/v1/me', null, auth, 200],
  ];
  for (const [i, [method, p, body, headers, status]] of seq.entries()) {
    const r = await req(method, p, body, headers);
    assert.equal(r.status, status, `${method} ${p}: ${r.text}`);
    if (i > 0) assert.equal(r.reused, true, `${method} ${p} on the same connection`);
  }
  agent.destroy();
});

test('tokens are shared with the WebSocket; DELETE /api/v1/sessions/current ends them on both', { timeout: 60000 }, async () => {
  // an API token resumes on the WebSocket
  const token = await login();
  const c = await wsOpen();
  const w = await wsRequest(c, { type: 'login', session: token });
  assert.deepEqual([w.type, w.role, w.resumed], ['welcome', 'agent', true], JSON.stringify(w));
  assert.equal((await wsRequest(c, { type: 'queue' })).type, 'queue');
  // a WebSocket login's token works on the API
  const c2 = await wsOpen();
  const w2 = await wsRequest(c2, { type: 'login', ...AGENT });
  assert.equal(w2.type, 'welcome');
  assert.equal((await api('GET', '/api/v1/me', { token: w2.session })).status, 200);
  await wsClose(c2);

  // logout over HTTP: the API refuses the token, the WebSocket signs out
  const d = await api('DELETE', '/api/v1/sessions/current', { token });
  assert.equal(d.status, 204);
  assert.equal(d.text, '');
  assertError(await api('GET', '/api/v1/me', { token }), 401, 'unauthorized');
  assertError(await api('DELETE', '/api/v1/sessions/current', { token }), 401, 'unauthorized');
  const e = await wsRequest(c, { type: 'queue' });
  assert.deepEqual([e.type, e.code], ['error', 'session_expired']);
  await wsClose(c);
});

test('clients that leave while their login is at a worker do not disturb the others', { timeout: 60000 }, async () => {
  const u = new URL(base);
  const body = JSON.stringify(AGENT);
  // each request is written whole, then its socket is destroyed: the
  // answer (after an Argon2id check) comes back for a closed connection
  const gone = Array.from({ length: 8 }, () => new Promise((resolve) => {
    const r = http.request({ host: u.hostname, port: u.port, method: 'POST', path: '/api/v1/sessions',
      agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
    r.on('error', () => resolve());
    r.on('close', () => resolve());
    r.on('finish', () => r.destroy());
    r.end(body);
  }));
  const token = await login(); // meanwhile, an ordinary client is served
  await Promise.all(gone);
  assert.equal((await api('GET', '/api/v1/me', { token })).status, 200);
  assert.equal(daemon.exited, null);
});

test('API logins share the per-address login delays of the WebSocket', { timeout: 120000 }, async () => {
  // a daemon of its own: delays after 2 wrong passwords from one address,
  // accounts locked only after 4 in a row
  const d = startDaemon(['--index', index, '--db', conninfo, '--listen', '127.0.0.1:0',
    '--threads', '2', '--login-address-free', '2', '--login-address-max-delay', '30',
    '--login-max-failures', '4', '--login-lockout', '2']);
  try {
    const url = (await d.ready) + '/api/v1/sessions';
    const post = async (username, password) => {
      const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username, password }), signal: AbortSignal.timeout(WAIT) });
      return { status: r.status, retry: r.headers.get('retry-after'), body: JSON.parse(await r.text()) };
    };
    // unknown user names: no account to lock, only the address counts
    for (const u of ['nobody1', 'nobody2']) assert.equal((await post(u, 'x')).status, 401);
    const held = await post('nobody3', 'x');
    assert.equal(held.status, 429, JSON.stringify(held.body));
    assert.equal(held.body.error.code, 'too_many_attempts');
    assert.ok(Number(held.retry) >= 1, `Retry-After ${held.retry}`);
    // the WebSocket's login from the same address waits as well
    const c = await new Promise((resolve, reject) => {
      const ws = new WebSocket(url.replace('http:', 'ws:').replace('/api/v1/sessions', '/ws'),
        { handshakeTimeout: WAIT });
      ws.on('open', () => resolve(ws));
      ws.on('error', reject);
    });
    sockets.add(c);
    const frame = await new Promise((resolve) => {
      c.on('message', (m) => resolve(JSON.parse(m.toString())));
      c.send(JSON.stringify({ type: 'login', id: 'l1', username: AGENT.username, password: AGENT.password }));
    });
    assert.equal(frame.type, 'error', JSON.stringify(frame));
    assert.equal(frame.code, 'too_many_attempts');
    c.close();
  } finally {
    await stopDaemon(d);
  }
});

test('PostgreSQL stopped: 503 db_unavailable, then service again', { timeout: 120000 }, async () => {
  const token = await login();
  await pg('stop');
  try {
    assertError(await api('GET', '/api/v1/me', { token }), 503, 'db_unavailable');
    assertError(await api('POST', '/api/v1/sessions', { json: AGENT }), 503, 'db_unavailable');
    // routing needs no database
    assertError(await api('GET', '/api/v1/nothing', { token }), 404, 'not_found');
  } finally {
    await pg('start');
  }
  assert.equal((await api('GET', '/api/v1/me', { token })).status, 200);
  assert.equal(daemon.exited, null);
});

// ---- problems ---------------------------------------------------------------------------

// A requester's ticket about text (escalated); { c, number }.
async function ticketAbout(text) {
  const c = await wsOpen();
  const w = await wsRequest(c, { type: 'hello', name: `问题用户${++people}`, email: `prb${people}@example.cn` });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  assert.equal((await wsRequest(c, { type: 'message', text })).type, 'ack');
  const t = await wsRequest(c, { type: 'escalate', impact: 2, urgency: 2 });
  assert.equal(t.type, 'ticket', JSON.stringify(t));
  return { c, number: t.number, session: w.session };
}

// Waits until c has a frame matching pred; returns it.
const wsWait = (c, pred) => deskWait(c, pred, 'such frame');

test('problems: three incidents, a known-error draft in the review list, resolving tells the open incidents\' agents', { timeout: 120000 }, async () => {
  await mustRun(CHATDESK, ['useradd', '--agent', 'agent2', '--name', '二线坐席', '--db', conninfo],
    { input: 'second agent pw 2\n' });
  const token = await login();
  const token2 = await login('agent2', 'second agent pw 2');
  // the holding agent and another one, connected over WebSocket
  const a1 = await wsOpen();
  assert.equal((await wsRequest(a1, { type: 'login', ...AGENT })).type, 'welcome');
  const a2 = await wsOpen();
  assert.equal((await wsRequest(a2, { type: 'login', username: 'agent2', password: 'second agent pw 2' })).type, 'welcome');

  const texts = ['Coremail 发往 163 的邮件一直在发件箱，几个小时才发出去', '外发邮件延迟，发件箱卡住很久', '发给外单位的邮件被延迟好几个小时'];
  const tickets = [];
  for (const t of texts) tickets.push(await ticketAbout(t));
  assert.equal((await wsRequest(a1, { type: 'take', ticket: tickets[0].number })).type, 'ticket');
  assert.equal((await wsRequest(a1, { type: 'take', ticket: tickets[1].number })).type, 'ticket');
  // tickets[2] stays in the queue

  const created = await api('POST', '/api/v1/problems', { token, json: { summary: '外发邮件队列积压', description: '多个用户外发邮件延迟', service: '邮件', impact: 2 } });
  assert.equal(created.status, 201, created.text);
  const n = created.body.number;
  assert.match(n, /^PRB-\d{6}$/);
  assert.equal(created.body.status, 'new');
  for (const t of tickets) {
    const l = await api('POST', `/api/v1/problems/${n}/incidents`, { token, json: { ticket: t.number } });
    assert.equal(l.status, 200, l.text);
  }
  const edited = await api('PATCH', `/api/v1/problems/${n}`, { token, json: { root_cause: '反垃圾网关对 163 限速', workaround: '改走备用出口' } });
  assert.equal(edited.status, 200, edited.text);
  let got = await api('GET', `/api/v1/problems/${n}`, { token: token2 });
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.body.incident_list.map((i) => i.number), tickets.map((t) => t.number));
  assert.deepEqual(got.body.events.map((e) => e.type), ['created', 'linked', 'linked', 'linked', 'edited']);
  assert.deepEqual(got.body.events[4].detail.fields, ['root_cause', 'workaround']);
  // an edit from values someone has changed since: 409, nothing written;
  // a bad "was": 400 naming it
  const stale = await api('PATCH', `/api/v1/problems/${n}`, { token: token2,
    json: { root_cause: '网关故障', fix: '换网关', was: { root_cause: '', fix: '' } } });
  assert.equal(stale.status, 409, stale.text);
  assert.equal(stale.body.error.code, 'conflict');
  assert.match(stale.body.error.message, /root_cause/);
  assert.doesNotMatch(stale.body.error.message, /fix/);
  const badWas = await api('PATCH', `/api/v1/problems/${n}`, { token, json: { fix: 'x', was: { fixx: '' } } });
  assert.equal(badWas.status, 400, badWas.text);
  assert.match(badWas.body.error.message, /unknown field 'was\.fixx'/);
  got = await api('GET', `/api/v1/problems/${n}`, { token });
  assert.deepEqual([got.body.root_cause, got.body.fix, got.body.events.length], ['反垃圾网关对 163 限速', '', 5]);
  // from the values now it goes through
  const fresh = await api('PATCH', `/api/v1/problems/${n}`, { token: token2,
    json: { fix: '换网关', was: { fix: '' } } });
  assert.equal(fresh.status, 200, fresh.text);
  assert.equal(fresh.body.fix, '换网关');

  // the known error: a draft, then in the review list once submitted
  const ke = await api('POST', `/api/v1/problems/${n}/known-error`, { token });
  assert.equal(ke.status, 201, ke.text);
  const doc = ke.body.knowledge_id;
  assert.match(doc, /^KE-D\d{6}$/);
  const item = await api('GET', `/api/v1/knowledge/${doc}`, { token });
  assert.equal(item.status, 200, item.text);
  assert.equal(item.body.state, 'draft');
  assert.equal(item.body.document.cause, '反垃圾网关对 163 限速');
  assert.ok(item.body.document.symptom.includes(tickets[2].number));
  assert.equal((await api('POST', `/api/v1/knowledge/${doc}/submit`, { token, json: {} })).status, 200);
  const review = await api('GET', '/api/v1/knowledge?state=in_review', { token });
  assert.ok(review.body.items.some((i) => i.id === doc), review.text);
  got = await api('GET', `/api/v1/problems/${n}`, { token });
  assert.equal(got.body.status, 'known_error');
  assert.equal(got.body.known_error, doc);
  const again = await api('POST', `/api/v1/problems/${n}/known-error`, { token });
  assert.deepEqual([again.status, again.body.knowledge_id, again.body.existed], [200, doc, true]);

  // a new ticket that resembles the incidents is matched to the problem; an unrelated one is not
  const similar = await ticketAbout('邮件发不出去，发件箱里的外发邮件延迟了几个小时');
  const m = await api('GET', `/api/v1/tickets/${similar.number}/problems`, { token });
  assert.equal(m.status, 200, m.text);
  assert.equal(m.body.problems[0]?.number, n, m.text);
  const other = await ticketAbout('投影仪没有信号，会议室 HDMI 接上没反应');
  const m2 = await api('GET', `/api/v1/tickets/${other.number}/problems`, { token });
  assert.deepEqual(m2.body.problems, [], m2.text);

  // resolving tells agent (holds 0 and 1) about its tickets, every agent about the queued one
  const res = await api('POST', `/api/v1/problems/${n}/steps`, { token: token2, json: { event: 'resolved', comment: '网关策略已调整' } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.status, 'resolved');
  assert.equal(res.body.told, 3);
  const mine = await wsWait(a1, (f) => f.type === 'problem_update' && f.tickets.includes(tickets[0].number));
  assert.deepEqual([mine.event, mine.problem], ['resolved', n]);
  await wsWait(a1, (f) => f.type === 'problem_update' && f.tickets.includes(tickets[1].number));
  const queued = await wsWait(a2, (f) => f.type === 'problem_update' && f.tickets.includes(tickets[2].number));
  assert.equal(queued.summary, '外发邮件队列积压');
  assert.ok(!a2.frames.some((f) => f.type === 'problem_update' && f.tickets.includes(tickets[0].number)),
    'another agent is not told about a ticket someone holds');
  for (const t of [...tickets, similar, other]) await wsClose(t.c);
  await wsClose(a1);
  await wsClose(a2);
});

test('problems: requesters may not see or change them; bad input is a clear error and stores nothing', { timeout: 60000 }, async () => {
  const token = await login();
  const r = await requesterWithTicket();
  const p = await api('POST', '/api/v1/problems', { token, json: { summary: '打印机批量脱机' } });
  assert.equal(p.status, 201, p.text);
  const n = p.body.number;
  // the requester's session token is a bearer token too, and gets nothing
  assertError(await api('GET', '/api/v1/problems', { token: r.session }), 403, 'forbidden');
  assertError(await api('GET', `/api/v1/problems/${n}`, { token: r.session }), 403, 'forbidden');
  assertError(await api('POST', '/api/v1/problems', { token: r.session, json: { summary: 'x' } }), 403, 'forbidden');
  assertError(await api('POST', `/api/v1/problems/${n}/incidents`, { token: r.session, json: { ticket: r.number } }), 403, 'forbidden');
  assertError(await api('GET', `/api/v1/tickets/${r.number}/problems`, { token: r.session }), 403, 'forbidden');
  // bad input
  const before = (await api('GET', '/api/v1/problems?limit=200', { token })).body.items.length;
  assertError(await api('POST', '/api/v1/problems', { token, json: {} }), 400, 'missing_field');
  assertError(await api('POST', '/api/v1/problems', { token, json: { summary: '  ' } }), 422, 'invalid');
  assertError(await api('POST', '/api/v1/problems', { token, json: { summary: 'x', impact: 5 } }), 400, 'bad_field');
  assertError(await api('POST', '/api/v1/problems', { token, json: { summary: 'x', owner: 3 } }), 400, 'bad_field');
  assertError(await api('POST', '/api/v1/problems', { token, json: { summary: 7 } }), 400, 'bad_field');
  assert.equal((await api('GET', '/api/v1/problems?limit=200', { token })).body.items.length, before);
  assertError(await api('GET', '/api/v1/problems?status=bogus', { token }), 400, 'bad_query');
  assertError(await api('GET', '/api/v1/problems?limit=0', { token }), 400, 'bad_query');
  assertError(await api('POST', `/api/v1/problems/${n}/steps`, { token, json: { event: 'closed' } }), 422, 'invalid');
  assertError(await api('POST', `/api/v1/problems/${n}/steps`, { token, json: {} }), 400, 'missing_field');
  assertError(await api('POST', `/api/v1/problems/${n}/incidents`, { token, json: { ticket: 'INC-999999' } }), 404, 'not_found');
  assertError(await api('DELETE', `/api/v1/problems/${n}/incidents/${r.number}`, { token }), 404, 'not_found');
  assertError(await api('GET', '/api/v1/problems/PRB-999999', { token }), 404, 'not_found');
  const got = await api('GET', `/api/v1/problems/${n}`, { token });
  assert.deepEqual(got.body.events.map((e) => e.type), ['created'], 'nothing refused was written');
  // a closed problem takes no incidents
  assert.equal((await api('POST', `/api/v1/problems/${n}/steps`, { token, json: { event: 'resolved' } })).status, 200);
  assert.equal((await api('POST', `/api/v1/problems/${n}/steps`, { token, json: { event: 'closed' } })).status, 200);
  assertError(await api('POST', `/api/v1/problems/${n}/incidents`, { token, json: { ticket: r.number } }), 422, 'invalid');
  await wsClose(r.c);
});

// ---- configuration items ------------------------------------------------------------------

test('configuration items: relations, references from a ticket, a problem and a known error; open tickets first; requesters refused', { timeout: 90000 }, async () => {
  const token = await login();
  const mk = async (json) => {
    const r = await api('POST', '/api/v1/cis', { token, json });
    assert.equal(r.status, 201, r.text);
    return r.body.code;
  };
  const mail = await mk({ type: 'service', name: '邮件服务', owner_team: '二线' });
  const app = await mk({ type: 'application', name: 'Coremail', description: '邮件系统' });
  const gw = await mk({ type: 'server', name: 'mail-gw-01' });
  assert.match(mail, /^CI-\d{6}$/);
  assertError(await api('POST', '/api/v1/cis', { token, json: { type: 'service', name: '邮件服务' } }), 409, 'conflict');
  for (const [from, type, to] of [[mail, 'depends_on', app], [app, 'runs_on', gw]]) {
    const r = await api('POST', `/api/v1/cis/${from}/relations`, { token, json: { type, to } });
    assert.equal(r.status, 200, r.text);
  }
  // references: a closed-later ticket, an open one, a problem and a known error
  const t1 = await requesterWithTicket();
  const t2 = await requesterWithTicket();
  const p = await api('POST', '/api/v1/problems', { token, json: { summary: '邮件网关异常' } });
  for (const [kind, ref] of [['ticket', t1.number], ['ticket', t2.number], ['problem', p.body.number], ['knowledge', 'KE-0006']]) {
    const r = await api('POST', `/api/v1/cis/${mail}/refs`, { token, json: { kind, ref } });
    assert.equal(r.status, 200, r.text);
  }
  const a = await wsOpen();
  assert.equal((await wsRequest(a, { type: 'login', ...AGENT })).type, 'welcome');
  assert.equal((await wsRequest(a, { type: 'take', ticket: t1.number })).type, 'ticket');
  assert.equal((await wsRequest(a, { type: 'resolve', ticket: t1.number, resolution: '重启网关' })).type, 'ticket');
  const got = await api('GET', `/api/v1/cis/${mail}`, { token });
  assert.equal(got.status, 200, got.text);
  assert.equal(got.body.open_tickets, 1);
  assert.deepEqual(got.body.refs.map((r) => `${r.kind} ${r.ref} ${r.open}`),
    [`ticket ${t2.number} true`, `ticket ${t1.number} false`, `problem ${p.body.number} true`, 'knowledge KE-0006 false']);
  assert.deepEqual(got.body.relations.map((r) => `${r.direction} ${r.type} ${r.code}`), [`out depends_on ${app}`]);
  const appGot = await api('GET', `/api/v1/cis/${app}`, { token });
  assert.deepEqual(appGot.body.relations.map((r) => `${r.direction} ${r.type} ${r.code}`).sort(),
    [`in depends_on ${mail}`, `out runs_on ${gw}`]);
  const of = await api('GET', `/api/v1/tickets/${t2.number}/cis`, { token });
  assert.deepEqual(of.body.cis.map((c) => c.code), [mail]);
  const list = await api('GET', '/api/v1/cis?type=service&q=%E9%82%AE%E4%BB%B6', { token });
  assert.deepEqual(list.body.items.map((c) => c.code), [mail]);
  // edits, removal, retirement
  const e = await api('PATCH', `/api/v1/cis/${gw}`, { token, json: { name: 'mail-gw-02', owner_id: null } });
  assert.equal(e.body.name, 'mail-gw-02');
  assert.equal((await api('DELETE', `/api/v1/cis/${app}/relations/runs_on/${gw}`, { token })).status, 200);
  assertError(await api('DELETE', `/api/v1/cis/${app}/relations/runs_on/${gw}`, { token }), 404, 'not_found');
  assert.equal((await api('POST', `/api/v1/cis/${gw}/retire`, { token })).status, 200);
  assertError(await api('POST', `/api/v1/cis/${gw}/refs`, { token, json: { kind: 'ticket', ref: t2.number } }), 422, 'invalid');
  assert.equal((await api('GET', '/api/v1/cis?type=server&q=mail-gw', { token })).body.items.length, 0);
  assert.equal((await api('GET', '/api/v1/cis?type=server&q=mail-gw&retired=1', { token })).body.items.length, 1);
  // bad input stores nothing
  const before = (await api('GET', '/api/v1/cis?retired=1&limit=500', { token })).body.items.length;
  assertError(await api('POST', '/api/v1/cis', { token, json: { name: 'x' } }), 400, 'missing_field');
  assertError(await api('POST', '/api/v1/cis', { token, json: { type: 'boat', name: 'x' } }), 422, 'invalid');
  assertError(await api('POST', '/api/v1/cis', { token, json: { type: 'server', name: 'x', colour: 'red' } }), 400, 'bad_field');
  assertError(await api('POST', `/api/v1/cis/${mail}/relations`, { token, json: { type: 'loves', to: app } }), 422, 'invalid');
  assertError(await api('POST', `/api/v1/cis/${mail}/refs`, { token, json: { kind: 'ticket', ref: 'INC-999999' } }), 404, 'not_found');
  assertError(await api('GET', '/api/v1/cis?limit=501', { token }), 400, 'bad_query');
  assert.equal((await api('GET', '/api/v1/cis?retired=1&limit=500', { token })).body.items.length, before);
  // a requester's token gets nothing
  for (const [m, path] of [['GET', '/api/v1/cis'], ['GET', `/api/v1/cis/${mail}`], ['GET', `/api/v1/tickets/${t2.number}/cis`]])
    assertError(await api(m, path, { token: t2.session }), 403, 'forbidden');
  assertError(await api('POST', '/api/v1/cis', { token: t2.session, json: { type: 'server', name: 'y' } }), 403, 'forbidden');
  for (const c of [t1.c, t2.c, a]) await wsClose(c);
});

// ---- reports ---------------------------------------------------------------------------------

test('reports: the indicators of today as JSON and CSV agree, move with a resolved and rated ticket, and are refused to requesters', { timeout: 90000 }, async () => {
  const token = await login();
  const day = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10); // Asia/Shanghai
  const q = `from=${day}&to=${day}`;
  const get = async () => {
    const r = await api('GET', `/api/v1/reports/indicators?${q}`, { token });
    assert.equal(r.status, 200, r.text);
    return r.body;
  };
  const before = await get();
  assert.deepEqual(before.period, { from: day, to: day, tz: 'Asia/Shanghai', recontact_days: 7 });
  // one more ticket received, resolved and rated 5 today
  const t = await requesterWithTicket();
  const a = await wsOpen();
  assert.equal((await wsRequest(a, { type: 'login', ...AGENT })).type, 'welcome');
  assert.equal((await wsRequest(a, { type: 'take', ticket: t.number })).type, 'ticket');
  assert.equal((await wsRequest(a, { type: 'reply', ticket: t.number, text: '请重新添加打印机' })).type, 'ack');
  assert.equal((await wsRequest(a, { type: 'resolve', ticket: t.number, resolution: '重新添加打印机' })).type, 'ticket');
  assert.equal((await wsRequest(t.c, { type: 'confirm', ticket: t.number, accepted: true })).type, 'ticket');
  const rated = await wsRequest(t.c, { type: 'rate', ticket: t.number, score: 5 });
  assert.notEqual(rated.type, 'error', JSON.stringify(rated));
  // an off-topic question: a search that found nothing good, a content gap
  const off = await wsOpen();
  assert.equal((await wsRequest(off, { type: 'hello', name: '闲聊用户', email: 'chat@example.cn' })).type, 'welcome');
  assert.equal((await wsRequest(off, { type: 'message', text: '今天天气怎么样' })).type, 'ack');
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no suggestions')), 20000);
    const check = () => { if (off.frames.some((f) => f.type === 'suggestions')) { clearTimeout(timer); resolve(); } };
    off.waiters.push(check);
    check();
  });
  // the follow-up (回访) the desk owes on the closed ticket, then recorded
  const due = await api('GET', '/api/v1/followups?days=7', { token });
  assert.ok(due.body.items.some((i) => i.ticket === t.number), due.text);
  assertError(await api('POST', `/api/v1/tickets/${t.number}/followup`, { token, json: { outcome: 'fine' } }), 422, 'invalid');
  assertError(await api('POST', `/api/v1/tickets/${t.number}/followup`, { token, json: {} }), 400, 'missing_field');
  assertError(await api('POST', `/api/v1/tickets/${t.number}/followup`, { token: t.session, json: { outcome: 'recurred' } }), 403, 'forbidden');
  const fu = await api('POST', `/api/v1/tickets/${t.number}/followup`, { token, json: { outcome: 'recurred', note: '又出现了' } });
  assert.equal(fu.status, 201, fu.text);
  assertError(await api('POST', `/api/v1/tickets/${t.number}/followup`, { token, json: { outcome: 'stayed_solved' } }), 409, 'conflict');
  assert.ok(!(await api('GET', '/api/v1/followups?days=7', { token })).body.items.some((i) => i.ticket === t.number));
  const after = await get();
  assert.equal(after.desk.followups, before.desk.followups + 1);
  assert.equal(after.desk.recontacts, before.desk.recontacts + 1);
  assert.ok(after.search.searches >= before.search.searches + 2, JSON.stringify(after.search));
  assert.ok(after.search.low_confidence >= before.search.low_confidence + 1);
  const gaps = await api('GET', `/api/v1/reports/queries?${q}&gaps=1`, { token });
  assert.equal(gaps.status, 200, gaps.text);
  assert.ok(gaps.body.items.some((i) => i.query === '今天天气怎么样' && i.no_good_match >= 1), gaps.text);
  await wsClose(off);
  assert.equal(after.desk.received, before.desk.received + 1);
  assert.equal(after.desk.resolved, before.desk.resolved + 1);
  assert.equal(after.desk.first_contact, before.desk.first_contact + 1);
  assert.equal(after.satisfaction.ratings, before.satisfaction.ratings + 1);
  assert.equal(after.satisfaction.ratings_good, before.satisfaction.ratings_good + 1);
  assert.equal(after.satisfaction.closed, before.satisfaction.closed + 1);
  // the CSV holds the same figures
  const r = await fetch(`${base}/api/v1/reports/indicators?${q}&format=csv`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/csv/);
  assert.match(r.headers.get('content-disposition'), /attachment; filename="kbdesk-indicators.csv"/);
  const rows = (await r.text()).split('\r\n').filter((l) => l && !l.startsWith('#')).slice(1).map((l) => l.split(','));
  for (const [sec, name, value] of rows) {
    if (name.startsWith('items_') || sec === 'policy') continue;
    const j = after[sec][name];
    if (j === null) assert.equal(value, '', `${sec}.${name}`);
    else assert.ok(Math.abs(Number(value) - j) < 0.0001, `${sec}.${name}: csv ${value}, json ${j}`);
  }
  assert.ok(rows.length >= 29);
  // reading a report is audited; requesters are refused; bad periods are clear errors
  assertError(await api('GET', `/api/v1/reports/indicators?${q}`, { token: t.session }), 403, 'forbidden');
  assertError(await api('GET', '/api/v1/reports/indicators', { token }), 400, 'bad_query');
  assertError(await api('GET', `/api/v1/reports/indicators?from=${day}&to=2000-01-01`, { token }), 400, 'bad_query');
  assertError(await api('GET', `/api/v1/reports/indicators?${q}&tz=Mars/Base`, { token }), 400, 'bad_query');
  assertError(await api('GET', `/api/v1/reports/indicators?${q}&format=pdf`, { token }), 400, 'bad_query');
  const docs = await api('GET', `/api/v1/reports/documents?${q}`, { token });
  assert.equal(docs.status, 200, docs.text);
  assert.ok(Array.isArray(docs.body.items));
  await wsClose(t.c);
  await wsClose(a);
});

test('reports: the drill-down of several figures lists as many rows as the figure says, with filters; bad names and filters are clear errors', { timeout: 60000 }, async () => {
  const token = await login();
  const day = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10); // Asia/Shanghai
  const q = `from=${day}&to=${day}`;
  const ind = await api('GET', `/api/v1/reports/indicators?${q}`, { token });
  assert.equal(ind.status, 200, ind.text);
  assert.ok('timeliness' in ind.body && Array.isArray(ind.body.timeliness.policies), ind.text);
  assert.deepEqual(ind.body.filters, { service: null, team: null, category: null, channel: null, priority: null });
  const names = ['desk.received', 'desk.resolved', 'desk.first_contact', 'desk.conversations',
    'satisfaction.ratings', 'satisfaction.ratings_good', 'satisfaction.closed', 'timeliness.breached',
    'timeliness.response_timed', 'problems.opened'];
  let nonzero = 0;
  for (const name of names) {
    const [sec, key] = name.split('.');
    const r = await api('GET', `/api/v1/reports/indicators/${name}/items?${q}`, { token });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.count, ind.body[sec][key], name);
    assert.equal(r.body.items.length, ind.body[sec][key], name);
    if (r.body.count) nonzero++;
    if (sec === 'desk' && key !== 'conversations') for (const it of r.body.items) assert.match(it.id, /^INC-\d{6}$/);
  }
  assert.ok(nonzero >= 4, `only ${nonzero} figures with rows`);
  // filters: channel chat is every ticket; a priority no ticket of today has lists none
  const chat = await api('GET', `/api/v1/reports/indicators?${q}&channel=chat`, { token });
  assert.equal(chat.body.desk.received, ind.body.desk.received);
  assert.equal(chat.body.filters.channel, 'chat');
  const rec = await api('GET', `/api/v1/reports/indicators/desk.received/items?${q}`, { token });
  const prios = new Set(rec.body.items.map((i) => i.priority));
  const absent = [1, 2, 3, 4].find((p) => !prios.has(p));
  const none = await api('GET', `/api/v1/reports/indicators/desk.received/items?${q}&priority=${absent}`, { token });
  assert.equal(none.body.count, 0);
  const first = rec.body.items[0].priority;
  const some = await api('GET', `/api/v1/reports/indicators?${q}&priority=${first}`, { token });
  assert.equal(some.body.desk.received, rec.body.items.filter((i) => i.priority === first).length);
  // the CSV of a list has a row per item
  const csv = await fetch(`${base}/api/v1/reports/indicators/desk.received/items?${q}&format=csv`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(csv.status, 200);
  assert.equal((await csv.text()).split('\r\n').filter(Boolean).length, 1 + rec.body.count);
  assertError(await api('GET', `/api/v1/reports/indicators/desk.nosuch/items?${q}`, { token }), 404, 'not_found');
  assertError(await api('GET', `/api/v1/reports/indicators/desk.received/items?${q}&channel=fax`, { token }), 400, 'bad_query');
  assertError(await api('GET', `/api/v1/reports/indicators?${q}&service=nosuch`, { token }), 400, 'bad_query');
  assertError(await api('GET', `/api/v1/reports/indicators?${q}&team=nosuch`, { token }), 400, 'bad_query');
  assertError(await api('GET', `/api/v1/reports/indicators?${q}&priority=9`, { token }), 400, 'bad_query');
  const t = await requesterWithTicket();
  assertError(await api('GET', `/api/v1/reports/indicators/desk.received/items?${q}`, { token: t.session }), 403, 'forbidden');
  await wsClose(t.c);
});

test('stops cleanly on SIGTERM with an API connection open', { timeout: 60000 }, async () => {
  const agent = new http.Agent({ keepAlive: true });
  const u = new URL(base);
  await new Promise((resolve, reject) => {
    http.get({ host: u.hostname, port: u.port, path: '/api/v1/nothing', agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    }).on('error', reject);
  });
  const e = await stopDaemon(daemon);
  assert.deepEqual(e, { code: 0, signal: null }, daemon.log);
  agent.destroy();
});
