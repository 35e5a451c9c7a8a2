// End-to-end tests of searching beyond one machine, on loopback, with
// Xapian's own tools (package xapian-tools): two replicas kept by
// xapian-replicate from xapian-replicate-server, each with its own searchd;
// a two-shard search (one local folder, one remote served by xapian-tcpsrv)
// built with `indexer build --shard I/N`. Both must give the top 10 of one
// index of the same documents; a new revision must reach the replicas (the
// lag is printed); a killed remote shard must give "partial": true within
// the shard timeout, and come back once its server does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, cp, rm, writeFile, readFile, access } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ROOT, run, mustRun, startProgram, startDaemon, stopDaemon } from './daemon.mjs';
import { waitFor } from './conn.mjs';

const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const INDEXER = path.join(BIN, 'indexer');
const SEARCHD = path.join(BIN, 'searchd');
const SHARD_TIMEOUT_MS = 1500;
const QUERIES = ['VPN 连接失败', '密码重置', '打印机', '服务台', 'email', 'Outlook 无法 发送',
  '证书过期', 'wifi'];

let tmp, corpus, master, s0, s1, replPort, tcpPort;
const procs = [];
const bases = {};

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const exists = (p) => access(p).then(() => true, () => false);

// The shard of an id: FNV-1a 32 of its UTF-8 bytes mod n (indexer/build.c).
function shardOf(id, n) {
  let h = 2166136261;
  for (const b of Buffer.from(id, 'utf8')) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h % n;
}

async function get(base, pathname) {
  const r = await fetch(base + pathname);
  const body = await r.text();
  return { status: r.status, json: body.startsWith('{') ? JSON.parse(body) : undefined, body };
}

async function search(base, q, extra = '') {
  const r = await get(base, `/search?q=${encodeURIComponent(q)}&limit=10&facets=1${extra}`);
  assert.equal(r.status, 200, r.body);
  return r.json;
}

// What must agree between two answers: the ranked ids, their scores, the
// total and the facets.
const top = (res) => ({ total: res.total, facets: res.facets,
  hits: res.hits.map((h) => `${h.id} ${h.score.toFixed(3)}`) });

function tcpsrv(port, db) {
  const d = startProgram('/usr/bin/xapian-tcpsrv',
    ['--port', String(port), '--interface', '127.0.0.1', db], /^(Listening)\.\.\./m, 15000);
  procs.push(d);
  return d;
}

async function searchd(name, index) {
  const d = startDaemon(SEARCHD, ['--index', index, '--listen', '127.0.0.1:0', '--threads', '2',
    '--cache-mb', '0', '--shard-timeout-ms', String(SHARD_TIMEOUT_MS), '--www',
    path.join(ROOT, 'searchd/www')], 20000);
  procs.push(d);
  bases[name] = await d.ready;
  return d;
}

function article(id, word) {
  return `---\nid: ${id}\nkind: article\ntitle: Scale-out marker ${word}\ncategory: 测试\n` +
    `tags: e2e\nlang: en\nvisibility: public\nupdated: 2026-01-01\n---\n` +
    `## Symptom\nThe word ${word} appears only in this article.\n`;
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kbscale-'));
  corpus = path.join(tmp, 'corpus');
  await cp(path.join(ROOT, 'corpora'), corpus, { recursive: true });
  master = path.join(tmp, 'master');
  s0 = path.join(tmp, 'shard0');
  s1 = path.join(tmp, 'shard1');
  await mkdir(master);
  await mustRun(INDEXER, ['build', '--quiet', '--corpus', corpus, '--index', path.join(master, 'kb')]);
  await mustRun(INDEXER, ['build', '--quiet', '--corpus', corpus, '--index', s0, '--shard', '0/2']);
  await mustRun(INDEXER, ['build', '--quiet', '--corpus', corpus, '--index', s1, '--shard', '1/2']);

  // replicas: the indexer's machine publishes master/, two followers copy kb
  replPort = await freePort();
  const rs = startProgram('/usr/bin/xapian-replicate-server',
    ['-I', '127.0.0.1', '-p', String(replPort), master], /^(never)$/, 600000);
  rs.ready.catch(() => {}); // it prints nothing when ready
  procs.push(rs);
  // xapian-replicate-server prints nothing when ready: wait for the port
  await waitFor(() => new Promise((resolve) => {
    const c = net.connect(replPort, '127.0.0.1', () => { c.destroy(); resolve(true); });
    c.on('error', () => resolve(false));
  }), 'xapian-replicate-server listening', 10000);
  for (const r of ['rep1', 'rep2']) {
    const d = startProgram('/usr/bin/xapian-replicate', ['-h', '127.0.0.1', '-p', String(replPort),
      '-m', 'kb', '-i', '1', '-r', '0', '-q', path.join(tmp, r)], /^(never)$/, 600000);
    d.ready.catch(() => {});
    procs.push(d);
  }
  for (const r of ['rep1', 'rep2'])
    await waitFor(() => exists(path.join(tmp, r, 'XAPIANDB')), `${r} first copy`, 15000);

  tcpPort = await freePort();
  await tcpsrv(tcpPort, s1).ready;

  await searchd('one', path.join(master, 'kb'));
  await searchd('rep1', path.join(tmp, 'rep1'));
  await searchd('rep2', path.join(tmp, 'rep2'));
  await searchd('shards', `${s0}, tcp:127.0.0.1:${tcpPort}`);
});

