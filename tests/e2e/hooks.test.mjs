// End-to-end tests of the notifications beyond the requester's mail: the
// group robots of WeCom, DingTalk and Feishu in their documented bodies
// (with the DingTalk and Feishu signatures checked), the integration
// webhooks signed with HMAC-SHA256, their outbox retried while the target
// is down, the agents' mails (assigned to me, new in my team) and the
// preferences that stop them, the team mail of a ticket routed by its
// category, deliveries of a daemon without a mail relay; against the real chatdesk (KB_BIN), a real
// PostgreSQL, a local HTTP sink (a node http server on 127.0.0.1 in this
// test) and the SMTP sink (scripts/mailsink.py). No sleeps: every wait is
// for a condition, bounded in time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { ROOT, run, startDaemon, stopDaemon } from './daemon.mjs';
import { deskClient } from './desk.mjs';
import { deskFixture, startDesk, stopDesk } from './deskfix.mjs';

const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const CHATDESK = path.join(BIN, 'chatdesk');
const WAIT = 20000; // ms: the sanitizer build is slow
const ADMIN = { username: 'hookadmin', password: 'hook admin pw 1' };
const MEMBER = { username: 'hookmember', password: 'hook member pw 1' };
const DING_SECRET = 'SECdingtalk-test-secret-0123456789';
const FEISHU_SECRET = 'feishu-test-secret';
const HOOK_SECRET = 'integration-secret-0123456789abcdef';

const d = {};
let tmp, conninfo, daemon, base, wsUrl, mailDir, httpPort, sinkServer;
const received = []; // { path, query, headers, raw, body } of every POST the HTTP sink took

const chatdesk = (args) => run(CHATDESK, [...args, '--db', conninfo]);

const { sql, sqlOne, until, freePort, mails } = deskFixture(WAIT, () => ({ conninfo, base, mailDir }));

// ---- the HTTP sink: answers the robots' {"errcode":0} ------------------------------------

function startHttpSink() {
  return new Promise((resolve, reject) => {
    const s = http.createServer((rq, rs) => {
      const chunks = [];
      rq.on('data', (c) => chunks.push(c));
      rq.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const u = new URL(rq.url, 'http://127.0.0.1');
        let body = null;
        try { body = JSON.parse(raw); } catch { /* kept raw */ }
        received.push({ path: u.pathname, query: u.searchParams, headers: rq.headers, raw, body });
        rs.writeHead(200, { 'content-type': 'application/json' });
        rs.end(u.pathname === '/feishu' ? '{"code":0,"msg":"success"}' : '{"errcode":0,"errmsg":"ok"}');
      });
    });
    s.on('error', reject);
    s.listen(httpPort, '127.0.0.1', () => resolve(s));
  });
}

function stopHttpSink(s) {
  return new Promise((resolve) => { s.closeAllConnections?.(); s.close(() => resolve()); });
}

// ---- WebSocket and HTTP clients -----------------------------------------------------------

const desk = deskClient(() => ({ base, wsUrl }), { wait: WAIT });
const { api, wsOpen, wsClose, sockets } = desk;
const req = desk.wsRequest;

let people = 0;
async function raiseTicket(text = '打印机脱机，无法打印', category) {
  const c = await wsOpen();
  const w = await req(c, { type: 'hello', name: `机器人用户${++people}` });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  assert.equal((await req(c, { type: 'message', text })).type, 'ack');
  const t = await req(c, { type: 'escalate', impact: 2, urgency: 2, ...(category ? { category } : {}) });
  assert.equal(t.type, 'ticket', JSON.stringify(t));
  await wsClose(c);
  return { number: t.number, session: w.session };
}

const login = (who) => desk.login(who.username, who.password);

const hmac = (key, msg, enc) => crypto.createHmac('sha256', key).update(msg).digest(enc);

// ---- setup --------------------------------------------------------------------------------

before(async () => {
  await startDesk(d, 'kbhooks', {
    agents: [{ ...ADMIN, name: '机器人管理员' }, { ...MEMBER, name: '二线坐席', team: 'second-line' }],
    mail: {}, wait: WAIT,
    prepare: async () => {
      conninfo = d.conninfo;
      await sql(`UPDATE people SET role = 'admin' WHERE username = '${ADMIN.username}'`);
      httpPort = await freePort();
      sinkServer = await startHttpSink();
    },
  });
  ({ tmp, conninfo, base, wsUrl, mailDir, chat: daemon } = d);
}, { timeout: 180000 });

