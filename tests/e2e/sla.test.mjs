// End-to-end test of service levels (KB_BIN selects the binaries folder):
// a real PostgreSQL 15 (scripts/pg.sh, fsync off), `chatdesk sla-load` of
// the shipped calendars and of a file with a seconds-short policy on a 7x24
// calendar, chatdesk with --sla-interval 1, a real agent WebSocket and a
// requester who escalates. The agent's page connection must get an
// sla_warning and an sla_breach frame for the ticket's response and
// resolution, each exactly once, and the API must show the clock
// (GET /api/v1/tickets/{number}, /api/v1/services, /api/v1/calendars/{name}).
// No sleeps: every wait is for a frame or an answer, bounded in time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT, run, mustRun, startDaemon, stopDaemon, destroyPg } from './daemon.mjs';
import { deskData, deskFixture } from './deskfix.mjs';

const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const CHATDESK = path.join(BIN, 'chatdesk');
const WAIT = 20000; // ms: the sanitizer build is slow
const AGENT = { username: 'slaagent', password: 'sla agent password 1' };

// 7x24, response 3 s (warning at 50%: 1.5 s), resolution 6 s (warning 3 s)
const FAST = {
  calendars: [{ name: 'fast-7x24', tz: 'Asia/Shanghai', always: true }],
  services: [{ name: 'fast', title: '测试 / fast test service', calendar: 'fast-7x24', default: true }],
  policies: [1, 2, 3, 4].map((p) => ({ service: 'fast', priority: p, response_minutes: 0.05,
    resolve_minutes: 0.1, warn_percent: 50 })),
};

const d = {};
let tmp, conninfo, chat, base;

// WebSocket clients and the JSON API
const { Client, api } = deskFixture(WAIT, () => ({ conninfo, base }));

before(async () => {
  await deskData(d, 'kbsla', { agents: [AGENT] });
  ({ tmp, conninfo } = d);
}, { timeout: 180000 });

after(async () => {
  await stopDaemon(chat);
  await destroyPg(d);
}, { timeout: 60000 });

test('sla-load: a bad file loads nothing and says why; the shipped file and a short policy load', { timeout: 60000 }, async () => {
  const bad = path.join(tmp, 'bad.json');
  await writeFile(bad, JSON.stringify({ ...FAST, services: [{ ...FAST.services[0], calendar: 'missing' }] }));
  const r = await run(CHATDESK, ['sla-load', bad, '--db', conninfo]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /services\[0\] fast: unknown calendar missing \(nothing loaded\)/);
  const out = await mustRun(CHATDESK, ['sla-load', 'corpora/calendars/cn-2026-2027.json', '--db', conninfo]);
  assert.match(out, /2 calendars \(2 new versions\), 4 services, 16 policies/);
  const fast = path.join(tmp, 'fast.json');
  await writeFile(fast, JSON.stringify(FAST));
  assert.match(await mustRun(CHATDESK, ['sla-load', fast, '--db', conninfo]), /1 calendars \(1 new versions\)/);
  assert.equal((await run(CHATDESK, ['sla-reapply', 'INC-999999', '--db', conninfo])).code, 3);
});

