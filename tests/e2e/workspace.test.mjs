// End-to-end tests of the agents' workspace (teams and roles, the ticket
// list and its text search, edits, internal notes, transfers; README "The
// agents' workspace") through the real daemon: the JSON API and the
// WebSocket, a real PostgreSQL 15 (scripts/pg.sh, fsync off), a real index
// of corpora/, agents and teams made with the chatdesk commands. Permissions
// are checked from the side of whoever must not see: a requester (WebSocket
// frames, catch-up, transcript, API) and an agent outside the ticket's team.
// A change made through the API (edit, transfer, merge) reaches the open
// pages as one made over the WebSocket does: queue_update to the agents,
// the ticket frame to its requester; a note, over either, reaches every
// agent's connections and no requester's.
// No sleeps: every wait is for an answer, bounded in time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { run, mustRun } from './daemon.mjs';
import { startDesk, deskClientOf } from './deskfix.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const CHATDESK = path.join(BIN, 'chatdesk');
const WAIT = 20000; // ms: the sanitizer build is slow
const AGENT = { username: 'agent', password: 'demo agent pw 1' };
const MEMBER = { username: 'member', password: 'member agent pw 1' };
const OUTSIDER = { username: 'outsider', password: 'outsider agent pw 1' };

const d = {};
let conninfo;

// the API and WebSocket clients of the desk in d (tests/e2e/deskfix.mjs)
const { api, assertError, login, wsOpen, wsRequest, wsWait, wsClose, wsLogin, stop } = deskClientOf(d, AGENT, WAIT);

// A requester with a ticket raised from messages: { c, session, number, conversation }.
let people = 0;
async function requesterWithTicket(messages) {
  const c = await wsOpen();
  const w = await wsRequest(c, { type: 'hello', name: `工作台用户${++people}` });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  for (const text of messages) assert.equal((await wsRequest(c, { type: 'message', text })).type, 'ack');
  const t = await wsRequest(c, { type: 'escalate', impact: 2, urgency: 2 });
  assert.equal(t.type, 'ticket', JSON.stringify(t));
  return { c, session: w.session, number: t.number };
}

const chatdesk = (args) => run(CHATDESK, [...args, '--db', conninfo]);

before(async () => {
  await startDesk(d, 'kbwork', {
    agents: [{ ...AGENT, name: '演示坐席' }, { ...MEMBER, name: '二线坐席' }, { ...OUTSIDER, name: '外组坐席' }], wait: WAIT,
  });
  ({ conninfo } = d);
}, { timeout: 180000 });

after(stop, { timeout: 60000 });

test('teams and roles: the commands, GET /api/v1/teams and /api/v1/people; requesters get 403', { timeout: 60000 }, async () => {
  let r = await chatdesk(['team-member', MEMBER.username, 'second-line']);
  assert.equal(r.code, 0, r.stderr);
  r = await chatdesk(['team-member', OUTSIDER.username, 'specialists']);
  assert.equal(r.code, 0, r.stderr);
  r = await chatdesk(['team-add', 'network', '网络组', 'Network']);
  assert.equal(r.code, 0, r.stderr);
  r = await chatdesk(['team-add', 'network', '又一个']);
  assert.equal(r.code, 3, 'a slug taken');
  assert.match(r.stderr, /exists already/);
  r = await chatdesk(['role', MEMBER.username, 'team_lead']);
  assert.equal(r.code, 0, r.stderr);
  r = await chatdesk(['role', MEMBER.username, 'emperor']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /unknown role/);
  r = await chatdesk(['team-member', 'nobody', 'second-line']);
  assert.equal(r.code, 3);
  r = await chatdesk(['team-member', MEMBER.username, 'nowhere']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /no team/);

  const token = await login();
  const teams = await api('GET', '/api/v1/teams', { token });
  assert.equal(teams.status, 200, teams.text);
  const bySlug = Object.fromEntries(teams.body.teams.map((t) => [t.slug, t]));
  assert.deepEqual(['first-line', 'second-line', 'specialists', 'network'].map((s) => bySlug[s]?.name),
    ['一线', '二线', '专家', '网络组']);
  assert.equal(bySlug['first-line'].name_en, 'First line');
  assert.deepEqual(bySlug['second-line'].members.map((m) => m.name), ['二线坐席']);
  const agents = await api('GET', '/api/v1/people?role=agent', { token });
  assert.equal(agents.status, 200, agents.text);
  assert.deepEqual(agents.body.people.map((p) => p.username).sort(), ['agent', 'member', 'outsider']);
  const leads = await api('GET', '/api/v1/people?role=team_lead', { token });
  assert.deepEqual(leads.body.people.map((p) => [p.username, p.teams, p.roles]),
    [['member', ['second-line'], ['agent', 'team_lead']]]);
  assertError(await api('GET', '/api/v1/people?role=pope', { token }), 400, 'bad_query');

  const { session } = await requesterWithTicket(['我的键盘坏了']);
  assertError(await api('GET', '/api/v1/teams', { token: session }), 403, 'forbidden');
  assertError(await api('GET', '/api/v1/people?role=agent', { token: session }), 403, 'forbidden');
  assertError(await api('GET', '/api/v1/tickets', { token: session }), 403, 'forbidden');
});

