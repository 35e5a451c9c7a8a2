// End-to-end test of SLA notifications, escalation rules and quiet hours
// (KB_BIN selects the binaries folder): a real PostgreSQL 15 (scripts/pg.sh,
// fsync off), `chatdesk sla-load` of a seconds-short policy on a 7x24
// calendar, `chatdesk escalation-load` of rules (a functional move to the
// next team on a response breach, a hierarchical note to the leads), agents
// in teams with addresses (`chatdesk agent-email`), a real SMTP sink
// (scripts/mailsink.py, aiosmtpd on 127.0.0.1) and chatdesk with
// --sla-interval 1. An unanswered ticket held by a first-line agent: the
// assignee's socket gets the warning and then the breach, their mail
// reaches the sink, the breach moves the ticket to second-line (a
// "transferred" event by the system, the second-line member sees it in the
// queue), and an agent of another team gets no frame of it. Quiet hours on
// the calendar covering now: the frame still comes, the mail waits in the
// outbox until they end. Bad files load nothing. No sleeps: every wait is
// for a frame, a file or an answer, bounded in time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT, mustRun } from './daemon.mjs';
import { deskFixture, startDesk, stopDesk } from './deskfix.mjs';

const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const CHATDESK = path.join(BIN, 'chatdesk');
const WAIT = 30000; // ms: the sanitizer build is slow
const PW = 'escalation password 1';
const ASSIGNEE = { username: 'holder', email: 'holder@example.cn' };
const LEAD = { username: 'lead1', email: 'lead1@example.cn' };
const SECOND = { username: 'second', email: 'second@example.cn' };
const OUTSIDER = { username: 'outsider', email: 'outsider@example.cn' };

// 7x24; response 12 s (warning at 50%: 6 s), resolution 60 s
const FAST = {
  calendars: [{ name: 'fast-7x24', tz: 'Asia/Shanghai', always: true }],
  services: [{ name: 'fast', title: '测试 / fast test service', calendar: 'fast-7x24', default: true }],
  policies: [1, 2, 3, 4].map((p) => ({ service: 'fast', priority: p, response_minutes: 0.2,
    resolve_minutes: 1, warn_percent: 50 })),
};
const RULES = {
  team_order: ['first-line', 'second-line', 'specialists'],
  rules: [
    { on: 'breach', target: 'response', action: 'functional' },
    { on: 'breach', action: 'hierarchical', notify: 'lead' },
    { service: 'fast', priority: 1, on: 'warning', action: 'functional', to_team: 'specialists' },
  ],
};

const d = {};
let tmp, conninfo;
const ids = {};

// ---- helpers (tests/e2e/deskfix.mjs) ------------------------------------------------

const { sql, until, mails, Client, api, token, agentSocket, requesterTicket, chatdesk } =
  deskFixture(WAIT, () => d, PW);

// A requester's ticket (priority 3), then the lead hands it to the assignee in first-line.
async function heldTicket(leadToken, text) {
  const { rq, t } = await requesterTicket('升级测试用户', text);
  const tr = await api(`/api/v1/tickets/${t.number}/transfer`, leadToken, 'POST',
    { team: 'first-line', agent: ids.holder, reason: '分派' });
  assert.equal(tr.status, 200, tr.text);
  assert.deepEqual([tr.body.team, tr.body.status], ['first-line', 'assigned']);
  return { rq, t };
}

// ---- setup ------------------------------------------------------------------------------

before(async () => {
  await startDesk(d, 'kbescal', {
    agents: [[ASSIGNEE, 'first-line'], [LEAD, 'first-line'], [SECOND, 'second-line'], [OUTSIDER, 'specialists']]
      .map(([who, team]) => ({ ...who, team, role: who === LEAD ? 'team_lead' : undefined })),
    password: PW, sla: FAST, mail: {}, args: ['--sla-interval', '1'], wait: WAIT,
  });
  ({ tmp, conninfo } = d);
  const people = await api('/api/v1/people?role=agent', await token(LEAD));
  assert.equal(people.status, 200, people.text);
  for (const p of people.body.people) ids[p.username] = p.id;
}, { timeout: 180000 });

after(() => stopDesk(d), { timeout: 60000 });

// ---- tests ------------------------------------------------------------------------------

