// A bounded connection flood from one address against a running daemon,
// then its idle CPU and whether another client is still served:
//   node tests/bench/connflood.mjs URL PID [ATTEMPTS] [CONCURRENCY] [PATH]
// URL is the daemon's http://127.0.0.1:PORT, PID its process id. ATTEMPTS
// (default 30000) connections are made from 127.0.0.1, at most CONCURRENCY
// (default 1000) at a time; each sends `GET PATH` (default /healthz) and
// waits for the answer or the close (10 s at most). Afterwards, once the
// daemon's connections have closed, its CPU use is measured over 5 s of
// idleness, and a request from 127.0.0.2 must be answered 200. Prints one
// JSON line; exit status 1 if the daemon used more than 10% of a core idle
// or did not serve the other client. Takes about 30-60 s on 2 cores: not
// part of `make test` (tests/bench/connflood.sh runs it against both
// daemons).
import net from 'node:net';
import { cpuSeconds, cpuShare, httpRaw, waitFor, metric } from '../e2e/conn.mjs';

const [url, pidArg, attemptsArg, concArg, pathArg] = process.argv.slice(2);
if (!url || !pidArg) {
  console.error('usage: connflood.mjs URL PID [ATTEMPTS] [CONCURRENCY] [PATH]');
  process.exit(2);
}
const port = Number(new URL(url).port);
const pid = Number(pidArg);
const attempts = Number(attemptsArg || 30000);
const concurrency = Number(concArg || 1000);
const reqPath = pathArg || '/healthz';

const tally = {};
const count = (k) => { tally[k] = (tally[k] || 0) + 1; };

function attempt() {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' });
    let buf = '';
    let done = false;
    const end = (k) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      count(k);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(() => end('timeout'), 10000);
    s.setEncoding('latin1');
    s.on('connect', () => s.write(`GET ${reqPath} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    s.on('data', (c) => {
      buf += c;
      const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
      if (m && buf.includes('\r\n\r\n')) end(m[1]);
    });
    s.on('error', (e) => end(e.code || 'error'));
    s.on('close', () => end('closed without answer'));
  });
}

const cpu0 = cpuSeconds(pid);
const t0 = Date.now();
let next = 0;
async function worker() {
  while (next < attempts) {
    next++;
    await attempt();
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, attempts) }, worker));
const floodS = (Date.now() - t0) / 1000;
const floodCpu = cpuSeconds(pid) - cpu0;

// wait (bounded) until the daemon has let go of the flood's connections
const prefix = reqPath === '/healthz' ? 'searchd' : 'chatdesk';
await waitFor(async () => {
  const r = await httpRaw(port, '/metrics', { localAddress: '127.0.0.2' });
  return r.status === 200 && metric(r.body, `${prefix}_connections_open`) <= 1;
}, 'the connections to close', 30000).catch(() => {});
const idle = await cpuShare(pid, 5000);
const other = await httpRaw(port, reqPath, { localAddress: '127.0.0.2' });
const m = (await httpRaw(port, '/metrics', { localAddress: '127.0.0.2' })).body || '';
const refused = Object.fromEntries(['total', 'per_address', 'no_fd'].map((r) =>
  [r, metric(m, `${prefix}_connections_refused_total{reason="${r}"}`)]));
const out = {
  daemon: prefix, attempts, concurrency, flood_s: floodS, flood_cpu_s: Number(floodCpu.toFixed(2)),
  outcomes: tally, refused, idle_cpu_share: Number(idle.toFixed(4)), other_client_status: other.status,
};
console.log(JSON.stringify(out));
process.exit(idle <= 0.10 && other.status === 200 ? 0 : 1);
