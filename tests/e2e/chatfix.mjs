// chatfix: what the end-to-end tests of chatdesk's WebSocket service share
// (chatdesk.test.mjs, chatdesk_conn.test.mjs): the binaries (KB_BIN), psql
// queries against the test cluster, a WebSocket client (wsclient.mjs) that
// keeps every frame and waits (bounded) for the next one matching, with
// ping/pong syncs, requesters, agents and escalated tickets made over it, and
// useChatdesk(prefix), which registers the file's before() and after(): a
// real PostgreSQL 15 (scripts/pg.sh, fsync off), a real index of corpora/,
// the agents of AGENTS made with `chatdesk useradd` (password on stdin) and
// the real daemon on a free port of 127.0.0.1. The daemon's address and the
// cluster are live bindings (tmp, conninfo, index, daemon, base, wsUrl), set
// once before() ran. No sleeps: every wait is for a frame, bounded in time.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { FrameClient } from './wsclient.mjs';
import { run, mustRun, startDaemon as startProc, stopDaemon as stopProc } from './daemon.mjs';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
export const CHATDESK = path.join(BIN, 'chatdesk');
export const INDEXER = path.join(BIN, 'indexer');
export const PG_SH = path.join(ROOT, 'scripts/pg.sh');
export const VPN_TEXT = '我的电脑连不上VPN了，提示错误809';
export const FRAME_WAIT = 20000; // ms: the sanitizer build is slow

export const startDaemon = (args, timeoutMs = 30000) => startProc(CHATDESK, args, timeoutMs);
export const stopDaemon = (d, deadlineMs = 15000) => stopProc(d, deadlineMs);
export let tmp, pgdir, conninfo, index, daemon, base, wsUrl;
export const clients = new Set();
export const AGENTS = { agent1: 'correct horse 1', agent2: 'battery staple 2' };

// ---- processes ----------------------------------------------------------------

export const pg = (what) => mustRun(PG_SH, [what, pgdir], { env: { PG_FSYNC: 'off' } });

export function psqlBin() {
  for (const d of [process.env.PG_BIN, '/usr/lib/postgresql/15/bin']) {
    if (d && existsSync(path.join(d, 'psql'))) return path.join(d, 'psql');
  }
  return 'psql';
}

// Runs SQL with $1, $2 ... bound as text (psql variables); returns the rows
// as arrays of strings (psql -At, | separated).
export async function sql(query, ...params) {
  const args = ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', conninfo];
  params.forEach((p, i) => args.push('-v', `p${i + 1}=${p}`));
  // variables are interpolated only in SQL read from a file or stdin
  const out = await mustRun(psqlBin(), [...args, '-f', '-'],
    { input: `${query.replace(/\$(\d)/g, ":'p$1'")};\n` });
  return out.split('\n').filter((l) => l !== '').map((l) => l.split('|'));
}
export const sqlOne = async (q, ...p) => (await sql(q, ...p))[0]?.[0];

// ---- WebSocket clients --------------------------------------------------------------

// chatfix's client (wsclient.mjs) on wsUrl (or url), in clients until
// closed; a new requester's conversation (c.conversation) exists from its
// first message's ack.
export class Client extends FrameClient {
  static open(url = wsUrl, protocols, options = {}) {
    return this.connect(url, { protocols, options: { handshakeTimeout: 10000, ...options }, clients, wait: FRAME_WAIT });
  }

  received(f) {
    if (f.type === 'ack' && f.conversation && f.conversation.id) this.conversation = f.conversation.id;
  }
}

let people = 0;
export async function requester(name) {
  const c = await Client.open();
  const w = await c.request({ type: 'hello', role: 'requester', name: name || `用户${++people}`,
    email: `u${people}@example.cn` });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  c.session = w.session;
  c.conversation = w.conversation.id; // null until the first message
  return c;
}

export async function agent(username) {
  const c = await Client.open();
  const w = await c.request({ type: 'login', username, password: AGENTS[username] });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  assert.equal(w.role, 'agent');
  return c;
}

// a requester with one message, escalated: [client, ticket number]
export async function ticketOf(text = VPN_TEXT) {
  const r = await requester();
  const ack = await r.request({ type: 'message', text });
  assert.equal(ack.type, 'ack');
  const t = await r.request({ type: 'escalate', impact: 2, urgency: 2 });
  assert.equal(t.type, 'ticket', JSON.stringify(t));
  return [r, t.number];
}

// ---- setup --------------------------------------------------------------------------

// Registers the test file's before() and after(): a cluster in a fresh
// folder prefix-XXXXXX, the corpus indexed, the agents of AGENTS made with
// `chatdesk useradd`, and the daemon (daemon, base, wsUrl); after() closes
// every client still open, stops the daemon and destroys the cluster.
export function useChatdesk(prefix) {
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
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
}
