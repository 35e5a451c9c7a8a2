// End-to-end test of the service-level clock's pauses (KB_BIN selects the
// binaries folder): a real PostgreSQL 15 (scripts/pg.sh, fsync off),
// chatdesk with --sla-interval 1, a 7x24 service with targets of seconds,
// real WebSocket clients (an agent, requesters) and the JSON API.
//  1. The agent holding a ticket sets it pending (waiting for the
//     requester) with a reason: the requester's page is told, the list
//     filter finds it, the resolution clock stops (a control ticket created
//     later warns and breaches, this one does not), the requester's answer
//     resumes it, the deadline moves later by the paused time, and the
//     warning and breach then fire once each. Who may not set it, and bad
//     bodies, are refused.
//  2. kill -9 of chatdesk between the deadline's setting (the resumption)
//     and the warning; a restart on the same database: the warning fires
//     exactly once (one sla_warning event row, one frame to the agent).
// No sleeps: every wait is for a frame or an answer, bounded in time; the
// measured delays from threshold to frame are printed as diagnostics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ROOT, startDaemon, stopDaemon, destroyPg } from './daemon.mjs';
import { deskData, deskFixture } from './deskfix.mjs';

const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const CHATDESK = path.join(BIN, 'chatdesk');
const WAIT = 20000; // ms: the sanitizer build is slow
const AGENT = { username: 'pauseagent', password: 'pause agent password 1' };
const OTHER = { username: 'otheragent', password: 'other agent password 1' };

// 7x24: response 3 s, resolution 6 s, warnings at 50%; "kill9": response
// 6 s, resolution 40 s, warning at 60% (24 s): room to kill and restart in
// between (with 20 s a restart of the sanitizer build under load once came
// after the warning, so the agent was not yet there to receive its frame)
const FAST = {
  calendars: [{ name: 'fast-7x24', tz: 'Asia/Shanghai', always: true }],
  services: [{ name: 'fast', title: 'fast test service', calendar: 'fast-7x24', default: true },
    { name: 'kill9', title: 'kill -9 test service', calendar: 'fast-7x24' }],
  policies: [1, 2, 3, 4].flatMap((p) => [
    { service: 'fast', priority: p, response_minutes: 0.05, resolve_minutes: 0.1, warn_percent: 50 },
    { service: 'kill9', priority: p, response_minutes: 0.1, resolve_minutes: 2 / 3, warn_percent: 60 }]),
};

const d = {};
let tmp, conninfo, chat, base;

// WebSocket clients (each frame stamped with when it came, _at; all kept
// in clients) and the JSON API
const fx = deskFixture(WAIT, () => ({ conninfo, base }));
const { clients, api } = fx;

// a bearer token of who, and who's logged-in agent socket
const signin = fx.token;
const agentSocket = (who = AGENT) => fx.agentSocket(who);

function startChat() {
  chat = startDaemon(CHATDESK, ['--index', path.join(tmp, 'index'), '--db', conninfo,
    '--listen', '127.0.0.1:0', '--www', 'chatdesk/www', '--threads', '2', '--sla-interval', '1']);
  return chat.ready;
}

// a requester's new ticket: { rq: client, t: ticket frame, hello }
const newTicket = fx.requesterTicket;

const mark = (number, type, target) => (f) => f.type === type && f.ticket === number && f.target === target;

before(async () => {
  await deskData(d, 'kbpause', { agents: [AGENT, OTHER], sla: FAST });
  ({ tmp, conninfo } = d);
}, { timeout: 180000 });

after(async () => {
  for (const c of clients) c.ws.terminate();
  await stopDaemon(chat);
  await destroyPg(d);
}, { timeout: 60000 });

