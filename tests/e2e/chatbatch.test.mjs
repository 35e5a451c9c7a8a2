// End-to-end test of group commit in chatdesk (KB_BIN selects the
// binaries folder): chat messages waiting at the same moment are stored in
// one transaction (chatdesk/pool.c, store_batch_* in shared/store), and an
// acknowledgement still means "committed". A real PostgreSQL 15 (scripts/
// pg.sh, fsync on), a real index of corpora/, the real daemon on a free
// port of 127.0.0.1 and real WebSocket clients (npm `ws`): 40 requesters
// each send their messages at once (so the writers find many waiting),
// chatdesk is killed with SIGKILL right after the first acknowledgements,
// and every acknowledged message must be in the database with the seq its
// ack named, in the order each requester sent them; rows sharing a
// created_at (now(): the time their transaction started; a batch's items
// are savepoints, each with an xid of its own) show that batches were
// formed. Then chatdesk
// starts again on the same database and a requester resuming its session
// gets its acknowledged messages replayed. No sleeps: every wait is for a
// frame, an exit or an answer, bounded in time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { FrameClient } from './wsclient.mjs';
import { ROOT, run, mustRun, startDaemon, stopDaemon, startPg, destroyPg } from './daemon.mjs';

const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const CHATDESK = path.join(BIN, 'chatdesk');
const INDEXER = path.join(BIN, 'indexer');
const WAIT = 30000; // ms: the sanitizer build is slow
const REQUESTERS = 40;
const PER = 12; // messages each

let pg, index, daemon, wsUrl;
const sockets = new Set();

function psqlBin() {
  for (const d of [process.env.PG_BIN, '/usr/lib/postgresql/15/bin']) {
    if (d && existsSync(path.join(d, 'psql'))) return path.join(d, 'psql');
  }
  return 'psql';
}
async function sqlRows(query) {
  const out = await mustRun(psqlBin(), ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', pg.conninfo,
    '-c', query]);
  return out.split('\n').filter((l) => l !== '').map((l) => l.split('|'));
}

function start() {
  daemon = startDaemon(CHATDESK, ['--index', index, '--db', pg.conninfo, '--listen', '127.0.0.1:0',
    '--www', 'chatdesk/www', '--threads', '1', '--hello-per-minute', '100000',
    '--hello-burst', '100000', '--rate', '10000', '--burst', '10000']);
  return daemon.ready.then((base) => { wsUrl = base.replace('http:', 'ws:') + '/ws'; });
}

// A WebSocket client (wsclient.mjs) keeping every frame; wait(pred)
// resolves to the first frame matching pred (seen or coming), bounded by
// WAIT, and fails once the connection closed.
async function open() {
  const c = await FrameClient.connect(wsUrl, { wait: WAIT });
  sockets.add(c.ws);
  return c;
}

// a connection that said hello as a requester and got its welcome
// (c.session: the session it was given)
async function requester(name, email) {
  const c = await open();
  c.ws.send(JSON.stringify({ type: 'hello', role: 'requester', name, email }));
  const w = await c.wait((f) => f.type === 'welcome' || f.type === 'error', 'welcome');
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  c.session = w.session;
  return c;
}

