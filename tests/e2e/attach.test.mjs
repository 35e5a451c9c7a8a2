// End-to-end tests of attachments (README "Attachments") through the real
// daemon: uploads over HTTP (POST /api/v1/attachments), references from chat
// messages and replies over the WebSocket, a ticket's attachments, and
// downloads, against a real PostgreSQL 15 (scripts/pg.sh, fsync off) and a
// real index. Refusals are checked to store nothing (no row, no file);
// permissions from the side of whoever must not see: another requester
// (attachment URL, a message referencing someone else's upload, the
// ticket's list) and an agent outside the ticket's team. No sleeps: every
// wait is for an answer, bounded in time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { makePng } from './png.mjs';
import { mustRun } from './daemon.mjs';
import { deskClient } from './desk.mjs';
import { startDesk, stopDesk } from './deskfix.mjs';

const WAIT = 30000; // ms: the sanitizer build is slow
const AGENT = { username: 'agent', password: 'demo agent pw 1' };
const MEMBER = { username: 'member', password: 'member agent pw 1' };
const OUTSIDER = { username: 'outsider', password: 'outsider agent pw 1' };

const d = {};
let tmp, conninfo, index, daemon, base, wsUrl, attachDir;
function psqlBin() {
  for (const d of [process.env.PG_BIN, '/usr/lib/postgresql/15/bin'])
    if (d && existsSync(path.join(d, 'psql'))) return path.join(d, 'psql');
  return 'psql';
}
async function sqlOne(query) {
  const out = await mustRun(psqlBin(), ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', conninfo, '-c', query]);
  return out.trim();
}

// ---- content -------------------------------------------------------------------------

const sha = (b) => createHash('sha256').update(b).digest('hex');

// ---- HTTP ------------------------------------------------------------------------------

// desk.mjs's api (below), with downloads: bytes kept, JSON parsed only when it is JSON
const api = (method, p, opts = {}) => desk.api(method, p, { ...opts, binary: true });
const upload = (token, data, name, type = 'application/octet-stream') =>
  api('POST', '/api/v1/attachments', { token, body: data,
    headers: { 'content-type': type, 'x-filename': encodeURIComponent(name) } });

function assertError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body?.error?.code, code, r.text);
  assert.ok(r.body.error.message.length > 0);
}

// ---- WebSocket -----------------------------------------------------------------------

// WebSocket clients (tests/e2e/desk.mjs), all kept in sockets
const desk = deskClient(() => ({ base, wsUrl }), { wait: WAIT });
const { wsOpen, wsRequest, wsLogin, sockets } = desk;
// a bearer token of who (desk.mjs: asked again while the password gate says try_later)
const login = (who) => desk.login(who.username, who.password);
const waitFrame = desk.wsWait;
let people = 0;
async function requester(text = '打印机卡纸了') {
  const c = await wsOpen();
  const w = await wsRequest(c, { type: 'hello', name: `附件用户${++people}` });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  assert.equal((await wsRequest(c, { type: 'message', text })).type, 'ack');
  return { c, session: w.session };
}
async function escalate(u) {
  const t = await wsRequest(u.c, { type: 'escalate', impact: 2, urgency: 2 });
  assert.equal(t.type, 'ticket', JSON.stringify(t));
  return t.number;
}

async function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const sub of await readdir(dir)) for (const f of await readdir(path.join(dir, sub))) out.push(`${sub}/${f}`);
  return out.sort();
}

before(async () => {
  await startDesk(d, 'kbattach', {
    agents: [{ ...AGENT, name: '演示坐席' }, { ...MEMBER, name: '二线坐席', team: 'second-line' },
      { ...OUTSIDER, name: '外组坐席', team: 'specialists' }],
    conf: (x) => [`attach_dir = ${path.join(x.tmp, 'attachments')}`], // attach_max: the default 10 MB
    wait: WAIT,
  });
  ({ tmp, conninfo, index, chat: daemon, base, wsUrl } = d);
  attachDir = path.join(tmp, 'attachments');
}, { timeout: 180000 });

after(async () => {
  for (const ws of sockets) ws.terminate();
  await stopDesk(d);
}, { timeout: 60000 });

