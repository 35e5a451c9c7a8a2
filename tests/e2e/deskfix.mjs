// deskfix: what the e2e tests of the desk share (escal.test.mjs,
// major.test.mjs, hooks.test.mjs, portal.test.mjs, pause.test.mjs,
// sla.test.mjs): a whole chatdesk with its cluster, index, agents, SLA data,
// escalation rules and SMTP sink (startDesk / stopDesk), and
// deskFixture(WAIT, ctx, PW), which binds to a test file psql queries
// against the test cluster, a bounded wait for a condition, a free loopback
// port, the SMTP sink and the mails it wrote, a WebSocket client
// (wsclient.mjs) that waits for frames (each stamped with when it came, _at), the JSON API, and
// agents' logins (password who.password, else PW), a requester's new
// ticket (requesterTicket) and chatdesk's commands
// on the cluster (chatdesk(args): run's { code, stdout, stderr }); ctx()
// returns that file's current { conninfo, base, mailDir } (set in its
// before(); startDesk's d has them), read at each call. deskData,
// deskClientOf: see below. No sleeps: every wait is for a condition,
// bounded by WAIT.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { FrameClient } from './wsclient.mjs';
import { ROOT, run, mustRun, startPg, destroyPg, startDaemon, stopDaemon } from './daemon.mjs';
import { deskClient } from './desk.mjs';