// Waits until count() over the users' frames reaches atLeast (what: for
// the error), then kills chatdesk with SIGKILL and waits until every user's
// socket has closed (what reached them before the kill is in their frames).
async function killWhen(users, count, atLeast, what) {
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${count()} ${what} within ${WAIT} ms`)), WAIT);
    const check = () => { if (count() >= atLeast) { clearTimeout(timer); resolve(); } };
    for (const c of users) c.waiters.push(check);
    check();
  });
  daemon.child.kill('SIGKILL');
  const e = await daemon.exit;
  assert.equal(e.signal, 'SIGKILL');
  await Promise.all(users.map((c) => c.closed || new Promise((r) => c.ws.once('close', r))));
}

before(async () => {
  pg = await startPg('kbbatch', { fsync: 'on' });
  index = path.join(pg.tmp, 'index');
  await mustRun(INDEXER, ['build', '--quiet', '--corpus', 'corpora', '--index', index]);
  await start();
}, { timeout: 180000 });

after(async () => {
  for (const ws of sockets) ws.terminate();
  await stopDaemon(daemon);
  await destroyPg(pg);
}, { timeout: 60000 });

test('acknowledged chat messages survive SIGKILL right after their acks; batches share commits',
  { timeout: 180000 }, async () => {
    // everyone says hello and sends a first message (its conversation)
    const users = [];
    for (let i = 0; i < REQUESTERS; i++) {
      const c = await requester(`批量${i}`, `b${i}@example.cn`);
      c.ws.send(JSON.stringify({ type: 'message', id: `u${i}-0`, text: `打印机第 ${i} 台脱机` }));
      const a = await c.wait((f) => f.type === 'ack' || f.type === 'error', 'first ack');
      assert.equal(a.type, 'ack', JSON.stringify(a));
      c.conversation = a.conversation.id;
      users.push(c);
    }
    // then all of them send PER messages at once, without waiting
    for (let k = 1; k <= PER; k++) {
      users.forEach((c, i) => c.ws.send(JSON.stringify({ type: 'message', id: `u${i}-${k}`,
        text: `VPN 断线第 ${k} 次，错误 809` })));
    }
    // SIGKILL once a quarter of them are acknowledged
    const acks = () => users.reduce((n, c) => n + c.frames.filter((f) => f.type === 'ack').length, 0);
    const quarter = REQUESTERS + (REQUESTERS * PER) / 4;
    // whatever reached the clients before the kill (the sockets then close)
    await killWhen(users, acks, quarter, 'acks');

    // every acknowledged message is stored, with its seq, in sending order
    const rows = await sqlRows('SELECT conversation_id, client_id, seq, created_at FROM messages' +
      " WHERE client_id LIKE 'u%'");
    const stored = new Map(rows.map(([conv, id, seq]) => [id, { conv: Number(conv), seq: Number(seq) }]));
    let acked = 0, errors = 0;
    users.forEach((c, i) => {
      let last = 0;
      for (const f of c.frames) {
        if (f.type === 'error') errors++;
        if (f.type !== 'ack') continue;
        acked++;
        const s = stored.get(f.id);
        assert.ok(s, `acknowledged ${f.id} (seq ${f.seq}) is not in the database`);
        assert.equal(s.seq, f.seq, f.id);
        assert.equal(s.conv, c.conversation, f.id);
        assert.ok(f.seq > last, `${f.id}: seq ${f.seq} after ${last}`);
        last = f.seq;
      }
      // a requester's stored messages are its own in the order sent
      const mine = rows.filter(([, id]) => id.startsWith(`u${i}-`))
        .map(([, id, seq]) => [Number(id.split('-')[1]), Number(seq)]).sort((a, b) => a[1] - b[1]);
      mine.forEach(([k, seq], j) => { assert.equal(k, j, `u${i}: order`); assert.equal(seq, j + 1); });
    });
    assert.equal(errors, 0, 'no error frames');
    assert.ok(acked >= quarter, `${acked} acks`);
    // group commit: some rows were written by the same transaction
    const xacts = new Set(rows.map((r) => r[3]));
    assert.ok(xacts.size < rows.length,
      `${rows.length} messages in ${xacts.size} transactions: no batch was formed`);

    // chatdesk again, on the same database: a requester resuming gets its
    // acknowledged messages replayed
    await start();
    const u = users[0];
    const c = await open();
    c.ws.send(JSON.stringify({ type: 'hello', resume: { session: u.session, last_seq: 0,
      conversation: u.conversation } }));
    const w = await c.wait((f) => f.type === 'welcome' || f.type === 'error', 'welcome');
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    const ackedSeqs = u.frames.filter((f) => f.type === 'ack').map((f) => f.seq);
    const top = Math.max(...ackedSeqs);
    await c.wait((f) => f.type === 'message' && f.seq === top, `replayed seq ${top}`);
    const replayed = c.frames.filter((f) => f.type === 'message').map((f) => f.seq);
    for (const s of ackedSeqs) assert.ok(replayed.includes(s), `seq ${s} replayed`);
    // and the daemon takes new messages
    c.ws.send(JSON.stringify({ type: 'message', id: 'after-restart', text: '重启之后' }));
    const a = await c.wait((f) => (f.type === 'ack' && f.id === 'after-restart') || f.type === 'error', 'ack');
    assert.equal(a.type, 'ack', JSON.stringify(a));
  });

// Suggestion searches record what they show in one transaction per batch of
// searches (chatdesk/pool.c): a suggestions frame leaves only after that
// commit. Many requesters ask at once, chatdesk is killed with SIGKILL once
// some suggestions arrived, and every item any requester was shown is in
// conversation_suggestions for its conversation.
test('suggested items that reached a requester are recorded, also under SIGKILL',
  { timeout: 180000 }, async () => {
    const N = 30;
    const users = [];
    for (let i = 0; i < N; i++) {
      const c = await requester(`建议${i}`, `s${i}@example.cn`);
      users.push(c);
    }
    // everyone asks at once, twice (the searches queue up behind each other)
    for (let k = 0; k < 2; k++) {
      users.forEach((c, i) => c.ws.send(JSON.stringify({ type: 'message', id: `s${i}-${k}`,
        text: k ? 'VPN 连接失败，错误 809' : '打印机脱机怎么办' })));
    }
    const shown = () => users.reduce((n, c) => n + c.frames.filter((f) => f.type === 'suggestions' &&
      f.items.length > 0).length, 0);
    await killWhen(users, shown, N / 3, 'suggestions');

    const rows = await sqlRows('SELECT conversation_id, doc_id FROM conversation_suggestions');
    const recorded = new Set(rows.map(([conv, doc]) => `${conv}/${doc}`));
    let items = 0;
    for (const c of users) {
      const ack = c.frames.find((f) => f.type === 'ack' && f.conversation);
      for (const f of c.frames.filter((x) => x.type === 'suggestions')) {
        assert.ok(ack, 'suggestions come after the first ack');
        for (const it of f.items) {
          items++;
          assert.ok(recorded.has(`${ack.conversation.id}/${it.id}`),
            `${it.id} shown in conversation ${ack.conversation.id} is not recorded`);
        }
      }
    }
    assert.ok(items > 0, 'some items were shown');
    await start(); // for whatever runs after
  });
