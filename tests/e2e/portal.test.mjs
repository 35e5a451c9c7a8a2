// End-to-end tests of the requester portal and mail: private links,
// e-mail sign-in with a mailed code, "my tickets" (WebSocket and
// GET /api/v1/me/tickets), and the mail outbox with its sender, against the
// real chatdesk (KB_BIN selects the binaries folder), a real PostgreSQL
// (scripts/pg.sh), a real index, real WebSocket clients and a real SMTP
// server: Debian's aiosmtpd (scripts/mailsink.py) on 127.0.0.1, which
// writes each message it accepts to a folder. No sleeps: every wait is for
// a condition (an answer, a file, a row), bounded in time. Each test talks
// from its own loopback address (127.0.0.x), so the per-address delays of
// one do not reach another.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deskClient } from './desk.mjs';
import { deskFixture, startDesk, stopDesk } from './deskfix.mjs';

const WAIT = 20000; // ms: the sanitizer build is slow
const AGENT = { username: 'agent', password: 'portal agent pw 1' };
const PUBLIC = 'http://desk.example.cn:8081';

const d = {};
let conninfo, base, wsUrl, mailDir, smtpPort, sink;

// psql queries, bounded waits, a free port and the SMTP sink on smtpPort
// with the mails it holds ({ file, rcpt, head, headers, subject, body })
const fx = deskFixture(WAIT, () => ({ conninfo, base, mailDir }));
const { sql, sqlOne, until, stopSink, mails } = fx;
const startSink = () => fx.startSink(smtpPort);

// Waits for a mail to `to` whose subject matches re (and that is not in seen).
async function mailTo(to, re, seen = new Set()) {
  return until(`a mail to ${to} matching ${re}`, async () =>
    (await mails()).find((m) => m.rcpt.includes(to) && re.test(m.subject) && !seen.has(m.file)));
}

// ---- WebSocket ---------------------------------------------------------------------------

// WebSocket clients from a loopback address of their own, and the API
const desk = deskClient(() => ({ base, wsUrl }), { wait: WAIT });
const { wsClose, sockets } = desk;
const wsOpen = (localAddress = '127.0.0.1') => desk.wsOpen(localAddress);
const req = desk.wsRequest;
const waitFrame = desk.wsWait;
const api = (method, p, token) => desk.api(method, p, { token });

// A requester who raised a ticket: { c, session, number, link, conv }.
let people = 0;
async function requesterWithTicket(addr, email, text = '打印机脱机，无法打印') {
  const c = await wsOpen(addr);
  const hello = { type: 'hello', name: `门户用户${++people}` };
  if (email) hello.email = email;
  const w = await req(c, hello);
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  const a = await req(c, { type: 'message', text });
  assert.equal(a.type, 'ack', JSON.stringify(a));
  const t = await req(c, { type: 'escalate', impact: 2, urgency: 2 });
  assert.equal(t.type, 'ticket', JSON.stringify(t));
  const pl = await waitFrame(c, (f) => f.type === 'private_link', 'a private link');
  return { c, session: w.session, number: t.number, link: pl.link, url: pl.url, conv: a.conversation.id, name: hello.name };
}

async function agentLogin(addr = '127.0.0.1') {
  const c = await wsOpen(addr);
  const w = await req(c, { type: 'login', ...AGENT });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  return { c, session: w.session };
}

// Requests a sign-in code for email on c and reads it from the sink.
async function mailedCode(c, email, seen) {
  const s = await req(c, { type: 'signin_request', email });
  assert.equal(s.type, 'signin_sent', JSON.stringify(s));
  const m = await mailTo(email, /登录验证码/, seen);
  seen?.add(m.file);
  const code = /验证码是：(\d{6})/.exec(m.body)?.[1];
  assert.ok(code, m.body);
  return { code, mail: m };
}

// ---- setup ----------------------------------------------------------------------------

before(async () => {
  await startDesk(d, 'kbportal', {
    agents: [{ ...AGENT, name: '门户坐席' }], mail: { publicUrl: PUBLIC }, wait: WAIT,
  });
  ({ conninfo, base, wsUrl, mailDir, smtpPort, sink } = d);
}, { timeout: 180000 });

after(async () => {
  for (const ws of sockets) ws.terminate();
  await stopSink(sink);
  await stopDesk(d);
}, { timeout: 60000 });

// ---- tests ----------------------------------------------------------------------------