test('a ticket on a short policy: the agent gets sla_warning and sla_breach once each; the API shows the clock', { timeout: 90000 }, async () => {
  chat = startDaemon(CHATDESK, ['--index', path.join(tmp, 'index'), '--db', conninfo,
    '--listen', '127.0.0.1:0', '--www', 'chatdesk/www', '--threads', '2', '--sla-interval', '1']);
  base = await chat.ready;

  const ag = await Client.open();
  const w = await ag.request({ type: 'login', username: AGENT.username, password: AGENT.password });
  assert.equal(w.type, 'welcome', JSON.stringify(w));

  const rq = await Client.open();
  const hello = await rq.request({ type: 'hello', name: '计时用户' });
  assert.equal(hello.type, 'welcome');
  assert.equal((await rq.request({ type: 'message', text: '邮箱收不到邮件' })).type, 'ack');
  const t = await rq.request({ type: 'escalate', impact: 2, urgency: 2 });
  assert.equal(t.type, 'ticket', JSON.stringify(t));
  assert.deepEqual(t.sla, { service: 'fast', state: 'ok' });
  // 3 s of 7x24 time: the deadlines are the creation plus 3 and 6 s
  assert.equal(t.response_due - t.created_at, 3);
  assert.equal(t.resolution_due - t.created_at, 6);

  const is = (type, target) => (f) => f.type === type && f.ticket === t.number && f.target === target;
  const rw = await ag.wait(is('sla_warning', 'response'), 'response warning');
  const rb = await ag.wait(is('sla_breach', 'response'), 'response breach');
  await ag.wait(is('sla_warning', 'resolution'), 'resolution warning');
  const sb = await ag.wait(is('sla_breach', 'resolution'), 'resolution breach');
  assert.equal(rw.due, t.response_due);
  assert.equal(rb.assigned, false);
  assert.equal(sb.due, t.resolution_due);
  assert.equal(sb.priority, 3);
  // the checks ran every second for 3 s after the response's marks: each
  // mark went out once
  for (const type of ['sla_warning', 'sla_breach'])
    for (const target of ['response', 'resolution'])
      assert.equal(ag.frames.filter(is(type, target)).length, 1, `${type} ${target}`);
  // the requester's connection gets none of it
  assert.equal(rq.frames.filter((f) => f.type.startsWith('sla_')).length, 0);

  // the API: the agent reads the whole clock
  const lg = await fetch(`${base}/api/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify(AGENT), signal: AbortSignal.timeout(WAIT) });
  assert.equal(lg.status, 201);
  const token = (await lg.json()).token;
  const tk = await api(`/api/v1/tickets/${t.number}`, token);
  assert.equal(tk.status, 200, tk.text);
  assert.equal(tk.body.sla.state, 'breached');
  assert.equal(tk.body.sla.service, 'fast');
  assert.equal(tk.body.sla.calendar, 'fast-7x24');
  assert.equal(tk.body.sla.calendar_version, 1);
  assert.equal(tk.body.sla.response_minutes, 0.05);
  assert.equal(tk.body.sla.response_due, t.response_due);
  assert.ok(tk.body.sla.response_breached_at >= t.response_due, tk.text);
  assert.ok(tk.body.sla.resolve_breached_at >= t.resolution_due, tk.text);
  // the ticket list filters by the SLA state
  const listed = async (sla) => {
    const r = await api(`/api/v1/tickets?sla=${sla}&limit=100`, token);
    assert.equal(r.status, 200, r.text);
    return r.body.tickets.map((x) => x.number);
  };
  assert.ok((await listed('breached')).includes(t.number));
  for (const other of ['ok', 'warning', 'none']) assert.ok(!(await listed(other)).includes(t.number), other);
  assert.equal((await api('/api/v1/tickets?sla=late', token)).status, 400);

  const sv = await api('/api/v1/services', token);
  assert.equal(sv.status, 200);
  const names = sv.body.services.map((s) => s.name);
  assert.deepEqual(names, ['email', 'fast', 'general', 'network', 'office-pc']);
  assert.deepEqual(sv.body.services.filter((s) => s.default).map((s) => s.name), ['fast']);
  const pc = sv.body.services.find((s) => s.name === 'office-pc');
  assert.equal(pc.title, '办公电脑 / Office PC');
  assert.deepEqual(pc.policies.map((p) => p.priority), [1, 2, 3, 4]);

  const cal = await api('/api/v1/calendars/cn-5x8', token);
  assert.equal(cal.status, 200, cal.text);
  assert.equal(cal.body.version, 1);
  assert.equal(cal.body.calendar.utc_offset, '+08:00');
  assert.ok(cal.body.calendar.holidays.includes('2026-10-01'));
  assert.deepEqual(cal.body.calendar.week.mon, ['08:30-12:00', '13:30-17:30']);
  assert.ok(cal.body.calendar.workdays.some((d) => d.date === '2026-10-10'));
  assert.equal((await api('/api/v1/calendars/cn-5x8?version=2', token)).status, 404);
  assert.equal((await api('/api/v1/calendars/cn-5x8?version=x', token)).status, 400);
  assert.equal((await api('/api/v1/calendars/nope', token)).status, 404);
  assert.equal((await api('/api/v1/services')).status, 401);

  // an agent changes the priority, then the service: recomputed from the
  // creation (the marks stay: their thresholds lie in the past)
  const p1 = await api(`/api/v1/tickets/${t.number}`, token, 'PATCH', { priority: 1 });
  assert.equal(p1.status, 200, p1.text);
  assert.equal(p1.body.priority, 1);
  assert.equal(p1.body.sla.priority, 1);
  const net = await api(`/api/v1/tickets/${t.number}`, token, 'PATCH', { service: 'network' });
  assert.equal(net.status, 200, net.text);
  assert.equal(net.body.sla.service, 'network');
  assert.equal(net.body.sla.calendar, '7x24');
  assert.equal(net.body.sla.response_minutes, 10); // network P1
  assert.equal(net.body.response_due - t.created_at, 600);
  assert.equal(net.body.sla.state, 'ok'); // the new thresholds lie ahead: marks cleared
  // the agent's open desk and the requester's page are told of each change
  const qs = await ag.wait((f) => f.type === 'queue_update' && f.event === 'sla_applied' && f.ticket.number === t.number
    && f.ticket.response_due === net.body.response_due, 'queue_update sla_applied');
  assert.equal(qs.ticket.priority, 1);
  await rq.wait((f) => f.type === 'ticket' && f.number === t.number && f.response_due === net.body.response_due, 'the new deadline on the requester\'s page');
  // refused, and nothing changes
  const bad = [
    [{ service: 'nope' }, 422, 'invalid'], [{ priority: 9 }, 422, 'invalid'],
    [{ priority: 1, service: 'fast' }, 400, 'bad_field'], [{ colour: 'red' }, 400, 'bad_field'],
  ];
  for (const [json, status, code] of bad) {
    const r = await api(`/api/v1/tickets/${t.number}`, token, 'PATCH', json);
    assert.equal(r.status, status, `${JSON.stringify(json)}: ${r.text}`);
    assert.equal(r.body.error.code, code);
  }
  const asRequester = await api(`/api/v1/tickets/${t.number}`, hello.session, 'PATCH', { priority: 4 });
  assert.equal(asRequester.status, 404, asRequester.text); // a requester edits nothing, learns nothing
  assert.equal((await api('/api/v1/tickets/INC-999999', token, 'PATCH', { priority: 2 })).status, 404);
  const after = await api(`/api/v1/tickets/${t.number}`, hello.session);
  assert.equal(after.status, 200, after.text); // the requester reads their own ticket's clock
  assert.equal(after.body.sla.service, 'network');
  assert.equal(after.body.priority, 1);
  // a field edit that changes the priority (impact x urgency) recomputes the clock too
  const e4 = await api(`/api/v1/tickets/${t.number}`, token, 'PATCH', { impact: 3, urgency: 3 });
  assert.equal(e4.status, 200, e4.text);
  assert.equal(e4.body.priority, 4);
  assert.equal(e4.body.sla.priority, 4);
  assert.equal(e4.body.sla.service, 'network'); // the service stays
  const evs = (await api(`/api/v1/tickets/${t.number}/events`, token)).body.events;
  const applied = evs.filter((e) => e.type === 'sla_applied');
  assert.deepEqual([applied.at(-1).detail.reason, applied.at(-1).detail.priority], ['priority', 4]);
  assert.ok(evs.some((e) => e.type === 'edited' && e.detail.field === 'priority' && e.detail.to === 4));
  await mustRun(CHATDESK, ['sla-load', path.join(tmp, 'fast.json'), '--db', conninfo]);

  // re-applying from the command line recomputes (and the ticket keeps its marks:
  // the thresholds lie in the past)
  assert.match(await mustRun(CHATDESK, ['sla-reapply', t.number, '--db', conninfo]),
    /recomputed the deadlines of 1 ticket/);
  const re = (await api(`/api/v1/tickets/${t.number}`, token)).body;
  assert.equal(re.sla.service, 'network');
  assert.equal(re.sla.calendar_version, 1);
  ag.close();
  rq.close();
});
