// Fault soak of chatdesk (KB_BIN selects the binaries folder, default
// build/bin): requesters and agents talk through a real chatdesk while
// PostgreSQL is restarted (`pg_ctl restart -m fast`, and an immediate-mode
// stop followed by a start: crash recovery) and chatdesk is killed with -9
// and restarted on the same port. Then every client resends what is not
// acknowledged, and the rows are counted in PostgreSQL: no acknowledged
// message may be missing (lost) and no client id may be stored twice
// (duplicated); every requester must have received every message of its
// conversation, each connection each seq at most once and in order.
//
//   KB_BIN=build/bin node --test --test-reporter=tap tests/soak/soak.test.mjs
//   SOAK_SEED=1234 ... replays the same random pauses and fault order
//
// PostgreSQL keeps fsync on (scripts/pg.sh's default): an immediate stop
// must not lose a committed row. Everything runs on 127.0.0.1 and a unix
// socket; every loop is bounded in count and time. There are no sleeps as
// synchronisation: the test waits for conditions (a frame, a process
// listening, a number of acknowledgements) with deadlines. The only timed
// pauses are the clients' retry back-off and the pause between faults, both
// drawn from a PRNG seeded with SOAK_SEED (logged).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import WebSocket from 'ws';
import { run, mustRun, startPg, destroyPg } from '../e2e/daemon.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const CHATDESK = path.join(BIN, 'chatdesk');
const INDEXER = path.join(BIN, 'indexer');
const PG_SH = path.join(ROOT, 'scripts/pg.sh');

// ---- the shape of the soak ------------------------------------------------------
const SEED = Number(process.env.SOAK_SEED || (Date.now() % 2147483647));
const REQUESTERS = 8;         // half of them escalate after ESCALATE_AFTER acks
const ESCALATE_AFTER = 3;
const AGENTS = 2;
const WINDOW = 3;             // messages a requester has out without an ack
const MAX_MESSAGES = 800;     // per requester
const MAX_REPLIES = 300;      // per agent and ticket
const THINK_MS = [100, 400];   // a client's pause before its next message (seeded)
const FAULTS = ['pg-fast', 'chatdesk-kill', 'pg-immediate', 'chatdesk-kill',
  'pg-fast', 'chatdesk-kill', 'pg-immediate'];
const PAUSE_MS = [1200, 3000]; // between faults (seeded)
const PROGRESS_ACKS = 20;      // acks after a fault's recovery before the next fault
const STEP_DEADLINE = 30000;   // ms: a fault's recovery, a condition
const DRAIN_DEADLINE = 30000;  // ms: everything unacknowledged acknowledged
const BACKOFF_MS = [50, 250];  // a client's pause before a retry (seeded)

// mulberry32: a small seeded PRNG
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(SEED);
const between = ([lo, hi]) => Math.round(lo + rand() * (hi - lo));
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let tmp, pgdir, conninfo, index, port, wsUrl;
let desk = null;           // the running chatdesk
const deskLogs = [];       // stderr of every chatdesk run (tail kept)
const stats = {
  sent: 0, resent: 0, acks: 0, dupAcks: 0, replies: 0, replyAcks: 0, tickets: 0,
  connects: 0, resumes: 0, refused: 0, dbErrors: 0, catchupErrors: 0, otherErrors: [],
  faults: {}, anomalies: [],
};
let soakReport = null;     // the soak's outcome, checked by the tests below

// ---- processes ----------------------------------------------------------------

function pgBin(name) {
  for (const d of [process.env.PG_BIN, '/usr/lib/postgresql/15/bin']) {
    if (d && existsSync(path.join(d, name))) return path.join(d, name);
  }
  return name;
}

// pg_ctl as the cluster's owner (postgres when we are root, as scripts/pg.sh does)
function pgCtl(...args) {
  const a = ['-D', path.join(pgdir, 'data'), '-w', '-t', '60', ...args];
  return process.getuid && process.getuid() === 0
    ? mustRun('runuser', ['-u', 'postgres', '--', pgBin('pg_ctl'), ...a])
    : mustRun(pgBin('pg_ctl'), a);
}