test('escalation-load: a bad file loads nothing and says why; the rules load and are listed to agents only', { timeout: 60000 }, async () => {
  const bad = path.join(tmp, 'bad.json');
  for (const [rules, re] of [
    [[RULES.rules[0], { on: 'breach', action: 'functional', to_team: 'nowhere' }], /rules\[1\]: unknown team nowhere/],
    [[{ on: 'soon', action: 'functional' }], /rules\[0\]: "on" is warning or breach/],
    [[{ on: 'breach', action: 'hierarchical' }], /rules\[0\]: a hierarchical rule has "notify"/],
    [[{ service: 'gone', on: 'breach', action: 'functional' }], /rules\[0\]: unknown service gone/],
  ]) {
    await writeFile(bad, JSON.stringify({ ...RULES, rules }));
    const r = await chatdesk(['escalation-load', bad]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.match(r.stderr, /nothing loaded/);
  }
  await writeFile(bad, JSON.stringify({ quiet_hours: [{ calendar: 'fast-7x24', from: '25:00', to: '08:00' }] }));
  assert.match((await chatdesk(['escalation-load', bad])).stderr, /quiet_hours\[0\]/);
  assert.equal(Number((await sql('SELECT count(*) FROM escalation_rules'))[0][0]), 0, 'nothing written');

  const good = path.join(tmp, 'rules.json');
  await writeFile(good, JSON.stringify(RULES));
  assert.match((await mustRun(CHATDESK, ['escalation-load', good, '--db', conninfo])), /3 rules, 0 quiet hours, 3 teams in order/);
  const r = await api('/api/v1/escalation-rules', await token(SECOND));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.rules.map((x) => [x.position, x.on, x.target, x.action, x.to_team, x.notify, x.service, x.priority]), [
    [0, 'breach', 'response', 'functional', null, null, null, null],
    [1, 'breach', null, 'hierarchical', null, 'lead', null, null],
    [2, 'warning', null, 'functional', 'specialists', null, 'fast', 1],
  ]);
  assert.deepEqual(r.body.quiet_hours, []);
  // a requester may not read the rules
  const rq = await Client.open();
  const hello = await rq.request({ type: 'hello', name: '旁观者' });
  assert.equal((await rq.request({ type: 'message', text: '我只是看看' })).type, 'ack');
  assert.equal((await api('/api/v1/escalation-rules', hello.session)).status, 403);
  assert.equal((await api('/api/v1/escalation-rules')).status, 401);
  rq.close();
  // an address that is not one is refused
  const e = await chatdesk(['agent-email', ASSIGNEE.username, 'not an address']);
  assert.equal(e.code, 3, e.stderr);
});

test('warning then breach reach the assignee, a mail reaches the sink, the breach moves the ticket to the next team', { timeout: 120000 }, async () => {
  const holder = await agentSocket(ASSIGNEE);
  const lead = await agentSocket(LEAD);
  const second = await agentSocket(SECOND);
  const outsider = await agentSocket(OUTSIDER);
  const leadToken = await token(LEAD);
  const { rq, t } = await heldTicket(leadToken, '打印机一直卡纸');
  const is = (type, target) => (f) => f.type === type && f.ticket === t.number && f.target === target;

  const w = await holder.wait(is('sla_warning', 'response'), 'the response warning at the assignee');
  assert.deepEqual([w.why, w.assigned, w.due], ['assignee', true, t.response_due]);
  const b = await holder.wait(is('sla_breach', 'response'), 'the response breach at the assignee');
  assert.equal(b.why, 'assignee');
  // the lead of first-line heard of both; second-line of the breach (the ticket is theirs now)
  assert.equal((await lead.wait(is('sla_warning', 'response'), 'warning at the lead')).why, 'lead');
  await lead.wait(is('sla_breach', 'response'), 'breach at the lead');
  assert.equal((await second.wait(is('sla_breach', 'response'), 'breach at second-line')).why, 'team');
  assert.equal(second.frames.filter(is('sla_warning', 'response')).length, 0, 'second-line was not told of the warning');

  // the mails: the assignee's warning and breach, the lead's escalation
  const warnMail = await until('the warning mail at the sink', async () => (await mails()).find((m) =>
    m.rcpt.includes(ASSIGNEE.email) && m.subject.includes(t.number) && /response deadline near/.test(m.subject)));
  assert.match(warnMail.body, new RegExp(`Ticket ${t.number} \\(service fast, priority 3\\)`));
  assert.match(warnMail.body, /http:\/\/desk\.example\.cn/);
  await until('the breach mail at the sink', async () => (await mails()).find((m) =>
    m.rcpt.includes(ASSIGNEE.email) && m.subject.includes(t.number) && /deadline missed/.test(m.subject)));
  await until('the escalation mail to the lead', async () => (await mails()).find((m) =>
    m.rcpt.includes(LEAD.email) && m.subject.includes(`Escalation: ticket ${t.number} response breach`)));

  // the functional escalation: a transfer by the system with its event
  const tok = await token(SECOND);
  const ev = await api(`/api/v1/tickets/${t.number}/events`, tok);
  assert.equal(ev.status, 200, ev.text);
  const tr = ev.body.events.filter((e) => e.type === 'transferred');
  assert.equal(tr.length, 1, ev.text); // the lead's hand-over was an "assigned" event
  assert.deepEqual([tr[0].by, tr[0].detail.reason, tr[0].detail.from_team, tr[0].detail.to_team, tr[0].detail.from_agent, tr[0].to],
    [null, 'SLA breach escalation', 'first-line', 'second-line', ids.holder, 'new']);
  const tk = await api(`/api/v1/tickets/${t.number}`, tok);
  assert.deepEqual([tk.body.team, tk.body.agent], ['second-line', null]);
  const q = await second.request({ type: 'queue' });
  assert.ok(q.tickets.some((x) => x.number === t.number), 'in second-line\'s queue');

  // each threshold once: the resolution warning comes later; meanwhile the
  // response marks were not sent again
  await second.wait(is('sla_warning', 'resolution'), 'the resolution warning at second-line', { ms: 60000 });
  for (const c of [holder, lead])
    for (const type of ['sla_warning', 'sla_breach'])
      assert.equal(c.frames.filter(is(type, 'response')).length, 1, `${type} once`);
  const rows = await sql("SELECT count(*) FROM mail_outbox m JOIN tickets t ON t.id = m.ticket_id WHERE t.number = $1 AND m.to_addr = $2 AND m.kind = 'sla_warning'",
    t.number, ASSIGNEE.email);
  assert.equal(rows[0][0], '1');
  // nobody outside: the specialist and the requester got no frame of it
  assert.equal(outsider.frames.filter((f) => f.ticket === t.number && String(f.type).startsWith('sla_')).length, 0);
  assert.equal(rq.frames.filter((f) => String(f.type).startsWith('sla_')).length, 0);
  assert.ok(!(await mails()).some((m) => m.rcpt.includes(OUTSIDER.email)), 'no mail to the outsider');
  for (const c of [holder, lead, second, outsider, rq]) c.close();
});

