// End-to-end tests of build/bin/chatdesk (KB_BIN selects the binaries
// folder): a real PostgreSQL 15 started with scripts/pg.sh in a temporary
// folder (fsync off), a real index of corpora/ built with the indexer, the
// real daemon on a free port of 127.0.0.1, agents created with
// `chatdesk useradd` (password on stdin), and real WebSocket clients (the
// npm `ws` package). The rows are checked with psql. Everything is bounded
// in time; there are no sleeps: tests wait for frames, and a ping/pong
// round trip marks "every earlier answer has arrived" on a connection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, chmod, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { httpRaw, holdOpen, closeAll, waitFor, metric, refusedForNoFd, assertIdle, squeezeNofile,
  metricsServed } from './conn.mjs';
import { run, mustRun, startDaemon as startProc, stopDaemon as stopProc } from './daemon.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const CHATDESK = path.join(BIN, 'chatdesk');
const INDEXER = path.join(BIN, 'indexer');
const PG_SH = path.join(ROOT, 'scripts/pg.sh');
const VPN_TEXT = '我的电脑连不上VPN了，提示错误809';
const FRAME_WAIT = 20000; // ms: the sanitizer build is slow

const startDaemon = (args, timeoutMs = 30000) => startProc(CHATDESK, args, timeoutMs);
const stopDaemon = (d, deadlineMs = 15000) => stopProc(d, deadlineMs);
let tmp, pgdir, conninfo, index, daemon, base, wsUrl;
const clients = new Set();
const AGENTS = { agent1: 'correct horse 1', agent2: 'battery staple 2' };

// ---- processes ----------------------------------------------------------------

const pg = (what) => mustRun(PG_SH, [what, pgdir], { env: { PG_FSYNC: 'off' } });

function psqlBin() {
  for (const d of [process.env.PG_BIN, '/usr/lib/postgresql/15/bin']) {
    if (d && existsSync(path.join(d, 'psql'))) return path.join(d, 'psql');
  }
  return 'psql';
}

// Runs SQL with $1, $2 ... bound as text (psql variables); returns the rows
// as arrays of strings (psql -At, | separated).
async function sql(query, ...params) {
  const args = ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', conninfo];
  params.forEach((p, i) => args.push('-v', `p${i + 1}=${p}`));
  // variables are interpolated only in SQL read from a file or stdin
  const out = await mustRun(psqlBin(), [...args, '-f', '-'],
    { input: `${query.replace(/\$(\d)/g, ":'p$1'")};\n` });
  return out.split('\n').filter((l) => l !== '').map((l) => l.split('|'));
}
const sqlOne = async (q, ...p) => (await sql(q, ...p))[0]?.[0];

// ---- WebSocket clients --------------------------------------------------------------

class Client {
  constructor(ws) {
    this.ws = ws;
    this.frames = [];   // every frame received, in order
    this.unread = [];   // not yet taken by next()
    this.waiters = [];
    this.pings = 0;
    ws.on('message', (data, isBinary) => {
      const text = data.toString('utf8');
      let f;
      try { f = JSON.parse(text); } catch { f = { type: '<not json>', text, isBinary }; }
      this.frames.push(f);
      this.unread.push(f);
      // a new requester's conversation exists from its first message's ack
      if (f.type === 'ack' && f.conversation && f.conversation.id) this.conversation = f.conversation.id;
      for (const w of [...this.waiters]) w();
    });
    ws.on('close', () => { this.closed = true; for (const w of [...this.waiters]) w(); });
  }

  static open(url = wsUrl, protocols, options = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, { handshakeTimeout: 10000, ...options });
      const c = new Client(ws);
      ws.once('open', () => { clients.add(c); resolve(c); });
      ws.once('error', reject);
    });
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' || Buffer.isBuffer(obj) ? obj : JSON.stringify(obj));
  }

  sendRaw(buf, binary) {
    this.ws.send(buf, { binary });
  }

  // Waits for the first unread frame matching want (a type or a predicate);
  // takes it out of the unread list.
  next(want, timeoutMs = FRAME_WAIT) {
    const match = typeof want === 'function' ? want : (f) => f.type === want;
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.unread.findIndex(match);
        if (i >= 0) {
          const [f] = this.unread.splice(i, 1);
          done();
          resolve(f);
          return true;
        }
        if (this.closed) {
          done();
          reject(new Error(`connection closed waiting for ${want}; got ${JSON.stringify(this.frames).slice(-2000)}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${typeof want === 'string' ? want : 'matching'} frame in ${timeoutMs} ms; got ${JSON.stringify(this.frames).slice(-2000)}`));
      }, timeoutMs);
      const waiter = () => check();
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      if (!check()) this.waiters.push(waiter);
    });
  }

  // Sends a request and waits for its direct answer (a frame with its id).
  async request(obj, timeoutMs) {
    const id = obj.id || `r${Math.random().toString(36).slice(2)}`;
    this.send({ ...obj, id });
    return this.next((f) => f.id === id && f.type !== 'message', timeoutMs);
  }

  // A ping/pong round trip: every answer to earlier frames has arrived.
  async sync() {
    const id = `sync-${++this.pings}`;
    this.send({ type: 'ping', id });
    await this.next((f) => f.type === 'pong' && f.id === id);
  }

  close() {
    clients.delete(this);
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', resolve);
      this.ws.close();
    });
  }
}

let people = 0;
async function requester(name) {
  const c = await Client.open();
  const w = await c.request({ type: 'hello', role: 'requester', name: name || `用户${++people}`,
    email: `u${people}@example.cn` });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  c.session = w.session;
  c.conversation = w.conversation.id; // null until the first message
  return c;
}

async function agent(username) {
  const c = await Client.open();
  const w = await c.request({ type: 'login', username, password: AGENTS[username] });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  assert.equal(w.role, 'agent');
  return c;
}

// a requester with one message, escalated: [client, ticket number]
async function ticketOf(text = VPN_TEXT) {
  const r = await requester();
  const ack = await r.request({ type: 'message', text });
  assert.equal(ack.type, 'ack');
  const t = await r.request({ type: 'escalate', impact: 2, urgency: 2 });
  assert.equal(t.type, 'ticket', JSON.stringify(t));
  return [r, t.number];
}

// ---- setup --------------------------------------------------------------------------

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kbchat-'));
  await chmod(tmp, 0o755); // the postgres user must enter it
  pgdir = path.join(tmp, 'pg');
  conninfo = (await pg('start')).trim();
  assert.match(conninfo, /host=/);
  index = path.join(tmp, 'index');
  await mustRun(INDEXER, ['build', '--quiet', '--corpus', 'corpora', '--index', index]);
  for (const [u, pw] of Object.entries(AGENTS)) {
    const r = await run(CHATDESK, ['useradd', '--agent', u, '--name', `坐席 ${u}`, '--db', conninfo],
      { input: `${pw}\n` });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`agent ${u} created`));
  }
  // every client here comes from 127.0.0.1: the per-address hello limit is
  // raised for this daemon (its own test below runs one with the limits on)
  daemon = startDaemon(['--index', index, '--db', conninfo, '--listen', '127.0.0.1:0',
    '--www', 'chatdesk/www', '--threads', '4', '--hello-per-minute', '100000',
    '--hello-burst', '100000']);
  base = await daemon.ready;
  wsUrl = base.replace('http:', 'ws:') + '/ws';
}, { timeout: 180000 });