async function sql(query) {
  const out = await mustRun(pgBin('psql'), ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', conninfo,
    '-c', query]);
  return out.split('\n').filter((l) => l !== '').map((l) => l.split('|'));
}

// Starts chatdesk on `listen`; resolves with the process once it prints
// "listening on", rejects if it exits first or after timeoutMs.
function startDesk(listen, timeoutMs = STEP_DEADLINE) {
  const child = spawn(CHATDESK, ['--index', index, '--db', conninfo, '--listen', listen,
    '--www', 'chatdesk/www'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const d = { child, log: '', out: '', exited: null, killed: false };
  deskLogs.push(d);
  d.exit = new Promise((resolve) => child.on('exit', (code, signal) => {
    d.exited = { code, signal };
    if (!d.killed) stats.anomalies.push(`chatdesk exited by itself: ${JSON.stringify(d.exited)}`);
    resolve(d.exited);
  }));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s) => { d.log = (d.log + s).slice(-20000); });
  child.stdout.setEncoding('utf8');
  d.ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chatdesk not ready after ${timeoutMs} ms\n${d.log}`)), timeoutMs);
    child.stdout.on('data', (s) => {
      d.out += s;
      const m = /^listening on http:\/\/127\.0\.0\.1:(\d+)\n/m.exec(d.out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    d.exit.then((e) => {
      clearTimeout(timer);
      reject(new Error(`chatdesk exited (${JSON.stringify(e)}) before listening\n${d.log}`));
    });
  });
  return d;
}

// Restarts chatdesk on the same port: a port just freed can stay busy for a
// moment, so a start that fails is tried again (bounded).
async function restartDesk() {
  const deadline = Date.now() + STEP_DEADLINE;
  for (let attempt = 1; ; attempt++) {
    const d = startDesk(`127.0.0.1:${port}`);
    d.killed = true; // a failed start is not a crash
    try {
      await d.ready;
      d.killed = false;
      desk = d;
      return attempt;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await pause(between(BACKOFF_MS));
    }
  }
}

async function killDesk(signal) {
  const d = desk;
  desk = null;
  d.killed = true;
  d.child.kill(signal);
  const timer = setTimeout(() => d.child.kill('SIGKILL'), 15000);
  const e = await d.exit;
  clearTimeout(timer);
  return e;
}

// ---- WebSocket connections -----------------------------------------------------

// Opens a WebSocket; resolves with it, or null when refused (chatdesk down).
function openWs() {
  return new Promise((resolve) => {
    const ws = new WebSocket(wsUrl, { handshakeTimeout: 5000 });
    const fail = () => { ws.removeAllListeners(); ws.on('error', () => {}); ws.terminate(); resolve(null); };
    ws.once('error', fail);
    ws.once('open', () => { ws.removeListener('error', fail); ws.on('error', () => {}); resolve(ws); });
  });
}

const send = (ws, obj) => {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
};

// An actor (requester or agent) keeps one connection alive: it connects,
// signs in (sign_in builds the frame), and hands frames to on_frame, until
// stop() and its own work is done. Lost connections are reopened.
class Actor {
  constructor(name) {
    this.name = name;
    this.ws = null;
    this.ready = false;      // signed in on this.ws
    this.stopping = false;
    this.closedWaiters = [];
  }

  async loop(deadline) {
    while (!this.finished() && !this.aborted) {
      if (Date.now() > deadline) throw new Error(`${this.name}: not done by the deadline`);
      const ws = await openWs();
      if (!ws) {
        stats.refused++;
        await pause(between(BACKOFF_MS));
        continue;
      }
      stats.connects++;
      this.ws = ws;
      this.ready = false;
      const closed = new Promise((resolve) => ws.once('close', resolve));
      ws.on('message', (data) => {
        let f;
        try { f = JSON.parse(data.toString('utf8')); } catch { f = null; }
        if (!f || typeof f.type !== 'string') {
          stats.anomalies.push(`${this.name}: a frame that is not JSON: ${data}`);
          return;
        }
        try { this.onFrame(ws, f); } catch (e) { stats.anomalies.push(`${this.name}: ${e.stack}`); }
      });
      this.signIn(ws);
      // the connection lives until it drops, or until this actor is done
      await Promise.race([closed, new Promise((resolve) => { this.wake = resolve; })]);
      if (this.finished() || this.aborted) break;
      this.ready = false;
      this.ws = null;
      this.onClosed();
      if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
    }
  }

  // retries fn after a back-off, on the same connection if it still lives
  later(ws, fn, range = BACKOFF_MS) {
    setTimeout(() => { if (this.ws === ws && ws.readyState === WebSocket.OPEN) fn(); },
      between(range));
  }

  // is f an error that means "try again"? (counted)
  retryable(f) {
    if (f.type !== 'error') return false;
    if (f.code === 'db_unavailable') { stats.dbErrors++; return true; }
    if (f.code === 'overloaded' || f.code === 'rate_limited') return true;
    stats.otherErrors.push(`${this.name}: ${JSON.stringify(f)}`);
    return false;
  }

  check() { if (this.wake && this.finished()) this.wake(); }

  // gives up (the soak failed): the loop ends and the connection closes
  abort() {
    this.aborted = true;
    if (this.ws) this.ws.terminate();
    if (this.wake) this.wake();
  }
}

// A requester: one person, one conversation, messages with unique client ids.
class Requester extends Actor {
  constructor(i) {
    super(`requester${i}`);
    this.i = i;
    this.session = null;
    this.conv = null;
    this.lastSeq = 0;           // the highest seq seen (PROTOCOL.md's rule)
    this.made = 0;              // messages created
    this.pending = new Map();   // id -> text, not acknowledged
    this.acked = new Map();     // id -> seq
    this.escalates = i % 2 === 0;
    this.ticket = null;
    this.escalating = false;
    this.conns = [];            // per connection: {base, events: [[kind, seq]]}
    this.everSeen = new Set();  // every seq seen on any connection
  }

  finished() {
    return this.stopping && this.ready && this.pending.size === 0 &&
      (!this.escalates || this.ticket !== null);
  }

  signIn(ws) {
    if (!this.session) {
      send(ws, { type: 'hello', role: 'requester', id: 'hello', name: `浸泡测试用户${this.i}`,
        email: `soak${this.i}@example.cn` });
    } else {
      send(ws, { type: 'hello', role: 'requester', id: 'hello',
        resume: { session: this.session, last_seq: this.lastSeq,
          ...(this.conv === null ? {} : { conversation: this.conv }) } });
    }
  }

  onClosed() {
    this.escalating = false;
  }

  topUp(ws) {
    while (!this.stopping && this.pending.size < WINDOW && this.made < MAX_MESSAGES) {
      const id = `r${this.i}-m${++this.made}`;
      const text = `第 ${this.made} 条：共享盘 ${this.i} 号打不开，提示错误 ${800 + (this.made % 100)}`;
      this.pending.set(id, text);
      stats.sent++;
      send(ws, { type: 'message', id, text });
    }
  }

  resend(ws, id) {
    if (!this.pending.has(id)) return;
    stats.resent++;
    send(ws, { type: 'message', id, text: this.pending.get(id) });
  }

  maybeEscalate(ws) {
    if (!this.escalates || this.ticket || this.escalating || this.acked.size < ESCALATE_AFTER) return;
    this.escalating = true;
    send(ws, { type: 'escalate', id: 'esc', impact: 2, urgency: 2 });
  }

  seen(conn, kind, seq) {
    conn.events.push([kind, seq]);
    this.everSeen.add(seq);
    if (seq > this.lastSeq) this.lastSeq = seq;
  }

  onFrame(ws, f) {
    const conn = this.conns[this.conns.length - 1];
    if (f.type === 'welcome') {
      if (this.session) {
        stats.resumes++;
        // a first message stored whose ack was lost: the resume names the
        // conversation it created
        if (this.conv === null && f.resumed && f.conversation) this.conv = f.conversation.id;
        if (!f.resumed || f.conversation.id !== this.conv)
          stats.anomalies.push(`${this.name}: resume gave ${JSON.stringify(f)}`);
      } else {
        this.session = f.session;
        this.conv = f.conversation ? f.conversation.id : null;
      }
      if (f.ticket) this.ticket = f.ticket.number;
      this.conns.push({ base: this.lastSeq, events: [] });
      this.ready = true;
      for (const id of this.pending.keys()) this.resend(ws, id);
      this.topUp(ws);
      this.maybeEscalate(ws);
      this.check();
      return;
    }
    if (f.id === 'hello' && f.code === 'session_expired' && this.conv === null) {
      // hello stores nothing: the session, person and conversation exist
      // only once the first message is stored, and none was
      this.session = null;
      this.signIn(ws);
      return;
    }
    if (f.id === 'hello') { // an error answering hello
      if (this.retryable(f)) this.later(ws, () => this.signIn(ws));
      else stats.anomalies.push(`${this.name}: hello refused: ${JSON.stringify(f)}`);
      return;
    }
    if (!conn || !this.ready) {
      stats.anomalies.push(`${this.name}: ${f.type} before welcome`);
      return;
    }
    switch (f.type) {
    case 'ack': {
      const prev = this.acked.get(f.id);
      if (prev !== undefined && prev !== f.seq)
        stats.anomalies.push(`${this.name}: ${f.id} acknowledged as seq ${prev} and ${f.seq}`);
      if (f.duplicate) stats.dupAcks++;
      if (prev === undefined) stats.acks++;
      this.acked.set(f.id, f.seq);
      if (f.conversation && this.conv === null) this.conv = f.conversation.id;
      this.pending.delete(f.id);
      this.seen(conn, 'ack', f.seq);
      this.later(ws, () => this.topUp(ws), THINK_MS);
      this.maybeEscalate(ws);
      this.check();
      break;
    }
    case 'message':
      if (f.id && !this.acked.has(f.id) && !this.pending.has(f.id))
        stats.anomalies.push(`${this.name}: a message of mine I never sent: ${JSON.stringify(f)}`);
      this.seen(conn, 'message', f.seq);
      break;
    case 'ticket':
      if (f.id === 'esc') {
        this.escalating = false;
        if (!this.ticket) stats.tickets++;
        this.ticket = f.number;
        this.check();
      }
      break;
    case 'error':
      if (f.id === 'esc') {
        this.escalating = false;
        if (this.retryable(f)) this.later(ws, () => this.maybeEscalate(ws));
      } else if (this.pending.has(f.id)) {
        if (this.retryable(f)) this.later(ws, () => this.resend(ws, f.id));
      } else if (f.id === undefined && f.code === 'db_unavailable') {
        stats.catchupErrors++; // a replay the server could not read: it tries again at the next gap
      } else {
        stats.otherErrors.push(`${this.name}: ${JSON.stringify(f)}`);
      }
      break;
    case 'suggestions': case 'typing': case 'conversation': case 'pong':
      if (f.type === 'conversation')
        stats.anomalies.push(`${this.name}: a new conversation: ${JSON.stringify(f)}`);
      break;
    default:
      break;
    }
  }

  // ping/pong on the live connection: every earlier answer has arrived
  sync(timeoutMs) {
    const ws = this.ws;
    return new Promise((resolve, reject) => {
      const id = `sync-${Math.random().toString(36).slice(2)}`;
      const timer = setTimeout(() => reject(new Error(`${this.name}: no pong in ${timeoutMs} ms`)), timeoutMs);
      const on = (data) => {
        const f = JSON.parse(data.toString('utf8'));
        if (f.type === 'pong' && f.id === id) {
          clearTimeout(timer);
          ws.removeListener('message', on);
          resolve();
        }
      };
      ws.on('message', on);
      send(ws, { type: 'ping', id });
    });
  }
}

// An agent: takes new tickets and replies to the ones it holds.
class Agent extends Actor {
  constructor(j) {
    super(`agent${j}`);
    this.j = j;
    this.username = `soak${j}`;
    this.password = `soak password ${j}`;
    this.session = null;
    this.held = new Map();     // ticket -> {made, pending: {id, text} | null}
    this.acked = new Map();    // id -> {ticket, seq}
    this.taking = new Set();
  }

  finished() {
    if (!this.stopping || !this.ready) return false;
    for (const h of this.held.values()) if (h.pending) return false;
    return true;
  }

  signIn(ws) {
    send(ws, this.session ? { type: 'login', id: 'login', session: this.session }
      : { type: 'login', id: 'login', username: this.username, password: this.password });
  }

  onClosed() { this.taking.clear(); }

  take(ws, number) {
    if (this.stopping || this.held.has(number) || this.taking.has(number)) return;
    this.taking.add(number);
    send(ws, { type: 'take', id: `take-${number}`, ticket: number });
  }

  hold(ws, number) {
    if (!this.held.has(number)) this.held.set(number, { made: 0, pending: null });
    this.reply(ws, number);
  }

  // the next reply on a held ticket (one out at a time), after a pause
  reply(ws, number) {
    const h = this.held.get(number);
    if (h.pending || this.stopping || h.made >= MAX_REPLIES) return;
    h.made++;
    h.pending = { id: `a${this.j}-${number}-${h.made}`, text: `请重启后再试（第 ${h.made} 次回复）` };
    stats.replies++;
    this.later(ws, () => this.sendReply(ws, number), THINK_MS);
  }

  sendReply(ws, number) {
    const p = this.held.get(number).pending;
    if (p) send(ws, { type: 'reply', ticket: number, id: p.id, text: p.text });
  }

  onFrame(ws, f) {
    if (f.type === 'welcome') {
      this.session = f.session;
      this.ready = true;
      send(ws, { type: 'queue', id: 'queue' });
      for (const number of this.held.keys()) this.sendReply(ws, number);
      this.check();
      return;
    }
    if (f.id === 'login') {
      if (this.retryable(f)) this.later(ws, () => this.signIn(ws));
      else stats.anomalies.push(`${this.name}: login refused: ${JSON.stringify(f)}`);
      return;
    }
    switch (f.type) {
    case 'queue':
      for (const t of f.tickets) {
        if (t.status === 'new') this.take(ws, t.number);
        else if (t.agent === `浸泡坐席 ${this.j}`) this.hold(ws, t.number);
      }
      break;
    case 'queue_update':
      if (f.event === 'new') this.take(ws, f.ticket.number);
      break;
    case 'ticket':
      if (f.id && f.id.startsWith('take-')) {
        this.taking.delete(f.number);
        if (f.agent === `浸泡坐席 ${this.j}`) this.hold(ws, f.number);
      }
      break;
    case 'ack': {
      const prev = this.acked.get(f.id);
      if (prev && prev.seq !== f.seq)
        stats.anomalies.push(`${this.name}: ${f.id} acknowledged as seq ${prev.seq} and ${f.seq}`);
      if (f.duplicate) stats.dupAcks++;
      if (!prev) stats.replyAcks++;
      this.acked.set(f.id, { ticket: f.ticket, seq: f.seq });
      const h = this.held.get(f.ticket);
      if (h && h.pending && h.pending.id === f.id) {
        h.pending = null;
        this.reply(ws, f.ticket);
      }
      this.check();
      break;
    }
    case 'error': {
      if (f.id && f.id.startsWith('take-')) {
        const number = f.id.slice(5);
        this.taking.delete(number);
        if (f.code === 'already_taken') break;
        if (this.retryable(f)) this.later(ws, () => this.take(ws, number));
        break;
      }
      if (f.id === 'queue') {
        if (this.retryable(f)) this.later(ws, () => send(ws, { type: 'queue', id: 'queue' }));
        break;
      }
      const held = [...this.held.entries()].find(([, h]) => h.pending && h.pending.id === f.id);
      if (held) {
        if (this.retryable(f)) this.later(ws, () => this.sendReply(ws, held[0]));
        break;
      }
      stats.otherErrors.push(`${this.name}: ${JSON.stringify(f)}`);
      break;
    }
    default:
      break;
    }
  }
}

// Waits until cond() holds, looking at every tick of `every` ms; throws
// after timeoutMs.
async function until(what, cond, timeoutMs = STEP_DEADLINE, every = 20) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

const totalAcks = () => stats.acks + stats.replyAcks;

// What every actor is waiting for, and the tail of chatdesk's log: shown
// when the soak fails.
function stateDump(t, actors) {
  const lines = actors.map((a) => `${a.name}: ready ${a.ready}, ws ${a.ws ? a.ws.readyState : '-'}, ` +
    (a.pending ? `pending [${[...a.pending.keys()].join(' ')}], last_seq ${a.lastSeq}, ticket ${a.ticket}`
      : `held ${JSON.stringify([...a.held.entries()])}, taking [${[...a.taking]}]`));
  lines.push(`stats ${JSON.stringify(stats)}`);
  const d = deskLogs[deskLogs.length - 1];
  if (d) lines.push('chatdesk log (tail):', ...d.log.slice(-4000).split('\n'));
  for (const l of lines) t.diagnostic(l);
}

// ---- setup ----------------------------------------------------------------------

before(async () => {
  // fsync stays on: a committed row must survive an immediate stop
  ({ tmp, pgdir, conninfo } = await startPg('kbsoak', { fsync: 'on' }));
  index = path.join(tmp, 'index');
  await mustRun(INDEXER, ['build', '--quiet', '--corpus', 'corpora', '--index', index]);
  for (let j = 1; j <= AGENTS; j++) {
    await mustRun(CHATDESK, ['useradd', '--agent', `soak${j}`, '--name', `浸泡坐席 ${j}`,
      '--db', conninfo], { input: `soak password ${j}\n` });
  }
  desk = startDesk('127.0.0.1:0');
  port = await desk.ready;
  wsUrl = `ws://127.0.0.1:${port}/ws`;
}, { timeout: 180000 });