test('quiet hours: the frame still comes, the mail waits in the outbox until they end', { timeout: 90000 }, async () => {
  // quiet hours on the ticket's calendar from an hour ago to an hour ahead (local +08:00)
  const local = (d) => new Date(d + 8 * 3600 * 1000).toISOString().slice(11, 16);
  const now = Date.now();
  const quiet = { ...RULES, rules: [], quiet_hours: [{ calendar: 'fast-7x24', from: local(now - 3600e3), to: local(now + 3600e3) }] };
  const file = path.join(tmp, 'quiet.json');
  await writeFile(file, JSON.stringify(quiet));
  assert.match(await mustRun(CHATDESK, ['escalation-load', file, '--db', conninfo]), /0 rules, 1 quiet hours/);
  const listed = await api('/api/v1/escalation-rules', await token(LEAD));
  assert.deepEqual(listed.body.quiet_hours, quiet.quiet_hours.map((x) => ({ calendar: 'fast-7x24', ...x })));

  const holder = await agentSocket(ASSIGNEE);
  const { rq, t } = await heldTicket(await token(LEAD), '会议室投影仪没有信号');
  const w = await holder.wait((f) => f.type === 'sla_warning' && f.ticket === t.number && f.target === 'response', 'the warning frame in quiet hours');
  assert.equal(w.why, 'assignee');
  const rows = await sql("SELECT m.status, m.attempts, extract(epoch FROM m.next_attempt_at)::bigint FROM mail_outbox m JOIN tickets t ON t.id = m.ticket_id WHERE t.number = $1 AND m.to_addr = $2 AND m.kind = 'sla_warning'",
    t.number, ASSIGNEE.email);
  assert.equal(rows.length, 1, JSON.stringify(rows));
  const [status, attempts, next] = rows[0];
  assert.deepEqual([status, attempts], ['queued', '0']);
  // held until the quiet hours end: about an hour from now (the interval is in whole minutes)
  const end = Math.floor((now + 3600e3) / 60000) * 60;
  assert.ok(Math.abs(Number(next) - end) <= 60, `next attempt ${next}, quiet hours end ${end}`);
  // (the assignment mail of 017_hooks may go out: it is not an SLA mark)
  assert.ok(!(await mails()).some((m) => m.subject.includes(t.number) && m.subject.startsWith('[SLA]')),
    'no SLA mail sent for it');
  holder.close();
  rq.close();
});