after(async () => {
  for (const c of [...clients]) {
    try { c.ws.terminate(); } catch { /* gone */ }
  }
  clients.clear();
  await stopDaemon(daemon);
  if (pgdir) await run(PG_SH, ['destroy', pgdir]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, { timeout: 60000 });

// ---- tests ------------------------------------------------------------------------------

test('serves the pages and the WebSocket on one port', { timeout: 60000 }, async () => {
  const page = await fetch(base + '/');
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<meta charset="utf-8">/i);
  assert.match(page.headers.get('content-security-policy') || '', /script-src 'self'/);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  const missing = await fetch(base + '/no-such-page.html');
  assert.equal(missing.status, 404);
  await missing.text();
  // no Sec-WebSocket-Protocol, and the named one
  for (const proto of [undefined, 'kbdesk']) {
    const c = await Client.open(wsUrl, proto);
    await c.sync();
    await c.close();
  }
  // another path is refused
  await assert.rejects(Client.open(base.replace('http:', 'ws:') + '/elsewhere'));
});

test('the whole flow: suggestion, escalation, take, reply, link, resolve, confirm, rating',
  { timeout: 120000 }, async () => {
    const a1 = await agent('agent1');
    const q0 = await a1.request({ type: 'queue' });
    assert.equal(q0.type, 'queue');
    assert.ok(Array.isArray(q0.tickets));

    const u = await requester('王小明');
    u.send({ type: 'message', id: 'c-1', text: VPN_TEXT });
    const ack = await u.next('ack');
    assert.deepEqual([ack.id, ack.seq, ack.duplicate], ['c-1', 1, false]);
    const sg = await u.next('suggestions');
    assert.ok(sg.items.length >= 1 && sg.items.length <= 5);
    const ids = sg.items.map((i) => i.id);
    assert.equal(ids[0], 'KB-0001', `suggestions: ${ids}`);
    for (const it of sg.items) {
      assert.ok(['article', 'known_error'].includes(it.kind));
      assert.equal(it.visibility, 'public');
      assert.ok(it.title && typeof it.snippet === 'string');
    }
    assert.match(sg.items[0].title, /809/);

    // escalate: every agent hears of it
    const t = await u.request({ type: 'escalate', impact: 2, urgency: 1 });
    assert.equal(t.type, 'ticket');
    assert.match(t.number, /^INC-\d{6,}$/);
    assert.equal(t.status, 'new');
    assert.equal(t.priority, 2);
    assert.equal(t.summary, VPN_TEXT);
    assert.equal(t.category, '网络/VPN');
    assert.ok(t.response_due > t.created_at && t.resolution_due > t.response_due);
    const qn = await a1.next((f) => f.type === 'queue_update' && f.ticket.number === t.number);
    assert.equal(qn.event, 'new');

    // take: the agent and the requester see it assigned
    const taken = await a1.request({ type: 'take', ticket: t.number });
    assert.equal(taken.type, 'ticket');
    assert.equal(taken.status, 'assigned');
    assert.equal(taken.agent, '坐席 agent1');
    const ut = await u.next((f) => f.type === 'ticket' && f.status === 'assigned');
    assert.equal(ut.number, t.number);
    const qt = await a1.next((f) => f.type === 'queue_update' && f.event === 'taken');
    assert.equal(qt.ticket.number, t.number);

    // the transcript for the agent, with internal suggestions allowed
    const tr = await a1.request({ type: 'open', ticket: t.number });
    assert.equal(tr.type, 'transcript');
    assert.deepEqual(tr.messages.map((m) => [m.seq, m.from, m.text]), [[1, 'requester', VPN_TEXT]]);
    assert.ok(tr.suggestions.some((s) => s.id === 'KB-0001'));
    assert.ok(tr.links.some((l) => l.item === 'KB-0001' && l.relation === 'suggested'));
    const as = await a1.next((f) => f.type === 'suggestions' && f.ticket === t.number);
    assert.ok(as.items.length >= 1);

    // typing both ways (not stored)
    u.send({ type: 'typing' });
    const ty1 = await a1.next('typing');
    assert.deepEqual([ty1.from, ty1.ticket], ['requester', t.number]);
    a1.send({ type: 'typing', ticket: t.number });
    const ty2 = await u.next('typing');
    assert.deepEqual([ty2.from, ty2.ticket], ['agent', t.number]);

    // reply: acked, and the requester receives it
    const rack = await a1.request({ type: 'reply', ticket: t.number, id: 'a-1', text: '请把 VPN 类型改成 L2TP/IPsec 再试' });
    assert.deepEqual([rack.type, rack.seq, rack.ticket], ['ack', 2, t.number]);
    const um = await u.next('message');
    assert.deepEqual([um.from, um.seq, um.text, um.ticket], ['agent', 2, '请把 VPN 类型改成 L2TP/IPsec 再试', t.number]);
    assert.equal(um.name, '坐席 agent1');

    // the requester answers; the agent holding the ticket gets it live
    const ack3 = await u.request({ type: 'message', id: 'c-2', text: '改了，还是提示 809' });
    assert.equal(ack3.seq, 3);
    const am = await a1.next('message');
    assert.deepEqual([am.from, am.seq, am.ticket, am.name], ['requester', 3, t.number, '王小明']);

    // link, resolve
    const ln = await a1.request({ type: 'link', ticket: t.number, item: 'KB-0001' });
    assert.deepEqual([ln.type, ln.added, ln.relation], ['linked', true, 'used']);
    const rs = await a1.request({ type: 'resolve', ticket: t.number, resolution: '已按 KB-0001 修改注册表并重启，VPN 恢复' });
    assert.deepEqual([rs.type, rs.status], ['ticket', 'resolved']);
    const ur = await u.next('resolved');
    assert.deepEqual([ur.ticket, ur.resolution], [t.number, '已按 KB-0001 修改注册表并重启，VPN 恢复']);

    // confirm and rate
    const cf = await u.request({ type: 'confirm', ticket: t.number, accepted: true });
    assert.deepEqual([cf.type, cf.status], ['ticket', 'closed']);
    const qc = await a1.next((f) => f.type === 'queue_update' && f.event === 'closed');
    assert.equal(qc.ticket.number, t.number);
    const rt = await u.request({ type: 'rate', ticket: t.number, score: 5, comment: '很快解决了，谢谢' });
    assert.deepEqual([rt.type, rt.score], ['rated', 5]);

    // the rows in PostgreSQL
    const [row] = await sql(`SELECT t.status, t.priority, t.impact, t.urgency, a.username, r.name,
        t.first_response_at IS NOT NULL, t.closed_at IS NOT NULL, t.category, t.resolution
      FROM tickets t JOIN people a ON a.id = t.agent_id JOIN people r ON r.id = t.requester_id
      WHERE t.number = $1`, t.number);
    assert.deepEqual(row, ['closed', '2', '2', '1', 'agent1', '王小明', 't', 't', '网络/VPN',
      '已按 KB-0001 修改注册表并重启，VPN 恢复']);
    assert.equal(await sqlOne(`SELECT string_agg(e.type, ',' ORDER BY e.id) FROM ticket_events e
      JOIN tickets t ON t.id = e.ticket_id WHERE t.number = $1`, t.number),
    'created,taken,replied,linked,resolved,confirmed,rated');
    assert.deepEqual(await sql(`SELECT m.seq, m.sender_role, m.client_id, m.body FROM messages m
      JOIN tickets t ON t.conversation_id = m.conversation_id WHERE t.number = $1 ORDER BY m.seq`, t.number), [
      ['1', 'requester', 'c-1', VPN_TEXT],
      ['2', 'agent', 'a-1', '请把 VPN 类型改成 L2TP/IPsec 再试'],
      ['3', 'requester', 'c-2', '改了，还是提示 809'],
    ]);
    assert.deepEqual(await sql(`SELECT r.score, r.comment FROM ratings r JOIN tickets t ON t.id = r.ticket_id
      WHERE t.number = $1`, t.number), [['5', '很快解决了，谢谢']]);
    const links = (await sql(`SELECT l.doc_id || ':' || l.relation FROM ticket_links l
      JOIN tickets t ON t.id = l.ticket_id WHERE t.number = $1`, t.number)).map((r) => r[0]);
    assert.ok(links.includes('KB-0001:suggested') && links.includes('KB-0001:used'), links.join(','));
    assert.equal(await sqlOne(`SELECT count(*) FROM conversation_suggestions s
      JOIN tickets t ON t.conversation_id = s.conversation_id WHERE t.number = $1 AND s.doc_id = 'KB-0001'`,
    t.number), '1');
    assert.equal(await sqlOne(`SELECT c.status FROM conversations c JOIN tickets t
      ON t.conversation_id = c.id WHERE t.number = $1`, t.number), 'closed');
    // the session token is stored hashed only
    assert.equal(await sqlOne(`SELECT count(*) FROM sessions
      WHERE position(convert_to($1, 'UTF8') IN token_hash) > 0`, u.session), '0');
    assert.equal(await sqlOne('SELECT count(*) FROM sessions WHERE octet_length(token_hash) = 32'),
      await sqlOne('SELECT count(*) FROM sessions'));
    await u.close();
    await a1.close();
  });

test('an off-topic question gets no weak suggestions: no_good_match, and the escalated ticket has no guessed category', { timeout: 60000 }, async () => {
  const u = await requester();
  await u.request({ type: 'message', text: '今天天气怎么样，中午吃什么好' });
  const sg = await u.next('suggestions');
  assert.equal(sg.no_good_match, true, JSON.stringify(sg));
  assert.deepEqual(sg.items, []);
  assert.equal(await sqlOne('SELECT count(*) FROM conversation_suggestions s JOIN conversations c ON c.id = s.conversation_id WHERE c.id = $1', u.conversation), '0');
  const t = await u.request({ type: 'escalate', impact: 3, urgency: 3 });
  assert.equal(t.type, 'ticket', JSON.stringify(t));
  assert.equal(await sqlOne("SELECT coalesce(category, '(none)') FROM tickets WHERE number = $1", t.number), '(none)');
  await u.close();
  // an answerable problem is not flagged, and its ticket's category comes from a good match
  const v = await requester();
  await v.request({ type: 'message', text: VPN_TEXT });
  const sv = await v.next('suggestions');
  assert.equal(sv.no_good_match, false);
  assert.ok(sv.items.length > 0 && sv.items[0].confidence >= 0.25, JSON.stringify(sv.items[0]));
  assert.ok(sv.items.every((i) => i.confidence >= 0 && i.confidence <= 1));
  const tv = await v.request({ type: 'escalate', impact: 2, urgency: 2 });
  assert.ok(await sqlOne('SELECT category FROM tickets WHERE number = $1', tv.number));
  await v.close();
});

test('a helpful suggestion ends the chat as self-solved', { timeout: 60000 }, async () => {
  const u = await requester();
  await u.request({ type: 'message', text: '打印机脱机了，无法打印' });
  const sg = await u.next('suggestions');
  const item = sg.items[0].id;
  const fb = await u.request({ type: 'feedback', item, helpful: true });
  assert.deepEqual([fb.type, fb.ended, fb.status], ['feedback_ack', true, 'self_solved']);
  assert.equal(await sqlOne('SELECT doc_id FROM deflections WHERE conversation_id = $1', u.conversation), item);
  // writing again starts a new conversation
  u.send({ type: 'message', id: 'again', text: '还有一个问题' });
  const conv = await u.next('conversation');
  assert.notEqual(conv.conversation.id, u.conversation);
  const ack = await u.next('ack');
  assert.equal(ack.seq, 1);
  await u.close();
});

test('reconnect with resume in the middle loses and duplicates nothing', { timeout: 120000 }, async () => {
  const a = await agent('agent2');
  const [u1, number] = await ticketOf();
  await a.request({ type: 'take', ticket: number });
  await u1.next((f) => f.type === 'ticket' && f.status === 'assigned');
  // the agent fires 20 replies without waiting; the requester drops out
  // after seeing a few and comes back with what it has seen
  const N = 20;
  for (let i = 1; i <= N; i++) a.send({ type: 'reply', ticket: number, id: `burst-${i}`, text: `回复 ${i}` });
  const seen1 = [];
  for (;;) {
    const m = await u1.next('message');
    seen1.push(m.seq);
    if (m.seq >= 6) break;
  }
  const lastSeq = Math.max(...seen1);
  await u1.close();
  const u2 = await Client.open();
  const w = await u2.request({ type: 'hello', resume: { session: u1.session, last_seq: lastSeq, conversation: u1.conversation } });
  assert.equal(w.type, 'welcome');
  assert.equal(w.resumed, true);
  assert.equal(w.conversation.id, u1.conversation);
  assert.equal(w.ticket.number, number);
  const seen2 = [];
  while (!seen2.includes(N + 1)) seen2.push((await u2.next('message')).seq);
  // in order, each once, nothing missing: 2..N+1 over both connections
  assert.deepEqual(seen1, Array.from({ length: seen1.length }, (_, i) => i + 2));
  assert.deepEqual(seen2, Array.from({ length: N + 1 - lastSeq }, (_, i) => lastSeq + 1 + i));
  for (let i = 1; i <= N; i++) await a.next((f) => f.type === 'ack' && f.id === `burst-${i}`);
  // and live messages keep coming, once
  await a.request({ type: 'reply', ticket: number, id: 'after', text: '还在吗？' });
  const live = await u2.next('message');
  assert.equal(live.seq, N + 2);
  await u2.sync();
  assert.equal(u2.frames.filter((f) => f.type === 'message' && f.seq === N + 2).length, 1);
  assert.equal(u2.frames.filter((f) => f.type === 'message').length, N + 2 - lastSeq);
  // a requester message in the middle of the replay keeps its own seq
  const own = await u2.request({ type: 'message', id: 'mine', text: '在的' });
  assert.equal(own.seq, N + 3);
  assert.equal(await sqlOne(`SELECT count(*) FROM messages m JOIN tickets t
    ON t.conversation_id = m.conversation_id WHERE t.number = $1`, number), String(N + 3));
  await u2.close();
  await a.close();
});

test('resending the same client id acks the same seq and stores once', { timeout: 60000 }, async () => {
  const u = await requester();
  u.send({ type: 'message', id: 'same', text: 'Outlook 打不开' });
  u.send({ type: 'message', id: 'same', text: 'Outlook 打不开' });
  const a1 = await u.next('ack');
  const a2 = await u.next('ack');
  assert.deepEqual([a1.id, a1.seq, a1.duplicate], ['same', 1, false]);
  assert.deepEqual([a2.id, a2.seq, a2.duplicate], ['same', 1, true]);
  // after a reconnect too
  await u.close();
  const u2 = await Client.open();
  await u2.request({ type: 'hello', resume: { session: u.session, last_seq: 1 } });
  const a3 = await u2.request({ type: 'message', id: 'same', text: 'Outlook 打不开' });
  assert.deepEqual([a3.seq, a3.duplicate], [1, true]);
  assert.equal(await sqlOne("SELECT count(*) FROM messages WHERE conversation_id = $1 AND client_id = 'same'",
    u.conversation), '1');
  assert.equal(await sqlOne('SELECT last_seq FROM conversations WHERE id = $1', u.conversation), '1');
  await u2.close();
});

test('messages sent back to back: acks do not wait for suggestions, the latest gets them', { timeout: 60000 }, async () => {
  const u = await requester();
  const n = 6;
  for (let i = 1; i <= n; i++) u.send({ type: 'message', id: `burst-${i}`, text: VPN_TEXT });
  const acks = [];
  for (let i = 1; i <= n; i++) acks.push(await u.next('ack'));
  assert.deepEqual(acks.map((a) => [a.id, a.seq]), [...Array(n)].map((_, i) => [`burst-${i + 1}`, i + 1]));
  // the searches run after the acks; when they fall behind, the earlier
  // messages' are skipped, never the latest one's
  const last = await u.next((f) => f.type === 'suggestions' && f.for_seq === n);
  assert.ok(last.items.some((it) => it.id === 'KB-0001'), JSON.stringify(last.items));
  await u.sync();
  const acked = new Set();
  const suggested = new Set();
  for (const f of u.frames) {
    if (f.type === 'ack') acked.add(f.seq);
    if (f.type !== 'suggestions') continue;
    assert.ok(acked.has(f.for_seq), `suggestions for ${f.for_seq} before its ack`);
    assert.ok(!suggested.has(f.for_seq), `suggestions for ${f.for_seq} twice`);
    suggested.add(f.for_seq);
  }
  assert.equal(await sqlOne("SELECT count(*) FROM conversation_suggestions WHERE conversation_id = $1 AND doc_id = 'KB-0001'",
    u.conversation), '1');
  await u.close();
});

test('two agents racing to take one ticket: exactly one wins', { timeout: 120000 }, async () => {
  const a1 = await agent('agent1');
  const a2 = await agent('agent2');
  for (let round = 0; round < 5; round++) {
    const [u, number] = await ticketOf(`第 ${round} 个问题：打印机脱机`);
    a1.send({ type: 'take', ticket: number, id: `t1-${round}` });
    a2.send({ type: 'take', ticket: number, id: `t2-${round}` });
    const r1 = await a1.next((f) => f.id === `t1-${round}`);
    const r2 = await a2.next((f) => f.id === `t2-${round}`);
    const wins = [r1, r2].filter((f) => f.type === 'ticket');
    const losses = [r1, r2].filter((f) => f.type === 'error');
    assert.equal(wins.length, 1, JSON.stringify([r1, r2]));
    assert.equal(losses.length, 1);
    assert.equal(losses[0].code, 'already_taken');
    const winner = r1.type === 'ticket' ? 'agent1' : 'agent2';
    assert.equal(await sqlOne(`SELECT p.username FROM tickets t JOIN people p ON p.id = t.agent_id
      WHERE t.number = $1`, number), winner);
    assert.equal(await sqlOne(`SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
      WHERE t.number = $1 AND e.type = 'taken'`, number), '1');
    await u.close();
  }
  await a1.close();
  await a2.close();
});

test('a requester is refused agent operations and other people\'s tickets', { timeout: 60000 }, async () => {
  const [owner, number] = await ticketOf();
  const other = await requester();
  assert.equal((await other.request({ type: 'message', text: '打印机脱机' })).type, 'ack');
  const tries = [
    { type: 'queue' },
    { type: 'take', ticket: number },
    { type: 'reply', ticket: number, id: 'x', text: 'hi' },
    { type: 'link', ticket: number, item: 'KB-0001' },
    { type: 'resolve', ticket: number, resolution: 'done' },
  ];
  for (const t of tries) {
    const e = await other.request(t);
    assert.deepEqual([e.type, e.code], ['error', 'forbidden'], JSON.stringify([t, e]));
  }
  // someone else's ticket and a ticket that does not exist get the same
  // answer, so ticket numbers cannot be probed
  for (const t of [{ type: 'open' }, { type: 'confirm', accepted: true }, { type: 'rate', score: 1 }]) {
    const theirs = await other.request({ ...t, ticket: number, id: 'probe' });
    const none = await other.request({ ...t, ticket: 'INC-999999', id: 'probe' });
    assert.equal(theirs.code, 'not_found', JSON.stringify(theirs));
    assert.deepEqual(theirs, none);
  }
  // the owner may read their own ticket, but not act as an agent
  const tr = await owner.request({ type: 'open', ticket: number });
  assert.equal(tr.type, 'transcript');
  const e = await owner.request({ type: 'take', ticket: number });
  assert.equal(e.code, 'forbidden');
  assert.equal(await sqlOne('SELECT status FROM tickets WHERE number = $1', number), 'new');
  // nobody signed in may do nothing but hello / login / ping
  const anon = await Client.open();
  const na = await anon.request({ type: 'queue' });
  assert.equal(na.code, 'not_authenticated');
  await anon.sync();
  await anon.close();
  await other.sync();
  await other.close();
  await owner.close();
});

test('bad frames each get an error and the server keeps serving', { timeout: 60000 }, async () => {
  const u = await requester();
  const cases = [
    ['not json', 'bad_json'],
    ['[1,2,3]', 'not_object'],
    [JSON.stringify({ type: 'dance', id: 'd1' }), 'unknown_type'],
    [JSON.stringify({ id: 'n1' }), 'missing_field'],
    [JSON.stringify({ type: 'message', id: 'm1' }), 'missing_field'],
    [JSON.stringify({ type: 'message', text: 'no id' }), 'missing_field'],
    [JSON.stringify({ type: 'escalate', impact: 7, urgency: 1 }), 'bad_field'],
    [JSON.stringify({ type: 'message', id: 'big', text: 'x'.repeat(100000) }), 'too_large'],
    ['{"type":"message","id":"nul","text":"a\\u0000b"}', 'bad_encoding'],
  ];
  for (const [frame, code] of cases) {
    u.send(frame);
    const e = await u.next('error');
    assert.equal(e.code, code, `${frame.slice(0, 60)} -> ${JSON.stringify(e)}`);
    assert.ok(e.message);
  }
  // ids are echoed when known, fields named
  const fe = u.frames.filter((f) => f.type === 'error');
  assert.equal(fe[2].id, 'd1');
  assert.equal(fe[4].id, 'm1');
  assert.equal(fe[4].field, 'text');
  // invalid UTF-8 as a text frame and as a binary frame
  u.sendRaw(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), false);
  assert.equal((await u.next('error')).code, 'bad_encoding');
  u.sendRaw(Buffer.from('{"type":"ping"}'), true);
  assert.equal((await u.next('error')).code, 'bad_frame');
  // 1 MB: read to its end, dropped, answered
  u.send('{"type":"message","id":"huge","text":"' + '字'.repeat(350000) + '"}');
  assert.equal((await u.next('error')).code, 'too_large');
  // the connection still works
  const ack = await u.request({ type: 'message', id: 'ok-1', text: '邮箱满了怎么办' });
  assert.deepEqual([ack.type, ack.seq], ['ack', 1]);
  // a message of only blanks (ideographic spaces, NBSP, zero-width) is
  // refused with a clear error, and nothing is stored
  for (const text of [' \t\n', '\u3000\u3000', '\u00a0\u200b\u3000\ufeff']) {
    const b = await u.request({ type: 'message', id: 'blank', text });
    assert.deepEqual([b.type, b.code, b.field, b.id, b.message],
      ['error', 'bad_field', 'text', 'blank', 'text must not be blank'], JSON.stringify(b));
  }
  assert.equal(await sqlOne('SELECT count(*) FROM messages WHERE conversation_id = $1', u.conversation), '1');
  // and so does the server
  const v = await requester();
  await v.sync();
  assert.equal(daemon.exited, null);
  await v.close();
  await u.close();
});

