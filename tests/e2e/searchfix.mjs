// searchfix: what the end-to-end tests of build/bin/searchd share
// (searchd.test.mjs, searchd_http.test.mjs): the binaries (KB_BIN),
// running a program, GET and search requests with fetch, raw bytes on a
// socket and the responses parsed back, a Prometheus value, and
// useSearchd(prefix), which registers the file's set-up: a real index of a
// temporary copy of corpora/ and the real daemon on a free port of
// 127.0.0.1 (live bindings: tmp, corpus, index, www, token, daemon, base),
// restarted (and recorded in crashes) if a test crashed it.
import { before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, cp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startDaemon as startProc, stopDaemon as stopProc } from './daemon.mjs';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
export const INDEXER = path.join(BIN, 'indexer');
export const SEARCHD = path.join(BIN, 'searchd');
export const INTERNAL_ID = 'KB-0033'; // corpora/articles/KB-0033-otp-token-resync.md: visibility: internal
export const INTERNAL_QUERY = '动态口令 OTP 令牌同步';

export const startDaemon = (args, timeoutMs = 20000) => startProc(SEARCHD, args, timeoutMs);
export const stopDaemon = (d, deadlineMs = 8000) => stopProc(d, deadlineMs);
export let tmp, corpus, index, www, token, daemon, base, daemonArgs;
export const crashes = []; // daemons that died during the tests (restarted so later tests stay independent)

// ---- helpers ----------------------------------------------------------------

export function run(file, args, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => (err ? reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`))
        : resolve({ stdout, stderr })));
  });
}

export async function get(pathname, { headers = {}, method = 'GET' } = {}) {
  const r = await fetch(base + pathname, { headers, method });
  const body = await r.text();
  let json;
  if ((r.headers.get('content-type') || '').startsWith('application/json')) json = JSON.parse(body);
  return { status: r.status, headers: r.headers, body, json };
}

export function qs(params) {
  return new URLSearchParams(params).toString();
}

export async function search(params, headers) {
  const r = await get('/search?' + qs(params), { headers });
  assert.equal(r.status, 200, r.body);
  return r.json;
}

export const ids = (res) => res.hits.map((h) => h.id);

// Sends raw bytes on a new connection; resolves to everything the server
// sent until it closed (or timeoutMs passed).
export function rawRequest(bytes, timeoutMs = 10000) {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), '127.0.0.1');
    const chunks = [];
    const timer = setTimeout(() => { s.destroy(); resolve(Buffer.concat(chunks).toString('latin1')); }, timeoutMs);
    s.on('data', (c) => chunks.push(c));
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('latin1')); });
    s.write(bytes);
  });
}

// Splits raw bytes from the server into responses: [{status, headers, body}].
export function parseResponses(raw) {
  const out = [];
  let rest = raw;
  while (rest.length) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const lines = rest.slice(0, end).split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(lines[0])?.[1]);
    const headers = Object.fromEntries(lines.slice(1).map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
    }));
    const len = Number(headers['content-length'] || 0);
    out.push({ status, headers, body: rest.slice(end + 4, end + 4 + len) });
    rest = rest.slice(end + 4 + len);
  }
  return out;
}

export function metricValue(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

// ---- setup --------------------------------------------------------------------

// Registers the test file's before(), beforeEach() and after(): a copy of
// corpora/ and of searchd/www (plus one large file) in a fresh folder
// prefix-XXXXXX, its index, and the daemon with an agent token (daemon,
// base, token); a daemon that crashed is recorded in crashes and started
// again before the next test; after() stops it and removes the folder.
export function useSearchd(prefix) {
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  corpus = path.join(tmp, 'corpus');
  index = path.join(tmp, 'index');
  www = path.join(tmp, 'www');
  await cp(path.join(ROOT, 'corpora'), corpus, { recursive: true });
  // the real search page plus one large file for the slow-client test
  await cp(path.join(ROOT, 'searchd/www'), www, { recursive: true });
  await writeFile(path.join(www, 'big.bin'), Buffer.alloc(16 << 20, 'x'));
  await run(INDEXER, ['build', '--quiet', '--corpus', corpus, '--index', index]);
  token = randomBytes(16).toString('hex');
  daemonArgs = ['--index', index, '--listen', '127.0.0.1:0', '--agent-token', token, '--www', www,
    '--threads', '2'];
  daemon = startDaemon(daemonArgs);
  base = await daemon.ready;
});

// A crash fails the test that caused it (and the last test); a fresh daemon
// keeps the tests after it meaningful.
beforeEach(async () => {
  if (!daemon) return;
  if (!daemon.exited) {
    try {
      await (await fetch(base + '/healthz')).arrayBuffer();
    } catch {
      await Promise.race([daemon.exit, new Promise((r) => setTimeout(r, 3000))]);
    }
  }
  if (daemon.exited) {
    crashes.push(`${JSON.stringify(daemon.exited)}\n${daemon.log.slice(-4000)}`);
    daemon = startDaemon(daemonArgs);
    base = await daemon.ready;
  }
});

after(async () => {
  await stopDaemon(daemon);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});
}
