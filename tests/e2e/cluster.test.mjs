// End-to-end test of several chatdesk instances on one PostgreSQL
// (chatdesk --cluster 1; KB_BIN selects the binaries folder): a real
// PostgreSQL 15 (scripts/pg.sh, fsync off), three real daemons on free
// loopback ports sharing it, real WebSocket clients. A requester and an
// agent on different instances go through the whole flow (chat, escalate,
// take, replies, resolve, confirm); the cross-instance delivery latency of
// an agent's reply is measured against the same instance's; an SLA
// warning is marked and pushed once with three instances checking every
// second; PostgreSQL restarted under the instances, the listeners come back
// and nothing is lost; one instance killed with SIGKILL mid-conversation,
// its requester resumes on another with nothing lost or duplicated; a
// streaming standby (pg_basebackup -R) serves the reports (--report-db).
// No sleeps: every wait is for a frame or an answer, bounded in time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { FrameClient } from './wsclient.mjs';
import { ROOT, run, mustRun, startDaemon, stopDaemon, startPg, destroyPg, PG_SH } from './daemon.mjs';

const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const CHATDESK = path.join(BIN, 'chatdesk');
const INDEXER = path.join(BIN, 'indexer');
const WAIT = 20000; // ms: the sanitizer build is slow
const AGENTS = { agent1: 'cluster agent 1', agent2: 'cluster agent 2', agent3: 'cluster agent 3' };

let pg, index;
const nodes = []; // {d, base, ws}
const clients = new Set();

// the test's client (wsclient.mjs) on node, each frame stamped with when
// it came (at, performance.now())
class Client extends FrameClient {
  static open(node) {
    return this.connect(node.ws, { clients, wait: WAIT, stamp: (f) => { f.at = performance.now(); } });
  }
}

function startNode() {
  const d = startDaemon(CHATDESK, ['--index', index, '--db', pg.conninfo, '--listen', '127.0.0.1:0',
    '--www', 'chatdesk/www', '--threads', '2', '--cluster', '1', '--sla-interval', '1',
    '--hello-per-minute', '100000', '--hello-burst', '100000', '--rate', '1000', '--burst', '1000']);
  return d.ready.then((base) => ({ d, base, ws: base.replace('http:', 'ws:') + '/ws' }));
}

async function agent(node, username) {
  const c = await Client.open(node);
  const w = await c.request({ type: 'login', username, password: AGENTS[username] });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  return c;
}

async function requester(node, name) {
  const c = await Client.open(node);
  const w = await c.request({ type: 'hello', name });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  c.session = w.session;
  return c;
}

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

before(async () => {
  pg = await startPg('kbcluster');
  index = path.join(pg.tmp, 'index');
  await mustRun(INDEXER, ['build', '--quiet', '--corpus', 'corpora', '--index', index]);
  for (const [u, pw] of Object.entries(AGENTS))
    await mustRun(CHATDESK, ['useradd', '--agent', u, '--name', `坐席 ${u}`, '--db', pg.conninfo], { input: `${pw}\n` });
  // one at a time: the first applies the migrations
  for (let i = 0; i < 3; i++) nodes.push(await startNode());
}, { timeout: 180000 });

after(async () => {
  for (const c of [...clients]) { try { c.ws.terminate(); } catch { /* gone */ } }
  for (const n of nodes) await stopDaemon(n.d);
  await destroyPg(pg);
}, { timeout: 60000 });