after(async () => {
  for (const ws of sockets) ws.terminate();
  await stopDaemon(daemon);
  await stopDesk(d);
  if (sinkServer) await stopHttpSink(sinkServer);
}, { timeout: 60000 });

// ---- tests --------------------------------------------------------------------------------

test('robots and webhooks: only admins manage them, bad input is refused and nothing is kept', { timeout: 60000 }, async () => {
  const admin = await login(ADMIN);
  const member = await login(MEMBER);
  const sink = `http://127.0.0.1:${httpPort}`;
  // the side that must not: an agent, and a requester
  let r = await api('POST', '/api/v1/robots', { token: member, json: { kind: 'wecom', name: 'x', url: `${sink}/x` } });
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.equal((await api('GET', '/api/v1/webhooks', { token: member })).status, 403);
  const requester = (await raiseTicket('无线网络连不上')).session;
  assert.equal((await api('GET', '/api/v1/robots', { token: requester })).status, 403);
  assert.equal((await api('POST', '/api/v1/webhooks', { token: requester, json: { url: `${sink}/x`, secret: HOOK_SECRET } })).status, 403);
  // bad input
  for (const [p, json, status] of [
    ['/api/v1/robots', { kind: 'slack', name: 'x', url: `${sink}/x` }, 422],
    ['/api/v1/robots', { kind: 'wecom', name: 'x', url: 'file:///etc/passwd' }, 422],
    ['/api/v1/robots', { kind: 'wecom', name: 'x', url: 'ftp://127.0.0.1/x' }, 422],
    ['/api/v1/robots', { kind: 'wecom', name: 'x', url: `${sink}/x`, events: ['exploded'] }, 422],
    ['/api/v1/robots', { kind: 'wecom', name: 'x', url: `${sink}/x`, team: 'nowhere' }, 404],
    ['/api/v1/robots', { kind: 'wecom', url: `${sink}/x` }, 400],
    ['/api/v1/robots', { kind: 'wecom', name: 'x', url: `${sink}/x`, colour: 'red' }, 400],
    ['/api/v1/webhooks', { url: `${sink}/x`, secret: 'short' }, 422],
    ['/api/v1/webhooks', { url: `${sink}/x` }, 400],
    ['/api/v1/webhooks', { url: `${sink}/x`, secret: HOOK_SECRET, events: 'created' }, 400],
  ]) {
    r = await api('POST', p, { token: admin, json });
    assert.equal(r.status, status, `${p} ${JSON.stringify(json)}: ${JSON.stringify(r.body)}`);
  }
  assert.equal(await sqlOne('SELECT (SELECT count(*) FROM robots) + (SELECT count(*) FROM webhooks)'), '0');
  assert.equal((await api('DELETE', '/api/v1/robots/999', { token: admin })).status, 404);
});