after(async () => {
  if (desk) await killDesk('SIGTERM').catch(() => {});
  for (const d of deskLogs) if (!d.exited) { d.killed = true; d.child.kill('SIGKILL'); }
  await destroyPg({ tmp, pgdir });
}, { timeout: 60000 });

// ---- the soak ----------------------------------------------------------------------

test('soak: traffic through PostgreSQL restarts and chatdesk kill -9, then a drain',
  { timeout: 240000 }, async (t) => {
    t.diagnostic(`seed ${SEED} (SOAK_SEED=${SEED} replays the pauses and the fault order)`);
    const started = Date.now();
    const requesters = Array.from({ length: REQUESTERS }, (_, i) => new Requester(i + 1));
    const agents = Array.from({ length: AGENTS }, (_, j) => new Agent(j + 1));
    const actors = [...requesters, ...agents];
    const hardDeadline = started + 150000;
    const loops = actors.map((a) => a.loop(hardDeadline).catch((e) => { a.failed = e; }));
    try {
      await soak(t, started, actors, requesters, agents, loops);
    } catch (e) {
      stateDump(t, actors);
      for (const a of actors) a.abort();
      throw e;
    }
  });

async function soak(t, started, actors, requesters, agents, loops) {

    // faults, one at a time, in a seeded order; after each, wait until the
    // desk has recovered and traffic has flowed again
    const order = [...FAULTS];
    for (let i = order.length - 1; i > 0; i--) {
      const k = Math.floor(rand() * (i + 1));
      [order[i], order[k]] = [order[k], order[i]];
    }
    await until('the first acknowledgements', () => totalAcks() >= PROGRESS_ACKS);
    for (const fault of order) {
      await pause(between(PAUSE_MS));
      const t0 = Date.now();
      if (fault === 'pg-fast') {
        await pgCtl('-l', path.join(pgdir, 'server.log'), '-m', 'fast', 'restart');
      } else if (fault === 'pg-immediate') {
        await pgCtl('-m', 'immediate', 'stop');
        await mustRun(PG_SH, ['start', pgdir], { env: { PG_FSYNC: 'on' } });
      } else {
        const e = await killDesk('SIGKILL');
        assert.equal(e.signal, 'SIGKILL');
        await restartDesk();
      }
      stats.faults[fault] = (stats.faults[fault] || 0) + 1;
      const acks0 = totalAcks();
      await until(`${PROGRESS_ACKS} acknowledgements after ${fault}`,
        () => totalAcks() >= acks0 + PROGRESS_ACKS);
      t.diagnostic(`${fault} at ${((t0 - started) / 1000).toFixed(1)} s, traffic again after ${Date.now() - t0} ms`);
    }

    // the drain: nothing new, resend until everything is acknowledged
    const drainStart = Date.now();
    for (const a of actors) { a.stopping = true; a.check(); }
    let drainTimer;
    await Promise.race([Promise.all(loops), new Promise((resolve, reject) => {
      drainTimer = setTimeout(() => reject(new Error(`drain not done in ${DRAIN_DEADLINE} ms: ${
        actors.filter((a) => !a.finished()).map((a) => `${a.name} pending ${a.pending
          ? a.pending.size : [...a.held.values()].filter((h) => h.pending).length}`).join(', ')}`)),
      DRAIN_DEADLINE);
    })]).finally(() => clearTimeout(drainTimer));
    for (const a of actors) if (a.failed) throw a.failed;
    // every answer and push is in: a ping round trip on each requester
    await Promise.all(requesters.map((r) => r.sync(STEP_DEADLINE)));
    const drainMs = Date.now() - drainStart;
    for (const a of actors) a.ws.close();
    const e = await killDesk('SIGTERM');
    assert.deepEqual(e, { code: 0, signal: null }, 'chatdesk stops cleanly after the soak');

    soakReport = { requesters, agents, ms: Date.now() - started, drainMs };
    t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s (drain ${drainMs} ms); faults ${JSON.stringify(stats.faults)}`);
    t.diagnostic(`requester messages ${stats.sent} (resent ${stats.resent}), acknowledged ${stats.acks}; ` +
      `agent replies ${stats.replies}, acknowledged ${stats.replyAcks}; duplicate acks ${stats.dupAcks}; ` +
      `tickets ${stats.tickets}`);
    t.diagnostic(`connections ${stats.connects} (resumed ${stats.resumes}, refused ${stats.refused}); ` +
      `db_unavailable answers ${stats.dbErrors} (and ${stats.catchupErrors} to replays)`);
    assert.deepEqual(stats.anomalies, []);
    assert.deepEqual(stats.otherErrors, []);
    assert.equal(Object.values(stats.faults).reduce((a, b) => a + b, 0), FAULTS.length);
    assert.equal(stats.acks, stats.sent, 'every requester message acknowledged');
    assert.equal(stats.replyAcks, stats.replies, 'every agent reply acknowledged');
    assert.ok(stats.tickets >= 1 && stats.replyAcks >= 1, 'tickets were taken and answered');
}

test('soak: no acknowledged message lost, none stored twice', { timeout: 60000 }, async (t) => {
  assert.ok(soakReport, 'the soak ran');
  const rows = await sql(`SELECT m.conversation_id, m.seq, m.client_id, m.sender_role,
      coalesce(t.number, '') FROM messages m LEFT JOIN tickets t ON t.conversation_id = m.conversation_id
    WHERE m.client_id IS NOT NULL`);
  const stored = new Map(); // client id -> [rows]
  for (const [conv, seq, cid, role, number] of rows) {
    if (!stored.has(cid)) stored.set(cid, []);
    stored.get(cid).push({ conv: Number(conv), seq: Number(seq), role, number });
  }
  let lost = 0;
  const lostIds = [];
  let acked = 0;
  for (const r of soakReport.requesters) {
    for (const [id, seq] of r.acked) {
      acked++;
      const hit = (stored.get(id) || []).some((s) => s.conv === r.conv && s.seq === seq && s.role === 'requester');
      if (!hit) { lost++; lostIds.push(`${id}@${r.conv}:${seq}`); }
    }
  }
  for (const a of soakReport.agents) {
    for (const [id, { ticket, seq }] of a.acked) {
      acked++;
      const hit = (stored.get(id) || []).some((s) => s.number === ticket && s.seq === seq && s.role === 'agent');
      if (!hit) { lost++; lostIds.push(`${id}@${ticket}:${seq}`); }
    }
  }
  // duplicated: a client id stored more than once (ids are unique per test,
  // so across senders and conversations too)
  const dups = [...stored.entries()].filter(([, v]) => v.length > 1).map(([k]) => k);
  const dupPerSender = await sql(`SELECT conversation_id, sender_id, client_id, count(*) FROM messages
    WHERE client_id IS NOT NULL GROUP BY 1, 2, 3 HAVING count(*) > 1`);
  // every stored row was acknowledged (nothing stored that a client gave up on)
  const ackedIds = new Set([...soakReport.requesters.flatMap((r) => [...r.acked.keys()]),
    ...soakReport.agents.flatMap((a) => [...a.acked.keys()])]);
  const unacked = [...stored.keys()].filter((k) => !ackedIds.has(k));
  t.diagnostic(`acknowledged ${acked}, rows with a client id ${rows.length}: lost ${lost}, duplicated ${dups.length}`);
  assert.equal(lost, 0, `lost: ${lostIds.slice(0, 20).join(', ')}`);
  assert.equal(dups.length, 0, `duplicated: ${dups.slice(0, 20).join(', ')}`);
  assert.deepEqual(dupPerSender, []);
  assert.deepEqual(unacked, []);
  // seqs of every soak conversation are 1..last_seq without a hole
  const convs = soakReport.requesters.map((r) => r.conv).join(',');
  const holes = await sql(`SELECT c.id, c.last_seq, count(m.seq), coalesce(max(m.seq), 0)
    FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id
    WHERE c.id IN (${convs}) GROUP BY c.id, c.last_seq
    HAVING c.last_seq <> count(m.seq) OR c.last_seq <> coalesce(max(m.seq), 0)`);
  assert.deepEqual(holes, []);
});

test('soak: each requester got every message, each connection each seq once and in order',
  { timeout: 60000 }, async (t) => {
    assert.ok(soakReport, 'the soak ran');
    const last = new Map((await sql(`SELECT id, last_seq FROM conversations
      WHERE id IN (${soakReport.requesters.map((r) => r.conv).join(',')})`))
      .map(([id, n]) => [Number(id), Number(n)]));
    const problems = [];
    let conns = 0;
    for (const r of soakReport.requesters) {
      for (const [k, c] of r.conns.entries()) {
        conns++;
        const had = new Set();
        let prevMsg = c.base;
        for (const [kind, seq] of c.events) {
          if (kind === 'message') {
            if (seq <= c.base) problems.push(`${r.name} conn ${k}: message ${seq} at or below resume point ${c.base}`);
            if (had.has(seq)) problems.push(`${r.name} conn ${k}: seq ${seq} delivered twice`);
            if (seq <= prevMsg) problems.push(`${r.name} conn ${k}: message ${seq} after ${prevMsg}`);
            for (let s = c.base + 1; s < seq; s++) {
              if (!had.has(s)) { problems.push(`${r.name} conn ${k}: message ${seq} before ${s}`); break; }
            }
            prevMsg = seq;
          }
          had.add(seq);
        }
      }
      const n = last.get(r.conv);
      for (let s = 1; s <= n; s++) {
        if (r.everSeen.has(s)) continue;
        const [row] = await sql(`SELECT sender_role, client_id FROM messages
          WHERE conversation_id = ${r.conv} AND seq = ${s}`);
        const around = r.conns.map((c, k) => `conn ${k} from ${c.base}: ` + c.events
          .filter(([, q]) => Math.abs(q - s) <= 3).map(([kind, q]) => `${kind} ${q}`).join(', '));
        problems.push(`${r.name}: seq ${s} of ${n} (${row}) never received; ${around.join('; ')}`);
        break;
      }
    }
    t.diagnostic(`${conns} requester connections checked`);
    assert.deepEqual(problems, []);
  });