test('frames over the rate limit are refused, then the connection goes on', { timeout: 60000 }, async () => {
  const u = await Client.open();
  const N = 120; // default: 20 per second, bursts of 40
  for (let i = 0; i < N; i++) u.send({ type: 'ping', id: `p${i}` });
  const answers = [];
  for (let i = 0; i < N; i++) answers.push(await u.next((f) => f.id === `p${i}`));
  const pongs = answers.filter((f) => f.type === 'pong').length;
  const limited = answers.filter((f) => f.type === 'error' && f.code === 'rate_limited').length;
  assert.equal(pongs + limited, N);
  assert.ok(limited >= 1, `no frame was rate limited (${pongs} pongs)`);
  assert.ok(pongs >= 40, `only ${pongs} pongs`);
  await u.close();
});

test('a message of many receive buffers arrives whole (fragment reassembly)', { timeout: 60000 }, async () => {
  // 13,000 different ideographs, 39,000 bytes: libwebsockets hands it over
  // in pieces of its per-connection receive buffer (2 KiB), which chatdesk
  // must put back together in order
  const text = Array.from({ length: 13000 }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7919) % 20000))).join('');
  const u = await requester();
  const ack = await u.request({ type: 'message', id: 'long-1', text });
  assert.deepEqual([ack.type, ack.seq], ['ack', 1], JSON.stringify(ack).slice(0, 200));
  // read it back as stored: a resume replays the conversation
  const u2 = await Client.open();
  const w = await u2.request({ type: 'hello', resume: { session: u.session, last_seq: 0, conversation: ack.conversation.id } });
  assert.equal(w.resumed, true);
  const m = await u2.next('message');
  assert.equal(m.seq, 1);
  assert.equal(m.text.length, text.length);
  assert.ok(m.text === text, 'the stored text differs from the one sent');
  await u.close();
  await u2.close();
});

