// chatload: load client for chatdesk's WebSocket protocol (chatdesk/PROTOCOL.md),
// on the ws package in tests/node_modules. Prints one JSON object.
//
//   node chatload.mjs idle URL N HOLD_S
//       opens N WebSocket connections (50 at a time), holds them HOLD_S
//       seconds, then sends one protocol ping on each and counts the pongs.
//       The caller reads chatdesk's RSS before and after.
//   node chatload.mjs rate URL CONNS RATE SECONDS QUERYFILE
//       CONNS requesters (hello), messages at a steady total RATE per
//       second spread over them for SECONDS; each requester logs out and
//       starts a new chat after 5 messages, so suggestion queries stay the
//       size of a short conversation. Measures message -> ack and message
//       -> suggestions.
//   node chatload.mjs saturate URL CONNS SECONDS QUERYFILE
//       closed loop: each of CONNS requesters sends its next message as
//       soon as the previous one is acknowledged.
// Message texts are the Chinese and mixed queries of the query log.
// rate and saturate also report this process's own event-loop delay while
// sending (client_lag_ms: what a late timer or callback adds to the figures)
// and, with CHATLOAD_TRACE=FILE, write one line per acknowledged message to
// FILE: its client id, send and ack times (ms, CLOCK_MONOTONIC like
// chatdesk's kb_clock_mono, so the two can be joined).
import { createRequire } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
import { sleep, pct, texts, open as wsOpen } from './wsload.mjs';
const require = createRequire(import.meta.url);
const WebSocket = require('../node_modules/ws');

const [mode, url] = process.argv.slice(2, 4);
const now = () => Number(process.hrtime.bigint()) / 1e6;
function stats(a) {
  const s = Float64Array.from(a).sort();
  return { n: s.length, p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99), max: pct(s, 100) };
}
const open = (u) => wsOpen(u, 20000);

async function idle(n, holdS) {
  const socks = [];
  let failed = 0;
  const t0 = now();
  for (let i = 0; i < n; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 50); j++) batch.push(open(url).catch(() => null));
    for (const s of await Promise.all(batch)) (s ? socks.push(s) : failed++);
  }
  const connectS = (now() - t0) / 1000;
  let closed = 0;
  for (const s of socks) s.on('close', () => closed++);
  console.error(`chatload: ${socks.length} open, ${failed} failed; holding ${holdS} s`);
  process.stdout.write(JSON.stringify({ phase: 'held', open: socks.length }) + '\n');
  await sleep(holdS * 1000);
  let pongs = 0;
  await new Promise((resolve) => {
    let left = socks.length;
    const done = () => { if (--left === 0) resolve(); };
    if (!left) resolve();
    for (const [i, s] of socks.entries()) {
      if (s.readyState !== WebSocket.OPEN) { done(); continue; }
      const to = setTimeout(done, 20000);
      s.on('message', (d) => {
        const m = JSON.parse(d.toString());
        if (m.type === 'pong') { pongs++; clearTimeout(to); done(); }
      });
      s.send(JSON.stringify({ type: 'ping', id: 'p' + i }));
    }
  });
  const out = { mode: 'idle', requested: n, opened: socks.length, failed, connect_s: connectS,
                hold_s: holdS, closed_during_hold: closed, pongs };
  for (const s of socks) s.terminate();
  return out;
}