after(async () => {
  // Xapian's servers answer SIGTERM by signalling their whole process
  // group (their forked connection processes), which is the test's own:
  // they get SIGKILL, their connection processes too.
  for (const d of procs.reverse()) {
    if (d.exited) continue;
    if (d.child.spawnargs[0].startsWith('/usr/bin/xapian-')) await killServer(d);
    else await stopDaemon(d, 5000);
  }
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('the shards split the documents by id hash: disjoint, complete', async () => {
  const one = (await get(bases.one, '/healthz')).json;
  const sh = (await get(bases.shards, '/healthz')).json;
  assert.equal(sh.documents, one.documents);
  assert.equal(sh.partial, undefined);
  const list0 = await mustRun(INDEXER, ['list', '--index', s0]);
  const list1 = await mustRun(INDEXER, ['list', '--index', s1]);
  const ids = (t) => t.split('\n').filter(Boolean).map((l) => l.split('\t')[0]);
  const a = ids(list0), b = ids(list1);
  assert.ok(a.length > 100 && b.length > 100, `${a.length} / ${b.length}`);
  assert.equal(a.length + b.length, one.documents);
  for (const id of a) assert.equal(shardOf(id, 2), 0, id);
  for (const id of b) assert.equal(shardOf(id, 2), 1, id);
});

test('two replicas and a local + remote two-shard search give the top 10 of one index', async () => {
  for (const q of QUERIES) {
    const want = top(await search(bases.one, q));
    assert.ok(want.hits.length > 0, `no hits for ${q}`);
    for (const name of ['rep1', 'rep2', 'shards'])
      assert.deepEqual(top(await search(bases[name], q)), want, `${name}: ${q}`);
  }
  // a filter, a second page, and a document served from the remote shard
  const f = '&kind=article&offset=5';
  assert.deepEqual(top(await search(bases.shards, '网络', f)), top(await search(bases.one, '网络', f)));
  // the other endpoints read the union too
  for (const p of ['/suggest?q=%E6%89%93', '/suggest?q=vp', '/standards']) {
    const [a, b] = [await get(bases.one, p), await get(bases.shards, p)];
    assert.equal(b.status, 200, `${p}: ${b.body}`);
    assert.deepEqual(b.json, a.json, p);
  }
  const remoteId = (await search(bases.shards, 'VPN')).hits.map((h) => h.id)
    .find((id) => shardOf(id, 2) === 1);
  assert.ok(remoteId);
  const doc = await get(bases.shards, `/doc/${encodeURIComponent(remoteId)}`);
  assert.equal(doc.status, 200, doc.body);
  assert.equal(doc.json.id, remoteId);
});

test('the replicas follow new revisions (full copy, then a changeset); lag measured', async () => {
  // a failed request during the switch would be a half-copied index served
  let stop = false;
  const failures = [];
  const loop = (async () => {
    while (!stop)
      for (const b of [bases.rep1, bases.rep2]) {
        const r = await fetch(b + '/search?q=VPN').catch((e) => ({ status: e.message }));
        if (r.arrayBuffer) await r.arrayBuffer();
        if (r.status !== 200) failures.push(r.status);
      }
  })();
  try {
    const lags = [];
    // the master kept no changesets so far: a full copy; then with them
    for (const [i, env] of [[1, {}], [2, { XAPIAN_MAX_CHANGESETS: '10' }]]) {
      const word = `scaleoutmarker${i}x${Date.now()}`;
      await writeFile(path.join(corpus, 'articles', `KB-990${i}-scaleout.md`),
        article(`KB-990${i}`, word));
      await mustRun(INDEXER, ['build', '--quiet', '--corpus', corpus, '--index',
        path.join(master, 'kb')], { env });
      const t0 = Date.now();
      for (const name of ['rep1', 'rep2'])
        await waitFor(async () => (await search(bases[name], word)).hits.some((h) => h.id === `KB-990${i}`),
          `${name} sees revision ${i}`, 15000);
      lags.push(Date.now() - t0);
      // the searchd on the master's folder reopens on its own schedule, and
      // each worker of a searchd on its own (idle ones every 0.1 s): one
      // worker answering the new revision does not mean the next request's
      // worker does. The replica must answer as the master's searchd once
      // both serve the new revision everywhere: the same top 10, weights
      // included (a worker still on the old revision differs in the third
      // decimal); a replica that stays different fails at the deadline.
      await waitFor(async () => (await search(bases.one, word)).hits.some((h) => h.id === `KB-990${i}`),
        `the master's searchd sees revision ${i}`, 15000);
      let pair = [];
      const same = async () => {
        pair = [top(await search(bases.rep1, 'VPN 连接失败')), top(await search(bases.one, 'VPN 连接失败'))];
        return isDeepStrictEqual(pair[0], pair[1]);
      };
      await waitFor(same, `rep1 and the master's searchd agree at revision ${i}`, 15000)
        .catch(() => assert.deepEqual(pair[0], pair[1]));
    }
    console.log(`# replica lag (build committed -> both replicas answer): ${lags.join(' ms, ')} ms ` +
      '(xapian-replicate -i 1)');
  } finally {
    stop = true;
    await loop;
  }
  assert.deepEqual(failures, []);
});

// xapian-tcpsrv forks a process per connection: a machine going down takes
// the listener and those with it.
async function killServer(d) {
  const pid = d.child.pid;
  const kids = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).split(/\s+/)
    .filter(Boolean).map(Number);
  d.child.kill('SIGKILL');
  for (const k of kids) try { process.kill(k, 'SIGKILL'); } catch { /* gone already */ }
  await d.exit;
  return kids.length;
}

// Sends sig to the listener and every connection process of d.
async function signalServer(d, sig) {
  const pid = d.child.pid;
  const kids = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).split(/\s+/)
    .filter(Boolean).map(Number);
  for (const p of [pid, ...kids]) try { process.kill(p, sig); } catch { /* gone already */ }
}