test('PostgreSQL stopped and restarted during a chat', { timeout: 120000 }, async () => {
  const u = await requester();
  const a0 = await u.request({ type: 'message', id: 'before', text: '共享盘打不开' });
  assert.equal(a0.seq, 1);
  await pg('stop');
  try {
    u.send({ type: 'message', id: 'down-1', text: '还是打不开' });
    const e = await u.next((f) => f.id === 'down-1');
    assert.deepEqual([e.type, e.code], ['error', 'db_unavailable'], JSON.stringify(e));
    await u.sync(); // every answer is in: no ack for it
    assert.equal(u.frames.filter((f) => f.type === 'ack' && f.id === 'down-1').length, 0);
    // a new client is welcomed (hello stores nothing), its first message
    // gets a clear error, and the server keeps running
    const v = await Client.open();
    assert.equal((await v.request({ type: 'hello', name: '新用户' })).type, 'welcome');
    const ve = await v.request({ type: 'message', id: 'first', text: '打印机脱机' });
    assert.deepEqual([ve.type, ve.code], ['error', 'db_unavailable'], JSON.stringify(ve));
    await v.close();
    assert.equal(daemon.exited, null);
  } finally {
    await pg('start');
  }
  // back: the resend is stored once, with the next seq
  const a1 = await u.request({ type: 'message', id: 'down-1', text: '还是打不开' });
  assert.deepEqual([a1.type, a1.seq, a1.duplicate], ['ack', 2, false]);
  assert.equal(await sqlOne('SELECT count(*) FROM messages WHERE conversation_id = $1', u.conversation), '2');
  const t = await u.request({ type: 'escalate', impact: 3, urgency: 2 });
  assert.equal(t.type, 'ticket');
  const v2 = await requester();
  await v2.close();
  await u.close();
});

test('useradd reads the password from stdin and refuses bad input', { timeout: 60000 }, async () => {
  const empty = await run(CHATDESK, ['useradd', '--agent', 'nopass', '--db', conninfo], { input: '\n' });
  assert.equal(empty.code, 2, empty.stderr);
  const dup = await run(CHATDESK, ['useradd', '--agent', 'agent1', '--db', conninfo], { input: 'x\n' });
  assert.equal(dup.code, 3, dup.stderr);
  const bad = await run(CHATDESK, ['useradd', '--agent', 'bad name!', '--db', conninfo], { input: 'x\n' });
  assert.equal(bad.code, 2, bad.stderr);
  const usage = await run(CHATDESK, ['useradd', '--db', conninfo], { input: 'x\n' });
  assert.equal(usage.code, 2);
  // through a config file
  const cfg = path.join(tmp, 'chatdesk.conf');
  await writeFile(cfg, `# test\ndb = ${conninfo}\n`);
  const ok = await run(CHATDESK, ['useradd', '--agent', 'agent3', '--config', cfg], { input: 'pw-3\n' });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(await sqlOne("SELECT password_hash FROM people WHERE username = 'agent3'"), /^\$argon2id\$/);
  const c = await Client.open();
  assert.equal((await c.request({ type: 'login', username: 'agent3', password: 'pw-3' })).type, 'welcome');
  await c.close();
  const help = await run(CHATDESK, ['--help']);
  assert.equal(help.code, 0);
  for (const key of ['--index', '--db', '--listen', '--config', '--www', '--threads', '--max-frame',
    '--rate', '--burst', '--session-ttl', '--auto-close-days', '--allowed-origins', 'useradd', 'max_frame',
    'auto_close_days', 'allowed_origins']) {
    assert.ok(help.stdout.includes(key), `--help lacks ${key}`);
  }
  const badflag = await run(CHATDESK, ['--index', index, '--db', conninfo, '--rate', '0']);
  assert.equal(badflag.code, 2);
  for (const bad of ['evil.example', 'http://a.example/path', 'ftp://a.example', 'http://a.example,', 'http://a:99999']) {
    const r = await run(CHATDESK, ['--index', index, '--db', conninfo, '--allowed-origins', bad]);
    assert.equal(r.code, 2, `--allowed-origins ${bad}: ${r.stderr}`);
    assert.match(r.stderr, /--allowed-origins/);
  }
});