test('a raised ticket gives a private link; it resumes the conversation in a fresh connection, and a new link revokes it', { timeout: 90000 }, async () => {
  const r = await requesterWithTicket('127.0.0.2', 'link1@example.cn');
  assert.match(r.link, /^[A-Za-z0-9_-]{43}$/); // 256 random bits
  assert.equal(r.url, `${PUBLIC}/?t=${r.link}`);
  // the token is stored hashed only
  assert.equal(await sqlOne("SELECT count(*) FROM requester_links WHERE convert_to($1, 'UTF8') = token_hash", r.link), '0');
  await wsClose(r.c);

  // "another device": a fresh connection with the link only
  const d = await wsOpen('127.0.0.2');
  const w = await req(d, { type: 'hello', link: r.link });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  assert.equal(w.resumed, true);
  assert.equal(w.name, r.name);
  assert.equal(w.conversation.id, r.conv);
  assert.equal(w.ticket.number, r.number);
  assert.notEqual(w.session, r.session, 'a new session for the same person');
  // the conversation is replayed
  await waitFrame(d, (f) => f.type === 'message' && f.seq === 1 && f.text === '打印机脱机，无法打印', 'the replayed first message');
  // and goes on: the agent holding the ticket gets the new message
  const ag = await agentLogin('127.0.0.2');
  assert.equal((await req(ag.c, { type: 'take', ticket: r.number })).type, 'ticket');
  const a2 = await req(d, { type: 'message', text: '换了台电脑继续说：还是不行' });
  assert.equal(a2.type, 'ack');
  assert.equal(a2.seq, 2);
  await waitFrame(ag.c, (f) => f.type === 'message' && f.text === '换了台电脑继续说：还是不行' && f.ticket === r.number,
    "the agent's copy of the message");

  // a new link revokes the old one
  const nl = await req(d, { type: 'private_link' });
  assert.equal(nl.type, 'private_link');
  assert.notEqual(nl.link, r.link);
  const e = await wsOpen('127.0.0.2');
  const old = await req(e, { type: 'hello', link: r.link });
  assert.equal(old.type, 'error');
  assert.equal(old.code, 'login_failed');
  const ok = await req(e, { type: 'hello', link: nl.link });
  assert.equal(ok.type, 'welcome');
  assert.equal(ok.conversation.id, r.conv);
  for (const x of [d, e, ag.c]) await wsClose(x);
});

test('guessing links is slowed per address like passwords: after 5 wrong links even the right one waits', { timeout: 90000 }, async () => {
  const r = await requesterWithTicket('127.0.0.3');
  await wsClose(r.c);
  const g = await wsOpen('127.0.0.4');
  for (let i = 0; i < 5; i++) {
    const bad = await req(g, { type: 'hello', link: `${'A'.repeat(42)}${i}` });
    assert.equal(bad.code, 'login_failed', JSON.stringify(bad));
  }
  const held = await req(g, { type: 'hello', link: r.link });
  assert.equal(held.type, 'error');
  assert.equal(held.code, 'too_many_attempts', JSON.stringify(held));
  assert.ok(held.retry_after >= 1);
  // malformed links are refused by the codec
  const bad = await req(g, { type: 'hello', link: 'x'.repeat(65) });
  assert.equal(bad.code, 'bad_field');
  // another address is not held back
  const o = await wsOpen('127.0.0.5');
  assert.equal((await req(o, { type: 'hello', link: r.link })).type, 'welcome');
  await wsClose(g);
  await wsClose(o);
});

