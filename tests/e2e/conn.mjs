// Helpers for the connection-cap tests of both daemons: raw HTTP requests
// from a chosen loopback address (127.0.0.2 is on loopback too, so a second
// client address needs no other interface), connections held open, the
// CPU a process used (from /proc/PID/stat), and bounded waiting; and the
// steps both daemons' descriptor tests take (a refusal for lack of
// descriptors, a process staying idle, RLIMIT_NOFILE lowered under a
// running process, /metrics once served again).
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';
import { execFile, execFileSync } from 'node:child_process';

// One HTTP/1.1 request on a new connection from localAddress. With keep:
// the connection stays open after the answer (resolves with .socket);
// otherwise `Connection: close`. Resolves to {status, headers, body, json}
// (status 0 with .error when the connection failed or closed without an
// answer).
export function httpRaw(port, pathname, { localAddress = '127.0.0.1', headers = {}, keep = false,
  timeoutMs = 10000 } = {}) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!keep || r.status === 0) s.destroy();
      else r.socket = s;
      resolve(r);
    };
    const timer = setTimeout(() => finish({ status: 0, error: 'timeout' }), timeoutMs);
    s.on('error', (e) => finish({ status: 0, error: e.code || String(e) }));
    s.on('close', () => finish(parse(buf) || { status: 0, error: 'closed' }));
    s.on('data', (c) => {
      buf = Buffer.concat([buf, c]);
      const r = parse(buf);
      if (r) finish(r);
    });
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    s.write(`GET ${pathname} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}` +
      (keep ? '' : 'Connection: close\r\n') + '\r\n');
  });
}

// A complete response in buf, or null.
function parse(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1] || 0);
  const headers = Object.fromEntries(lines.slice(1).map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
  }));
  const len = Number(headers['content-length'] ?? -1);
  if (len < 0 || buf.length < end + 4 + len) return null;
  const body = buf.subarray(end + 4, end + 4 + len).toString('utf8');
  let json;
  if ((headers['content-type'] || '').startsWith('application/json')) json = JSON.parse(body);
  return { status, headers, body, json };
}

// Opens n connections from localAddress that send nothing; resolves once
// each is connected (or failed) to the list of sockets still open.
export async function holdOpen(port, n, localAddress = '127.0.0.1') {
  const socks = await Promise.all(Array.from({ length: n }, () => new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    s.on('error', () => resolve(null));
    s.on('connect', () => resolve(s));
    s.setTimeout(60000, () => s.destroy());
  })));
  return socks.filter(Boolean);
}

export function closeAll(socks) {
  for (const s of socks) s?.destroy();
}

// User + system CPU time of pid, in seconds.
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime (fields 14, 15)
}

// The share of one core pid used over windowMs (a bounded window of wall time).
export async function cpuShare(pid, windowMs = 2000) {
  const c0 = cpuSeconds(pid);
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, windowMs));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return (cpuSeconds(pid) - c0) / secs;
}

// Polls fn (async) every 50 ms until it returns a truthy value; throws
// with what after deadlineMs.
export async function waitFor(fn, what, deadlineMs = 10000) {
  const end = Date.now() + deadlineMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// The value of one Prometheus sample line (exact name with labels) in text.
export function metric(text, name) {
  if (typeof text !== 'string') return undefined;
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

// Waits for a request to pathname from 127.0.0.2 to be refused with 503
// too_many_connections for lack of file descriptors; resolves to the answer.
export function refusedForNoFd(port, pathname) {
  return waitFor(async () => {
    const x = await httpRaw(port, pathname, { localAddress: '127.0.0.2' });
    if (x.status === 503) assert.equal(x.json?.error?.code, 'too_many_connections', x.body);
    return x.status === 503 && /file descriptors/.test(x.json.error.message) && x;
  }, 'a refusal for lack of descriptors');
}

// Asserts that process pid (called name) uses at most 10% of a core over two
// seconds; when says in which state (for the message).
export async function assertIdle(pid, name, when) {
  const busy = await cpuShare(pid, 2000);
  assert.ok(busy <= 0.10, `${name} used ${(busy * 100).toFixed(1)}% of a core ${when}`);
}

// Lowers the soft RLIMIT_NOFILE of the running process pid to what it has
// open plus extra (prlimit), so that its accept() fails with EMFILE.
export async function squeezeNofile(pid, extra = 8) {
  const open = readdirSync(`/proc/${pid}/fd`).length;
  await new Promise((resolve, reject) => execFile('prlimit', ['--pid', String(pid), `--nofile=${open + extra}:`],
    (e) => (e ? reject(e) : resolve())));
}

// Waits for /metrics to be answered 200 from 127.0.0.2; resolves to its text.
export function metricsServed(port, what) {
  return waitFor(async () => {
    const x = await httpRaw(port, '/metrics', { localAddress: '127.0.0.2' });
    return x.status === 200 && x.body;
  }, what);
}
