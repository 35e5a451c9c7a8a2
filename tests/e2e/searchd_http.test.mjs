// End-to-end tests of build/bin/searchd's HTTP side (KB_BIN selects the
// binaries folder): bad input answered with JSON errors, clamping, HEAD,
// clients hanging up, pipelining, concurrent and slow clients, options and
// the configuration file, and the connection caps with /metrics exposure;
// against a real index of a temporary copy of corpora/ and the real daemon
// on a free port of 127.0.0.1, through fetch and raw sockets
// (searchfix.mjs). The search itself is tested in searchd.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { httpRaw, holdOpen, closeAll, waitFor, metric, refusedForNoFd, assertIdle, squeezeNofile,
  metricsServed } from './conn.mjs';
import { ROOT, BIN, INDEXER, SEARCHD, INTERNAL_ID, INTERNAL_QUERY, startDaemon, stopDaemon, crashes, run, get, qs,
  search, ids, rawRequest, parseResponses, metricValue, useSearchd, tmp, corpus, index, www, token, daemon, base,
  daemonArgs } from './searchfix.mjs';

useSearchd('kb-searchd-http');

// ---- bad input --------------------------------------------------------------------------

const badInputs = [
  ['missing q', '/search', 400, 'missing_query'],
  ['empty q', '/search?q=', 400, 'missing_query'],
  ['blank q', '/search?q=%20%20+', 400, 'missing_query'],
  ['q one byte too long', '/search?q=' + 'a'.repeat(4097), 413, 'query_too_long'],
  ['q of 3000 CJK characters (9000 bytes)', '/search?' + qs({ q: '中'.repeat(3000) }), 413, 'query_too_long'],
  ['q of 1 MB', '/search?q=' + 'b'.repeat(1 << 20), 413, 'query_too_long'],
  ['invalid UTF-8 in q', '/search?q=%FF%FE', 400, 'bad_encoding'],
  ['truncated UTF-8 in q', '/search?q=%E4%B8', 400, 'bad_encoding'],
  ['NUL in q', '/search?q=abc%00def', 400, 'bad_encoding'],
  ['NUL in kind', '/search?q=vpn&kind=article%00', 400, 'bad_encoding'],
  ['invalid UTF-8 in category', '/search?q=vpn&category=%C3%28', 400, 'bad_encoding'],
  ['NUL in /suggest q', '/suggest?q=%00', 400, 'bad_encoding'],
  ['bad %-escape', '/search?q=100%zz', 400, 'bad_escape'],
  ['truncated %-escape', '/search?q=abc%2', 400, 'bad_escape'],
  ['bad %-escape in the path', '/doc/KB%G1', 400, 'bad_escape'],
  ['negative limit', '/search?q=vpn&limit=-5', 400, 'bad_limit'],
  ['limit not a number', '/search?q=vpn&limit=ten', 400, 'bad_limit'],
  ['fractional limit', '/search?q=vpn&limit=1.5', 400, 'bad_limit'],
  ['negative offset', '/search?q=vpn&offset=-1', 400, 'bad_offset'],
  ['offset over 10000', '/search?q=vpn&offset=10001', 400, 'bad_offset'],
  ['offset not a number', '/search?q=vpn&offset=x', 400, 'bad_offset'],
  ['unknown kind', '/search?q=vpn&kind=bogus', 400, 'bad_kind'],
  ['unknown kind in a list', '/search?q=vpn&kind=article,bogus', 400, 'bad_kind'],
  ['unknown lang', '/search?q=vpn&lang=fr', 400, 'bad_lang'],
  ['unknown path', '/no-such-endpoint', 404, 'not_found'],
  ['/suggest without q', '/suggest', 400, 'missing_query'],
  ['/suggest q over 256 bytes', '/suggest?q=' + 'a'.repeat(257), 413, 'query_too_long'],
];

for (const [name, url, status, code] of badInputs) {
  test(`bad input: ${name} -> ${status} ${code}`, async () => {
    const r = await get(url);
    assert.equal(r.status, status, r.body);
    assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(r.json.error.code, code);
    assert.equal(typeof r.json.error.message, 'string');
  });
}