test('the WebSocket handshake checks the Origin of browsers', { timeout: 120000 }, async () => {
  const port = new URL(base).port;
  // no Origin (not a browser), the page's own origin, and localhost for a loopback address
  for (const origin of [undefined, base, `http://localhost:${port}`, base.toUpperCase()]) {
    const c = await Client.open(wsUrl, undefined, origin ? { origin } : {});
    await c.sync();
    await c.close();
  }
  // anything else is refused during the handshake
  for (const origin of ['http://evil.example', `http://127.0.0.1:${Number(port) + 1}`, `https://127.0.0.1:${port}`,
    `${base}.evil.example`, 'null']) {
    await assert.rejects(Client.open(wsUrl, undefined, { origin }), `origin ${origin} is refused`);
  }
  // allowed_origins (a config file key, and the flag over it) adds origins
  const cfg = path.join(tmp, 'origins.conf');
  await writeFile(cfg, 'allowed_origins = https://desk.example.cn , http://10.0.0.5:8081/\n');
  const d2 = startDaemon(['--index', index, '--db', conninfo, '--listen', '127.0.0.1:0',
    '--www', 'chatdesk/www', '--threads', '1', '--config', cfg]);
  try {
    const base2 = await d2.ready;
    const ws2 = base2.replace('http:', 'ws:') + '/ws';
    for (const origin of ['https://desk.example.cn', 'http://10.0.0.5:8081', base2]) {
      const c = await Client.open(ws2, undefined, { origin });
      const w = await c.request({ type: 'hello', name: '跨域用户' });
      assert.equal(w.type, 'welcome');
      await c.close();
    }
    for (const origin of ['http://desk.example.cn', 'https://desk.example.cn:8443', 'http://evil.example']) {
      await assert.rejects(Client.open(ws2, undefined, { origin }), `origin ${origin} is refused`);
    }
  } finally {
    const e = await stopDaemon(d2);
    assert.deepEqual(e, { code: 0, signal: null }, d2.log);
  }
});

test('agents search the knowledge base and read documents over /ws', { timeout: 60000 }, async () => {
  const a = await agent('agent1');
  const r = await a.request({ type: 'search', q: '域账号锁定 4740' });
  assert.equal(r.type, 'search_results', JSON.stringify(r));
  assert.equal(r.q, '域账号锁定 4740');
  assert.ok(r.total >= r.items.length && r.items.length >= 1 && r.items.length <= 10);
  const kb30 = r.items.find((i) => i.id === 'KB-0030');
  assert.ok(kb30, `the lockout article is found: ${r.items.map((i) => i.id)}`);
  assert.equal(kb30.visibility, 'internal');
  assert.ok(kb30.title && typeof kb30.snippet === 'string');
  const ke = await a.request({ type: 'search', q: 'VPN', kind: 'known_error', limit: 3 });
  assert.ok(ke.items.length >= 1 && ke.items.length <= 3);
  assert.ok(ke.items.every((i) => i.kind === 'known_error' && i.status));
  const std = await a.request({ type: 'search', q: '服务台', kind: 'standard', limit: 2 });
  assert.ok(std.items.every((i) => i.kind === 'standard' && i.clause));
  for (const [frame, code, field] of [
    [{ type: 'search', q: '' }, 'bad_field', 'q'],
    [{ type: 'search' }, 'missing_field', 'q'],
    [{ type: 'search', q: 'x'.repeat(4097) }, 'bad_field', 'q'],
    [{ type: 'search', q: 'VPN', kind: 'faq' }, 'bad_field', 'kind'],
    [{ type: 'search', q: 'VPN', limit: 500 }, 'bad_field', 'limit'],
    [{ type: 'doc' }, 'missing_field', 'item'],
  ]) {
    const e = await a.request(frame);
    assert.deepEqual([e.type, e.code, e.field], ['error', code, field], JSON.stringify([frame, e]));
  }
  // the full document: internal ones for agents only
  const d = await a.request({ type: 'doc', item: 'KB-0030' });
  assert.equal(d.type, 'doc');
  assert.equal(d.doc.id, 'KB-0030');
  assert.equal(d.doc.visibility, 'internal');
  assert.match(d.doc.body, /4740/);
  const u = await requester();
  const f = await u.request({ type: 'search', q: 'VPN' });
  assert.deepEqual([f.type, f.code], ['error', 'forbidden']);
  const pub = await u.request({ type: 'doc', item: 'KB-0001' });
  assert.equal(pub.doc.id, 'KB-0001');
  assert.match(pub.doc.body, /AssumeUDPEncapsulationContextOnSendRule/);
  const hidden = await u.request({ type: 'doc', item: 'KB-0030' });
  assert.deepEqual([hidden.type, hidden.code], ['error', 'not_found']);
  const none = await a.request({ type: 'doc', item: 'KB-9999' });
  assert.equal(none.code, 'not_found');
  await u.close();
  await a.close();
});

// The internal-only terms of the index (terms no public document holds),
// the internal ids, and every document's text: from `indexer list` and
// `indexer show --terms`, as tests/e2e/visibility.test.mjs derives them.
async function readVisibility() {
  const ids = (await mustRun(INDEXER, ['list', '--index', index])).split('\n').filter(Boolean)
    .map((l) => l.split('\t')[0]);
  const docs = new Map();
  const batches = [0, 1, 2, 3].map((k) => ids.filter((_, i) => i % 4 === k)).filter((b) => b.length);
  await Promise.all(batches.map(async (batch) => {
    // each document's JSON ("{" ... "}" lines), then its terms
    const out = await mustRun(INDEXER, ['show', '--index', index, '--terms', ...batch]);
    let json = null, doc = null;
    for (const line of out.split('\n')) {
      if (json !== null) {
        json.push(line);
        if (line === '}') {
          const d = JSON.parse(json.join('\n'));
          json = null;
          doc = { visibility: d.visibility || 'public', terms: [],
            text: [d.body, d.symptom, d.cause, d.workaround, d.resolution].filter(Boolean).join('\n') };
          docs.set(d.id, doc);
        }
      } else if (line === '{') {
        json = [line];
      } else if (line.includes('\twdf=') && !/^[A-Z]/.test(line)) {
        doc.terms.push(line.slice(0, line.indexOf('\twdf=')));
      }
    }
  }));
  assert.equal(docs.size, ids.length);
  const pub = new Set(), int = new Set();
  for (const d of docs.values()) for (const t of d.terms) (d.visibility === 'public' ? pub : int).add(t);
  const internalOnly = [...int].filter((t) => !pub.has(t)).sort();
  const internalIds = new Set([...docs].filter(([, d]) => d.visibility !== 'public').map(([id]) => id));
  return { docs, internalOnly, internalIds };
}

test('a requester gets nothing of internal knowledge: suggestions, documents, links, ticket listings',
  { timeout: 300000 }, async () => {
    const { docs, internalOnly, internalIds } = await readVisibility();
    const internalSet = new Set(internalOnly);
    assert.ok(internalOnly.length >= 500 && internalIds.size >= 10, `${internalOnly.length} terms`);
    const seen = []; // every text a requester was given
    const u = await requester();
    // every internal-only term, 80 to a message: the suggestions stay public
    for (let i = 0; i < internalOnly.length; i += 80) {
      const ack = await u.request({ type: 'message', text: internalOnly.slice(i, i + 80).join(' ') });
      assert.equal(ack.type, 'ack', JSON.stringify(ack));
      const sg = await u.next((f) => f.type === 'suggestions' && f.for_seq === ack.seq);
      for (const it of sg.items) {
        assert.ok(!internalIds.has(it.id) && it.visibility === 'public', JSON.stringify(it));
        // (a snippet is a cut of the hit's text: its first and last words may
        // be parts of words, so the hit itself is what is checked)
        seen.push(it.title, it.workaround || '');
      }
    }
    // documents: an internal one is not found; the ids a public one names
    // are links (refs) only when public
    const named = [];
    for (const [id, d] of docs) {
      if (d.visibility !== 'public') continue;
      for (const m of new Set(d.text.match(/\b(?:KB|KE)-\d{3,6}\b/g) || [])) if (m !== id && docs.has(m)) named.push([id, m]);
    }
    assert.ok(named.some(([, to]) => internalIds.has(to)), JSON.stringify(named));
    const a = await agent('agent2');
    for (const [from, to] of named) {
      const pd = await u.request({ type: 'doc', item: from });
      assert.equal(pd.type, 'doc', JSON.stringify(pd));
      assert.equal(pd.doc.refs.includes(to), !internalIds.has(to), `${from} -> ${to}: ${pd.doc.refs}`);
      seen.push(pd.doc.title, pd.doc.body || '', pd.doc.symptom || '', pd.doc.workaround || '');
      const ad = await a.request({ type: 'doc', item: from });
      assert.ok(ad.doc.refs.includes(to), `${from} -> ${to} (agent): ${ad.doc.refs}`);
    }
    const u2 = await requester(); // a fresh rate bucket for these requests
    for (const id of internalIds) {
      const e = await u2.request({ type: 'doc', item: id });
      assert.deepEqual([e.type, e.code], ['error', 'not_found'], id);
    }
    await u2.close();
    // no word of anything the requester was given is an internal-only term
    const words = (await run(INDEXER, ['tokenize'], { input: seen.join('\n') })).stdout.split('\n');
    assert.ok(words.length > 100, `${words.length} words`);
    assert.deepEqual(words.filter((w) => internalSet.has(w)).slice(0, 10), []);
    // the ticket: an agent links an internal and a public document; the
    // requester's transcript lists the public one only
    const t = await u.request({ type: 'escalate', impact: 3, urgency: 3 });
    assert.equal(t.type, 'ticket', JSON.stringify(t));
    assert.equal((await a.request({ type: 'take', ticket: t.number })).status, 'assigned');
    const hidden = [...internalIds].sort()[0];
    for (const item of [hidden, 'KB-0001']) {
      const ln = await a.request({ type: 'link', ticket: t.number, item });
      assert.equal(ln.type, 'linked', JSON.stringify(ln));
    }
    const ut = await u.request({ type: 'open', ticket: t.number });
    assert.equal(ut.type, 'transcript');
    assert.ok(ut.links.some((l) => l.item === 'KB-0001'), JSON.stringify(ut.links));
    assert.deepEqual(ut.links.filter((l) => internalIds.has(l.item)), [], JSON.stringify(ut.links));
    assert.deepEqual(ut.suggestions.filter((s) => internalIds.has(s.id)), []);
    const at = await a.request({ type: 'open', ticket: t.number });
    assert.ok(at.links.some((l) => l.item === hidden), JSON.stringify(at.links));
    await u.close();
    await a.close();
  });

