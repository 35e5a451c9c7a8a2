// End-to-end test of major incidents (KB_BIN selects the binaries folder):
// a real PostgreSQL 15 (scripts/pg.sh, fsync off), chatdesk with
// --sla-interval 1, a real SMTP sink (scripts/mailsink.py, aiosmtpd on
// 127.0.0.1), agents in teams with addresses, real WebSocket clients and
// the JSON API.
//  1. A team lead declares a requester's ticket a major incident: the lead
//     and the service owner team get a major_incident frame and a mail
//     (though quiet hours cover now), a plain agent and an agent of another
//     team get neither; the requester gets the banner; a second requester's
//     ticket linked to it shows the banner (frame, ticket JSON, my tickets);
//     a third requester sees none. Refused from the side of those who must
//     not: a requester (declare, read, link), a plain agent (declare,
//     clear), an agent of another team (link); bad bodies and bad links
//     change nothing. Clearing takes the banner away.
//  2. An SLA warning of a major incident's ticket is mailed at once inside
//     quiet hours; the same warning of an ordinary ticket waits for their
//     end.
//  3. The priority rule (escalation-load "major_priority": 1): a priority-1
//     ticket becomes a major incident by itself, once, with its event.
// No sleeps: every wait is for a frame, a file, a row or an answer, bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT, mustRun } from './daemon.mjs';
import { deskFixture, startDesk, stopDesk } from './deskfix.mjs';

const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const CHATDESK = path.join(BIN, 'chatdesk');
const WAIT = 30000; // ms: the sanitizer build is slow
const PW = 'major incident password 1';
const LEAD = { username: 'mlead', email: 'mlead@example.cn' };
const OWNER = { username: 'mowner', email: 'mowner@example.cn' };
const PLAIN = { username: 'mplain', email: 'mplain@example.cn' };
const OUTSIDER = { username: 'moutsider', email: 'moutsider@example.cn' };

// 7x24, the service owned by second-line; response 12 s (warning at 6 s)
const FAST = {
  calendars: [{ name: 'fast-7x24', tz: 'Asia/Shanghai', always: true }],
  services: [{ name: 'fast', title: 'fast test service', calendar: 'fast-7x24', default: true,
    owner_team: 'second-line' }],
  policies: [1, 2, 3, 4].map((p) => ({ service: 'fast', priority: p, response_minutes: 0.2,
    resolve_minutes: 5, warn_percent: 50 })),
};

// quiet hours over now on the calendar's clock (UTC+8), an hour either side
function quietNow() {
  const m = (new Date().getUTCHours() * 60 + new Date().getUTCMinutes() + 480) % 1440;
  const hhmm = (x) => `${String(Math.floor(((x + 1440) % 1440) / 60)).padStart(2, '0')}:${String((x + 1440) % 60).padStart(2, '0')}`;
  return [{ calendar: 'fast-7x24', from: hhmm(m - 60), to: hhmm(m + 60) }];
}

const d = {};
let tmp, conninfo;
const ids = {};

// ---- helpers (tests/e2e/deskfix.mjs) ------------------------------------------------

const { sql, until, mails, api, token, agentSocket, requesterTicket, chatdesk } =
  deskFixture(WAIT, () => d, PW);

// A requester's new ticket: { rq, t, hello }; with team, handed to first-line.
async function newTicket(name, text, { impact = 2, urgency = 2, team, leadToken } = {}) {
  const { rq, t, hello } = await requesterTicket(name, text, { impact, urgency });
  if (team) {
    const tr = await api(`/api/v1/tickets/${t.number}/transfer`, leadToken, 'POST', { team, reason: '分派' });
    assert.equal(tr.status, 200, tr.text);
  }
  return { rq, t, hello };
}

const mailsTo = async (addr, number) => (await mails()).filter((m) => m.rcpt.includes(addr) && m.subject.includes(number));

// ---- setup ------------------------------------------------------------------------------