test('e-mail sign-in: the mailed code signs in, attaches the anonymous conversation, and shows my tickets', { timeout: 90000 }, async () => {
  const email = 'Zhang.San@example.cn';
  // an anonymous requester raised a ticket without giving an address
  const r = await requesterWithTicket('127.0.0.6');
  const seen = new Set();
  const { code, mail } = await mailedCode(r.c, email, seen);
  // the mail: UTF-8 MIME, an encoded Chinese subject, Chinese and English text
  assert.equal(mail.headers['mime-version'], '1.0');
  assert.equal(mail.headers['content-type'], 'text/plain; charset=UTF-8');
  assert.match(mail.headers.subject, /^=\?UTF-8\?B\?/);
  assert.match(mail.subject, /^服务台登录验证码 \d{6} \/ Your sign-in code$/);
  assert.match(mail.body, /10 分钟内有效/);
  assert.match(mail.body, /Your service desk sign-in code is \d{6}/);
  assert.match(mail.body, new RegExp(`${PUBLIC}/\\?signin=[A-Za-z0-9_-]{43}`));
  assert.deepEqual(mail.rcpt, ['desk@example.cn', email]);
  // stored hashed
  assert.equal(await sqlOne('SELECT count(*) FROM signin_codes WHERE position(convert_to($1, \'UTF8\') IN code_hash) > 0', code), '0');
  assert.equal(await sqlOne('SELECT count(*) FROM mail_outbox WHERE kind = \'signin_code\' AND status = \'sent\' AND to_addr = $1', email), '1');

  const w = await req(r.c, { type: 'signin', email: email.toLowerCase(), code });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  assert.equal(w.email, email);
  assert.equal(w.ticket_mail, true);
  assert.equal(w.conversation.id, r.conv, 'the conversation in progress goes on');
  // a code is used once
  const again = await req(r.c, { type: 'signin', email, code });
  assert.equal(again.code, 'login_failed');
  const x = await wsOpen('127.0.0.6');
  const reuse = await req(x, { type: 'signin', email, code });
  assert.equal(reuse.code, 'login_failed', JSON.stringify(reuse));

  // from "another device": a new code; the same person, with the ticket
  const { code: code2 } = await mailedCode(x, email, seen);
  const w2 = await req(x, { type: 'signin', email, code: code2 });
  assert.equal(w2.type, 'welcome');
  const mt = await req(x, { type: 'my_tickets' });
  assert.equal(mt.type, 'my_tickets');
  assert.deepEqual(mt.tickets.map((t) => t.number), [r.number]);
  assert.deepEqual(mt.tickets[0].messages.map((m) => [m.from, m.text]), [['requester', '打印机脱机，无法打印']]);
  // the API gives the same list with this session's token
  const viaApi = await api('GET', '/api/v1/me/tickets', w2.session);
  assert.equal(viaApi.status, 200, viaApi.text);
  assert.deepEqual(viaApi.body.tickets, mt.tickets);

  // a second anonymous conversation, signed in from: attached to the same person
  const r2 = await requesterWithTicket('127.0.0.6', null, 'VPN 连不上，错误 809');
  const { code: code3 } = await mailedCode(r2.c, email, seen);
  const w3 = await req(r2.c, { type: 'signin', email, code: code3 });
  assert.equal(w3.type, 'welcome');
  const mt2 = await req(r2.c, { type: 'my_tickets' });
  assert.deepEqual(mt2.tickets.map((t) => t.number), [r2.number, r.number]);
  // signing in to another proven address from there moves nothing
  const { code: code4 } = await mailedCode(r2.c, 'second@example.cn', seen);
  assert.equal((await req(r2.c, { type: 'signin', email: 'second@example.cn', code: code4 })).type, 'welcome');
  assert.deepEqual((await req(r2.c, { type: 'my_tickets' })).tickets, []);
  // from any device: follow the older ticket and reply in it
  const f = await req(x, { type: 'follow', ticket: r.number });
  assert.equal(f.type, 'conversation');
  assert.equal(f.conversation.id, r.conv);
  const a = await req(x, { type: 'message', text: '补充：打印机型号是 HP M404' });
  assert.equal(a.type, 'ack');
  assert.equal(await sqlOne('SELECT conversation_id FROM messages WHERE body = $1', '补充：打印机型号是 HP M404'), String(r.conv));
  for (const c of [r.c, x, r2.c]) await wsClose(c);
});

test('signing in with an address given at hello (unproven) finds the tickets raised under it', { timeout: 90000 }, async () => {
  const email = 'gave.it@example.cn';
  const r = await requesterWithTicket('127.0.0.11', email);
  await wsClose(r.c);
  const x = await wsOpen('127.0.0.11');
  const seen = new Set();
  const { code } = await mailedCode(x, email, seen);
  const w = await req(x, { type: 'signin', email, code });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  const mt = await req(x, { type: 'my_tickets' });
  assert.deepEqual(mt.tickets.map((t) => t.number), [r.number]);
  // the old identity's link and session were ended with the move
  const y = await wsOpen('127.0.0.11');
  assert.equal((await req(y, { type: 'hello', link: r.link })).code, 'login_failed');
  await wsClose(x);
  await wsClose(y);
});