test('a connection whose session ends is signed out and can sign in again', { timeout: 60000 }, async () => {
  // a requester whose session runs out (its row expired in PostgreSQL)
  const u = await requester();
  assert.equal((await u.request({ type: 'message', text: '邮箱满了' })).type, 'ack');
  const hash = await sqlOne(`SELECT encode(s.token_hash, 'hex') FROM sessions s
    JOIN conversations c ON c.requester_id = s.person_id WHERE c.id = $1`, u.conversation);
  await sql(`UPDATE sessions SET created_at = now() - interval '2 hours', last_seen_at = now() - interval '1 hour',
    expires_at = now() - interval '1 second' WHERE token_hash = decode($1, 'hex')`, hash);
  const e = await u.request({ type: 'message', id: 'late', text: '还在吗' });
  assert.deepEqual([e.type, e.code, e.id], ['error', 'session_expired', 'late']);
  assert.equal(await sqlOne('SELECT count(*) FROM messages WHERE conversation_id = $1', u.conversation), '1');
  const na = await u.request({ type: 'escalate', impact: 1, urgency: 1 });
  assert.equal(na.code, 'not_authenticated');
  // the connection is still open: a new chat on it
  const w = await u.request({ type: 'hello', name: '重新开始' });
  assert.equal(w.type, 'welcome');
  assert.equal((await u.request({ type: 'message', text: '邮箱满了' })).seq, 1);

  // an agent's session ended by a logout on another connection
  const a1 = await agent('agent2');
  const login = a1.frames.find((f) => f.type === 'welcome');
  const a2 = await Client.open();
  assert.equal((await a2.request({ type: 'login', session: login.session })).type, 'welcome');
  assert.equal((await a2.request({ type: 'queue' })).type, 'queue');
  assert.equal((await a1.request({ type: 'logout' })).type, 'logged_out');
  const e2 = await a2.request({ type: 'queue' });
  assert.deepEqual([e2.type, e2.code], ['error', 'session_expired']);
  const again = await a2.request({ type: 'login', username: 'agent2', password: AGENTS.agent2 });
  assert.equal(again.type, 'welcome');
  assert.equal((await a2.request({ type: 'queue' })).type, 'queue');
  await a2.close();
  await a1.close();
  await u.close();
});

// ---- connection caps and /metrics exposure ------------------------------------------
// Each test starts its own chatdesk with small caps from a config file. The
// second client address is 127.0.0.2 (on loopback, like 127.0.0.1).

async function startWith(lines) {
  const conf = path.join(tmp, `caps-${Math.random().toString(36).slice(2)}.conf`);
  await writeFile(conf, `index = ${index}\ndb = ${conninfo}\nlisten = 127.0.0.1:0\n` +
    `www = chatdesk/www\nthreads = 1\n${lines.join('\n')}\n`);
  const d = startDaemon(['--config', conf]);
  const url = await d.ready;
  return { d, url, port: Number(new URL(url).port), pid: d.child.pid, ws: url.replace('http:', 'ws:') + '/ws' };
}

// A WebSocket from localAddress that proved it is served (a ping answered).
async function served(url, localAddress) {
  const c = await Client.open(url, undefined, { localAddress });
  await c.sync();
  return c;
}

// Opens a WebSocket and resolves to how it ended: {opened, code, reason} or
// {status} for a refused handshake.
function wsAttempt(url, localAddress = '127.0.0.1') {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { handshakeTimeout: 10000, localAddress });
    let opened = false;
    const timer = setTimeout(() => { ws.terminate(); resolve({ opened, timeout: true }); }, 15000);
    const end = (r) => { clearTimeout(timer); resolve(r); };
    ws.on('open', () => { opened = true; });
    ws.on('unexpected-response', (req, res) => { end({ opened, status: res.statusCode }); req.destroy(); });
    ws.on('error', (e) => end({ opened, error: e.message }));
    ws.on('close', (code, reason) => end({ opened, code, reason: reason.toString() }));
  });
}

function assertPage503(r, re) {
  assert.equal(r.status, 503, JSON.stringify(r));
  assert.equal(r.json?.error?.code, 'too_many_connections', r.body);
  assert.match(r.json.error.message, re);
  assert.equal(r.headers['retry-after'], '5');
}

test('caps: beyond max_connections_per_address: WebSocket close 1013, page 503; another address served',
  { timeout: 120000 }, async () => {
    const { d, port, ws } = await startWith(['max_connections_per_address = 3', 'max_connections = 50']);
    const held = [];
    try {
      for (let i = 0; i < 3; i++) held.push(await served(ws, '127.0.0.1'));
      const r = await wsAttempt(ws, '127.0.0.1');
      assert.equal(r.code, 1013, JSON.stringify(r));
      assert.match(r.reason, /your address/);
      assertPage503(await httpRaw(port, '/'), /your address/);
      const other = await served(ws, '127.0.0.2');
      held.push(other);
      const page = await httpRaw(port, '/', { localAddress: '127.0.0.2' });
      assert.equal(page.status, 200);
      const text = (await httpRaw(port, '/metrics', { localAddress: '127.0.0.2' })).body;
      assert.equal(metric(text, 'chatdesk_connections_refused_total{reason="per_address"}'), 2, text);
      assert.equal(metric(text, 'chatdesk_connections_refused_total{reason="total"}'), 0, text);
      assert.equal(metric(text, 'chatdesk_websockets_open'), 4, text);
      assert.ok(metric(text, 'chatdesk_connections_open') >= 5, text); // 4 + this request
      // a closed connection gives its place back
      await held.shift().close();
      const again = await waitFor(async () => {
        const x = await wsAttempt(ws, '127.0.0.1');
        return x.opened && x.code !== 1013 && x;
      }, '127.0.0.1 served again').catch((e) => e);
      assert.ok(!(again instanceof Error), String(again));
    } finally {
      for (const c of held) c.ws.terminate();
      assert.deepEqual(await stopDaemon(d), { code: 0, signal: null }, d.log);
    }
  });

test('caps: beyond max_connections every address is refused (reason total)', { timeout: 120000 }, async () => {
  const { d, port, ws } = await startWith(['max_connections = 4', 'max_connections_per_address = 0']);
  const held = [];
  try {
    for (let i = 0; i < 4; i++) held.push(await served(ws, '127.0.0.1'));
    const r = await wsAttempt(ws, '127.0.0.2');
    assert.equal(r.code, 1013, JSON.stringify(r));
    assert.match(r.reason, /server has too many connections/);
    assertPage503(await httpRaw(port, '/', { localAddress: '127.0.0.2' }), /server has too many/);
    await held.pop().close();
    const text = await metricsServed(port, 'a place to free up');
    assert.ok(metric(text, 'chatdesk_connections_refused_total{reason="total"}') >= 2, text);
    assert.equal(metric(text, 'chatdesk_connections_refused_total{reason="per_address"}'), 0, text);
    assert.equal(metric(text, 'chatdesk_connections_max'), 4);
  } finally {
    for (const c of held) c.ws.terminate();
    assert.deepEqual(await stopDaemon(d), { code: 0, signal: null }, d.log);
  }
});

test('caps: out of descriptors chatdesk refuses (no_fd), stays idle and serves again', { timeout: 120000 }, async () => {
  const { d, port, pid, ws } = await startWith(['max_open_files = 160', 'max_connections_per_address = 0']);
  let held = [];
  try {
    assert.match(d.log, /RLIMIT_NOFILE: 160 descriptors/);
    held = await holdOpen(port, 300);
    // another client is answered: at once, or (once the idle refused sockets
    // have given up their refusal slots) with the reason
    const r = await refusedForNoFd(port, '/');
    assertPage503(r, /file descriptors/);
    await assertIdle(pid, 'chatdesk', 'with the descriptors held');
    closeAll(held);
    held = [];
    const c = await waitFor(() => served(ws, '127.0.0.2').catch(() => null), 'a WebSocket after the sockets closed');
    await c.close();
    await assertIdle(pid, 'chatdesk', 'idle afterwards');
    const text = (await httpRaw(port, '/metrics', { localAddress: '127.0.0.2' })).body;
    assert.ok(metric(text, 'chatdesk_connections_refused_total{reason="no_fd"}') > 0, text);
    assert.equal(metric(text, 'chatdesk_open_files_limit'), 160);

    // accept() itself failing with EMFILE: the limit lowered under chatdesk's feet
    const before = metric(text, 'chatdesk_connections_refused_total{reason="no_fd"}');
    await squeezeNofile(pid);
    const logAt = d.log.length;
    held = await holdOpen(port, 200);
    await waitFor(() => /out of file descriptors/.test(d.log.slice(logAt)), 'EMFILE in the log');
    await assertIdle(pid, 'chatdesk', 'at EMFILE');
    closeAll(held);
    held = [];
    const after = await metricsServed(port, 'chatdesk serving after EMFILE');
    assert.ok(metric(after, 'chatdesk_connections_refused_total{reason="no_fd"}') > before, after);
  } finally {
    closeAll(held);
    assert.deepEqual(await stopDaemon(d), { code: 0, signal: null }, d.log);
  }
});