test('a requester and an agent on different instances: the whole flow; cross-instance latency', { timeout: 120000 }, async () => {
  const [n0, n1] = nodes;
  const a = await agent(n1, 'agent1');
  const u = await requester(n0, '跨实例用户');
  const ack = await u.request({ type: 'message', id: 'c-1', text: '我的电脑连不上VPN了，提示错误809' });
  assert.deepEqual([ack.type, ack.seq], ['ack', 1]);
  const t = await u.request({ type: 'escalate', impact: 2, urgency: 2 });
  assert.equal(t.type, 'ticket', JSON.stringify(t));
  // the escalation, made on instance 0, reaches the agent on instance 1
  await a.wait((f) => f.type === 'queue_update' && f.event === 'new' && f.ticket.number === t.number, 'queue_update new');
  const taken = await a.request({ type: 'take', ticket: t.number });
  assert.equal(taken.status, 'assigned');
  await u.wait((f) => f.type === 'ticket' && f.status === 'assigned', 'assigned on the requester side');
  // replies from instance 1 reach the requester on instance 0, each once,
  // in order; the requester's answer reaches the agent
  const N = 30, cross = [];
  for (let i = 1; i <= N; i++) {
    const from = u.frames.length;
    const t0 = performance.now();
    a.ws.send(JSON.stringify({ type: 'reply', ticket: t.number, id: `x-${i}`, text: `回复 ${i}` }));
    const m = await u.wait((f) => f.type === 'message' && f.text === `回复 ${i}`, `reply ${i}`, { from });
    cross.push(m.at - t0);
  }
  const seqs = u.frames.filter((f) => f.type === 'message' && f.from === 'agent').map((f) => f.seq);
  assert.deepEqual(seqs, Array.from({ length: N }, (_, i) => i + 2));
  const back = await u.request({ type: 'message', id: 'c-2', text: '好了，谢谢' });
  assert.equal(back.seq, N + 2);
  const am = await a.wait((f) => f.type === 'message' && f.from === 'requester' && f.seq === N + 2, 'requester message');
  assert.equal(am.ticket, t.number);
  // the same instance, for comparison: a requester on instance 1
  const v = await requester(n1, '同实例用户');
  await v.request({ type: 'message', text: '打印机脱机了' });
  const t2 = await v.request({ type: 'escalate', impact: 3, urgency: 3 });
  await a.request({ type: 'take', ticket: t2.number });
  const same = [];
  for (let i = 1; i <= N; i++) {
    const from = v.frames.length;
    const t0 = performance.now();
    a.ws.send(JSON.stringify({ type: 'reply', ticket: t2.number, id: `s-${i}`, text: `同 ${i}` }));
    const m = await v.wait((f) => f.type === 'message' && f.text === `同 ${i}`, `same ${i}`, { from });
    same.push(m.at - t0);
  }
  console.log(`# reply delivery, agent's send to requester's receipt over ${N} replies:`
    + ` other instance median ${pct(cross, 0.5).toFixed(2)} ms, p95 ${pct(cross, 0.95).toFixed(2)} ms;`
    + ` same instance median ${pct(same, 0.5).toFixed(2)} ms, p95 ${pct(same, 0.95).toFixed(2)} ms`);
  // resolve on instance 1, confirm on instance 0
  const rs = await a.request({ type: 'resolve', ticket: t.number, resolution: '已修改注册表，VPN 恢复' });
  assert.deepEqual([rs.type, rs.status], ['ticket', 'resolved']);
  const ur = await u.wait((f) => f.type === 'resolved', 'resolved');
  assert.equal(ur.ticket, t.number);
  const cf = await u.request({ type: 'confirm', ticket: t.number, accepted: true });
  assert.deepEqual([cf.type, cf.status], ['ticket', 'closed']);
  await a.wait((f) => f.type === 'queue_update' && f.event === 'closed' && f.ticket.number === t.number, 'closed');
  // nothing arrived twice
  await u.sync();
  for (const s of seqs) assert.equal(u.frames.filter((f) => f.type === 'message' && f.seq === s).length, 1);
  await Promise.all([a.close(), u.close(), v.close()]);
});

test('an SLA warning fires exactly once with three instances checking', { timeout: 90000 }, async () => {
  const FAST = {
    calendars: [{ name: 'fast-7x24', tz: 'Asia/Shanghai', always: true }],
    services: [{ name: 'fast', title: 'fast test service', calendar: 'fast-7x24', default: true }],
    policies: [1, 2, 3, 4].map((p) => ({ service: 'fast', priority: p, response_minutes: 0.05,
      resolve_minutes: 0.1, warn_percent: 50 })),
  };
  const file = path.join(pg.tmp, 'fast.json');
  await writeFile(file, JSON.stringify(FAST));
  await mustRun(CHATDESK, ['sla-load', file, '--db', pg.conninfo]);
  const agents = [await agent(nodes[0], 'agent1'), await agent(nodes[1], 'agent2'), await agent(nodes[2], 'agent3')];
  const u = await requester(nodes[1], '计时用户');
  await u.request({ type: 'message', text: '邮箱收不到邮件' });
  const t = await u.request({ type: 'escalate', impact: 2, urgency: 2 });
  assert.deepEqual(t.sla, { service: 'fast', state: 'ok' });
  const is = (type, target) => (f) => f.type === type && f.ticket === t.number && f.target === target;
  for (const a of agents) await a.wait(is('sla_warning', 'response'), 'response warning');
  // the resolution breach comes 4.5 s later: by then the three instances
  // have checked some 13 times more
  for (const a of agents) await a.wait(is('sla_breach', 'resolution'), 'resolution breach');
  for (const a of agents) {
    await a.sync();
    for (const type of ['sla_warning', 'sla_breach'])
      for (const target of ['response', 'resolution'])
        assert.equal(a.frames.filter(is(type, target)).length, 1, `${type} ${target}`);
  }
  const psql = '/usr/lib/postgresql/15/bin/psql';
  const rows = (await mustRun(psql, ['-X', '-At', '-d', pg.conninfo, '-c',
    `SELECT e.type, count(*) FROM ticket_events e JOIN tickets k ON k.id = e.ticket_id
     WHERE k.number = '${t.number}' AND e.type LIKE 'sla_%' AND e.type <> 'sla_applied'
     GROUP BY e.type ORDER BY 1`])).trim();
  assert.equal(rows, 'sla_breach|2\nsla_warning|2');
  await Promise.all([...agents.map((a) => a.close()), u.close()]);
});