class Requester {
  constructor(id, list, rec) {
    this.id = id; this.list = list; this.rec = rec; this.k = 0; this.sent = 0;
    this.pending = new Map();   // client id -> send time
    this.bySeq = new Map();     // seq -> send time (waiting for suggestions)
    this.waiters = [];
  }
  async start() {
    this.ws = await open(url);
    this.ws.on('message', (d) => this.onMsg(JSON.parse(d.toString())));
    this.ws.on('close', () => { this.closed = true; });
    await this.hello();
  }
  hello() {
    // a refused hello (an error frame while no welcome came) fails the run
    // loudly instead of leaving this requester waiting for ever
    return new Promise((resolve, reject) => {
      this.onWelcome = resolve;
      this.onRefused = reject;
      this.ws.send(JSON.stringify({ type: 'hello', role: 'requester', name: `压测用户${this.id}`, email: `load${this.id}@example.cn` }));
    });
  }
  onMsg(m) {
    const t = now();
    if (m.type === 'welcome' && this.onWelcome) { const f = this.onWelcome; this.onWelcome = null; f(); }
    else if (m.type === 'error' && this.onWelcome && !m.id) {
      this.onWelcome = null;
      this.onRefused(new Error(`hello refused: ${m.code}: ${m.message}`));
    }
    else if (m.type === 'logged_out' && this.onLogout) { const f = this.onLogout; this.onLogout = null; f(); }
    else if (m.type === 'ack') {
      const t0 = this.pending.get(m.id);
      if (t0 !== undefined) {
        this.pending.delete(m.id);
        this.rec.ack.push(t - t0);
        if (this.rec.trace) this.rec.trace.push(`${m.id} ${t0.toFixed(3)} ${t.toFixed(3)}`);
        this.bySeq.set(m.seq, t0);
        const w = this.waiters.shift();
        if (w) w();
      }
    } else if (m.type === 'suggestions' && m.for_seq !== undefined) {
      const t0 = this.bySeq.get(m.for_seq);
      if (t0 !== undefined) {
        this.bySeq.delete(m.for_seq);
        this.rec.sugg.push(t - t0);
        this.rec.items += (m.items || []).length;
      }
    } else if (m.type === 'error') {
      this.rec.errors[m.code] = (this.rec.errors[m.code] || 0) + 1;
      if (m.id && this.pending.has(m.id)) {
        this.pending.delete(m.id);
        const w = this.waiters.shift();
        if (w) w();
      }
    }
  }
  async maybeRotate() {
    // a new chat every 5 messages (logout + hello), once its answers are in
    if (this.sent > 0 && this.sent % 5 === 0 && this.pending.size === 0) {
      await new Promise((r) => { this.onLogout = r; this.ws.send('{"type":"logout"}'); });
      this.bySeq.clear();
      await this.hello();
    }
  }
  send() {
    const text = this.list[(this.id * 131 + this.k++) % this.list.length];
    const cid = `m${this.id}-${this.k}`;
    this.pending.set(cid, now());
    this.sent++;
    this.rec.sent++;
    this.ws.send(JSON.stringify({ type: 'message', id: cid, text }));
    return new Promise((r) => this.waiters.push(r));
  }
}

async function load(conns, seconds, rate, file) {
  const list = texts(file);
  const rec = { ack: [], sugg: [], sent: 0, items: 0, errors: {},
                trace: process.env.CHATLOAD_TRACE ? [] : null };
  const reqs = [];
  for (let i = 0; i < conns; i += 25) {
    const b = [];
    for (let j = i; j < Math.min(conns, i + 25); j++) {
      const r = new Requester(j, list, rec);
      reqs.push(r);
      b.push(r.start());
    }
    await Promise.all(b);
  }
  // this process's own event-loop delay while it loads (a late timer or a
  // late 'message' callback adds to the latencies it measures)
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const t0 = now();
  const end = t0 + seconds * 1000;
  if (rate > 0) {
    // open loop: each requester sends at rate/conns per second, phases spread
    const per = rate / conns;
    const gap = 1000 / per;
    await Promise.all(reqs.map(async (r, i) => {
      let next = t0 + (i * gap) / conns;
      while (next < end) {
        const w = next - now();
        if (w > 0) await sleep(w);
        if (r.pending.size === 0) await r.maybeRotate();
        r.send();
        next += gap;
      }
    }));
  } else {
    await Promise.all(reqs.map(async (r) => {
      while (now() < end) {
        await r.maybeRotate();
        await r.send();
      }
    }));
  }
  const sendEnd = now();
  lag.disable();
  // wait (at most 10 s) for the last acks and suggestions
  const drain = now() + 10000;
  while (now() < drain && reqs.some((r) => r.pending.size || r.bySeq.size)) await sleep(50);
  const unacked = reqs.reduce((a, r) => a + r.pending.size, 0);
  for (const r of reqs) r.ws.terminate();
  if (rec.trace) writeFileSync(process.env.CHATLOAD_TRACE, rec.trace.join('\n') + '\n');
  const dur = (sendEnd - t0) / 1000;
  return { mode: rate > 0 ? 'rate' : 'saturate', conns, target_rate: rate, seconds: dur,
           sent: rec.sent, acked: rec.ack.length, unacked, achieved_rate: rec.ack.length / dur,
           ack_ms: stats(rec.ack), suggestions_ms: stats(rec.sugg),
           mean_items: rec.sugg.length ? rec.items / rec.sugg.length : 0, errors: rec.errors,
           client_lag_ms: { p50: lag.percentile(50) / 1e6, p99: lag.percentile(99) / 1e6,
                            max: lag.max / 1e6 } };
}

let out;
if (mode === 'idle') {
  out = await idle(Number(process.argv[4]), Number(process.argv[5]));
} else if (mode === 'rate') {
  const [c, rate, s, f] = process.argv.slice(4);
  out = await load(Number(c), Number(s), Number(rate), f);
} else if (mode === 'saturate') {
  const [c, s, f] = process.argv.slice(4);
  out = await load(Number(c), Number(s), 0, f);
} else {
  console.error('usage: chatload.mjs idle|rate|saturate URL ...');
  process.exit(2);
}
process.stdout.write(JSON.stringify(out) + '\n');
process.exit(0);