test('audit: the role and team commands and the reads of person records leave audit rows; a refused command none', { timeout: 60000 }, async () => {
  // (the commands of the previous test ran; the reads of /api/v1/people too)
  const q = async (query) => (await mustRun('/usr/lib/postgresql/15/bin/psql',
    ['-X', '-At', '-d', conninfo, '-c', query])).trim();
  const rows = async (type, id) => (await q(`SELECT action || ' ' || (detail->>'change') FROM audit_log
    WHERE object_type = '${type}' AND object_id = '${id}' ORDER BY id`)).split('\n').filter(Boolean);
  assert.deepEqual(await rows('role', 'member'), ['change granted team membership second-line',
    'change granted role team_lead']);
  assert.deepEqual(await rows('role', 'outsider'), ['change granted team membership specialists']);
  assert.deepEqual(await rows('setting', 'network'), ['change team created']);
  // useradd made the accounts: each an audit row
  assert.deepEqual(await rows('person', 'member'), ['change agent account created']);
  // a refused command (unknown role) wrote nothing
  assert.equal(await q(`SELECT count(*) FROM audit_log WHERE detail->>'change' LIKE '%emperor%'`), '0');
  // reading person records: one row per answered read, with the filter, by the agent
  const before = Number(await q(`SELECT count(*) FROM audit_log WHERE object_type = 'person' AND object_id = 'list'`));
  const token = await login();
  const got = await api('GET', '/api/v1/people?role=agent', { token });
  assert.equal(got.status, 200, got.text);
  assertError(await api('GET', '/api/v1/people?role=pope', { token }), 400, 'bad_query');
  assert.equal(Number(await q(`SELECT count(*) FROM audit_log WHERE object_type = 'person' AND object_id = 'list'`)), before + 1);
  assert.equal(await q(`SELECT action || ' ' || actor_role || ' ' || (detail->>'role') || ' ' || (detail->>'count')
    FROM audit_log WHERE object_type = 'person' AND object_id = 'list' ORDER BY id DESC LIMIT 1`),
  `read agent agent ${got.body.people.length}`);
  // the chain still verifies
  const v = await run(path.join(BIN, 'chatdesk'), ['audit', 'verify', '--db', conninfo]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
});

test('a closed ticket is found by a Chinese word of its messages and an English product name, not by a word it lacks', { timeout: 60000 }, async () => {
  const u = await requesterWithTicket(['会议室的投影仪没有信号', '另外 Photoshop 打开就闪退']);
  const a = await wsLogin(AGENT);
  assert.equal((await wsRequest(a, { type: 'take', ticket: u.number })).type, 'ticket');
  assert.equal((await wsRequest(a, { type: 'resolve', ticket: u.number, resolution: '换了 HDMI 线' })).type, 'ticket');
  const cf = await wsRequest(u.c, { type: 'confirm', ticket: u.number, accepted: true });
  assert.notEqual(cf.type, 'error', JSON.stringify(cf));
  const token = await login();
  const got = await api('GET', `/api/v1/tickets/${u.number}`, { token });
  assert.equal(got.body.status, 'closed');

  const find = async (q, extra = '') => {
    const r = await api('GET', `/api/v1/tickets?q=${encodeURIComponent(q)}${extra}`, { token });
    assert.equal(r.status, 200, r.text);
    return r.body.tickets.map((t) => t.number);
  };
  assert.ok((await find('投影仪')).includes(u.number), 'a Chinese word from a message');
  assert.ok((await find('photoshop')).includes(u.number), 'an English product name');
  assert.ok((await find('Photoshop', '&status=closed')).includes(u.number));
  assert.ok(!(await find('打印机')).includes(u.number), 'a word the ticket does not hold');
  assert.ok(!(await find('photoshop', '&status=new,assigned')).includes(u.number));
  // a bad query is 400 with what is wrong
  assertError(await api('GET', '/api/v1/tickets?priority=9', { token }), 400, 'bad_query');
  assertError(await api('GET', '/api/v1/tickets?sort=sideways', { token }), 400, 'bad_query');
  assertError(await api('GET', '/api/v1/tickets?after=zz', { token }), 400, 'bad_query');
  assertError(await api('GET', '/api/v1/tickets?created_from=2026-13-01', { token }), 400, 'bad_query');
});

test('the list pages by cursor over every ticket, each once', { timeout: 60000 }, async () => {
  const token = await login();
  const seen = [];
  let after = null;
  for (let page = 0; page < 50; page++) {
    const r = await api('GET', `/api/v1/tickets?sort=created&limit=1${after ? `&after=${after}` : ''}`, { token });
    assert.equal(r.status, 200, r.text);
    seen.push(...r.body.tickets.map((t) => t.number));
    after = r.body.next;
    if (!after) break;
  }
  const all = await api('GET', '/api/v1/tickets?sort=created&limit=100', { token });
  assert.deepEqual(seen, all.body.tickets.map((t) => t.number));
  assert.equal(new Set(seen).size, seen.length);
  assert.ok(seen.length >= 2);
});

test('PATCH edits fields, one event each, priority from the matrix; requesters get 404', { timeout: 60000 }, async () => {
  const u = await requesterWithTicket(['邮件发不出去']);
  const token = await login();
  const watcher = await wsLogin(MEMBER); // another agent with the desk open
  const before = (await api('GET', `/api/v1/tickets/${u.number}`, { token })).body;
  assert.notEqual(before.category, '邮件/发送');
  const r = await api('PATCH', `/api/v1/tickets/${u.number}`, { token, json: { impact: 1, urgency: 1, category: '邮件/发送' } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.priority, r.body.impact, r.body.urgency, r.body.category], [1, 1, 1, '邮件/发送']);
  // the open pages are told, as for a change over the WebSocket
  const qu = await wsWait(watcher, (f) => f.type === 'queue_update' && f.event === 'edited' && f.ticket.number === u.number, 'queue_update edited');
  assert.deepEqual([qu.ticket.priority, qu.ticket.category], [1, '邮件/发送']);
  const seen = await wsWait(u.c, (f) => f.type === 'ticket' && f.number === u.number && f.priority === 1, 'the ticket on the requester\'s page');
  assert.equal(seen.category, '邮件/发送');
  const ev = await api('GET', `/api/v1/tickets/${u.number}/events`, { token });
  const edits = ev.body.events.filter((e) => e.type === 'edited').map((e) => [e.detail.field, e.detail.from, e.detail.to, e.by]);
  assert.deepEqual(edits, [['category', before.category, '邮件/发送', '演示坐席'], ['impact', 2, 1, '演示坐席'],
    ['urgency', 2, 1, '演示坐席'], ['priority', 3, 1, '演示坐席']]);
  // over the WebSocket too
  const a = await wsLogin(AGENT);
  const w = await wsRequest(a, { type: 'edit', ticket: u.number, summary: 'Outlook 邮件发不出去' });
  assert.equal(w.type, 'ticket', JSON.stringify(w));
  assert.equal(w.summary, 'Outlook 邮件发不出去');
  // bad values change nothing
  assertError(await api('PATCH', `/api/v1/tickets/${u.number}`, { token, json: { impact: 4 } }), 400, 'bad_field');
  // priority (and service) go alone, to the service level: not mixed with fields,
  // and refused while no SLA data is loaded
  assertError(await api('PATCH', `/api/v1/tickets/${u.number}`, { token, json: { priority: 1, impact: 2 } }), 400, 'bad_field');
  assertError(await api('PATCH', `/api/v1/tickets/${u.number}`, { token, json: { priority: 1 } }), 422, 'invalid');
  assertError(await api('PATCH', `/api/v1/tickets/${u.number}`, { token, json: { summary: '   ' } }), 400, 'bad_field');
  // the requester: 404 on PATCH, their own ticket or not
  assertError(await api('PATCH', `/api/v1/tickets/${u.number}`, { token: u.session, json: { impact: 3 } }), 404, 'not_found');
  const after = await api('GET', `/api/v1/tickets/${u.number}/events`, { token });
  assert.equal(after.body.events.filter((e) => e.type === 'edited').length, 5);
});

test('an edit that started from a value someone else changed meanwhile is refused, WebSocket and API; nothing is written', { timeout: 60000 }, async () => {
  const u = await requesterWithTicket(['共享盘 Z: 打不开']);
  const token = await login();
  const start = (await api('GET', `/api/v1/tickets/${u.number}`, { token })).body;
  const a = await wsLogin(AGENT);
  const m = await wsLogin(MEMBER);
  // the colleague sets the category first, from the same starting values
  const first = await wsRequest(m, { type: 'edit', ticket: u.number, category: '存储/共享盘', was: { category: start.category } });
  assert.equal(first.type, 'ticket', JSON.stringify(first));
  // the agent's save of the category and impact, from the old values: refused whole
  const refused = await wsRequest(a, { type: 'edit', ticket: u.number, category: '网络', impact: 1,
    was: { category: start.category, impact: start.impact } });
  assert.equal(refused.type, 'error', JSON.stringify(refused));
  assert.equal(refused.code, 'conflict');
  assert.equal(refused.field, 'category');
  assert.match(refused.message, /category \(now "存储\/共享盘"\)/);
  let now = (await api('GET', `/api/v1/tickets/${u.number}`, { token })).body;
  assert.deepEqual([now.category, now.impact], ['存储/共享盘', start.impact]);
  // the same through the API: 409 in the error shape
  assertError(await api('PATCH', `/api/v1/tickets/${u.number}`, { token,
    json: { summary: '共享盘打不开', category: '网络', was: { summary: '别的摘要', category: start.category } } }), 409, 'conflict');
  assertError(await api('PATCH', `/api/v1/tickets/${u.number}`, { token, json: { impact: 1, was: { impact: 7 } } }), 400, 'bad_field');
  now = (await api('GET', `/api/v1/tickets/${u.number}`, { token })).body;
  assert.deepEqual([now.summary, now.category, now.impact], [start.summary, '存储/共享盘', start.impact]);
  const edits = (await api('GET', `/api/v1/tickets/${u.number}/events`, { token })).body.events.filter((e) => e.type === 'edited');
  assert.deepEqual(edits.map((e) => [e.detail.field, e.by]), [['category', '二线坐席']]);
  // saving again from the values now replaces them on purpose
  const r = await api('PATCH', `/api/v1/tickets/${u.number}`, { token, json: { category: '网络', was: { category: '存储/共享盘' } } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.category, '网络');
  // without "was" an edit applies as before
  const plain = await wsRequest(a, { type: 'edit', ticket: u.number, impact: 1 });
  assert.equal(plain.type, 'ticket', JSON.stringify(plain));
  assert.equal(plain.impact, 1);
});

test('agents who have the same ticket open are told of each other; leaving it, signing out or closing tells the rest', { timeout: 60000 }, async () => {
  const u = await requesterWithTicket(['投影仪连不上']);
  const other = await requesterWithTicket(['打印机卡纸']);
  const a = await wsLogin(AGENT);
  const m = await wsLogin(MEMBER);
  // the next such frame from now on (not one already received)
  const viewers = (c, number, names) => c.wait((f) => f.type === 'viewers' && f.ticket === number &&
    JSON.stringify(f.agents.map((x) => x.name).sort()) === JSON.stringify(names), `viewers of ${number}: ${names}`,
  { from: c.frames.length });
  // the first to open it sees nobody else; the second sees the first, and the first is told
  const alone = viewers(a, u.number, []);
  assert.equal((await wsRequest(a, { type: 'open', ticket: u.number })).type, 'transcript');
  await alone;
  const seesA = viewers(m, u.number, ['演示坐席']);
  const toldA = viewers(a, u.number, ['二线坐席']);
  assert.equal((await wsRequest(m, { type: 'open', ticket: u.number })).type, 'transcript');
  await seesA;
  await toldA;
  // the member opens another ticket: the agent is told that nobody else has it open
  const leftA = viewers(a, u.number, []);
  assert.equal((await wsRequest(m, { type: 'open', ticket: other.number })).type, 'transcript');
  await leftA;
  // back again, then closing the view ("leave", no answer) tells the agent too
  const backOnce = viewers(a, u.number, ['二线坐席']);
  assert.equal((await wsRequest(m, { type: 'open', ticket: u.number })).type, 'transcript');
  await backOnce;
  const leaving = viewers(a, u.number, []);
  m.send({ type: 'leave', ticket: u.number });
  await leaving;
  // back again, then the same person in a second tab: listed once, never to itself
  const back = viewers(a, u.number, ['二线坐席']);
  assert.equal((await wsRequest(m, { type: 'open', ticket: u.number })).type, 'transcript');
  await back;
  // a leave for a ticket it does not have open changes nothing: after both
  // round trips the agent has had no viewers frame
  const quiet = a.frames.length;
  m.send({ type: 'leave', ticket: other.number });
  await m.sync();
  await a.sync();
  assert.deepEqual(a.frames.slice(quiet).filter((f) => f.type === 'viewers'), [], 'nobody was told of the stray leave');
  const m2 = await wsLogin(MEMBER);
  const twice = viewers(m2, u.number, ['演示坐席']);
  assert.equal((await wsRequest(m2, { type: 'open', ticket: u.number })).type, 'transcript');
  await twice;
  // a requester never gets the frame, nor is listed: its own ticket opened
  const rq = await wsRequest(u.c, { type: 'open', ticket: u.number });
  assert.equal(rq.type, 'transcript', JSON.stringify(rq));
  // closing both of the member's connections tells the agent
  const closed = viewers(a, u.number, []);
  await wsClose(m);
  await wsClose(m2);
  await closed;
  assert.ok(!u.c.frames.some((f) => f.type === 'viewers'), 'the requester got no viewers frame');
});

test('a note never reaches the requester: frames, catch-up, transcript, API', { timeout: 60000 }, async () => {
  const u = await requesterWithTicket(['共享打印机不能用了']);
  const a = await wsLogin(AGENT);
  assert.equal((await wsRequest(a, { type: 'take', ticket: u.number })).type, 'ticket');
  const SECRET = '内部备注：机房钥匙在前台 sekritcode';
  const token = await login();
  const colleague = await wsLogin(MEMBER);
  const n = await api('POST', `/api/v1/tickets/${u.number}/notes`, { token, json: { text: SECRET } });
  assert.equal(n.status, 201, n.text);
  const wn = await wsRequest(a, { type: 'note', ticket: u.number, text: `${SECRET} (2)` });
  assert.equal(wn.type, 'note', JSON.stringify(wn));
  // a colleague with the desk open gets both notes as they are written
  const seen = [];
  for (const x of [SECRET, `${SECRET} (2)`])
    seen.push(await wsWait(colleague, (f) => f.type === 'note' && f.ticket === u.number && f.note.text === x, `note ${x}`));
  assert.deepEqual(seen.map((f) => [f.note.by, f.note.id]), [['演示坐席', n.body.id], ['演示坐席', wn.note.id]]);
  assert.ok(!('id' in seen[0]), 'the API\'s note carries no request id');
  // then a reply: once the requester has it, anything sent before it has arrived too
  await wsRequest(a, { type: 'reply', ticket: u.number, text: '正在处理' });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no reply reached the requester')), WAIT);
    const check = () => {
      if (u.c.frames.some((f) => f.type === 'message' && f.text === '正在处理')) { clearTimeout(timer); resolve(); }
    };
    u.c.waiters.push(check);
    check();
  });
  assert.ok(!JSON.stringify(u.c.frames).includes('sekritcode'), 'no frame to the requester holds the note');
  // the agent's transcript has the notes
  const at = await wsRequest(a, { type: 'open', ticket: u.number });
  assert.deepEqual(at.notes.map((x) => x.text), [SECRET, `${SECRET} (2)`]);
  assert.ok(at.events.some((e) => e.type === 'noted'));
  // the requester's transcript, catch-up after a reconnect, and API
  const rt = await wsRequest(u.c, { type: 'open', ticket: u.number });
  assert.equal(rt.type, 'transcript');
  assert.ok(!('notes' in rt));
  assert.ok(!rt.events.some((e) => e.type === 'noted'));
  assert.ok(!JSON.stringify(rt).includes('sekritcode'));
  const c2 = await wsOpen();
  const w2 = await wsRequest(c2, { type: 'hello', resume: { session: u.session, last_seq: 0 } });
  assert.equal(w2.type, 'welcome', JSON.stringify(w2));
  await wsRequest(c2, { type: 'open', ticket: u.number });
  assert.ok(!JSON.stringify(c2.frames).includes('sekritcode'));
  assertError(await api('GET', `/api/v1/tickets/${u.number}/notes`, { token: u.session }), 404, 'not_found');
  assertError(await api('POST', `/api/v1/tickets/${u.number}/notes`, { token: u.session, json: { text: 'x' } }), 404, 'not_found');
  const rev = await api('GET', `/api/v1/tickets/${u.number}/events`, { token: u.session });
  assert.equal(rev.status, 200, rev.text);
  assert.ok(!rev.text.includes('noted') && !rev.text.includes('sekritcode'));
  const rget = await api('GET', `/api/v1/tickets/${u.number}`, { token: u.session });
  assert.ok(!rget.text.includes('sekritcode'));
  const notes = await api('GET', `/api/v1/tickets/${u.number}/notes`, { token });
  assert.deepEqual(notes.body.notes.map((x) => x.text), [SECRET, `${SECRET} (2)`]);
  // and a requester asking over the WebSocket is refused
  const rn = await wsRequest(u.c, { type: 'note', ticket: u.number, text: 'x' });
  assert.equal(rn.code, 'forbidden');
});