test('PostgreSQL restarted under three instances: the listeners come back, nothing is lost', { timeout: 120000 }, async () => {
  const a = await agent(nodes[0], 'agent1');
  const u = await requester(nodes[2], '重启用户');
  await u.request({ type: 'message', text: '共享盘打不开' });
  const t = await u.request({ type: 'escalate', impact: 3, urgency: 3 });
  await a.request({ type: 'take', ticket: t.number });
  await mustRun(PG_SH, ['stop', pg.pgdir]);
  await mustRun(PG_SH, ['start', pg.pgdir], { env: { PG_FSYNC: 'off' } });
  // an acknowledged reply reaches the requester on the other instance,
  // live or by the catch-up after the listener is back
  for (let i = 1; i <= 3; i++) {
    const deadline = Date.now() + WAIT;
    for (;;) {
      const r = await a.request({ type: 'reply', ticket: t.number, id: `pg-${i}`, text: `重启后 ${i}` });
      if (r.type === 'ack') break;
      assert.equal(r.code, 'db_unavailable', JSON.stringify(r)); // retried with the same id
      assert.ok(Date.now() < deadline, 'the database did not come back');
    }
  }
  await u.wait((f) => f.type === 'message' && f.text === '重启后 3', 'the third reply');
  await u.sync();
  const seqs = u.frames.filter((f) => f.type === 'message' && f.from === 'agent').map((f) => f.seq);
  assert.deepEqual(seqs, [2, 3, 4]);
  // each listener reconnects on its own back-off (0.1 to 2 s), which may
  // end after the replies went through by the catch-up: wait for each
  for (const n of nodes) {
    const deadline = Date.now() + WAIT;
    while (!/cluster: listening again/.test(n.d.log)) {
      assert.ok(Date.now() < deadline, `an instance's listener did not come back:\n${n.d.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await Promise.all([a.close(), u.close()]);
});

test('an instance killed with SIGKILL mid-conversation: its requester resumes on another, nothing lost or duplicated', { timeout: 120000 }, async () => {
  const a = await agent(nodes[0], 'agent2');
  const u1 = await requester(nodes[2], '被切换用户');
  await u1.request({ type: 'message', id: 'k-0', text: 'VPN 断线' });
  const conv = u1.frames.find((f) => f.type === 'ack').conversation?.id;
  const t = await u1.request({ type: 'escalate', impact: 2, urgency: 2 });
  await a.request({ type: 'take', ticket: t.number });
  await u1.wait((f) => f.type === 'ticket' && f.status === 'assigned', 'assigned');
  const N = 20;
  for (let i = 1; i <= N; i++) a.ws.send(JSON.stringify({ type: 'reply', ticket: t.number, id: `k-${i}`, text: `回复 ${i}` }));
  await u1.wait((f) => f.type === 'message' && f.seq >= 6, 'a few replies');
  nodes[2].d.child.kill('SIGKILL');
  await nodes[2].d.exit;
  const seen1 = u1.frames.filter((f) => f.type === 'message').map((f) => f.seq);
  const last = Math.max(...seen1);
  const u2 = await Client.open(nodes[1]);
  const w = await u2.request({ type: 'hello', resume: { session: u1.session, last_seq: last, conversation: conv } });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  assert.equal(w.resumed, true);
  assert.equal(w.ticket.number, t.number);
  for (let i = 1; i <= N; i++) await a.wait((f) => f.type === 'ack' && f.id === `k-${i}`, `ack ${i}`);
  await u2.wait((f) => f.type === 'message' && f.seq === N + 1, 'the last reply');
  // and live ones from instance 0 keep coming to instance 1, once
  await a.request({ type: 'reply', ticket: t.number, id: 'k-live', text: '还在吗？' });
  await u2.wait((f) => f.type === 'message' && f.seq === N + 2, 'the live reply');
  const own = await u2.request({ type: 'message', id: 'k-own', text: '在的' });
  assert.equal(own.seq, N + 3);
  await u2.sync();
  const seen2 = u2.frames.filter((f) => f.type === 'message').map((f) => f.seq);
  assert.deepEqual(seen1, Array.from({ length: seen1.length }, (_, i) => i + 2));
  assert.deepEqual(seen2, Array.from({ length: N + 2 - last }, (_, i) => last + 1 + i));
  await a.wait((f) => f.type === 'message' && f.seq === N + 3, 'the requester message on the agent side');
  await Promise.all([a.close(), u2.close()]);
  nodes.splice(2, 1);
});

test('report_db: the reports read from a streaming standby (pg_basebackup -R)', { timeout: 120000 }, async () => {
  const PGBIN = '/usr/lib/postgresql/15/bin';
  const asPg = (bin, args) => (process.getuid() === 0
    ? mustRun('runuser', ['-u', 'postgres', '--', path.join(PGBIN, bin), ...args])
    : mustRun(path.join(PGBIN, bin), args));
  const sb = path.join(pg.tmp, 'sb');
  await mkdir(sb, { mode: 0o700 });
  if (process.getuid() === 0) await mustRun('chown', ['postgres:postgres', sb]);
  const host = /host=(\S+)/.exec(pg.conninfo)[1];
  await asPg('pg_basebackup', ['-h', host, '-p', '5432', '-U', 'postgres', '-D', path.join(sb, 'data'), '-R', '-X', 'stream']);
  await asPg('pg_ctl', ['-D', path.join(sb, 'data'), '-l', path.join(sb, 'log'), '-w', '-o',
    `-c listen_addresses='' -k ${sb} -p 5433`, 'start']);
  const standby = `host=${sb} port=5433 user=postgres dbname=postgres`;
  const psql = (conninfo, q) => mustRun(path.join(PGBIN, 'psql'), ['-X', '-At', '-d', conninfo, '-c', q]).then((s) => s.trim());
  let d;
  try {
    assert.equal(await psql(standby, 'SELECT pg_is_in_recovery()'), 't');
    // bounded: the standby has replayed what the primary wrote so far
    const caughtUp = async () => {
      const lsn = await psql(pg.conninfo, 'SELECT pg_current_wal_lsn()');
      for (const deadline = Date.now() + WAIT; ;) {
        if (await psql(standby, `SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn`) === 't') return;
        assert.ok(Date.now() < deadline, 'the standby did not catch up');
      }
    };
    d = startDaemon(CHATDESK, ['--index', index, '--db', pg.conninfo, '--report-db', standby,
      '--listen', '127.0.0.1:0', '--www', 'chatdesk/www', '--threads', '1', '--cluster', '1']);
    const node = { base: await d.ready };
    node.ws = node.base.replace('http:', 'ws:') + '/ws';
    const login = await fetch(`${node.base}/api/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'agent3', password: AGENTS.agent3 }), signal: AbortSignal.timeout(WAIT) });
    assert.equal(login.status, 201);
    const { token } = await login.json();
    const day = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10); // Asia/Shanghai
    const received = async () => {
      const r = await fetch(`${node.base}/api/v1/reports/indicators?from=${day}&to=${day}`,
        { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(WAIT) });
      const body = await r.json();
      assert.equal(r.status, 200, JSON.stringify(body));
      return body.desk.received;
    };
    await caughtUp();
    const r0 = await received();
    // replay paused: a new ticket is on the primary but not in the report
    await psql(standby, 'SELECT pg_wal_replay_pause()');
    const u = await requester(node, '报表用户');
    await u.request({ type: 'message', text: '报表测试：打印机卡纸' });
    const t = await u.request({ type: 'escalate', impact: 3, urgency: 3 });
    assert.equal(t.type, 'ticket');
    assert.equal(await received(), r0);
    await psql(standby, 'SELECT pg_wal_replay_resume()');
    await caughtUp();
    // bounded: a standby's reports may trail the primary (replay, then a new
    // snapshot), so they must show the ticket within WAIT, not at once
    for (const deadline = Date.now() + WAIT; ;) {
      const n = await received();
      if (n === r0 + 1) break;
      assert.ok(n === r0 && Date.now() < deadline, `received ${n}, expected ${r0 + 1}`);
    }
    await u.close();
  } finally {
    await stopDaemon(d);
    await asPg('pg_ctl', ['-D', path.join(sb, 'data'), '-m', 'fast', '-w', 'stop']);
  }
});
