// deskload: one load process of the desk-capacity run of `make bench-big`
// (tests/bench/big.sh): signed-in agents or requesters speaking chatdesk's
// WebSocket protocol (chatdesk/PROTOCOL.md), on the ws package in
// tests/node_modules. Several of these run at once, each with its share.
//
//   node deskload.mjs agents URL FIRST COUNT TOTAL SECONDS PASSWORD [TOKENS]
//       agents bench<FIRST>..bench<FIRST+COUNT-1> log in: those with a line
//       `USERNAME TOKEN` in the file TOKENS with that session (a session
//       login: no password check), the others with the password (at most
//       2 at a time from this process: each is an Argon2id check in
//       chatdesk; their latency is login_ms); then they receive every
//       queue_update. A new ticket is
//       taken by exactly one agent of all TOTAL (its number modulo TOTAL),
//       after 0.5-2 s; that agent sends `typing`, after 1-3 s a `reply`
//       (its text carries the send time, so the requester can measure the
//       delivery), and resolves the ticket once the requester answers.
//   node deskload.mjs requesters URL FIRST COUNT SECONDS QUERYFILE
//       requesters FIRST..FIRST+COUNT-1 say hello (25 at a time), then each
//       sends a message about once a minute (the first within the first
//       minute, then every 30-90 s), texts from the query log's Chinese and
//       mixed queries. Every 20th requester escalates after its second
//       message's suggestions, answers the agent's reply once and confirms
//       the resolution.
//
// After connecting, the process prints {"phase":"ready",...} and waits for
// SIGUSR1 (big.sh sends it to every load process at once); the measured
// window is SECONDS from then, followed by at most 15 s for outstanding
// answers. Then it prints one JSON object (latency percentiles in ms,
// counts, errors by code, the process's own CPU seconds over the window)
// and exits 0. Exit 1 if connecting or signing in failed.
import { readFileSync } from 'node:fs';
import { sleep, pct, texts, open as wsOpen } from './wsload.mjs';

const [mode, url] = process.argv.slice(2, 4);
// epoch milliseconds with sub-millisecond resolution, comparable between
// the load processes on this machine (the reply-delivery latency)
const wall = () => performance.timeOrigin + performance.now();
const rnd = (a, b) => a + Math.random() * (b - a);

function stats(a) {
  const s = Float64Array.from(a).sort();
  const r = (x) => (x === null ? null : Math.round(x * 100) / 100);
  return { n: s.length, p50: r(pct(s, 50)), p90: r(pct(s, 90)), p99: r(pct(s, 99)), max: r(pct(s, 100)) };
}
const open = (u) => wsOpen(u, 30000);

// what is measured: only frames sent inside the window count
const rec = { login: [], ack: [], sugg: [], reply_ack: [], delivery: [], take: [], errors: {}, counts: {} };
let measuring = false;
let stopping = false;
const count = (k, n = 1) => { rec.counts[k] = (rec.counts[k] || 0) + n; };
const error = (code) => { if (measuring || stopping) rec.errors[code] = (rec.errors[code] || 0) + 1; };