test('a pending-requester pause stops the clock and its resumption restarts it', { timeout: 120000 }, async (t) => {
  base = await startChat();
  const ag = await agentSocket();
  const token = await signin(AGENT);
  const otherToken = await signin(OTHER);
  const { rq, t: tk, hello } = await newTicket('等待用户', '打印机卡纸');
  assert.equal(tk.resolution_due - tk.created_at, 6);
  assert.equal((await ag.request({ type: 'take', ticket: tk.number })).status, 'assigned');
  // the first human answer meets the response clock
  assert.equal((await ag.request({ type: 'reply', ticket: tk.number, text: '请拍一张卡纸的照片' })).type, 'ack');

  // refused: a requester, another agent, bad bodies, not pending; nothing changes
  const url = `/api/v1/tickets/${tk.number}/pending`;
  const refusals = [
    [hello.session, { reason: 'x' }, 403, 'forbidden'],
    [otherToken, { reason: 'x' }, 403, 'forbidden'],
    [token, {}, 400, 'missing_field'],
    [token, { reason: '   ' }, 400, 'bad_field'],
    [token, { reason: 'x'.repeat(501) }, 400, 'bad_field'],
    [token, { reason: 'x', colour: 'red' }, 400, 'bad_field'],
  ];
  for (const [who, body, status, code] of refusals) {
    const r = await api(url, who, 'POST', body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.body.error.code, code, r.text);
  }
  assert.equal((await api(`/api/v1/tickets/INC-999999/pending`, token, 'POST', { reason: 'x' })).status, 404);
  const notPending = await api(`/api/v1/tickets/${tk.number}/resume`, token, 'POST', {});
  assert.equal(notPending.status, 422, notPending.text);
  const wsBad = await ag.request({ type: 'pending', ticket: tk.number });
  assert.equal(wsBad.type, 'error');
  assert.equal(wsBad.field, 'reason');
  assert.equal((await api(`/api/v1/tickets/${tk.number}`, token)).body.status, 'assigned');

  // the agent sets it pending over WebSocket
  const p = await ag.request({ type: 'pending', ticket: tk.number, reason: '请提供卡纸位置的照片' });
  assert.equal(p.type, 'ticket', JSON.stringify(p));
  assert.equal(p.status, 'pending');
  assert.equal(p.pending_reason, '请提供卡纸位置的照片');
  const seen = await rq.wait((f) => f.type === 'ticket' && f.status === 'pending', 'pending on the requester page');
  assert.equal(seen.pending_reason, '请提供卡纸位置的照片');
  await ag.wait((f) => f.type === 'queue_update' && f.event === 'pending' && f.ticket.number === tk.number, 'queue_update pending');
  assert.equal((await ag.request({ type: 'pending', ticket: tk.number, reason: 'again' })).type, 'error');
  // the list's status filter
  const lp = await api('/api/v1/tickets?status=pending', token);
  assert.equal(lp.status, 200, lp.text);
  assert.deepEqual(lp.body.tickets.map((x) => x.number), [tk.number]);
  const lo = await api('/api/v1/tickets?status=new,assigned,reopened', token);
  assert.ok(!lo.body.tickets.some((x) => x.number === tk.number));

  // a control ticket created now, not paused: its warning and breach come
  // after this ticket's unpaused deadline (created earlier); when its
  // breach is out the timer has run past ours
  const { rq: rq2, t: ctl } = await newTicket('对照用户', '显示器不亮');
  assert.ok(ctl.resolution_due >= tk.resolution_due);
  await ag.wait(mark(ctl.number, 'sla_breach', 'resolution'), 'control ticket breach');
  for (const type of ['sla_warning', 'sla_breach'])
    assert.equal(ag.frames.filter(mark(tk.number, type, 'resolution')).length, 0, `${type} while paused`);
  const paused = (await api(`/api/v1/tickets/${tk.number}`, token)).body;
  assert.equal(paused.status, 'pending');
  assert.ok(paused.sla.paused_since >= tk.created_at, JSON.stringify(paused.sla));
  assert.equal(paused.sla.resolve_warned_at, null);
  assert.equal(paused.sla.resolve_breached_at, null);

  // the requester answers: the wait ends, the deadline moves by the pause
  const ack = await rq.request({ type: 'message', text: '照片已经发了，在纸盒里面' });
  assert.equal(ack.type, 'ack');
  const up = await ag.wait((f) => f.type === 'queue_update' && f.event === 'resumed' && f.ticket.number === tk.number, 'queue_update resumed');
  assert.equal(up.ticket.status, 'assigned');
  assert.equal(up.ticket.pending_reason, null);
  await rq.wait((f) => f.type === 'ticket' && f.status === 'assigned' && f._at >= seen._at, 'resumed on the requester page');
  const resumed = (await api(`/api/v1/tickets/${tk.number}`, token)).body;
  assert.equal(resumed.sla.paused_since, null);
  const pausedFor = resumed.sla.paused_seconds;
  assert.ok(pausedFor >= 3, JSON.stringify(resumed.sla));
  // 6 s of running time: the creation + 6 + the pause (whole seconds: +-1)
  assert.ok(Math.abs(resumed.resolution_due - tk.created_at - 6 - pausedFor) <= 1, JSON.stringify(resumed));
  assert.ok(resumed.resolution_due > tk.resolution_due);
  const warnAt = resumed.sla.resolve_warn_at;
  assert.ok(warnAt > tk.created_at + 3);

  // then the timer fires once each, when due
  const w = await ag.wait(mark(tk.number, 'sla_warning', 'resolution'), 'resolution warning after resumption');
  const b = await ag.wait(mark(tk.number, 'sla_breach', 'resolution'), 'resolution breach after resumption');
  assert.equal(b.due, resumed.resolution_due);
  assert.ok(w._at >= warnAt - 1, `warning at ${w._at}, threshold ${warnAt}`);
  assert.ok(b._at >= resumed.resolution_due - 1);
  for (const type of ['sla_warning', 'sla_breach'])
    assert.equal(ag.frames.filter(mark(tk.number, type, 'resolution')).length, 1, type);
  t.diagnostic(`paused ${pausedFor} s; warning ${(w._at - warnAt).toFixed(2)} s after its threshold,` +
    ` breach ${(b._at - resumed.resolution_due).toFixed(2)} s after the due instant (sla_interval 1 s)`);

  // the history: pending, resumed (by the requester), the recomputation
  const ev = await api(`/api/v1/tickets/${tk.number}/events`, token);
  const types = ev.body.events.map((e) => e.type);
  assert.ok(types.indexOf('pending') < types.indexOf('resumed'), types.join());
  const pe = ev.body.events.find((e) => e.type === 'pending');
  assert.deepEqual([pe.from, pe.to, pe.detail.reason], ['assigned', 'pending', '请提供卡纸位置的照片']);
  const re = ev.body.events.find((e) => e.type === 'resumed');
  assert.deepEqual([re.from, re.to, re.detail.by, re.by], ['pending', 'assigned', 'requester', '等待用户']);
  assert.ok(ev.body.events.some((e) => e.type === 'sla_applied' && e.detail.reason === 'resumed'));

  // and the agent may pause and resume over the API too
  const p2 = await api(url, token, 'POST', { reason: '等待确认' });
  assert.equal(p2.status, 200, p2.text);
  assert.equal(p2.body.status, 'pending');
  await rq.wait((f) => f.type === 'ticket' && f.status === 'pending' && f.pending_reason === '等待确认', 'API pending on the requester page');
  const r2 = await api(`/api/v1/tickets/${tk.number}/resume`, token, 'POST', {});
  assert.equal(r2.status, 200, r2.text);
  assert.equal(r2.body.status, 'assigned');
  ag.close();
  rq.close();
  rq2.close();
});