test('transfer to a team: its member sees it in the queue; an agent outside may read, not work on it', { timeout: 60000 }, async () => {
  const u = await requesterWithTicket(['数据库备份失败，报错 ORA-19502']);
  const a = await wsLogin(AGENT);
  assert.equal((await wsRequest(a, { type: 'take', ticket: u.number })).type, 'ticket');
  const token = await login();
  assertError(await api('POST', `/api/v1/tickets/${u.number}/transfer`, { token, json: { team: 'second-line' } }), 400, 'missing_field');
  assertError(await api('POST', `/api/v1/tickets/${u.number}/transfer`, { token, json: { team: 'nowhere', reason: 'x' } }), 404, 'not_found');
  const r = await api('POST', `/api/v1/tickets/${u.number}/transfer`, { token, json: { team: 'second-line', reason: '需要 DBA' } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.team, r.body.team_name, r.body.agent, r.body.status], ['second-line', '二线', null, 'new']);
  // the agent's open desk hears of it (its page asks for its queue again)
  const qt = await wsWait(a, (f) => f.type === 'queue_update' && f.event === 'transferred' && f.ticket.number === u.number, 'queue_update transferred');
  assert.equal(qt.ticket.team, 'second-line');
  const m = await wsLogin(MEMBER);
  const o = await wsLogin(OUTSIDER);
  const mq = await wsRequest(m, { type: 'queue' });
  assert.ok(mq.tickets.some((t) => t.number === u.number), 'in the team member\'s queue');
  const oq = await wsRequest(o, { type: 'queue' });
  assert.ok(!oq.tickets.some((t) => t.number === u.number), 'not in the outsider\'s queue');
  // the outsider: reads it, cannot take, edit, note or move it
  const otoken = await login(OUTSIDER.username, OUTSIDER.password);
  assert.equal((await api('GET', `/api/v1/tickets/${u.number}`, { token: otoken })).status, 200);
  assert.equal((await wsRequest(o, { type: 'take', ticket: u.number })).code, 'forbidden');
  assertError(await api('PATCH', `/api/v1/tickets/${u.number}`, { token: otoken, json: { urgency: 1 } }), 403, 'forbidden');
  assertError(await api('POST', `/api/v1/tickets/${u.number}/notes`, { token: otoken, json: { text: 'x' } }), 403, 'forbidden');
  assertError(await api('POST', `/api/v1/tickets/${u.number}/transfer`, { token: otoken, json: { team: 'specialists', reason: '抢' } }), 403, 'forbidden');
  // the requester cannot move it either, and sees no reason
  assertError(await api('POST', `/api/v1/tickets/${u.number}/transfer`, { token: u.session, json: { team: 'first-line', reason: 'x' } }), 404, 'not_found');
  const rev = await api('GET', `/api/v1/tickets/${u.number}/events`, { token: u.session });
  assert.ok(!rev.text.includes('需要 DBA') && !rev.text.includes('transferred'));
  // the member takes it; the history says who moved it and why
  assert.equal((await wsRequest(m, { type: 'take', ticket: u.number })).type, 'ticket');
  const ev = await api('GET', `/api/v1/tickets/${u.number}/events`, { token });
  const tr = ev.body.events.find((e) => e.type === 'transferred');
  assert.deepEqual([tr.by, tr.detail.reason, tr.detail.to_team, tr.from, tr.to], ['演示坐席', '需要 DBA', 'second-line', 'assigned', 'new']);
});