test('/metrics: loopback by default with message and job counts; token mode; 403 otherwise', { timeout: 120000 }, async () => {
  const port = Number(new URL(base).port);
  const u = await requester();
  assert.equal((await u.request({ type: 'message', text: VPN_TEXT })).type, 'ack');
  await u.next('suggestions');
  await u.close();
  const lo = await httpRaw(port, '/metrics', { localAddress: '127.0.0.2' });
  assert.equal(lo.status, 200);
  assert.match(lo.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  // the earlier tests' chats were acknowledged and went through the workers
  assert.ok(metric(lo.body, 'chatdesk_messages_acknowledged_total') > 0, lo.body);
  assert.ok(metric(lo.body, 'chatdesk_jobs_queued_total{stage="request"}') > 0, lo.body);
  assert.ok(metric(lo.body, 'chatdesk_jobs_queued_total{stage="search"}') > 0, lo.body);
  assert.ok(metric(lo.body, 'chatdesk_frames_received_total') > 0, lo.body);
  const { d, port: p2 } = await startWith(['metrics_access = token', 'metrics_token = cd-m3trics']);
  try {
    for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: 'Bearer cd-m3tric' }]) {
      const r = await httpRaw(p2, '/metrics', { headers });
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.equal(r.json?.error?.code, 'forbidden');
      assert.doesNotMatch(r.body, /chatdesk_/);
    }
    const ok = await httpRaw(p2, '/metrics', { headers: { Authorization: 'Bearer cd-m3trics' } });
    assert.equal(ok.status, 200);
    assert.match(ok.body, /^chatdesk_connections_open \d+$/m);
    assert.equal((await httpRaw(p2, '/')).status, 200); // only /metrics is guarded
  } finally {
    assert.deepEqual(await stopDaemon(d), { code: 0, signal: null }, d.log);
  }
});

test('config: connection keys are checked and documented', { timeout: 60000 }, async () => {
  const h = await run(CHATDESK, ['--help']);
  for (const k of ['max_connections', 'max_connections_per_address', 'max_open_files', 'metrics_access',
    'metrics_token', '1013']) assert.ok(h.stdout.includes(k), k);
  const conf = path.join(tmp, 'caps-bad.conf');
  for (const [line, re] of [['max_connections = none', /:3: max_connections/],
    ['max_open_files = 5', /:3: max_open_files/],
    ['metrics_access = token', /metrics_token/]]) {
    await writeFile(conf, `index = ${index}\ndb = ${conninfo}\n${line}\n`);
    const r = await run(CHATDESK, ['--config', conf]);
    assert.equal(r.code, 2, line);
    assert.match(r.stderr, re);
  }
});

// ---- logins and anonymous sessions --------------------------------------------------

// Resident memory of a process, in MB (VmRSS of /proc/PID/status).
async function rssMb(pid) {
  const { readFile } = await import('node:fs/promises');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) / 1024;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const SANITIZED = /asan/.test(BIN);

// A daemon of its own for the limits (same database and index), and the
// password checks it ran, read from its shutdown line.
function startSecDaemon(extra) {
  return startDaemon(['--index', index, '--db', conninfo, '--listen', '127.0.0.1:0',
    '--www', 'chatdesk/www', '--threads', '2', '--rate', '1000', '--burst', '1000', ...extra]);
}
async function stopAndCountChecks(d) {
  const e = await stopDaemon(d);
  assert.deepEqual(e, { code: 0, signal: null }, d.log);
  const m = /shutting down after (\d+) password checks/.exec(d.log);
  assert.ok(m, d.log);
  return Number(m[1]);
}
// the server's retry_after, obeyed (not a synchronisation: the lockout is
// a span of time); unref'd so that a failed test leaves nothing running
const waitMs = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

async function mkAgent(user, pw) {
  const r = await run(CHATDESK, ['useradd', '--agent', user, '--db', conninfo], { input: `${pw}\n` });
  assert.equal(r.code, 0, r.stderr);
}

// Logs in until the answer is no longer too_many_attempts, waiting what
// retry_after says each time (the server's own schedule), at most
// deadlineMs; returns the last answer and the ms it took.
async function loginWhenAllowed(c, username, password, deadlineMs = 30000) {
  const t0 = Date.now();
  for (;;) {
    const f = await c.request({ type: 'login', username, password });
    if (f.code !== 'too_many_attempts' || Date.now() - t0 + f.retry_after * 1000 > deadlineMs) {
      return [f, Date.now() - t0];
    }
    assert.ok(f.retry_after >= 1, JSON.stringify(f));
    await waitMs(f.retry_after * 1000);
  }
}

test('40 wrong passwords: refused fast without hashing, memory and acks unaffected, unlocked after the lockout',
  { timeout: 180000 }, async () => {
    await mkAgent('guard1', 'right-pass-1');
    const LOCKOUT = 3;
    const d = startSecDaemon(['--login-max-failures', '5', '--login-lockout', String(LOCKOUT),
      '--login-address-free', '5', '--login-address-max-delay', '1']);
    const url = (await d.ready).replace('http:', 'ws:') + '/ws';
    const pid = d.child.pid;
    const rss0 = await rssMb(pid);
    let rssMax = rss0;
    const sampler = setInterval(() => { rssMb(pid).then((v) => { rssMax = Math.max(rssMax, v); }, () => {}); }, 20);
    try {

      // a requester chatting from another address the whole time
      const u = await Client.open(url, undefined, { localAddress: '127.0.0.2' });
      assert.equal((await u.request({ type: 'hello', name: '旁观者' })).type, 'welcome');
      const acks = [];
      let bursting = true;
      const chatting = (async () => {
        for (let i = 0; bursting || i < 10; i++) {
          const t0 = performance.now();
          const a = await u.request({ type: 'message', id: `c${i}`, text: `打印机脱机 ${i}` });
          assert.equal(a.type, 'ack', JSON.stringify(a));
          acks.push(performance.now() - t0);
        }
      })();

      // a concurrent burst from a third address (unknown user names, so no
      // account locks): the hashing gate lets few checks run, the rest are
      // told to try later at once
      const many = await Promise.all(Array.from({ length: 20 },
        () => Client.open(url, undefined, { localAddress: '127.0.0.3' })));
      const answers = await Promise.all(many.map((c, i) =>
        c.request({ type: 'login', username: `nobody${i}`, password: 'guess' })));
      const codes = answers.map((f) => f.code);
      assert.ok(codes.every((c) => ['login_failed', 'try_later'].includes(c)), JSON.stringify(answers));
      const later = answers.filter((f) => f.code === 'try_later');
      assert.ok(later.length >= 1, `the gate refused none: ${codes}`);
      assert.ok(later.every((f) => f.retry_after === 1 && /try again/.test(f.message)));
      await Promise.all(many.map((c) => c.close()));

      // 40 wrong passwords in a row for one agent from one address
      const c = await Client.open(url);
      const times = [];
      const got = [];
      for (let i = 0; i < 40; i++) {
        const t0 = performance.now();
        const f = await c.request({ type: 'login', username: 'guard1', password: `wrong-${i}` });
        times.push(performance.now() - t0);
        got.push(f.code);
      }
      bursting = false;
      await chatting;
      clearInterval(sampler);
      rssMax = Math.max(rssMax, await rssMb(pid));
      // five checked (wrong), then refused: the account is locked and the
      // address has to wait
      assert.deepEqual(got.slice(0, 5), Array(5).fill('login_failed'), JSON.stringify(got));
      assert.ok(got.slice(5).every((x) => x === 'too_many_attempts'), JSON.stringify(got));
      const refused = c.frames.filter((f) => f.code === 'too_many_attempts');
      assert.ok(refused.every((f) => Number.isInteger(f.retry_after) && f.retry_after >= 1 &&
        f.retry_after <= LOCKOUT), JSON.stringify(refused.slice(0, 3)));
      const hashed = median(times.slice(0, 5)), quick = median(times.slice(5));
      console.log(`# login: checked ${hashed.toFixed(1)} ms, refused ${quick.toFixed(1)} ms (medians);` +
        ` rss ${rss0.toFixed(0)} -> max ${rssMax.toFixed(0)} MB; requester ack median` +
        ` ${median(acks).toFixed(1)} ms, max ${Math.max(...acks).toFixed(1)} ms over ${acks.length}`);
      assert.ok(quick * 4 < hashed, `refusals (${quick} ms) are not much faster than checks (${hashed} ms)`);
      assert.ok(Math.max(...times.slice(5)) < 1000, JSON.stringify(times));
      // memory: the gate holds one 64 MiB check at a time (the sanitizer
      // build's allocator keeps freed blocks in quarantine: not measured there)
      if (!SANITIZED) assert.ok(rssMax < 150, `chatdesk grew to ${rssMax} MB`);
      // the requester did not notice
      assert.ok(median(acks) < 250, `ack median ${median(acks)} ms`);
      // the lockout is recorded, with the address
      assert.equal(await sqlOne(`SELECT l.address FROM login_lockouts l JOIN people p ON p.id = l.person_id
        WHERE p.username = 'guard1' AND l.unlocked_at IS NULL`), '127.0.0.1');
      const list = await run(CHATDESK, ['lockouts', '--db', conninfo]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^guard1\t127\.0\.0\.1\t5\t\S+\t\S+\tlocked\t-$/m);

      // the right password works again once the lockout is over
      const [ok, waited] = await loginWhenAllowed(c, 'guard1', 'right-pass-1');
      assert.equal(ok.type, 'welcome', JSON.stringify(ok));
      assert.ok(waited >= (LOCKOUT - 1.5) * 1000, `let in after ${waited} ms`);
      await c.close();
      await u.close();
      // hashing: the 5 wrong passwords, the right one, and at most what the
      // gate let through of the concurrent 20 (never the 35 refused)
      const checks = await stopAndCountChecks(d);
      assert.ok(checks >= 6 + 1 && checks <= 6 + 20 - later.length, `${checks} checks`);
    } finally {
      clearInterval(sampler);
      await stopDaemon(d);
    }
  });

