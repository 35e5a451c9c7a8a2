// End-to-end tests of chatdesk's JSON API (/api/v1, chatdesk/openapi.yaml)
// against the real daemon (KB_BIN selects the binaries folder), a real
// PostgreSQL 15 started with scripts/pg.sh (fsync off), a real index of
// corpora/, agents created with `chatdesk useradd`, real HTTP (node's fetch
// and node:http) and real WebSocket clients (npm `ws`) on 127.0.0.1.
// No sleeps: every wait is for an answer, bounded in time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { run, mustRun, startDaemon as startProc, stopDaemon as stopProc } from './daemon.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const CHATDESK = path.join(BIN, 'chatdesk');
const INDEXER = path.join(BIN, 'indexer');
const PG_SH = path.join(ROOT, 'scripts/pg.sh');
const WAIT = 20000; // ms: the sanitizer build is slow
const AGENT = { username: 'agent', password: 'demo agent pw 1' };
const BODY_MAX = 64 * 1024;

const startDaemon = (args, timeoutMs = 30000) => startProc(CHATDESK, args, timeoutMs);
const stopDaemon = (d, deadlineMs = 15000) => stopProc(d, deadlineMs);
let tmp, pgdir, conninfo, index, daemon, base, wsUrl;
const sockets = new Set();

const pg = (what) => mustRun(PG_SH, [what, pgdir], { env: { PG_FSYNC: 'off' } });

// ---- HTTP --------------------------------------------------------------------------

// A request with fetch; returns { status, headers, body (parsed JSON or null), text }.
async function api(method, p, { token, json, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (json !== undefined) {
    h['content-type'] = 'application/json';
    body = JSON.stringify(json);
  }
  const r = await fetch(base + p, { method, headers: h, body, signal: AbortSignal.timeout(WAIT) });
  const text = await r.text();
  let parsed = null;
  if (text) parsed = JSON.parse(text); // every answer is JSON
  return { status: r.status, headers: r.headers, body: parsed, text };
}

// The one error shape, exactly.
function assertError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.deepEqual(Object.keys(r.body), ['error'], r.text);
  assert.deepEqual(Object.keys(r.body.error).sort(), ['code', 'message'], r.text);
  assert.equal(r.body.error.code, code, r.text);
  assert.ok(r.body.error.message.length > 0);
  assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(r.headers.get('cache-control'), 'no-store');
}

// Logs in; a 503 try_later (every place at the password-hashing gate is
// taken, e.g. by logins of clients that left) is asked again until WAIT.
async function login(username = AGENT.username, password = AGENT.password) {
  const deadline = Date.now() + WAIT;
  for (;;) {
    const r = await api('POST', '/api/v1/sessions', { json: { username, password } });
    if (r.status === 503 && r.body?.error?.code === 'try_later' && Date.now() < deadline) continue;
    assert.equal(r.status, 201, r.text);
    return r.body.token;
  }
}

// ---- WebSocket -----------------------------------------------------------------------

function wsOpen() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { handshakeTimeout: WAIT });
    const frames = [];
    const waiters = [];
    ws.on('message', (d) => { frames.push(JSON.parse(d.toString('utf8'))); waiters.forEach((w) => w()); });
    ws.once('open', () => { sockets.add(ws); resolve({ ws, frames, waiters }); });
    ws.once('error', reject);
  });
}

// Sends obj with an id and waits for the answer carrying that id.
function wsRequest(c, obj) {
  const id = `r${Math.random().toString(36).slice(2)}`;
  c.ws.send(JSON.stringify({ ...obj, id }));
  return new Promise((resolve, reject) => {
    const check = () => {
      const f = c.frames.find((x) => x.id === id && x.type !== 'message');
      if (!f) return;
      clearTimeout(timer);
      c.waiters.splice(c.waiters.indexOf(check), 1);
      resolve(f);
    };
    const timer = setTimeout(() => reject(new Error(`no answer to ${obj.type}: ${JSON.stringify(c.frames)}`)), WAIT);
    c.waiters.push(check);
    check();
  });
}

function wsClose(c) {
  sockets.delete(c.ws);
  return new Promise((resolve) => {
    if (c.ws.readyState === WebSocket.CLOSED) return resolve();
    c.ws.once('close', resolve);
    c.ws.close();
  });
}

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
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kbapi-'));
  await chmod(tmp, 0o755); // the postgres user must enter it
  pgdir = path.join(tmp, 'pg');
  conninfo = (await pg('start')).trim();
  index = path.join(tmp, 'index');
  await mustRun(INDEXER, ['build', '--quiet', '--corpus', 'corpora', '--index', index]);
  await mustRun(CHATDESK, ['useradd', '--agent', AGENT.username, '--name', '演示坐席', '--db', conninfo],
    { input: `${AGENT.password}\n` });
  daemon = startDaemon(['--index', index, '--db', conninfo, '--listen', '127.0.0.1:0',
    '--www', 'chatdesk/www', '--threads', '2']);
  base = await daemon.ready;
  wsUrl = base.replace('http:', 'ws:') + '/ws';
}, { timeout: 180000 });

after(async () => {
  for (const ws of sockets) ws.terminate();
  await stopDaemon(daemon);
  if (pgdir) await run(PG_SH, ['destroy', pgdir]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
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
    'resolution_due', 'resolved_at', 'response_due', 'status', 'summary', 'updated_at', 'urgency',
    'rating_comment', 'team', 'team_name', 'merged_into'].sort());

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