// ---- agents ---------------------------------------------------------------------
class Agent {
  constructor(n, total) { this.n = n; this.total = total; this.sentAt = new Map(); this.held = new Map(); this.takeAt = new Map(); }
  async start(password, token) {
    this.ws = await open(url);
    const t0 = wall();
    this.ws.on('close', () => { if (!stopping) error('closed'); });
    await new Promise((resolve, reject) => {
      const first = (d) => {
        const m = JSON.parse(d.toString());
        if (m.type === 'welcome') {
          this.ws.off('message', first);
          if (!token) rec.login.push(wall() - t0);
          resolve();
        }
        else if (m.type === 'error' && m.code === 'try_later') {
          // the login queue is full: ask again after its retry_after
          setTimeout(() => this.ws.send(this.loginFrame), 1000 * (m.retry_after || 1));
        } else if (m.type === 'error') reject(new Error(`login bench${this.n}: ${m.code}: ${m.message}`));
      };
      this.ws.on('message', first);
      this.loginFrame = JSON.stringify(token ? { type: 'login', session: token }
        : { type: 'login', username: `bench${this.n}`, password });
      this.ws.send(this.loginFrame);
    });
    this.ws.on('message', (d) => this.onMsg(JSON.parse(d.toString())));
  }
  send(o) { this.ws.send(JSON.stringify(o)); }
  onMsg(m) {
    if (m.type === 'queue_update') {
      if (measuring) count('agent_queue_updates');
      const num = m.ticket && m.ticket.number;
      if (m.event === 'new' && num && Number(num.replace(/\D/g, '')) % this.total === this.n) {
        setTimeout(() => {
          this.takeAt.set(num, wall());
          this.send({ type: 'take', ticket: num });
        }, rnd(500, 2000));
      }
    } else if (m.type === 'ticket' && m.status === 'assigned' && this.takeAt.has(m.number) && !this.held.has(m.number)) {
      if (measuring) rec.take.push(wall() - this.takeAt.get(m.number));
      this.held.set(m.number, 0);
      this.send({ type: 'typing', ticket: m.number, active: true });
      setTimeout(() => {
        const id = `r${this.n}-${m.number}`;
        const t = wall();
        this.sentAt.set(id, t);
        this.send({ type: 'reply', ticket: m.number, id, text: `请重启 VPN 客户端后再试一次 [t=${t.toFixed(3)}]` });
        if (measuring) count('replies_sent');
      }, rnd(1000, 3000));
    } else if (m.type === 'ack' && this.sentAt.has(m.id)) {
      if (measuring) rec.reply_ack.push(wall() - this.sentAt.get(m.id));
      this.sentAt.delete(m.id);
    } else if (m.type === 'message' && m.from === 'requester' && this.held.has(m.ticket)) {
      // the requester answered the reply: resolve (once)
      if (this.held.get(m.ticket) === 0) {
        this.held.set(m.ticket, 1);
        this.send({ type: 'resolve', ticket: m.ticket, resolution: '重启客户端后恢复' });
        if (measuring) count('resolved');
      }
    } else if (m.type === 'error') {
      error(m.code);
    }
  }
}

async function runAgents(first, n, total, seconds, password, tokenFile) {
  const tokens = new Map();
  if (tokenFile) for (const l of readFileSync(tokenFile, 'utf8').split('\n')) {
    const [u, t] = l.split(' ');
    if (t) tokens.set(u, t);
  }
  const agents = [];
  const t0 = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const a = new Agent(first + next++, total);
      await a.start(password, tokens.get(`bench${a.n}`));
      agents.push(a);
    }
  };
  await Promise.all([worker(), worker()]);
  return { agents, connect_s: (Date.now() - t0) / 1000, close: () => agents.forEach((a) => a.ws.terminate()) };
}

// ---- requesters -----------------------------------------------------------------
class Requester {
  constructor(id, list) {
    this.id = id; this.list = list; this.k = 0; this.sent = 0;
    this.pending = new Map(); this.bySeq = new Map();
    this.escalates = id % 20 === 0;
  }
  async start() {
    this.ws = await open(url);
    this.ws.on('close', () => { if (!stopping) error('closed'); });
    this.ws.on('message', (d) => this.onMsg(JSON.parse(d.toString())));
    await new Promise((resolve, reject) => {
      this.onWelcome = resolve; this.onRefused = reject;
      this.ws.send(JSON.stringify({ type: 'hello', role: 'requester', name: `容量测试${this.id}`, email: `cap${this.id}@example.cn` }));
    });
  }
  send(text) {
    const cid = `m${this.id}-${++this.k}`;
    this.pending.set(cid, { t: wall(), counted: measuring });
    this.sent++;
    if (measuring) count('messages_sent');
    this.ws.send(JSON.stringify({ type: 'message', id: cid, text }));
  }
  onMsg(m) {
    const t = wall();
    if (m.type === 'welcome' && this.onWelcome) { const f = this.onWelcome; this.onWelcome = null; f(); }
    else if (m.type === 'error' && this.onWelcome && !m.id) {
      this.onWelcome = null; this.onRefused(new Error(`hello refused: ${m.code}: ${m.message}`));
    } else if (m.type === 'ack' && this.pending.has(m.id)) {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (p.counted) { rec.ack.push(t - p.t); this.bySeq.set(m.seq, p); }
    } else if (m.type === 'suggestions' && m.for_seq !== undefined) {
      const p = this.bySeq.get(m.for_seq);
      if (p) { this.bySeq.delete(m.for_seq); rec.sugg.push(t - p.t); }
      if (this.escalates && this.sent === 2 && !this.ticket && !this.escalated && !stopping) {
        this.escalated = true;
        this.ws.send(JSON.stringify({ type: 'escalate', impact: 2, urgency: 2 }));
        if (measuring) count('escalations');
      }
    } else if (m.type === 'ticket') {
      this.ticket = m.number;
    } else if (m.type === 'message' && m.from === 'agent') {
      const at = /\[t=([0-9.]+)\]/.exec(m.text || '');
      if (at && measuring) rec.delivery.push(t - Number(at[1]));
      if (!this.answered && !stopping) { this.answered = true; this.send('好的，重启以后可以连上了，谢谢'); }
    } else if (m.type === 'resolved' && !stopping) {
      this.ws.send(JSON.stringify({ type: 'confirm', ticket: m.ticket, accepted: true }));
      if (measuring) count('confirmed');
    } else if (m.type === 'error') {
      error(m.code);
      if (m.id) this.pending.delete(m.id);
    }
  }
}