for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
  test(`method ${method} -> 405 with Allow`, async () => {
    const r = await get('/search?q=vpn', { method });
    assert.equal(r.status, 405);
    assert.equal(r.json.error.code, 'method_not_allowed');
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
  });
}

test('malformed HTTP gets a JSON 400 and an unknown HTTP version a 505', async () => {
  const junk = await rawRequest('this is not http\r\n\r\n');
  assert.match(junk, /^HTTP\/1\.1 400 /);
  assert.match(junk, /"bad_request"/);
  const v2 = await rawRequest('GET /healthz HTTP/2.0\r\n\r\n');
  assert.match(v2, /^HTTP\/1\.1 505 /);
});

test('limit above 100 is clamped to 100; limit 0 means the default 10', async () => {
  const big = await search({ q: '服务', limit: 500 });
  assert.equal(big.limit, 100);
  assert.ok(big.hits.length > 10 && big.hits.length <= 100);
  const zero = await search({ q: '服务', limit: 0 });
  assert.equal(zero.limit, 10);
  assert.equal(zero.hits.length, 10);
});

test('HEAD gives the headers of GET without a body', async () => {
  const r = await fetch(base + '/healthz', { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.ok(Number(r.headers.get('content-length')) > 0);
  assert.equal((await r.arrayBuffer()).byteLength, 0);
});

test('odd but valid queries get 200 from /search and /suggest', async () => {
  const odd = ['8.3.4.1', 'zzqqxx', '-', '""', '"unclosed', 'kind:', 'clause:', 'kind:standard',
    '-vpn', '***', '😀 表情', '中'.repeat(85), 'a'.repeat(256), '\u3000', '%', '0x', 'ora-'];
  for (const q of [...odd, '中'.repeat(1365), 'a'.repeat(4096)]) {
    for (const ep of Buffer.byteLength(q) <= 256 ? ['/search', '/suggest'] : ['/search']) {
      const r = await get(ep + '?' + qs({ q }));
      assert.equal(r.status, 200, `${ep} q=${q.slice(0, 20)}: ${r.body.slice(0, 200)}`);
    }
  }
});

test('clients hanging up while their search runs do not disturb the daemon', async () => {
  const { port } = new URL(base);
  await Promise.all(Array.from({ length: 40 }, (_, i) => new Promise((resolve) => {
    const s = net.connect(Number(port), '127.0.0.1', () => {
      s.write(`GET /search?${qs({ q: '服务台 事件管理 ' + i, limit: 100 })} HTTP/1.1\r\nHost: x\r\n\r\n`);
      if (i % 2) s.resetAndDestroy(); else s.destroy();
    });
    s.on('close', resolve);
    s.on('error', resolve);
  })));
  // pipelined requests, then gone before the answers
  await new Promise((resolve) => {
    const s = net.connect(Number(port), '127.0.0.1', () => {
      s.write('GET /search?q=VPN HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      setTimeout(() => s.destroy(), 5);
    });
    s.on('close', resolve);
    s.on('error', resolve);
  });
  const r = await get('/search?q=VPN');
  assert.equal(r.status, 200);
});

test('pipelined requests are answered in order on one connection', async () => {
  const out = await rawRequest('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' +
    'GET /search?q=ORA-12154&limit=1 HTTP/1.1\r\nHost: x\r\n\r\n' +
    'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const res = parseResponses(out);
  assert.deepEqual(res.map((r) => r.status), [200, 200, 404]);
  assert.equal(JSON.parse(res[0].body).status, 'ok');
  assert.equal(JSON.parse(res[1].body).hits[0].id, 'KB-0035');
  assert.equal(JSON.parse(res[2].body).error.code, 'not_found');
  assert.deepEqual(res.map((r) => r.headers.connection), ['keep-alive', 'keep-alive', 'close']);
});

test('after all the bad input the daemon still answers /healthz', async () => {
  const r = await get('/healthz');
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'ok');
  assert.equal(daemon.exited, null);
});

// ---- load ------------------------------------------------------------------------

test('50 concurrent requests all succeed', async () => {
  const queries = ['VPN 809', '打印机脱机', 'ORA-12154', '0x80070005', '密码过期', '8.3.4', '邮箱满了',
    'Outlook', '证书', '服务级别协议'];
  const all = await Promise.all(Array.from({ length: 50 }, (_, i) => {
    const p = i % 5 === 4 ? '/doc/KB-0001' : '/search?' + qs({ q: queries[i % queries.length] });
    return get(p);
  }));
  for (const r of all) assert.equal(r.status, 200, r.body);
  assert.ok(all.filter((r) => r.json.hits).every((r) => r.json.total > 0));
});

test('a slow client does not stall a normal request', async () => {
  const { port } = new URL(base);
  // one client asks for 6 x 16 MB (more than loopback's socket buffers, up to
  // 32 MB + 4 MB here) and never reads; another sends half a request head
  const slow = net.connect(Number(port), '127.0.0.1');
  slow.pause();
  slow.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(6));
  const half = net.connect(Number(port), '127.0.0.1');
  half.write('GET /search?q=vpn HTTP/1.1\r\nHost:');
  try {
    // wait until the big answer is being written (in flight) and stuck
    const deadline = Date.now() + 5000;
    let inflight = 0;
    while (Date.now() < deadline) {
      inflight = metricValue((await get('/metrics')).body, 'searchd_requests_in_flight');
      if (inflight >= 2) break; // the stuck answer and this /metrics request
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(inflight >= 2, `in flight: ${inflight}`);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const r = await get('/search?q=VPN');
    const ms = Date.now() - t0;
    assert.equal(r.status, 200);
    assert.ok(ms < 2000, `a normal search took ${ms} ms`);
    assert.equal((await get('/healthz')).status, 200);
    // the slow client is still connected and still has not got everything
    assert.ok(!slow.destroyed);
    const still = metricValue((await get('/metrics')).body, 'searchd_requests_in_flight');
    assert.ok(still >= 2, `in flight: ${still}`);
  } finally {
    slow.destroy();
    half.destroy();
  }
});

// ---- options and config ------------------------------------------------------------

test('--help documents every flag and config key', async () => {
  const { stdout } = await run(SEARCHD, ['--help']);
  for (const s of ['--index', '--listen', '--config', '--agent-token', '--threads', '--www', '--log-level',
    '--cache-mb', '--doc-cache-mb', 'agent_token', 'log_level', 'threads', 'www', 'cache_mb',
    'doc_cache_mb', '413', 'clamped']) {
    assert.ok(stdout.includes(s), s);
  }
});

test('config: an unknown key or a bad value is an error naming FILE:LINE (exit 2)', async () => {
  const conf = path.join(tmp, 'bad.conf');
  await writeFile(conf, `# comment\nindex = ${index}\n\nthreads = many\n`);
  const e1 = await run(SEARCHD, ['--config', conf]).then(() => null, (e) => e);
  assert.ok(e1);
  assert.match(e1.message, new RegExp(`${conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: threads`));
  const child = spawn(SEARCHD, ['--config', conf], { stdio: 'ignore' });
  const [code] = await new Promise((r) => child.on('exit', (...a) => r(a)));
  assert.equal(code, 2);
  await writeFile(conf, `colour = blue\n`);
  const e2 = await run(SEARCHD, ['--config', conf]).then(() => null, (e) => e);
  assert.match(e2.message, /bad\.conf:1: unknown key "colour"/);
});

test('config: the file sets values and flags override them', async () => {
  const conf = path.join(tmp, 'good.conf');
  await writeFile(conf, `index = ${index}\nlisten = 127.0.0.1:1\nagent_token = from-the-file\n` +
    `threads = 1\nlog_level = warn\nwww = ${www}\n`);
  const d = startDaemon(['--config', conf, '--listen', '127.0.0.1:0']);
  try {
    const url = await d.ready;
    assert.notEqual(new URL(url).port, '1');
    const r = await fetch(url + '/doc/' + INTERNAL_ID, { headers: { 'X-Agent-Token': 'from-the-file' } });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  } finally {
    const e = await stopDaemon(d);
    assert.deepEqual(e, { code: 0, signal: null });
  }
});

// ---- connection caps and /metrics exposure ------------------------------------------
// Each test starts its own searchd with small caps from a config file. The
// second client address is 127.0.0.2 (on loopback, like 127.0.0.1).

async function startWith(lines) {
  const conf = path.join(tmp, `caps-${randomBytes(4).toString('hex')}.conf`);
  await writeFile(conf, `index = ${index}\nlisten = 127.0.0.1:0\nwww = ${www}\nthreads = 2\n` +
    lines.join('\n') + '\n');
  const d = startDaemon(['--config', conf]);
  const url = await d.ready;
  return { d, port: Number(new URL(url).port), pid: d.child.pid };
}

const metricsFrom = async (port, localAddress = '127.0.0.2', headers = {}) =>
  (await httpRaw(port, '/metrics', { localAddress, headers })).body;

// A keep-alive connection with one answered request: proof it was admitted.
async function admitted(port, localAddress) {
  const r = await httpRaw(port, '/healthz', { localAddress, keep: true });
  assert.equal(r.status, 200, JSON.stringify(r));
  return r.socket;
}

function assertRefused(r, re) {
  assert.equal(r.status, 503, JSON.stringify(r));
  assert.equal(r.json?.error?.code, 'too_many_connections', r.body);
  assert.match(r.json.error.message, re);
  assert.equal(r.headers['retry-after'], '5');
}

test('caps: beyond max_connections_per_address an address gets 503, another is served', async () => {
  const { d, port } = await startWith(['max_connections_per_address = 4', 'max_connections = 50']);
  const held = [];
  try {
    for (let i = 0; i < 4; i++) held.push(await admitted(port, '127.0.0.1'));
    assertRefused(await httpRaw(port, '/healthz'), /your address/);
    const other = await httpRaw(port, '/healthz', { localAddress: '127.0.0.2' });
    assert.equal(other.status, 200, JSON.stringify(other));
    const text = await metricsFrom(port);
    assert.equal(metric(text, 'searchd_connections_refused_total{reason="per_address"}'), 1, text);
    assert.equal(metric(text, 'searchd_connections_refused_total{reason="total"}'), 0);
    assert.equal(metric(text, 'searchd_connections_open'), 5); // 4 held + this request
    assert.equal(metric(text, 'searchd_connections_max_per_address'), 4);
    // a closed connection gives its place back
    held.pop().destroy();
    await waitFor(async () => (await httpRaw(port, '/healthz')).status === 200, '127.0.0.1 served again');
  } finally {
    closeAll(held);
    assert.deepEqual(await stopDaemon(d), { code: 0, signal: null }, d.log);
  }
});

test('caps: beyond max_connections every address gets 503 (reason total)', async () => {
  const { d, port } = await startWith(['max_connections = 5', 'max_connections_per_address = 0']);
  const held = [];
  try {
    for (let i = 0; i < 5; i++) held.push(await admitted(port, '127.0.0.1'));
    assertRefused(await httpRaw(port, '/healthz', { localAddress: '127.0.0.2' }), /server has too many connections/);
    held.pop().destroy();
    const text = await metricsServed(port, 'a place to free up');
    // (the waiting above may have been refused too before the place was free)
    assert.ok(metric(text, 'searchd_connections_refused_total{reason="total"}') >= 1, text);
    assert.equal(metric(text, 'searchd_connections_refused_total{reason="per_address"}'), 0, text);
    assert.equal(metric(text, 'searchd_connections_max'), 5);
  } finally {
    closeAll(held);
    assert.deepEqual(await stopDaemon(d), { code: 0, signal: null }, d.log);
  }
});

test('caps: out of descriptors searchd refuses (no_fd), stays idle and serves again', async () => {
  // max_open_files sets RLIMIT_NOFILE low, so a few hundred sockets exhaust it
  const { d, port, pid } = await startWith(['max_open_files = 128', 'max_connections_per_address = 0']);
  let held = [];
  try {
    assert.match(d.log, /RLIMIT_NOFILE: 128 descriptors/);
    held = await holdOpen(port, 300);
    // another client is still answered, not left hanging: at once, or (once
    // the idle refused sockets have given up their refusal slots) with the
    // reason
    const r = await refusedForNoFd(port, '/healthz');
    assertRefused(r, /file descriptors/);
    await assertIdle(pid, 'searchd', 'with the descriptors held');
    closeAll(held);
    held = [];
    await waitFor(async () => (await httpRaw(port, '/healthz', { localAddress: '127.0.0.2' })).status === 200,
      'searchd serving after the sockets closed');
    await assertIdle(pid, 'searchd', 'idle afterwards');
    const text = await metricsFrom(port);
    assert.ok(metric(text, 'searchd_connections_refused_total{reason="no_fd"}') > 0, text);
    assert.equal(metric(text, 'searchd_open_files_limit'), 128);
    const budget = metric(text, 'searchd_connections_fd_budget');
    assert.ok(budget > 0 && budget < 128, text);

    // accept() itself failing with EMFILE: the limit lowered under searchd's
    // feet (below what it counted on when it started)
    await squeezeNofile(pid);
    const logAt = d.log.length;
    held = await holdOpen(port, 200);
    await waitFor(() => /out of file descriptors/.test(d.log.slice(logAt)), 'EMFILE in the log');
    const before = metric(text, 'searchd_connections_refused_total{reason="no_fd"}');
    await assertIdle(pid, 'searchd', 'at EMFILE');
    closeAll(held);
    held = [];
    const after = await metricsServed(port, 'searchd serving after EMFILE');
    assert.ok(metric(after, 'searchd_connections_refused_total{reason="no_fd"}') > before, after);
  } finally {
    closeAll(held);
    assert.deepEqual(await stopDaemon(d), { code: 0, signal: null }, d.log);
  }
});

test('/metrics: loopback by default, a token when configured, 403 in the error shape otherwise', async () => {
  // the shared daemon: default loopback, 127.0.0.2 is loopback
  const lo = await httpRaw(Number(new URL(base).port), '/metrics', { localAddress: '127.0.0.2' });
  assert.equal(lo.status, 200);
  assert.match(lo.body, /^searchd_connections_open \d+$/m);
  const { d, port } = await startWith(['metrics_access = token', 'metrics_token = m-3tr1cs-t0ken']);
  try {
    for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: 'Bearer m-3tr1cs-t0ke' },
      { 'X-Agent-Token': 'nope' }]) {
      const r = await httpRaw(port, '/metrics', { headers });
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.equal(r.json?.error?.code, 'forbidden');
      assert.doesNotMatch(r.body, /searchd_/);
    }
    const ok = await httpRaw(port, '/metrics', { headers: { Authorization: 'Bearer m-3tr1cs-t0ken' } });
    assert.equal(ok.status, 200);
    assert.match(ok.body, /searchd_connections_refused_total\{reason="per_address"\} 0/);
    assert.equal((await httpRaw(port, '/healthz')).status, 200); // only /metrics is guarded
  } finally {
    assert.deepEqual(await stopDaemon(d), { code: 0, signal: null }, d.log);
  }
  const pub = await startWith(['metrics_access = public']);
  try {
    assert.equal((await httpRaw(pub.port, '/metrics')).status, 200);
  } finally {
    await stopDaemon(pub.d);
  }
});

test('config: connection keys are checked and documented', async () => {
  const { stdout } = await run(SEARCHD, ['--help']);
  for (const k of ['max_connections', 'max_connections_per_address', 'max_open_files', 'metrics_access',
    'metrics_token']) assert.ok(stdout.includes(k), k);
  const conf = path.join(tmp, 'caps-bad.conf');
  for (const [line, re] of [['max_connections = 0', /:2: max_connections/],
    ['max_connections_per_address = lots', /:2: max_connections_per_address/],
    ['metrics_access = world', /:2: metrics_access/],
    ['metrics_access = token', /metrics_token/]]) {
    await writeFile(conf, `index = ${index}\n${line}\n`);
    const child = spawn(SEARCHD, ['--config', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => { err += c; });
    const [code] = await new Promise((r) => child.on('exit', (...a) => r(a)));
    assert.equal(code, 2, line);
    assert.match(err, re);
  }
});

// ---- shutdown (last) -------------------------------------------------------------------

test('SIGTERM stops the daemon cleanly with exit status 0, and it never crashed', async () => {
  const e = await stopDaemon(daemon);
  assert.deepEqual(e, { code: 0, signal: null }, daemon.log);
  assert.deepEqual(crashes, []);
});