before(async () => {
  await startDesk(d, 'kbmajor', {
    agents: [[LEAD, 'first-line'], [PLAIN, 'first-line'], [OWNER, 'second-line'], [OUTSIDER, 'specialists']]
      .map(([who, team]) => ({ ...who, team, role: who === LEAD ? 'team_lead' : undefined })),
    password: PW, sla: FAST, escalation: { rules: [], quiet_hours: quietNow() }, mail: {},
    args: ['--sla-interval', '1'], wait: WAIT,
  });
  ({ tmp, conninfo } = d);
}, { timeout: 180000 });

after(() => stopDesk(d), { timeout: 60000 });

// ---- tests ------------------------------------------------------------------------------

test('declare, link, banner, clear; refused from the side of those who must not', { timeout: 120000 }, async () => {
  const lead = await token(LEAD), plain = await token(PLAIN), outsider = await token(OUTSIDER);
  const leadWs = await agentSocket(LEAD), ownerWs = await agentSocket(OWNER);
  const plainWs = await agentSocket(PLAIN), outsiderWs = await agentSocket(OUTSIDER);
  const a = await newTicket('甲', '整栋楼无法上网', { team: 'first-line', leadToken: lead });
  const b = await newTicket('乙', '我这里也上不了网', { team: 'first-line', leadToken: lead });
  const c = await newTicket('丙', '打印机缺纸');
  const major = `/api/v1/tickets/${a.t.number}/major`;

  // refusals: nothing is written
  for (const [who, body, status, code] of [
    [a.hello.session, { reason: '断网' }, 403, 'forbidden'],      // a requester, even their own ticket
    [plain, { reason: '断网' }, 403, 'forbidden'],                // an agent who is not a lead
    [outsider, { reason: '断网' }, 403, 'forbidden'],
    [lead, {}, 400, 'bad_field'],
    [lead, { reason: '断网', colour: 'red' }, 400, 'bad_field'],
    [lead, { reason: 5 }, 400, 'bad_field'],
    [lead, { reason: '   ' }, 422, 'invalid'],
    [lead, { reason: 'x'.repeat(501) }, 422, 'invalid'],
  ]) {
    const r = await api(major, who, 'POST', body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.body.error.code, code, r.text);
  }
  assert.equal((await api('/api/v1/tickets/INC-999999/major', lead, 'POST', { reason: 'x' })).status, 404);
  assert.equal((await api(major, a.hello.session)).status, 403); // a requester does not read it
  assert.equal((await api(major, plain)).body.major, false);
  assert.equal((await sql("SELECT count(*) FROM major_incidents"))[0][0], '0');

  // the lead declares it
  const d = await api(major, lead, 'POST', { reason: '全楼断网', message: '网络中断，工程师正在处理' });
  assert.equal(d.status, 201, d.text);
  assert.equal(d.body.major, true);
  assert.equal(d.body.declared_by, LEAD.username);
  const fl = await leadWs.wait((f) => f.type === 'major_incident' && f.ticket === a.t.number, 'lead told');
  assert.deepEqual([fl.event, fl.why, fl.by_rule], ['declared', 'lead', false]);
  const fo = await ownerWs.wait((f) => f.type === 'major_incident' && f.ticket === a.t.number, 'owner told');
  assert.equal(fo.why, 'owner');
  const ban = await a.rq.wait((f) => f.type === 'major_banner', 'banner to the requester');
  assert.deepEqual([ban.ticket, ban.major.ticket, ban.major.message], [a.t.number, a.t.number, '网络中断，工程师正在处理']);
  // the plain agent and the outsider hear of it in the queue only
  for (const ws of [plainWs, outsiderWs])
    await ws.wait((f) => f.type === 'major_update' && f.event === 'major_declared' && f.ticket === a.t.number, 'queue_update');
  assert.ok(!plainWs.frames.some((f) => f.type === 'major_incident'));
  assert.ok(!outsiderWs.frames.some((f) => f.type === 'major_incident'));
  // mails at once (quiet hours cover now) to the lead and the owner team only
  // (other mails about the ticket, e.g. 017_hooks' team mail, are not the major incident's)
  const majorTo = async (addr) => (await mailsTo(addr, a.t.number)).filter((x) => /Major incident/.test(x.subject));
  await until('major mails', async () => (await majorTo(LEAD.email)).length && (await majorTo(OWNER.email)).length);
  const m = (await majorTo(LEAD.email))[0];
  assert.match(m.body, /全楼断网/);
  assert.equal((await majorTo(PLAIN.email)).length, 0);
  assert.equal((await majorTo(OUTSIDER.email)).length, 0);
  // declaring again changes nothing
  assert.equal((await api(major, lead, 'POST', { reason: 'again' })).status, 200);
  assert.deepEqual(await sql("SELECT type, actor_id IS NOT NULL FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id WHERE t.number = $1 AND type LIKE 'major%'", a.t.number),
    [['major_declared', 't']]);

  // links: refused to a requester and to an agent of another team; bad links
  const links = `${major}/links`;
  assert.equal((await api(links, b.hello.session, 'POST', { ticket: b.t.number })).status, 403);
  assert.equal((await api(links, outsider, 'POST', { ticket: b.t.number })).status, 403);
  assert.equal((await api(links, plain, 'POST', { ticket: b.t.number, x: 1 })).status, 400);
  assert.equal((await api(links, plain, 'POST', { ticket: a.t.number })).status, 422);   // itself
  assert.equal((await api(`/api/v1/tickets/${c.t.number}/major/links`, lead, 'POST', { ticket: b.t.number })).status, 422); // not a major incident
  assert.equal((await api(links, plain, 'POST', { ticket: 'INC-999999' })).status, 404);
  // a plain agent of the ticket's team links it
  const l = await api(links, plain, 'POST', { ticket: b.t.number });
  assert.equal(l.status, 201, l.text);
  assert.deepEqual(l.body.linked.map((x) => x.ticket), [b.t.number]);
  assert.equal((await api(links, plain, 'POST', { ticket: b.t.number })).status, 200); // again: nothing new
  const bb = await b.rq.wait((f) => f.type === 'major_banner' && f.major, 'banner to the linked requester');
  assert.equal(bb.major.ticket, a.t.number);
  const mine = await api('/api/v1/me/tickets', b.hello.session);
  assert.equal(mine.status, 200, mine.text);
  assert.equal(mine.body.tickets.find((x) => x.number === b.t.number).major.ticket, a.t.number);
  // the third requester sees no banner, and their ticket carries none
  const theirs = await api('/api/v1/me/tickets', c.hello.session);
  assert.equal(theirs.body.tickets[0].major, null);
  assert.ok(!c.rq.frames.some((f) => f.type === 'major_banner'));
  // a requester cannot read another's ticket to learn of it
  assert.ok([403, 404].includes((await api(`/api/v1/tickets/${b.t.number}`, c.hello.session)).status));

  // clearing: not by a plain agent; by the lead, and the banners go
  assert.equal((await api(major, plain, 'DELETE')).status, 403);
  const cl = await api(major, lead, 'DELETE');
  assert.equal(cl.status, 200, cl.text);
  assert.equal(cl.body.major, false);
  await a.rq.wait((f) => f.type === 'major_banner' && f.major === null, 'banner cleared (own)');
  await b.rq.wait((f) => f.type === 'major_banner' && f.major === null, 'banner cleared (linked)');
  assert.equal((await api(major, lead, 'DELETE')).status, 422); // not one now
  assert.equal((await api('/api/v1/me/tickets', b.hello.session)).body.tickets[0].major, null);
  assert.deepEqual((await sql("SELECT e.type FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id WHERE t.number IN ($1, $2) AND e.type LIKE 'major%' ORDER BY e.id", a.t.number, b.t.number)).flat(),
    ['major_declared', 'major_linked', 'major_cleared']);
  for (const ws of [leadWs, ownerWs, plainWs, outsiderWs, a.rq, b.rq, c.rq]) ws.close();
});