test('after kill -9 and restart of chatdesk the pending warning still fires exactly once', { timeout: 120000 }, async (t) => {
  if (!chat || chat.exited) base = await startChat();
  let ag = await agentSocket();
  const token = await signin(AGENT);
  const { rq, t: tk } = await newTicket('重启用户', 'VPN 连不上');
  const svc = await api(`/api/v1/tickets/${tk.number}`, token, 'PATCH', { service: 'kill9' });
  assert.equal(svc.status, 200, svc.text);
  assert.equal(svc.body.resolution_due - tk.created_at, 40);
  assert.equal((await ag.request({ type: 'take', ticket: tk.number })).status, 'assigned');
  assert.equal((await ag.request({ type: 'reply', ticket: tk.number, text: '请问用的是哪个客户端？' })).type, 'ack');
  assert.equal((await ag.request({ type: 'pending', ticket: tk.number, reason: '等用户说明客户端' })).status, 'pending');
  // the requester answers: the deadlines are set again (the resumption)
  assert.equal((await rq.request({ type: 'message', text: '是 OpenVPN 2.6' })).type, 'ack');
  await ag.wait((f) => f.type === 'queue_update' && f.event === 'resumed' && f.ticket.number === tk.number, 'resumed');
  const set = (await api(`/api/v1/tickets/${tk.number}`, token)).body;
  assert.equal(set.status, 'assigned');
  assert.equal(set.sla.resolve_warned_at, null);
  const warnAt = set.sla.resolve_warn_at;
  assert.ok(warnAt > Date.now() / 1000 + 1, `the warning (${warnAt}) must lie ahead of the kill`);

  // kill -9 before the warning
  chat.child.kill('SIGKILL');
  const gone = await chat.exit;
  assert.equal(gone.signal, 'SIGKILL');
  const killedAt = Date.now() / 1000;
  assert.ok(killedAt < warnAt, `killed at ${killedAt}, warning due ${warnAt}`);
  ag.ws.terminate();
  rq.ws.terminate();

  // restart on the same database; the agent signs in again
  base = await startChat();
  ag = await agentSocket();
  const w = await ag.wait(mark(tk.number, 'sla_warning', 'resolution'), 'the warning after the restart', { ms: 40000 });
  const b = await ag.wait(mark(tk.number, 'sla_breach', 'resolution'), 'the breach after the restart', { ms: 40000 });
  assert.ok(w._at >= warnAt - 1);
  // the timer ran on past the warning (the breach is 16 s later): still one
  assert.equal(ag.frames.filter(mark(tk.number, 'sla_warning', 'resolution')).length, 1);
  const ev = await api(`/api/v1/tickets/${tk.number}/events`, token);
  assert.equal(ev.status, 200, ev.text);
  const warnings = ev.body.events.filter((e) => e.type === 'sla_warning' && e.detail.target === 'resolution');
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.equal(ev.body.events.filter((e) => e.type === 'sla_breach' && e.detail.target === 'resolution').length, 1);
  t.diagnostic(`killed ${(warnAt - killedAt).toFixed(2)} s before the warning; after the restart the` +
    ` warning came ${(w._at - warnAt).toFixed(2)} s after its threshold, the breach` +
    ` ${(b._at - set.resolution_due).toFixed(2)} s after the due instant`);
  ag.close();
});