const isTcpsrv = (d) => d.child.spawnargs[0] === '/usr/bin/xapian-tcpsrv' && !d.exited;

test('a killed remote shard gives partial:true within the timeout, and comes back', async () => {
  const whole = top(await search(bases.shards, 'VPN'));
  const tcp = procs.find(isTcpsrv);
  assert.ok(await killServer(tcp) >= 2, 'one connection per searchd worker');
  const t0 = Date.now();
  const res = await search(bases.shards, 'VPN');
  const took = Date.now() - t0;
  assert.ok(took < SHARD_TIMEOUT_MS * 2 + 1000, `answered after ${took} ms`);
  assert.equal(res.partial, true);
  assert.equal(res.failed_shards.length, 1);
  assert.equal(res.failed_shards[0].shard, `tcp:127.0.0.1:${tcpPort}`);
  assert.ok(res.failed_shards[0].error.length > 0);
  assert.ok(res.hits.length > 0);
  for (const h of res.hits) assert.equal(shardOf(h.id, 2), 0, `${h.id} from the dead shard`);
  // /healthz tells too, once the worker answering it has refreshed (idle
  // workers refresh every 0.1 s)
  await waitFor(async () => (await get(bases.shards, '/healthz')).json.partial === true,
    '/healthz partial', 5000);
  console.log(`# killed remote shard: partial answer in ${took} ms`);

  // the server back on the same port: the shard rejoins (each worker retries
  // each second on its own). Until every worker has, an answer may still be
  // partial, but it must say so: every answer is flagged or whole, and the
  // wait ends after 8 whole answers in a row (both workers back).
  await tcpsrv(tcpPort, s1).ready;
  let whole_in_row = 0;
  await waitFor(async () => {
    const res = await search(bases.shards, 'VPN');
    if (res.partial === true) {
      whole_in_row = 0;
      return false;
    }
    assert.equal(res.partial, undefined);
    assert.deepEqual(top(res), whole, 'an answer without the flag lacks a shard');
    return ++whole_in_row >= 8;
  }, 'the shard back on every worker', 10000);
});

test('a stopped (hung) remote shard gives partial:true within the timeout, never a hang', async () => {
  const tcp = procs.find(isTcpsrv);
  await signalServer(tcp, 'SIGSTOP');
  try {
    const t0 = Date.now();
    const res = await search(bases.shards, '打印机');
    const took = Date.now() - t0;
    // one timed-out call, one timed-out reconnection attempt
    assert.ok(took < SHARD_TIMEOUT_MS * 3 + 1000, `answered after ${took} ms`);
    assert.equal(res.partial, true);
    assert.equal(res.failed_shards[0].shard, `tcp:127.0.0.1:${tcpPort}`);
    console.log(`# stopped remote shard: partial answer in ${took} ms`);
  } finally {
    await signalServer(tcp, 'SIGCONT');
  }
});

test('bad shard lists and splits are refused with a clear message', async () => {
  const r = await run(SEARCHD, ['--index', `${s0}, tcp:127.0.0.1`, '--listen', '127.0.0.1:0']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /tcp:HOST:PORT/);
  for (const bad of ['2/2', '1/0', 'x', '0/17']) {
    const b = await run(INDEXER, ['build', '--corpus', corpus, '--index', path.join(tmp, 'bad'),
      '--shard', bad]);
    assert.equal(b.code, 2, bad);
    assert.match(b.stderr, /--shard is I\/N/);
  }
  assert.equal(await access(path.join(tmp, 'bad')).then(() => true, () => false), false);
});