async function runRequesters(first, n, file) {
  const list = texts(file);
  const reqs = [];
  const t0 = Date.now();
  for (let i = 0; i < n; i += 25) {
    const b = [];
    for (let j = i; j < Math.min(n, i + 25); j++) {
      const r = new Requester(first + j, list);
      reqs.push(r);
      b.push(r.start());
    }
    await Promise.all(b);
  }
  const connect_s = (Date.now() - t0) / 1000;
  const timers = [];
  const schedule = (r, delay) => timers.push(setTimeout(() => {
    if (stopping) return;
    // escalated requesters talk to their agent instead
    if (!r.escalated) r.send(r.list[(r.id * 131 + r.k) % r.list.length]);
    schedule(r, rnd(30000, 90000));
  }, delay));
  const go = () => { for (const r of reqs) schedule(r, rnd(0, 60000)); };
  const drained = () => reqs.every((r) => ![...r.pending.values()].some((p) => p.counted) && r.bySeq.size === 0);
  return { reqs, connect_s, go, drained, close: () => { timers.forEach(clearTimeout); reqs.forEach((r) => r.ws.terminate()); } };
}

// ---- the run ------------------------------------------------------------------------
let run, seconds, out;
try {
  if (mode === 'agents') {
    const [first, n, total, s, pw, tf] = process.argv.slice(4);
    seconds = Number(s);
    run = await runAgents(Number(first), Number(n), Number(total), seconds, pw, tf);
    out = { mode, agents: Number(n) };
  } else if (mode === 'requesters') {
    const [first, n, s, f] = process.argv.slice(4);
    seconds = Number(s);
    run = await runRequesters(Number(first), Number(n), f);
    out = { mode, requesters: Number(n) };
  } else {
    console.error('usage: deskload.mjs agents|requesters URL ...');
    process.exit(2);
  }
} catch (e) {
  console.error(`deskload ${mode}: ${e.message}`);
  process.exit(1);
}
process.stdout.write(JSON.stringify({ phase: 'ready', mode, connect_s: run.connect_s }) + '\n');
await new Promise((r) => process.once('SIGUSR1', r));
const cpu0 = process.cpuUsage();
const t0 = Date.now();
measuring = true;
if (run.go) run.go();
await sleep(seconds * 1000);
measuring = false;
stopping = true;
const cpu = process.cpuUsage(cpu0);
const windowS = (Date.now() - t0) / 1000;
const drainEnd = Date.now() + 15000;
while (run.drained && !run.drained() && Date.now() < drainEnd) await sleep(50);
let unacked = 0, unsuggested = 0;
if (run.reqs) for (const r of run.reqs) {
  unacked += [...r.pending.values()].filter((p) => p.counted).length;
  unsuggested += r.bySeq.size;
}
Object.assign(out, {
  window_s: windowS, cpu_s: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
  connect_s: run.connect_s, counts: rec.counts, errors: rec.errors, login_ms: stats(rec.login),
  ack_ms: stats(rec.ack), suggestions_ms: stats(rec.sugg), reply_ack_ms: stats(rec.reply_ack),
  delivery_ms: stats(rec.delivery), take_ms: stats(rec.take),
  unacked, unsuggested,
});
run.close();
process.stdout.write(JSON.stringify(out) + '\n');
process.exit(0);