test('an image round-trips byte for byte, typed by its content, inline, nosniff, stored once per content, each read audited', { timeout: 90000 }, async () => {
  const u = await requester();
  const png = makePng(64, 48, 1);
  // the declared type and name are not believed: a PNG sent as text/plain named .txt
  const up = await upload(u.session, png, '屏幕 截图.txt', 'text/plain');
  assert.equal(up.status, 201, up.text);
  assert.deepEqual([up.body.type, up.body.size, up.body.sha256, up.body.name, up.body.image],
    ['image/png', png.length, sha(png), '屏幕 截图.txt', true]);
  assert.equal(up.body.url, `/api/v1/attachments/${up.body.id}`);
  const onDisk = await filesUnder(attachDir);
  assert.deepEqual(onDisk, [`${sha(png).slice(0, 2)}/${sha(png).slice(2)}`]);

  const got = await api('GET', up.body.url, { token: u.session });
  assert.equal(got.status, 200);
  assert.ok(got.bytes.equals(png), 'the same bytes');
  assert.equal(got.headers.get('content-type'), 'image/png');
  assert.match(got.headers.get('content-disposition'), /^inline; filename="[A-Za-z0-9._-]+"$/);
  assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(got.headers.get('content-length'), String(png.length));

  // the same content again: a new row, the same file
  const again = await upload(u.session, png, 'copy.png', 'image/png');
  assert.equal(again.status, 201, again.text);
  assert.notEqual(again.body.id, up.body.id);
  assert.equal(again.body.deduplicated, true);
  assert.deepEqual(await filesUnder(attachDir), onDisk);

  // a text file is served as a download
  const txt = Buffer.from('日志 line 1\nline 2\n', 'utf8');
  const t = await upload(u.session, txt, 'error.log', 'application/octet-stream');
  assert.equal(t.status, 201, t.text);
  assert.equal(t.body.type, 'text/plain');
  const tg = await api('GET', t.body.url, { token: u.session });
  assert.ok(tg.bytes.equals(txt));
  assert.match(tg.headers.get('content-disposition'), /^attachment; filename="error.log"$/);

  const reads = await sqlOne(`SELECT count(*) FROM audit_log WHERE object_type = 'attachment' AND action = 'read' AND object_id = '${up.body.id}'`);
  assert.equal(reads, '1', 'one audit row for the one read');
});

test('a 20 MB upload is 413 with a clear error and nothing is stored; an executable named .png is refused', { timeout: 120000 }, async () => {
  const u = await requester();
  const rows = await sqlOne('SELECT count(*) FROM attachments');
  const files = await filesUnder(attachDir);
  const big = Buffer.alloc(20 * 1024 * 1024, 0x41);
  makePng(8, 8).copy(big); // a PNG head, so only the size refuses it
  const r = await upload(u.session, big, 'huge.png', 'image/png');
  assertError(r, 413, 'too_large');
  assert.match(r.body.error.message, /larger than the limit of 10485760 bytes/);

  // executables, whatever their name and declared type
  const elf = Buffer.concat([Buffer.from('7f454c4602010100', 'hex'), Buffer.alloc(200, 1)]);
  const e = await upload(u.session, elf, 'cat.png', 'image/png');
  assertError(e, 415, 'type_not_allowed');
  assert.match(e.body.error.message, /executable program \(ELF\)/);
  const pe = await upload(u.session, Buffer.concat([Buffer.from('MZ'), Buffer.alloc(100, 0x90)]), 'photo.png', 'image/png');
  assertError(pe, 415, 'type_not_allowed');
  assert.match(pe.body.error.message, /Windows executable/);
  const sh = await upload(u.session, Buffer.from('#!/bin/sh\nrm -rf /\n'), 'notes.txt', 'text/plain');
  assertError(sh, 415, 'type_not_allowed');
  assert.match(sh.body.error.message, /script/);
  // a ZIP that is not an Office document, and an empty body
  const zip = Buffer.concat([Buffer.from('504b0304', 'hex'), Buffer.alloc(60, 0)]);
  assertError(await upload(u.session, zip, 'report.docx'), 415, 'type_not_allowed');
  assertError(await upload(u.session, Buffer.alloc(0), 'empty.png'), 400, 'empty');
  // no session: 401
  assert.equal((await upload(null, makePng(), 'a.png')).status, 401);

  assert.equal(await sqlOne('SELECT count(*) FROM attachments'), rows, 'no row');
  assert.deepEqual(await filesUnder(attachDir), files, 'no file');
  // the connection and the daemon are fine: a good upload goes through
  const ok = await upload(u.session, makePng(10, 10, 7), 'fine.png');
  assert.equal(ok.status, 201, ok.text);
});