test('a requester sees only their own tickets, through every path', { timeout: 90000 }, async () => {
  const a = await requesterWithTicket('127.0.0.7', 'owner@example.cn');
  const b = await requesterWithTicket('127.0.0.7', 'other@example.cn', 'Outlook 无法发送邮件');
  // WebSocket: B's list holds B's ticket only; following A's ticket is "no such ticket"
  const mine = await req(b.c, { type: 'my_tickets' });
  assert.deepEqual(mine.tickets.map((t) => t.number), [b.number]);
  const f = await req(b.c, { type: 'follow', ticket: a.number });
  assert.deepEqual([f.type, f.code, f.message], ['error', 'not_found', 'no such ticket']);
  const missing = await req(b.c, { type: 'follow', ticket: 'INC-999999' });
  assert.equal(missing.message, f.message);
  // API: B's token lists B's only; the agent's token is refused (a requester's list)
  const viaApi = await api('GET', '/api/v1/me/tickets', b.session);
  assert.deepEqual(viaApi.body.tickets.map((t) => t.number), [b.number]);
  assert.ok(!viaApi.text.includes('打印机脱机'), 'nothing of A in B\'s answer');
  const ag = await agentLogin('127.0.0.7');
  const agentList = await api('GET', '/api/v1/me/tickets', ag.session);
  assert.equal(agentList.status, 403);
  assert.equal((await api('GET', '/api/v1/me/tickets')).status, 401);
  // an agent's session cannot ask for links or sign-in codes
  assert.equal((await req(ag.c, { type: 'private_link' })).code, 'forbidden');
  assert.equal((await req(ag.c, { type: 'my_tickets' })).code, 'forbidden');
  // B's private link opens B, never A
  const bl = await wsOpen('127.0.0.7');
  const w = await req(bl, { type: 'hello', link: b.link });
  assert.equal(w.conversation.id, b.conv);
  assert.deepEqual((await req(bl, { type: 'my_tickets' })).tickets.map((t) => t.number), [b.number]);
  // a sign-in code of A's address does not work for B's address
  const seen = new Set();
  const { code } = await mailedCode(bl, 'owner@example.cn', seen);
  const wrongAddr = await req(bl, { type: 'signin', email: 'other@example.cn', code });
  assert.equal(wrongAddr.type, 'error');
  for (const c of [a.c, b.c, ag.c, bl]) await wsClose(c);
});

test('a wrong code 5 times locks it, an expired code fails, bad input is refused', { timeout: 90000 }, async () => {
  const email = 'locked@example.cn';
  const c = await wsOpen('127.0.0.8');
  assert.equal((await req(c, { type: 'hello', name: '锁定测试' })).type, 'welcome');
  const seen = new Set();
  const { code } = await mailedCode(c, email, seen);
  const wrong = code === '000000' ? '111111' : '000000';
  // from several addresses, so the address delays do not answer first
  for (let i = 0; i < 5; i++) {
    const g = await wsOpen(`127.0.1.${i + 1}`);
    const e = await req(g, { type: 'signin', email, code: wrong });
    assert.deepEqual([e.type, e.code, e.field], ['error', 'login_failed', 'code'], JSON.stringify(e));
    assert.match(e.message, new RegExp(`${4 - i} tr`));
    await wsClose(g);
  }
  const g = await wsOpen('127.0.1.9');
  const locked = await req(g, { type: 'signin', email, code });
  assert.deepEqual([locked.type, locked.code], ['error', 'too_many_attempts'], JSON.stringify(locked));
  assert.equal(await sqlOne('SELECT tries FROM signin_codes WHERE email = $1 ORDER BY id DESC LIMIT 1', email), '5');
  // a new code works again
  const { code: fresh } = await mailedCode(g, email, seen);
  assert.equal((await req(g, { type: 'signin', email, code: fresh })).type, 'welcome');

  // expired: the code's time is up (expires_at moved into the past)
  const h = await wsOpen('127.0.1.10');
  const { code: late } = await mailedCode(h, 'late@example.cn', seen);
  await sql("UPDATE signin_codes SET created_at = now() - interval '11 minutes', expires_at = now() - interval '1 minute' WHERE email = $1", 'late@example.cn');
  const exp = await req(h, { type: 'signin', email: 'late@example.cn', code: late });
  assert.deepEqual([exp.type, exp.code], ['error', 'login_failed']);
  assert.match(exp.message, /expired/);
  // bad input, refused with the field named
  for (const [frame, field] of [
    [{ type: 'signin_request', email: 'not-an-address' }, 'email'],
    [{ type: 'signin_request', email: 'a@b.c\r\nBcc: x@y.z' }, 'email'],
    [{ type: 'signin', email, code: '12345' }, 'code'],
    [{ type: 'signin', email, code: '12345a' }, 'code'],
    [{ type: 'mail_prefs' }, 'ticket_mail'],
  ]) {
    const e = await req(h, frame);
    assert.equal(e.type, 'error', JSON.stringify(e));
    assert.equal(e.field, field, JSON.stringify(e));
  }
  for (const x of [c, g, h]) await wsClose(x);
});