test('inside quiet hours, an SLA warning of a major incident is mailed at once, an ordinary one waits', { timeout: 120000 }, async () => {
  const lead = await token(LEAD);
  const m = await newTicket('丁', '机房断电', { team: 'first-line', leadToken: lead });
  const o = await newTicket('戊', '鼠标失灵', { team: 'first-line', leadToken: lead });
  assert.equal((await api(`/api/v1/tickets/${m.t.number}/major`, lead, 'POST', { reason: '机房断电' })).status, 201);
  // both response warnings (6 s) are marked; the lead is told of each
  const due = async (n) => sql("SELECT extract(epoch FROM o.next_attempt_at - o.created_at)::int FROM mail_outbox o JOIN tickets t ON t.id = o.ticket_id JOIN people p ON p.id = o.person_id WHERE t.number = $1 AND o.kind = 'sla_warning' AND p.username = $2", n, LEAD.username);
  await until('both warnings queued', async () => (await due(m.t.number)).length && (await due(o.t.number)).length);
  assert.ok(Number((await due(m.t.number))[0][0]) <= 1, 'the major incident\'s warning is due at once');
  assert.ok(Number((await due(o.t.number))[0][0]) > 60, 'the ordinary warning waits for the quiet hours\' end');
  await until('the major warning mailed', async () => (await mails()).some((x) => x.rcpt.includes(LEAD.email) && x.subject.includes(m.t.number) && x.subject.includes('[SLA]')));
  assert.ok(!(await mails()).some((x) => x.subject.includes(o.t.number) && x.subject.includes('[SLA]')));
  m.rq.close(); o.rq.close();
});