test('each robot kind gets its documented body, DingTalk and Feishu signatures verify, the webhook HMAC verifies', { timeout: 90000 }, async () => {
  const admin = await login(ADMIN);
  const sink = `http://127.0.0.1:${httpPort}`;
  const events = ['created'];
  const mk = async (p, json) => {
    const r = await api('POST', p, { token: admin, json });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id;
  };
  await mk('/api/v1/robots', { kind: 'wecom', name: '企业微信群', url: `${sink}/wecom?key=k1`, events });
  await mk('/api/v1/robots', { kind: 'dingtalk', name: '钉钉群', url: `${sink}/ding?access_token=t1`, secret: DING_SECRET, events });
  await mk('/api/v1/robots', { kind: 'feishu', name: '飞书群', url: `${sink}/feishu`, secret: FEISHU_SECRET, events });
  const hookId = await mk('/api/v1/webhooks', { url: `${sink}/hook`, secret: HOOK_SECRET, events: ['*'] });
  const list = await api('GET', '/api/v1/robots', { token: admin });
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.items.map((x) => x.kind), ['wecom', 'dingtalk', 'feishu']);
  assert.ok(list.body.items.every((x) => !('secret' in x)), 'a secret is never read back');

  const started = Date.now();
  const { number } = await raiseTicket('邮箱登录不了，提示密码错误');
  const got = (p) => received.find((x) => x.path === p && x.raw.includes(number));
  await until('the four deliveries', () => got('/wecom') && got('/ding') && got('/feishu') && got('/hook'));

  const wecom = got('/wecom');
  assert.equal(wecom.query.get('key'), 'k1');
  assert.equal(wecom.body.msgtype, 'markdown');
  assert.deepEqual(Object.keys(wecom.body.markdown), ['content']);
  assert.match(wecom.body.markdown.content, new RegExp(`${number}[\\s\\S]*邮箱登录不了`));

  const ding = got('/ding');
  assert.equal(ding.body.msgtype, 'markdown');
  assert.match(ding.body.markdown.title, new RegExp(number));
  assert.match(ding.body.markdown.text, /邮箱登录不了/);
  assert.equal(ding.query.get('access_token'), 't1');
  const ts = ding.query.get('timestamp');
  assert.match(ts, /^\d{13}$/); // milliseconds
  assert.ok(Math.abs(Number(ts) - started) < 60000, ts);
  assert.equal(ding.query.get('sign'), hmac(DING_SECRET, `${ts}\n${DING_SECRET}`, 'base64'));

  const fs = got('/feishu');
  assert.equal(fs.body.msg_type, 'text');
  assert.match(fs.body.content.text, new RegExp(number));
  assert.match(fs.body.timestamp, /^\d{10}$/); // seconds, a string
  assert.equal(fs.body.sign, hmac(`${fs.body.timestamp}\n${FEISHU_SECRET}`, '', 'base64'));

  const hook = got('/hook');
  assert.equal(hook.headers['x-kbdesk-signature'], `sha256=${hmac(HOOK_SECRET, hook.raw, 'hex')}`);
  assert.notEqual(hook.headers['x-kbdesk-signature'], `sha256=${hmac('another secret 0123456789', hook.raw, 'hex')}`);
  assert.equal(hook.headers['x-kbdesk-event'], 'created');
  assert.equal(hook.headers['x-kbdesk-delivery'], String(hook.body.delivery));
  assert.match(hook.headers['x-kbdesk-timestamp'], /^\d{10}$/);
  assert.equal(hook.body.event, 'created');
  assert.equal(hook.body.ticket.number, number);
  assert.equal(hook.body.ticket.summary.includes('邮箱登录不了'), true);

  const wl = await api('GET', '/api/v1/webhooks', { token: admin });
  const me = wl.body.items.find((x) => x.id === hookId);
  assert.ok(me.deliveries.sent >= 1, JSON.stringify(me));
  assert.equal(me.has_secret, true);
});

test('with the sink down tickets still flow; the deliveries arrive once it is back', { timeout: 120000 }, async () => {
  await stopHttpSink(sinkServer);
  sinkServer = null;
  const t0 = Date.now();
  const { number } = await raiseTicket('VPN 连接超时');
  const flowMs = Date.now() - t0;
  // the failed attempts are counted with the error, the ticket is there
  await until('a failed attempt', async () =>
    Number(await sqlOne(`SELECT count(*) FROM webhook_outbox o JOIN ticket_events e ON e.id = o.event_id
      JOIN tickets t ON t.id = e.ticket_id WHERE t.number = $1 AND o.attempts >= 1
      AND o.status = 'queued' AND o.last_error IS NOT NULL`, number)) >= 4);
  assert.ok(!received.some((x) => x.raw.includes(number)));
  sinkServer = await startHttpSink();
  const got = (p) => received.find((x) => x.path === p && x.raw.includes(number));
  await until('the retried deliveries', () => got('/wecom') && got('/ding') && got('/feishu') && got('/hook'));
  assert.equal(await sqlOne(`SELECT count(*) FROM webhook_outbox o JOIN ticket_events e ON e.id = o.event_id
      JOIN tickets t ON t.id = e.ticket_id WHERE t.number = $1 AND o.status = 'sent' AND o.attempts >= 2`, number), '4');
  console.log(`# raising a ticket with the sink down took ${flowMs} ms`);
});