test('ticket mails: created (with the private link), agent replied while away, resolved; preference off stops them', { timeout: 120000 }, async () => {
  const email = 'notify@example.cn';
  const seen = new Set();
  const r = await requesterWithTicket('127.0.0.9', email);
  const created = await mailTo(email, /已创建/, seen);
  assert.equal(created.subject, `工单 ${r.number} 已创建 / Ticket ${r.number} created`);
  assert.ok(created.body.includes(`${PUBLIC}/?t=${r.link}`), created.body);
  assert.ok(!created.body.includes('{link}'));

  const ag = await agentLogin('127.0.0.9');
  await req(ag.c, { type: 'take', ticket: r.number });
  // connected: no "replied" mail
  await req(ag.c, { type: 'reply', ticket: r.number, text: '您好，我们正在查看。' });
  await waitFrame(r.c, (f) => f.type === 'message' && f.text === '您好，我们正在查看。', 'the reply');
  await wsClose(r.c);
  // away: the reply is mailed
  await req(ag.c, { type: 'reply', ticket: r.number, text: '请重启打印机后再试。' });
  const replied = await mailTo(email, /有新回复/, seen);
  assert.match(replied.body, /请重启打印机后再试。/);
  assert.ok(!(await mails()).some((m) => m.body.includes('我们正在查看')), 'no mail for the reply seen live');
  assert.equal(await sqlOne("SELECT count(*) FROM mail_outbox WHERE kind = 'agent_replied' AND to_addr = $1", email), '1');
  // resolved: mailed, asking for confirmation
  await req(ag.c, { type: 'resolve', ticket: r.number, resolution: '重新安装了打印机驱动。' });
  const resolved = await mailTo(email, /已解决/, seen);
  assert.match(resolved.body, /重新安装了打印机驱动。/);
  assert.match(resolved.body, /确认/);
  assert.ok(resolved.body.includes(PUBLIC));

  // preference off: the next ticket's mails are not written
  const r2 = await requesterWithTicket('127.0.0.9', 'quiet@example.cn');
  await mailTo('quiet@example.cn', /已创建/, seen);
  const p = await req(r2.c, { type: 'mail_prefs', ticket_mail: false });
  assert.deepEqual([p.type, p.ticket_mail], ['mail_prefs', false]);
  await req(ag.c, { type: 'take', ticket: r2.number });
  await req(ag.c, { type: 'resolve', ticket: r2.number, resolution: '已处理。' });
  assert.equal(await sqlOne("SELECT count(*) FROM mail_outbox WHERE to_addr = 'quiet@example.cn'"), '1');
  await wsClose(r2.c);
  await wsClose(ag.c);
});

test('with the SMTP relay down, tickets still flow; the mails go once it is back', { timeout: 120000 }, async () => {
  await stopSink(sink);
  const email = 'outage@example.cn';
  const t0 = Date.now();
  const r = await requesterWithTicket('127.0.0.10', email, '邮件服务器挂了时报的工单');
  const flowMs = Date.now() - t0;
  // the sender tried and failed (connection refused), and will retry
  await until('a failed attempt recorded', async () =>
    Number(await sqlOne("SELECT attempts FROM mail_outbox WHERE to_addr = $1 AND kind = 'ticket_created'", email)) >= 2);
  const row = (await sql("SELECT status, last_error FROM mail_outbox WHERE to_addr = $1", email))[0];
  assert.equal(row[0], 'queued');
  assert.match(row[1], /connect|refused/i);
  // the chat goes on meanwhile
  const a = await req(r.c, { type: 'message', text: '还在吗？' });
  assert.equal(a.type, 'ack');
  sink = startSink();
  await sink.ready;
  const m = await mailTo(email, /已创建/);
  assert.ok(m.body.includes(r.link));
  assert.equal(await sqlOne("SELECT status FROM mail_outbox WHERE to_addr = $1", email), 'sent');
  console.log(`# ticket raised in ${flowMs} ms with the relay down; mail delivered after the relay came back`);
  await wsClose(r.c);
});