test('the priority rule declares a priority-1 ticket by itself, once', { timeout: 120000 }, async () => {
  const esc = path.join(tmp, 'esc2.json');
  await writeFile(esc, JSON.stringify({ rules: [], major_priority: 7 }));
  const bad = await chatdesk(['escalation-load', esc]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /major_priority is 1\.\.4/);
  await writeFile(esc, JSON.stringify({ rules: [], major_priority: 1 }));
  assert.match(await mustRun(CHATDESK, ['escalation-load', esc, '--db', conninfo]), /priority 1 and more urgent: major incidents/);
  const leadWs = await agentSocket(LEAD);
  const p3 = await newTicket('己', '键盘有个键松了');
  const p1 = await newTicket('庚', '全公司邮件系统宕机', { impact: 1, urgency: 1 });
  assert.equal(p1.t.priority, 1);
  const f = await leadWs.wait((x) => x.type === 'major_incident' && x.ticket === p1.t.number, 'rule declaration');
  assert.equal(f.by_rule, true);
  await p1.rq.wait((x) => x.type === 'major_banner' && x.major && x.major.ticket === p1.t.number, 'banner by rule');
  // wait two more timer runs: still one declaration, and nothing for the priority-3 ticket
  const runs = async () => Number((await sql("SELECT count(*) FROM ticket_events WHERE type = 'sla_warning'"))[0][0]);
  const before = await runs();
  await until('the timer ran again', async () => (await runs()) > before);
  assert.deepEqual(await sql("SELECT e.actor_id IS NULL, e.detail->>'reason' FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id WHERE t.number = $1 AND e.type = 'major_declared'", p1.t.number),
    [['t', 'priority 1']]);
  assert.equal((await sql("SELECT count(*) FROM major_incidents mi JOIN tickets t ON t.id = mi.ticket_id WHERE t.number = $1", p3.t.number))[0][0], '0');
  for (const ws of [leadWs, p1.rq, p3.rq]) ws.close();
});