test('an administrator unlocks a locked account at once', { timeout: 120000 }, async () => {
  await mkAgent('guard2', 'right-pass-2');
  const d = startSecDaemon(['--login-max-failures', '3', '--login-lockout', '600',
    '--login-address-free', '3', '--login-address-max-delay', '1']);
  try {
    const url = (await d.ready).replace('http:', 'ws:') + '/ws';
    const c = await Client.open(url, undefined, { localAddress: '127.0.0.5' });
    for (let i = 0; i < 3; i++)
      assert.equal((await c.request({ type: 'login', username: 'guard2', password: 'no' })).code, 'login_failed');
    const [locked] = await loginWhenAllowed(c, 'guard2', 'right-pass-2', 5000);
    assert.equal(locked.code, 'too_many_attempts');
    assert.ok(locked.retry_after > 590 && locked.retry_after <= 600, JSON.stringify(locked));
    const r = await run(CHATDESK, ['unlock', 'guard2', '--db', conninfo]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /agent guard2 unlocked/);
    const [ok] = await loginWhenAllowed(c, 'guard2', 'right-pass-2', 5000);
    assert.equal(ok.type, 'welcome', JSON.stringify(ok));
    assert.match(await sqlOne(`SELECT l.unlocked_by FROM login_lockouts l JOIN people p ON p.id = l.person_id
      WHERE p.username = 'guard2'`), /^chatdesk unlock/);
    const list = await run(CHATDESK, ['lockouts', '--db', conninfo]);
    assert.match(list.stdout, /^guard2\t127\.0\.0\.5\t3\t\S+\t\S+\tunlocked\tchatdesk unlock/m);
    const none = await run(CHATDESK, ['unlock', 'no-such-agent', '--db', conninfo]);
    assert.equal(none.code, 3);
    await c.close();
    await stopAndCountChecks(d);
  } finally {
    await stopDaemon(d);
  }
});

test('an anonymous hello flood from one address is limited and stores nothing', { timeout: 120000 }, async () => {
  const d = startSecDaemon(['--hello-per-minute', '60', '--hello-burst', '10']);
  try {
    const url = (await d.ready).replace('http:', 'ws:') + '/ws';
    const people0 = await sqlOne('SELECT count(*) FROM people');
    const sessions0 = await sqlOne('SELECT count(*) FROM sessions');
    const convs0 = await sqlOne('SELECT count(*) FROM conversations');
    const conns = await Promise.all(Array.from({ length: 40 },
      () => Client.open(url, undefined, { localAddress: '127.0.0.4' })));
    const t0 = performance.now();
    const answers = await Promise.all(conns.map((c, i) => c.request({ type: 'hello', name: `洪水${i}` })));
    const ms = performance.now() - t0;
    const welcomed = answers.filter((f) => f.type === 'welcome');
    const limited = answers.filter((f) => f.code === 'rate_limited');
    assert.equal(welcomed.length + limited.length, 40, JSON.stringify(answers));
    assert.ok(welcomed.length >= 10 && welcomed.length <= 12, `${welcomed.length} welcomed`);
    assert.ok(limited.every((f) => f.retry_after >= 1 && /new chats from your address/.test(f.message)));
    // no row for any of them: hello stores nothing
    assert.equal(await sqlOne('SELECT count(*) FROM people'), people0);
    assert.equal(await sqlOne('SELECT count(*) FROM sessions'), sessions0);
    assert.equal(await sqlOne('SELECT count(*) FROM conversations'), convs0);
    // another address is served as usual
    const other = await Client.open(url, undefined, { localAddress: '127.0.0.6' });
    assert.equal((await other.request({ type: 'hello', name: '正常用户' })).type, 'welcome');
    // the first message creates the person, its session and conversation
    const w = conns.find((c, i) => answers[i].type === 'welcome');
    const ack = await w.request({ type: 'message', text: '我的邮箱满了' });
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    assert.ok(ack.conversation && ack.conversation.id > 0, JSON.stringify(ack));
    assert.equal(await sqlOne('SELECT count(*) FROM people'), String(Number(people0) + 1));
    assert.equal(await sqlOne('SELECT count(*) FROM sessions'), String(Number(sessions0) + 1));
    assert.equal(await sqlOne('SELECT count(*) FROM conversations WHERE id = $1', ack.conversation.id), '1');
    console.log(`# hello flood: 40 hellos in ${ms.toFixed(0)} ms, ${welcomed.length} welcomed, ${limited.length} limited`);
    await Promise.all([...conns, other].map((c) => c.close()));
    await stopAndCountChecks(d);
  } finally {
    await stopDaemon(d);
  }
});

test('audit: reading a ticket and opening an article leave chained rows; an edited row is named by chatdesk audit verify; only admins read the log', { timeout: 90000 }, async () => {
  const [r, number] = await ticketOf();
  const a = await agent('agent1');
  const tr = await a.request({ type: 'open', ticket: number });
  assert.equal(tr.type, 'transcript', JSON.stringify(tr));
  const u = await requester();
  const docReads = `SELECT count(*) FROM audit_log WHERE action = 'read' AND object_type = 'knowledge'
    AND object_id = 'KB-0001' AND actor_role = 'requester'`;
  const readsBefore = Number(await sqlOne(docReads));
  const d = await u.request({ type: 'doc', item: 'KB-0001' });
  assert.equal(d.type, 'doc', JSON.stringify(d));
  assert.equal(await sqlOne(`SELECT count(*) FROM audit_log WHERE action = 'read' AND object_type = 'ticket'
    AND object_id = $1 AND actor_role = 'agent' AND address = '127.0.0.1'`, number), '1');
  assert.equal(Number(await sqlOne(docReads)), readsBefore + 1);
  const verify = () => run(CHATDESK, ['audit', 'verify', '--db', conninfo]);
  let v = await verify();
  assert.equal(v.code, 0, v.stderr + v.stdout);
  assert.match(v.stdout, /chain is whole/);
  // someone with database access edits a row: verify names it and fails
  const id = await sqlOne(`SELECT id FROM audit_log WHERE object_id = $1 ORDER BY id LIMIT 1`, number);
  const edit = (to) => sql(`BEGIN; ALTER TABLE audit_log DISABLE TRIGGER audit_log_guard;
    UPDATE audit_log SET object_id = '${to}' WHERE id = ${Number(id)};
    ALTER TABLE audit_log ENABLE TRIGGER audit_log_guard; COMMIT`);
  await edit('INC-999999');
  v = await verify();
  assert.equal(v.code, 4, v.stderr + v.stdout);
  assert.match(v.stdout, new RegExp(`row ${id} was changed`));
  await edit(number); // put back exactly: whole again
  v = await verify();
  assert.equal(v.code, 0, v.stdout);
  // the log is for administrators: an agent's token gets 403, an admin's the rows
  const login = async (username, password) => {
    const res = await fetch(`${base}/api/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }) });
    assert.equal(res.status, 201);
    return (await res.json()).token;
  };
  const q = `${base}/api/v1/audit?object_type=ticket&object_id=${number}`;
  const ua = await run(CHATDESK, ['useradd', '--agent', 'auditadmin', '--name', '审计员', '--db', conninfo],
    { input: 'audit admin pw 9\n' });
  assert.equal(ua.code, 0, ua.stderr);
  const agentToken = await login('auditadmin', 'audit admin pw 9');
  assert.equal((await fetch(q, { headers: { authorization: `Bearer ${agentToken}` } })).status, 403);
  await sql(`UPDATE people SET role = 'admin' WHERE username = 'auditadmin'`);
  const res = await fetch(q, { headers: { authorization: `Bearer ${agentToken}` } });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual(body.items.map((i) => [i.action, i.actor_role, i.address]), [['read', 'agent', '127.0.0.1']]);
  await sql(`UPDATE people SET role = 'agent' WHERE username = 'auditadmin'`);
  // reading the log is itself a row
  assert.equal(await sqlOne(`SELECT count(*) FROM audit_log WHERE object_type = 'audit' AND action = 'read'`), '1');
  await r.close();
  await a.close();
  await u.close();
});

test('stops cleanly on SIGTERM', { timeout: 60000 }, async () => {
  const c = await requester(); // a connection open while stopping
  const e = await stopDaemon(daemon);
  assert.deepEqual(e, { code: 0, signal: null }, daemon.log);
  clients.delete(c);
});