export function deskFixture(WAIT, ctx, PW) {

  function psqlBin() {
    for (const d of [process.env.PG_BIN, '/usr/lib/postgresql/15/bin'])
      if (d && existsSync(path.join(d, 'psql'))) return path.join(d, 'psql');
    return 'psql';
  }

  async function sql(query, ...params) {
    const args = ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', ctx().conninfo];
    params.forEach((p, i) => args.push('-v', `p${i + 1}=${p}`));
    const out = await mustRun(psqlBin(), [...args, '-f', '-'],
      { input: `${query.replace(/\$(\d)/g, ":'p$1'")};\n` });
    return out.split('\n').filter((l) => l !== '').map((l) => l.split('|'));
  }

  // the first column of the first row (undefined: no row)
  const sqlOne = async (q, ...p) => (await sql(q, ...p))[0]?.[0];

  async function until(what, check, ms = WAIT) {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await check();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const startSink = (port) => startMailSink(port, ctx().mailDir, WAIT);

  const decodeHeader = (v) => v.replace(/\r\n /g, '').replace(/=\?UTF-8\?B\?([A-Za-z0-9+/=]+)\?=/g,
    (_, b) => Buffer.from(b, 'base64').toString('utf8'));

  async function mails() {
    const out = [];
    for (const f of (await readdir(ctx().mailDir)).filter((x) => x.endsWith('.eml')).sort()) {
      const raw = await readFile(path.join(ctx().mailDir, f), 'latin1');
      const rcpt = (await readFile(path.join(ctx().mailDir, f.replace('.eml', '.rcpt')), 'utf8')).trim().split('\n');
      const end = raw.indexOf('\r\n\r\n');
      const head = raw.slice(0, end);
      const headers = {};
      for (const m of head.replace(/\r\n[ \t]/g, '\r\n ').split(/\r\n(?! )/)) {
        const i = m.indexOf(':');
        headers[m.slice(0, i).toLowerCase()] = m.slice(i + 1).trim();
      }
      const body = Buffer.from(raw.slice(end + 4).replace(/\r\n/g, ''), 'base64').toString('utf8');
      out.push({ file: f, rcpt, head, headers, subject: decodeHeader(headers.subject || ''), body });
    }
    return out;
  }

  // every Client opened, for after() to terminate
  const clients = new Set();

  // the fixture's client (wsclient.mjs) on ctx().base, each frame stamped
  // with when it came (_at, seconds; not part of the frame's JSON)
  class Client extends FrameClient {
    static open() {
      return this.connect(ctx().base.replace('http:', 'ws:') + '/ws', { clients, wait: WAIT,
        stamp: (f) => Object.defineProperty(f, '_at', { value: Date.now() / 1000 }) });
    }
  }

  async function api(p, token, method = 'GET', json) {
    const headers = token ? { authorization: `Bearer ${token}` } : {};
    if (json !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(ctx().base + p, { method, headers, body: json === undefined ? undefined : JSON.stringify(json),
      signal: AbortSignal.timeout(WAIT) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null, text };
  }

  // a bearer token and a logged-in agent socket for who (password PW);
  // logins wait at the password-hashing gate: a try_later is asked again
  // (bounded)
  async function token(who) {
    const deadline = Date.now() + WAIT;
    for (;;) {
      const r = await api('/api/v1/sessions', null, 'POST', { username: who.username, password: who.password ?? PW });
      if (r.status === 503 && r.body?.error?.code === 'try_later' && Date.now() < deadline) continue;
      assert.equal(r.status, 201, r.text);
      return r.body.token;
    }
  }

  async function agentSocket(who) {
    const c = await Client.open();
    const deadline = Date.now() + WAIT;
    for (;;) {
      const w = await c.request({ type: 'login', username: who.username, password: who.password ?? PW });
      if (w.type === 'error' && w.code === 'try_later' && Date.now() < deadline) continue;
      assert.equal(w.type, 'welcome', JSON.stringify(w));
      return c;
    }
  }

  // A requester named name who says text and escalates it (impact, urgency):
  // { rq: their Client, t: the ticket frame, hello: the welcome frame }.
  async function requesterTicket(name, text, { impact = 2, urgency = 2 } = {}) {
    const rq = await Client.open();
    const hello = await rq.request({ type: 'hello', name });
    assert.equal(hello.type, 'welcome');
    assert.equal((await rq.request({ type: 'message', text })).type, 'ack');
    const t = await rq.request({ type: 'escalate', impact, urgency });
    assert.equal(t.type, 'ticket', JSON.stringify(t));
    return { rq, t, hello };
  }

  const chatdeskBin = path.join(path.resolve(ROOT, process.env.KB_BIN || 'build/bin'), 'chatdesk');
  const chatdesk = (args, opts) => run(chatdeskBin, [...args, '--db', ctx().conninfo], opts);

  return { sql, sqlOne, until, freePort: freeLoopbackPort, startSink, stopSink, decodeHeader, mails, Client, clients, api, token,
    agentSocket, requesterTicket, chatdesk };
}

// The SMTP sink (scripts/mailsink.py) on 127.0.0.1:port, writing each mail
// it accepts to dir; s.ready resolves once it printed "ready" (rejects if
// it exits first or after wait ms); stopSink(s) ends it.
export function startMailSink(port, dir, wait) {
  const child = spawn('/usr/bin/python3', [path.join(ROOT, 'scripts/mailsink.py'), String(port), dir],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  const s = { child, log: '' };
  s.exit = new Promise((resolve) => child.on('exit', resolve));
  child.stderr.on('data', (d) => { s.log += d; });
  s.ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`smtp sink not ready: ${s.log}`)), wait);
    child.stdout.on('data', (d) => { if (String(d).includes('ready')) { clearTimeout(timer); resolve(); } });
    s.exit.then(() => { clearTimeout(timer); reject(new Error(`smtp sink exited: ${s.log}`)); });
  });
  return s;
}

// SIGTERM to the sink (SIGKILL after 10 s); resolves once it is gone.
export async function stopSink(s) {
  if (!s || s.child.exitCode !== null) return;
  s.child.kill('SIGTERM');
  const timer = setTimeout(() => s.child.kill('SIGKILL'), 10000);
  await s.exit;
  clearTimeout(timer);
}

function freeLoopbackPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