test('a duplicate merged into another ticket is closed with a link, found through the survivor', { timeout: 60000 }, async () => {
  const keep = await requesterWithTicket(['VPN 连不上']);
  const dup = await requesterWithTicket(['VPN 又断了 anyconnectx']);
  const token = await login();
  const watcher = await wsLogin(MEMBER);
  assertError(await api('POST', `/api/v1/tickets/${dup.number}/merge`, { token, json: {} }), 400, 'bad_field');
  const r = await api('POST', `/api/v1/tickets/${dup.number}/merge`, { token, json: { into: keep.number } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.status, r.body.merged_into], ['closed', keep.number]);
  // open pages: the duplicate leaves the queues, the survivor's history grew;
  // the duplicate's requester sees it closed
  const qm = await wsWait(watcher, (f) => f.type === 'queue_update' && f.event === 'merged' && f.ticket.number === dup.number, 'queue_update merged');
  assert.equal(qm.ticket.status, 'closed');
  await wsWait(watcher, (f) => f.type === 'queue_update' && f.event === 'merged_from' && f.ticket.number === keep.number, 'queue_update merged_from');
  const closed = await wsWait(dup.c, (f) => f.type === 'ticket' && f.number === dup.number && f.status === 'closed', 'closed on the requester\'s page');
  assert.equal(closed.merged_into, keep.number);
  const found = await api('GET', '/api/v1/tickets?q=anyconnectx&status=new', { token });
  assert.deepEqual(found.body.tickets.map((t) => t.number), [keep.number]);
  const ev = await api('GET', `/api/v1/tickets/${keep.number}/events`, { token });
  assert.ok(ev.body.events.some((e) => e.type === 'merged_from' && e.detail.from === dup.number));
  assertError(await api('POST', `/api/v1/tickets/${dup.number}/merge`, { token, json: { into: keep.number } }), 422, 'invalid');
});