test('another requester gets 404 for the URL, cannot reference the upload in a message, and does not see it on the ticket', { timeout: 90000 }, async () => {
  const a = await requester('显示器闪屏');
  const b = await requester('我也有问题');
  const png = makePng(32, 32, 3);
  const up = await upload(a.session, png, 'flicker.png');
  assert.equal(up.status, 201, up.text);

  // unattached: only its uploader
  assertError(await api('GET', up.body.url, { token: b.session }), 404, 'not_found');
  // B references A's upload in a message: refused, nothing attached, still unreadable
  const refused = await wsRequest(b.c, { type: 'message', text: '看看这个', attachments: [up.body.id] });
  assert.equal(refused.type, 'error', JSON.stringify(refused));
  assert.equal(refused.code, 'not_found');
  assertError(await api('GET', up.body.url, { token: b.session }), 404, 'not_found');
  // bad ids are a clear error
  const bad = await wsRequest(b.c, { type: 'message', text: 'x', attachments: ['1'] });
  assert.equal(bad.code, 'bad_field');

  // A attaches it to a message: the ack and the frames carry it
  const ack = await wsRequest(a.c, { type: 'message', text: '截图在这里', attachments: [up.body.id] });
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  assert.deepEqual(ack.attachments.map((x) => [x.id, x.seq, x.type]), [[up.body.id, ack.seq, 'image/png']]);
  // used once: it cannot go with a second message
  const twice = await wsRequest(a.c, { type: 'message', text: '再发一次', attachments: [up.body.id] });
  assert.equal(twice.code, 'not_found');
  // a catch-up replays it with its message
  const back = await wsOpen();
  const w = await wsRequest(back, { type: 'hello', resume: { session: a.session, last_seq: 0 } });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  const replayed = await waitFrame(back, (f) => f.type === 'message' && f.seq === ack.seq, 'the replayed message');
  assert.deepEqual(replayed.attachments.map((x) => x.id), [up.body.id]);

  const number = await escalate(a);
  const got = await api('GET', up.body.url, { token: a.session });
  assert.ok(got.bytes.equals(png));
  // B: the URL, the ticket's list, attaching to A's ticket: all 404
  assertError(await api('GET', up.body.url, { token: b.session }), 404, 'not_found');
  assertError(await api('GET', `/api/v1/tickets/${number}/attachments`, { token: b.session }), 404, 'not_found');
  const bUp = await upload(b.session, makePng(4, 4, 9), 'b.png');
  assertError(await api('POST', `/api/v1/tickets/${number}/attachments`, { token: b.session, json: { id: bUp.body.id } }), 404, 'not_found');
  assertError(await api('GET', '/api/v1/attachments/999999999', { token: b.session }), 404, 'not_found');
  assertError(await api('GET', '/api/v1/attachments/abc', { token: b.session }), 404, 'not_found');
  // the owner lists it
  const list = await api('GET', `/api/v1/tickets/${number}/attachments`, { token: a.session });
  assert.deepEqual(list.body.items.map((x) => x.id), [up.body.id]);
});

test('agents: any agent reads a ticket\'s attachments (as they read the ticket); only one who may work on it attaches; replies carry files', { timeout: 90000 }, async () => {
  const u = await requester('网络打印机无法连接');
  const png = makePng(40, 30, 5);
  const up = await upload(u.session, png, 'printer.png');
  assert.equal((await wsRequest(u.c, { type: 'message', text: '错误截图', attachments: [up.body.id] })).type, 'ack');
  const number = await escalate(u);
  const agent = await login(AGENT);
  // route the ticket to second-line: MEMBER is in it, OUTSIDER is not
  const tr = await api('POST', `/api/v1/tickets/${number}/transfer`, { token: agent, json: { team: 'second-line', reason: '打印服务器归二线' } });
  assert.equal(tr.status, 200, tr.text);

  const outsider = await login(OUTSIDER);
  // the permission model: every enabled agent may see a ticket, so its attachments too
  const seen = await api('GET', up.body.url, { token: outsider });
  assert.equal(seen.status, 200, seen.text);
  assert.ok(seen.bytes.equals(png));
  // ... but working on it (attaching) needs the team
  const oUp = await upload(outsider, makePng(6, 6, 2), 'outsider.png');
  assert.equal(oUp.status, 201, oUp.text);
  assertError(await api('POST', `/api/v1/tickets/${number}/attachments`, { token: outsider, json: { id: oUp.body.id } }), 403, 'forbidden');
  assertError(await api('GET', oUp.body.url, { token: u.session }), 404, 'not_found');

  const member = await login(MEMBER);
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');
  const mUp = await upload(member, pdf, '处理说明.pdf');
  assert.equal(mUp.body.type, 'application/pdf');
  const at = await api('POST', `/api/v1/tickets/${number}/attachments`, { token: member, json: { id: mUp.body.id } });
  assert.equal(at.status, 201, at.text);
  assert.equal(at.body.ticket, number);
  // the requester reads the agent's file on their ticket, as a download
  const rg = await api('GET', mUp.body.url, { token: u.session });
  assert.ok(rg.bytes.equals(pdf));
  assert.equal(rg.headers.get('content-type'), 'application/pdf');
  assert.match(rg.headers.get('content-disposition'), /^attachment; filename="[A-Za-z0-9._-]+"$/);
  const list = await api('GET', `/api/v1/tickets/${number}/attachments`, { token: outsider });
  assert.deepEqual(list.body.items.map((x) => x.id), [up.body.id, mUp.body.id]);

  // a reply with an attachment reaches the requester's frames
  const a = await wsLogin(MEMBER);
  assert.equal((await wsRequest(a, { type: 'take', ticket: number })).type, 'ticket');
  const rUp = await upload(member, makePng(12, 12, 8), 'fix.png');
  const ack = await wsRequest(a, { type: 'reply', ticket: number, text: '请看图', attachments: [rUp.body.id] });
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  const pushed = await waitFrame(u.c, (f) => f.type === 'message' && f.from === 'agent' && f.seq === ack.seq, 'the reply');
  assert.deepEqual(pushed.attachments.map((x) => x.id), [rUp.body.id]);
  const audits = await sqlOne(`SELECT count(*) FROM audit_log WHERE object_type = 'attachment' AND object_id = '${up.body.id}'`);
  assert.equal(audits, '1', 'the outsider\'s read is audited');
});