// The data of a desk, set up in d (an empty object, filled as it goes so
// that destroyPg(d) undoes a set-up that failed half way): a cluster in a
// fresh folder prefix-XXXXXX (d.tmp, d.pgdir, d.conninfo), the corpus
// indexed (d.index), the agents made (each {username, password, name?,
// email?, team?, role?}; password else opts.password), the SLA data sla and
// the escalation rules escalation loaded (objects, if given; written to
// d.tmp/sla-load.json, d.tmp/escalation-load.json). For the tests that start
// chatdesk themselves; startDesk starts it too.
export async function deskData(d, prefix, { agents = [], password, sla, escalation } = {}) {
  const bin = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
  const chatdesk = (a, opts) => mustRun(path.join(bin, 'chatdesk'), [...a, '--db', d.conninfo], opts);
  Object.assign(d, await startPg(prefix));
  d.index = path.join(d.tmp, 'index');
  await mustRun(path.join(bin, 'indexer'), ['build', '--quiet', '--corpus', 'corpora', '--index', d.index]);
  for (const a of agents) {
    await chatdesk(['useradd', '--agent', a.username, ...(a.name ? ['--name', a.name] : [])],
      { input: `${a.password ?? password}\n` });
    if (a.email) await chatdesk(['agent-email', a.username, a.email]);
    if (a.team) await chatdesk(['team-member', a.username, a.team]);
    if (a.role) await chatdesk(['role', a.username, a.role]);
  }
  for (const [what, data] of [['sla-load', sla], ['escalation-load', escalation]]) {
    if (!data) continue;
    const file = path.join(d.tmp, `${what}.json`);
    await writeFile(file, JSON.stringify(data));
    await chatdesk([what, file]);
  }
  return d;
}

// A chatdesk for an end-to-end test, set up in d (as deskData, so that
// stopDesk(d) also undoes a start that failed half way): the data of
// deskData(d, prefix, opts), with mail ({ publicUrl }) the SMTP sink on a
// free port (d.sink, d.smtpPort, writing to d.mailDir) and chatdesk's mail
// keys pointed at it, prepare(d) run (if given), then chatdesk started with
// --threads 2, the mail keys and the configuration lines conf (or conf(d))
// in d.tmp/chatdesk.conf, and args added (d.chat; its address d.base,
// d.wsUrl). Every wait is bounded by wait ms.
export async function startDesk(d, prefix, { agents = [], password, sla, escalation, mail, conf = [], prepare,
  args = [], wait = 20000 } = {}) {
  const bin = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
  await deskData(d, prefix, { agents, password, sla, escalation });
  const lines = typeof conf === 'function' ? conf(d) : [...conf];
  if (mail) {
    d.mailDir = path.join(d.tmp, 'mail');
    await mkdir(d.mailDir, { recursive: true });
    d.smtpPort = await freeLoopbackPort();
    d.sink = startMailSink(d.smtpPort, d.mailDir, wait);
    await d.sink.ready;
    lines.push(`smtp_url = smtp://127.0.0.1:${d.smtpPort}`, 'smtp_from = desk@example.cn',
      `public_url = ${mail.publicUrl || 'http://desk.example.cn'}`, 'mail_interval_ms = 100', 'mail_retry_min = 1',
      'mail_retry_max = 1');
  }
  if (prepare) await prepare(d);
  const confArgs = [];
  if (lines.length) {
    confArgs.push('--config', path.join(d.tmp, 'chatdesk.conf'));
    await writeFile(confArgs[1], [...lines, ''].join('\n'));
  }
  d.chat = startDaemon(path.join(bin, 'chatdesk'), ['--index', d.index, '--db', d.conninfo, '--listen', '127.0.0.1:0',
    '--www', 'chatdesk/www', '--threads', '2', ...args, ...confArgs]);
  d.base = await d.chat.ready;
  d.wsUrl = d.base.replace('http:', 'ws:') + '/ws';
  return d;
}

// Stops what startDesk(d) started (chatdesk, the sink) and destroys the
// cluster and the folder (whatever of them it got to).
export async function stopDesk(d) {
  await stopDaemon(d.chat);
  await stopSink(d.sink);
  await destroyPg(d);
}

// The API and WebSocket clients (tests/e2e/desk.mjs deskClient) of the desk
// startDesk(d) starts, with login() signing in as who unless given a username
// and password, and stop() (for after()): ends the sockets the clients opened,
// then stopDesk(d). Every wait is bounded by wait ms.
export function deskClientOf(d, who, wait = 20000) {
  const desk = deskClient(() => d, { wait });
  const login = (username = who.username, password = who.password) => desk.login(username, password);
  const stop = async () => {
    for (const ws of desk.sockets) ws.terminate();
    await stopDesk(d);
  };
  return { ...desk, login, stop };
}