test('agents\' mails: new ticket in my team, assigned to me; the preference off stops them', { timeout: 120000 }, async () => {
  const admin = await login(ADMIN);
  const member = await login(MEMBER);
  const requester = (await raiseTicket('共享盘无法访问')).session;
  // preferences: the caller's own; a requester may not set an address this way
  let r = await api('GET', '/api/v1/me/preferences', { token: member });
  assert.deepEqual(r.body, { mail_assigned: true, mail_team: true, browser_assigned: true, browser_team: true, email: null });
  assert.equal((await api('PUT', '/api/v1/me/preferences', { token: requester, json: { email: 'x@example.cn' } })).status, 403);
  assert.equal((await api('PUT', '/api/v1/me/preferences', { token: member, json: { email: 'not an address' } })).status, 422);
  assert.equal((await api('PUT', '/api/v1/me/preferences', { token: member, json: { mail_team: 'yes' } })).status, 400);
  assert.equal((await api('PUT', '/api/v1/me/preferences', { token: member, json: { volume: 11 } })).status, 400);
  r = await api('PUT', '/api/v1/me/preferences', { token: member, json: { email: 'member@example.cn' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.email, 'member@example.cn');
  const memberId = await sqlOne(`SELECT id FROM people WHERE username = '${MEMBER.username}'`);

  // to the team: its member is mailed (the actor is not)
  const a = await raiseTicket('打印机卡纸');
  r = await api('POST', `/api/v1/tickets/${a.number}/transfer`, { token: admin, json: { team: 'second-line', reason: '需要二线' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const teamMail = await until('the team mail', async () =>
    (await mails()).find((m) => m.rcpt.includes('member@example.cn') && m.subject.includes(a.number)));
  assert.match(teamMail.subject, /新工单/);
  assert.match(teamMail.body, /打印机卡纸/);

  // assigned to the member
  r = await api('POST', `/api/v1/tickets/${a.number}/transfer`, { token: admin, json: { agent: Number(memberId), reason: '请处理' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const assigned = await until('the assigned mail', async () =>
    (await mails()).find((m) => m.rcpt.includes('member@example.cn') && /分配给您/.test(m.subject) && m.subject.includes(a.number)));
  assert.match(assigned.body, /请处理/);

  // preferences off: nothing is queued (the rows are written with the event)
  r = await api('PUT', '/api/v1/me/preferences', { token: member, json: { mail_assigned: false, mail_team: false } });
  assert.equal(r.status, 200);
  assert.equal(r.body.mail_assigned, false);
  const b = await raiseTicket('显示器不亮');
  assert.equal((await api('POST', `/api/v1/tickets/${b.number}/transfer`, { token: admin, json: { team: 'second-line', reason: '二线' } })).status, 200);
  assert.equal((await api('POST', `/api/v1/tickets/${b.number}/transfer`, { token: admin, json: { agent: Number(memberId), reason: '请处理' } })).status, 200);
  assert.equal(await sqlOne(`SELECT count(*) FROM mail_outbox o JOIN tickets t ON t.id = o.ticket_id
    WHERE t.number = $1 AND o.kind IN ('team_ticket', 'ticket_assigned')`, b.number), '0');
  // and the ones of the first ticket were exactly one each
  assert.equal(await sqlOne(`SELECT string_agg(kind, ',' ORDER BY kind) FROM mail_outbox o JOIN tickets t ON t.id = o.ticket_id
    WHERE t.number = $1 AND o.kind IN ('team_ticket', 'ticket_assigned')`, a.number), 'team_ticket,ticket_assigned');
});

test('a ticket routed to a team by its category (the admin page\'s categories) mails the team at creation', { timeout: 120000 }, async () => {
  const admin = await login(ADMIN);
  const member = await login(MEMBER);
  let r = await api('PUT', '/api/v1/me/preferences', { token: member, json: { mail_team: true } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await api('POST', '/api/v1/admin/categories', { token: admin, json: { name: '硬件/打印', team: 'second-line' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const a = await raiseTicket('打印机一直缺纸报错', '硬件/打印/缺纸');
  assert.equal(await sqlOne(`SELECT m.slug FROM tickets t JOIN teams m ON m.id = t.team_id WHERE t.number = $1`, a.number), 'second-line');
  const mail = await until('the team mail of a routed ticket', async () =>
    (await mails()).find((m) => m.rcpt.includes('member@example.cn') && m.subject.includes(a.number)));
  assert.match(mail.subject, /新工单/);
  assert.match(mail.body, /打印机一直缺纸报错/);
  // a ticket of a category no entry covers has no team and mails nobody
  const b = await raiseTicket('鼠标没反应', '外设');
  assert.equal(await sqlOne(`SELECT count(*) FROM mail_outbox o JOIN tickets t ON t.id = o.ticket_id
    WHERE t.number = $1 AND o.kind = 'team_ticket'`, b.number), '0');
});

test('the chatdesk commands add, list and delete robots and webhooks; bad input exits non-zero and adds nothing', { timeout: 60000 }, async () => {
  const before = await sqlOne('SELECT count(*) FROM robots');
  let r = await chatdesk(['robot-add', 'slack', '群', `http://127.0.0.1:${httpPort}/cli`]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /wecom, dingtalk or feishu/);
  r = await chatdesk(['robot-add', 'wecom', '群', 'gopher://127.0.0.1/x']);
  assert.equal(r.code, 3, r.stderr);
  r = await chatdesk(['robot-add', 'wecom', '群', `http://127.0.0.1:${httpPort}/cli`, 'nowhere']);
  assert.equal(r.code, 3, r.stderr);
  assert.equal(await sqlOne('SELECT count(*) FROM robots'), before);
  r = await chatdesk(['robot-add', 'dingtalk', '二线钉钉群', `http://127.0.0.1:${httpPort}/cli`, 'second-line', 'SECcli']);
  assert.equal(r.code, 0, r.stderr);
  const id = /robot (\d+) added/.exec(r.stdout)[1];
  r = await chatdesk(['robots']);
  assert.equal(r.code, 0, r.stderr);
  const line = r.stdout.split('\n').find((l) => l.startsWith(`${id}\t`));
  assert.match(line, /^\d+\tdingtalk\t二线钉钉群\tsecond-line\thttp:\/\/127\.0\.0\.1:\d+\/cli\t[a-z_,]+\tsecret\t/);
  assert.ok(!r.stdout.includes('SECcli'), 'the secret is never printed');
  r = await chatdesk(['webhook-add', `http://127.0.0.1:${httpPort}/cli`, 'short']);
  assert.equal(r.code, 3, r.stderr);
  r = await chatdesk(['robot-del', id]);
  assert.equal(r.code, 0, r.stderr);
  r = await chatdesk(['robot-del', id]);
  assert.equal(r.code, 3, r.stderr);
  assert.equal(await sqlOne('SELECT count(*) FROM robots'), before);
});

test('the daemon stops cleanly: exit status 0, no sanitizer report (leaks included)', { timeout: 60000 }, async () => {
  const e = await stopDaemon(daemon);
  assert.deepEqual(e, { code: 0, signal: null }, daemon.log.slice(-3000));
  assert.doesNotMatch(daemon.log, /Sanitizer|runtime error/, daemon.log.slice(-3000));
  assert.match(daemon.log, /hooks: \d+ delivered/); // the rounds were logged
});

test('without a mail relay (no smtp_url) the robots\' and webhooks\' deliveries still go out', { timeout: 120000 }, async () => {
  const conf = path.join(tmp, 'norelay.conf');
  await writeFile(conf, ['mail_interval_ms = 100', 'mail_retry_min = 1', 'mail_retry_max = 1', ''].join('\n'));
  daemon = startDaemon(CHATDESK, ['--index', path.join(tmp, 'index'), '--db', conninfo, '--listen', '127.0.0.1:0',
    '--www', 'chatdesk/www', '--threads', '2', '--config', conf]);
  base = await daemon.ready;
  wsUrl = base.replace('http:', 'ws:') + '/ws';
  const admin = await login(ADMIN);
  const r = await api('POST', '/api/v1/webhooks', { token: admin, json: { url: `http://127.0.0.1:${httpPort}/norelay`, secret: HOOK_SECRET, events: ['created'] } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const { number } = await raiseTicket('没有邮件中继时的推送');
  const got = await until('the delivery without a relay', () => received.find((x) => x.path === '/norelay' && x.raw.includes(number)));
  assert.equal(got.headers['x-kbdesk-signature'], `sha256=${hmac(HOOK_SECRET, got.raw, 'hex')}`);
  const e = await stopDaemon(daemon);
  assert.deepEqual(e, { code: 0, signal: null }, daemon.log.slice(-3000));
  assert.doesNotMatch(daemon.log, /Sanitizer|runtime error/, daemon.log.slice(-3000));
});
