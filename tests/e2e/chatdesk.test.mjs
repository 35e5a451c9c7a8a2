// End-to-end tests of build/bin/chatdesk's chat service (KB_BIN selects the
// binaries folder): the pages and the WebSocket on one port, the whole
// ticket flow, suggestions, resume, idempotent resends, the take race,
// roles, bad and oversized frames, PostgreSQL going away, useradd, the
// Origin check, knowledge search over /ws, internal knowledge hidden from
// requesters, sessions that end, and a clean stop. Against a real
// PostgreSQL 15 started with scripts/pg.sh in a temporary folder (fsync
// off), a real index of corpora/ built with the indexer, the real daemon
// on a free port of 127.0.0.1, agents created with `chatdesk useradd`
// (password on stdin), and real WebSocket clients (the npm `ws` package)
// (chatfix.mjs). The rows are checked with psql. Everything is bounded in
// time; there are no sleeps: tests wait for frames, and a ping/pong round
// trip marks "every earlier answer has arrived" on a connection. The
// connection caps, /metrics, login limits and the audit log are in
// chatdesk_conn.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import WebSocket from 'ws';
import { httpRaw, holdOpen, closeAll, waitFor, metric, refusedForNoFd, assertIdle, squeezeNofile,
  metricsServed } from './conn.mjs';
import { run, mustRun } from './daemon.mjs';
import { BIN, CHATDESK, INDEXER, PG_SH, VPN_TEXT, FRAME_WAIT, AGENTS, clients, startDaemon, stopDaemon, pg, sql, sqlOne,
  Client, requester, agent, ticketOf, useChatdesk, tmp, pgdir, conninfo, index, daemon, base, wsUrl } from './chatfix.mjs';

useChatdesk('kbchat');

// ---- tests ------------------------------------------------------------------------------

test('serves the pages and the WebSocket on one port', { timeout: 60000 }, async () => {
  const page = await fetch(base + '/');
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<meta charset="utf-8">/i);
  assert.match(page.headers.get('content-security-policy') || '', /script-src 'self'/);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  const missing = await fetch(base + '/no-such-page.html');
  assert.equal(missing.status, 404);
  await missing.text();
  // no Sec-WebSocket-Protocol, and the named one
  for (const proto of [undefined, 'kbdesk']) {
    const c = await Client.open(wsUrl, proto);
    await c.sync();
    await c.close();
  }
  // another path is refused
  await assert.rejects(Client.open(base.replace('http:', 'ws:') + '/elsewhere'));
});

test('the whole flow: suggestion, escalation, take, reply, link, resolve, confirm, rating',
  { timeout: 120000 }, async () => {
    const a1 = await agent('agent1');
    const q0 = await a1.request({ type: 'queue' });
    assert.equal(q0.type, 'queue');
    assert.ok(Array.isArray(q0.tickets));

    const u = await requester('王小明');
    u.send({ type: 'message', id: 'c-1', text: VPN_TEXT });
    const ack = await u.next('ack');
    assert.deepEqual([ack.id, ack.seq, ack.duplicate], ['c-1', 1, false]);
    const sg = await u.next('suggestions');
    assert.ok(sg.items.length >= 1 && sg.items.length <= 5);
    const ids = sg.items.map((i) => i.id);
    assert.equal(ids[0], 'KB-0001', `suggestions: ${ids}`);
    for (const it of sg.items) {
      assert.ok(['article', 'known_error'].includes(it.kind));
      assert.equal(it.visibility, 'public');
      assert.ok(it.title && typeof it.snippet === 'string');
    }
    assert.match(sg.items[0].title, /809/);

    // escalate: every agent hears of it
    const t = await u.request({ type: 'escalate', impact: 2, urgency: 1 });
    assert.equal(t.type, 'ticket');
    assert.match(t.number, /^INC-\d{6,}$/);
    assert.equal(t.status, 'new');
    assert.equal(t.priority, 2);
    assert.equal(t.summary, VPN_TEXT);
    assert.equal(t.category, '网络/VPN');
    assert.ok(t.response_due > t.created_at && t.resolution_due > t.response_due);
    const qn = await a1.next((f) => f.type === 'queue_update' && f.ticket.number === t.number);
    assert.equal(qn.event, 'new');

    // take: the agent and the requester see it assigned
    const taken = await a1.request({ type: 'take', ticket: t.number });
    assert.equal(taken.type, 'ticket');
    assert.equal(taken.status, 'assigned');
    assert.equal(taken.agent, '坐席 agent1');
    const ut = await u.next((f) => f.type === 'ticket' && f.status === 'assigned');
    assert.equal(ut.number, t.number);
    const qt = await a1.next((f) => f.type === 'queue_update' && f.event === 'taken');
    assert.equal(qt.ticket.number, t.number);

    // the transcript for the agent, with internal suggestions allowed
    const tr = await a1.request({ type: 'open', ticket: t.number });
    assert.equal(tr.type, 'transcript');
    assert.deepEqual(tr.messages.map((m) => [m.seq, m.from, m.text]), [[1, 'requester', VPN_TEXT]]);
    assert.ok(tr.suggestions.some((s) => s.id === 'KB-0001'));
    assert.ok(tr.links.some((l) => l.item === 'KB-0001' && l.relation === 'suggested'));
    const as = await a1.next((f) => f.type === 'suggestions' && f.ticket === t.number);
    assert.ok(as.items.length >= 1);

    // typing both ways (not stored)
    u.send({ type: 'typing' });
    const ty1 = await a1.next('typing');
    assert.deepEqual([ty1.from, ty1.ticket], ['requester', t.number]);
    a1.send({ type: 'typing', ticket: t.number });
    const ty2 = await u.next('typing');
    assert.deepEqual([ty2.from, ty2.ticket], ['agent', t.number]);

    // reply: acked, and the requester receives it
    const rack = await a1.request({ type: 'reply', ticket: t.number, id: 'a-1', text: '请把 VPN 类型改成 L2TP/IPsec 再试' });
    assert.deepEqual([rack.type, rack.seq, rack.ticket], ['ack', 2, t.number]);
    const um = await u.next('message');
    assert.deepEqual([um.from, um.seq, um.text, um.ticket], ['agent', 2, '请把 VPN 类型改成 L2TP/IPsec 再试', t.number]);
    assert.equal(um.name, '坐席 agent1');

    // the requester answers; the agent holding the ticket gets it live
    const ack3 = await u.request({ type: 'message', id: 'c-2', text: '改了，还是提示 809' });
    assert.equal(ack3.seq, 3);
    const am = await a1.next('message');
    assert.deepEqual([am.from, am.seq, am.ticket, am.name], ['requester', 3, t.number, '王小明']);

    // link, resolve
    const ln = await a1.request({ type: 'link', ticket: t.number, item: 'KB-0001' });
    assert.deepEqual([ln.type, ln.added, ln.relation], ['linked', true, 'used']);
    const rs = await a1.request({ type: 'resolve', ticket: t.number, resolution: '已按 KB-0001 修改注册表并重启，VPN 恢复' });
    assert.deepEqual([rs.type, rs.status], ['ticket', 'resolved']);
    const ur = await u.next('resolved');
    assert.deepEqual([ur.ticket, ur.resolution], [t.number, '已按 KB-0001 修改注册表并重启，VPN 恢复']);

    // confirm and rate
    const cf = await u.request({ type: 'confirm', ticket: t.number, accepted: true });
    assert.deepEqual([cf.type, cf.status], ['ticket', 'closed']);
    const qc = await a1.next((f) => f.type === 'queue_update' && f.event === 'closed');
    assert.equal(qc.ticket.number, t.number);
    const rt = await u.request({ type: 'rate', ticket: t.number, score: 5, comment: '很快解决了，谢谢' });
    assert.deepEqual([rt.type, rt.score], ['rated', 5]);

    // the rows in PostgreSQL
    const [row] = await sql(`SELECT t.status, t.priority, t.impact, t.urgency, a.username, r.name,
        t.first_response_at IS NOT NULL, t.closed_at IS NOT NULL, t.category, t.resolution
      FROM tickets t JOIN people a ON a.id = t.agent_id JOIN people r ON r.id = t.requester_id
      WHERE t.number = $1`, t.number);
    assert.deepEqual(row, ['closed', '2', '2', '1', 'agent1', '王小明', 't', 't', '网络/VPN',
      '已按 KB-0001 修改注册表并重启，VPN 恢复']);
    assert.equal(await sqlOne(`SELECT string_agg(e.type, ',' ORDER BY e.id) FROM ticket_events e
      JOIN tickets t ON t.id = e.ticket_id WHERE t.number = $1`, t.number),
    'created,taken,replied,linked,resolved,confirmed,rated');
    assert.deepEqual(await sql(`SELECT m.seq, m.sender_role, m.client_id, m.body FROM messages m
      JOIN tickets t ON t.conversation_id = m.conversation_id WHERE t.number = $1 ORDER BY m.seq`, t.number), [
      ['1', 'requester', 'c-1', VPN_TEXT],
      ['2', 'agent', 'a-1', '请把 VPN 类型改成 L2TP/IPsec 再试'],
      ['3', 'requester', 'c-2', '改了，还是提示 809'],
    ]);
    assert.deepEqual(await sql(`SELECT r.score, r.comment FROM ratings r JOIN tickets t ON t.id = r.ticket_id
      WHERE t.number = $1`, t.number), [['5', '很快解决了，谢谢']]);
    const links = (await sql(`SELECT l.doc_id || ':' || l.relation FROM ticket_links l
      JOIN tickets t ON t.id = l.ticket_id WHERE t.number = $1`, t.number)).map((r) => r[0]);
    assert.ok(links.includes('KB-0001:suggested') && links.includes('KB-0001:used'), links.join(','));
    assert.equal(await sqlOne(`SELECT count(*) FROM conversation_suggestions s
      JOIN tickets t ON t.conversation_id = s.conversation_id WHERE t.number = $1 AND s.doc_id = 'KB-0001'`,
    t.number), '1');
    assert.equal(await sqlOne(`SELECT c.status FROM conversations c JOIN tickets t
      ON t.conversation_id = c.id WHERE t.number = $1`, t.number), 'closed');
    // the session token is stored hashed only
    assert.equal(await sqlOne(`SELECT count(*) FROM sessions
      WHERE position(convert_to($1, 'UTF8') IN token_hash) > 0`, u.session), '0');
    assert.equal(await sqlOne('SELECT count(*) FROM sessions WHERE octet_length(token_hash) = 32'),
      await sqlOne('SELECT count(*) FROM sessions'));
    await u.close();
    await a1.close();
  });

test('an off-topic question gets no weak suggestions: no_good_match, and the escalated ticket has no guessed category', { timeout: 60000 }, async () => {
  const u = await requester();
  await u.request({ type: 'message', text: '今天天气怎么样，中午吃什么好' });
  const sg = await u.next('suggestions');
  assert.equal(sg.no_good_match, true, JSON.stringify(sg));
  assert.deepEqual(sg.items, []);
  assert.equal(await sqlOne('SELECT count(*) FROM conversation_suggestions s JOIN conversations c ON c.id = s.conversation_id WHERE c.id = $1', u.conversation), '0');
  const t = await u.request({ type: 'escalate', impact: 3, urgency: 3 });
  assert.equal(t.type, 'ticket', JSON.stringify(t));
  assert.equal(await sqlOne("SELECT coalesce(category, '(none)') FROM tickets WHERE number = $1", t.number), '(none)');
  await u.close();
  // an answerable problem is not flagged, and its ticket's category comes from a good match
  const v = await requester();
  await v.request({ type: 'message', text: VPN_TEXT });
  const sv = await v.next('suggestions');
  assert.equal(sv.no_good_match, false);
  assert.ok(sv.items.length > 0 && sv.items[0].confidence >= 0.25, JSON.stringify(sv.items[0]));
  assert.ok(sv.items.every((i) => i.confidence >= 0 && i.confidence <= 1));
  const tv = await v.request({ type: 'escalate', impact: 2, urgency: 2 });
  assert.ok(await sqlOne('SELECT category FROM tickets WHERE number = $1', tv.number));
  await v.close();
});

test('a helpful suggestion ends the chat as self-solved', { timeout: 60000 }, async () => {
  const u = await requester();
  await u.request({ type: 'message', text: '打印机脱机了，无法打印' });
  const sg = await u.next('suggestions');
  const item = sg.items[0].id;
  const fb = await u.request({ type: 'feedback', item, helpful: true });
  assert.deepEqual([fb.type, fb.ended, fb.status], ['feedback_ack', true, 'self_solved']);
  assert.equal(await sqlOne('SELECT doc_id FROM deflections WHERE conversation_id = $1', u.conversation), item);
  // writing again starts a new conversation
  u.send({ type: 'message', id: 'again', text: '还有一个问题' });
  const conv = await u.next('conversation');
  assert.notEqual(conv.conversation.id, u.conversation);
  const ack = await u.next('ack');
  assert.equal(ack.seq, 1);
  await u.close();
});

test('reconnect with resume in the middle loses and duplicates nothing', { timeout: 120000 }, async () => {
  const a = await agent('agent2');
  const [u1, number] = await ticketOf();
  await a.request({ type: 'take', ticket: number });
  await u1.next((f) => f.type === 'ticket' && f.status === 'assigned');
  // the agent fires 20 replies without waiting; the requester drops out
  // after seeing a few and comes back with what it has seen
  const N = 20;
  for (let i = 1; i <= N; i++) a.send({ type: 'reply', ticket: number, id: `burst-${i}`, text: `回复 ${i}` });
  const seen1 = [];
  for (;;) {
    const m = await u1.next('message');
    seen1.push(m.seq);
    if (m.seq >= 6) break;
  }
  const lastSeq = Math.max(...seen1);
  await u1.close();
  const u2 = await Client.open();
  const w = await u2.request({ type: 'hello', resume: { session: u1.session, last_seq: lastSeq, conversation: u1.conversation } });
  assert.equal(w.type, 'welcome');
  assert.equal(w.resumed, true);
  assert.equal(w.conversation.id, u1.conversation);
  assert.equal(w.ticket.number, number);
  const seen2 = [];
  while (!seen2.includes(N + 1)) seen2.push((await u2.next('message')).seq);
  // in order, each once, nothing missing: 2..N+1 over both connections
  assert.deepEqual(seen1, Array.from({ length: seen1.length }, (_, i) => i + 2));
  assert.deepEqual(seen2, Array.from({ length: N + 1 - lastSeq }, (_, i) => lastSeq + 1 + i));
  for (let i = 1; i <= N; i++) await a.next((f) => f.type === 'ack' && f.id === `burst-${i}`);
  // and live messages keep coming, once
  await a.request({ type: 'reply', ticket: number, id: 'after', text: '还在吗？' });
  const live = await u2.next('message');
  assert.equal(live.seq, N + 2);
  await u2.sync();
  assert.equal(u2.frames.filter((f) => f.type === 'message' && f.seq === N + 2).length, 1);
  assert.equal(u2.frames.filter((f) => f.type === 'message').length, N + 2 - lastSeq);
  // a requester message in the middle of the replay keeps its own seq
  const own = await u2.request({ type: 'message', id: 'mine', text: '在的' });
  assert.equal(own.seq, N + 3);
  assert.equal(await sqlOne(`SELECT count(*) FROM messages m JOIN tickets t
    ON t.conversation_id = m.conversation_id WHERE t.number = $1`, number), String(N + 3));
  await u2.close();
  await a.close();
});

test('resending the same client id acks the same seq and stores once', { timeout: 60000 }, async () => {
  const u = await requester();
  u.send({ type: 'message', id: 'same', text: 'Outlook 打不开' });
  u.send({ type: 'message', id: 'same', text: 'Outlook 打不开' });
  const a1 = await u.next('ack');
  const a2 = await u.next('ack');
  assert.deepEqual([a1.id, a1.seq, a1.duplicate], ['same', 1, false]);
  assert.deepEqual([a2.id, a2.seq, a2.duplicate], ['same', 1, true]);
  // after a reconnect too
  await u.close();
  const u2 = await Client.open();
  await u2.request({ type: 'hello', resume: { session: u.session, last_seq: 1 } });
  const a3 = await u2.request({ type: 'message', id: 'same', text: 'Outlook 打不开' });
  assert.deepEqual([a3.seq, a3.duplicate], [1, true]);
  assert.equal(await sqlOne("SELECT count(*) FROM messages WHERE conversation_id = $1 AND client_id = 'same'",
    u.conversation), '1');
  assert.equal(await sqlOne('SELECT last_seq FROM conversations WHERE id = $1', u.conversation), '1');
  await u2.close();
});

test('messages sent back to back: acks do not wait for suggestions, the latest gets them', { timeout: 60000 }, async () => {
  const u = await requester();
  const n = 6;
  for (let i = 1; i <= n; i++) u.send({ type: 'message', id: `burst-${i}`, text: VPN_TEXT });
  const acks = [];
  for (let i = 1; i <= n; i++) acks.push(await u.next('ack'));
  assert.deepEqual(acks.map((a) => [a.id, a.seq]), [...Array(n)].map((_, i) => [`burst-${i + 1}`, i + 1]));
  // the searches run after the acks; when they fall behind, the earlier
  // messages' are skipped, never the latest one's
  const last = await u.next((f) => f.type === 'suggestions' && f.for_seq === n);
  assert.ok(last.items.some((it) => it.id === 'KB-0001'), JSON.stringify(last.items));
  await u.sync();
  const acked = new Set();
  const suggested = new Set();
  for (const f of u.frames) {
    if (f.type === 'ack') acked.add(f.seq);
    if (f.type !== 'suggestions') continue;
    assert.ok(acked.has(f.for_seq), `suggestions for ${f.for_seq} before its ack`);
    assert.ok(!suggested.has(f.for_seq), `suggestions for ${f.for_seq} twice`);
    suggested.add(f.for_seq);
  }
  assert.equal(await sqlOne("SELECT count(*) FROM conversation_suggestions WHERE conversation_id = $1 AND doc_id = 'KB-0001'",
    u.conversation), '1');
  await u.close();
});

test('two agents racing to take one ticket: exactly one wins', { timeout: 120000 }, async () => {
  const a1 = await agent('agent1');
  const a2 = await agent('agent2');
  for (let round = 0; round < 5; round++) {
    const [u, number] = await ticketOf(`第 ${round} 个问题：打印机脱机`);
    a1.send({ type: 'take', ticket: number, id: `t1-${round}` });
    a2.send({ type: 'take', ticket: number, id: `t2-${round}` });
    const r1 = await a1.next((f) => f.id === `t1-${round}`);
    const r2 = await a2.next((f) => f.id === `t2-${round}`);
    const wins = [r1, r2].filter((f) => f.type === 'ticket');
    const losses = [r1, r2].filter((f) => f.type === 'error');
    assert.equal(wins.length, 1, JSON.stringify([r1, r2]));
    assert.equal(losses.length, 1);
    assert.equal(losses[0].code, 'already_taken');
    const winner = r1.type === 'ticket' ? 'agent1' : 'agent2';
    assert.equal(await sqlOne(`SELECT p.username FROM tickets t JOIN people p ON p.id = t.agent_id
      WHERE t.number = $1`, number), winner);
    assert.equal(await sqlOne(`SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
      WHERE t.number = $1 AND e.type = 'taken'`, number), '1');
    await u.close();
  }
  await a1.close();
  await a2.close();
});

test('a requester is refused agent operations and other people\'s tickets', { timeout: 60000 }, async () => {
  const [owner, number] = await ticketOf();
  const other = await requester();
  assert.equal((await other.request({ type: 'message', text: '打印机脱机' })).type, 'ack');
  const tries = [
    { type: 'queue' },
    { type: 'take', ticket: number },
    { type: 'reply', ticket: number, id: 'x', text: 'hi' },
    { type: 'link', ticket: number, item: 'KB-0001' },
    { type: 'resolve', ticket: number, resolution: 'done' },
  ];
  for (const t of tries) {
    const e = await other.request(t);
    assert.deepEqual([e.type, e.code], ['error', 'forbidden'], JSON.stringify([t, e]));
  }
  // someone else's ticket and a ticket that does not exist get the same
  // answer, so ticket numbers cannot be probed
  for (const t of [{ type: 'open' }, { type: 'confirm', accepted: true }, { type: 'rate', score: 1 }]) {
    const theirs = await other.request({ ...t, ticket: number, id: 'probe' });
    const none = await other.request({ ...t, ticket: 'INC-999999', id: 'probe' });
    assert.equal(theirs.code, 'not_found', JSON.stringify(theirs));
    assert.deepEqual(theirs, none);
  }
  // the owner may read their own ticket, but not act as an agent
  const tr = await owner.request({ type: 'open', ticket: number });
  assert.equal(tr.type, 'transcript');
  const e = await owner.request({ type: 'take', ticket: number });
  assert.equal(e.code, 'forbidden');
  assert.equal(await sqlOne('SELECT status FROM tickets WHERE number = $1', number), 'new');
  // nobody signed in may do nothing but hello / login / ping
  const anon = await Client.open();
  const na = await anon.request({ type: 'queue' });
  assert.equal(na.code, 'not_authenticated');
  await anon.sync();
  await anon.close();
  await other.sync();
  await other.close();
  await owner.close();
});

test('bad frames each get an error and the server keeps serving', { timeout: 60000 }, async () => {
  const u = await requester();
  const cases = [
    ['not json', 'bad_json'],
    ['[1,2,3]', 'not_object'],
    [JSON.stringify({ type: 'dance', id: 'd1' }), 'unknown_type'],
    [JSON.stringify({ id: 'n1' }), 'missing_field'],
    [JSON.stringify({ type: 'message', id: 'm1' }), 'missing_field'],
    [JSON.stringify({ type: 'message', text: 'no id' }), 'missing_field'],
    [JSON.stringify({ type: 'escalate', impact: 7, urgency: 1 }), 'bad_field'],
    [JSON.stringify({ type: 'message', id: 'big', text: 'x'.repeat(100000) }), 'too_large'],
    ['{"type":"message","id":"nul","text":"a\\u0000b"}', 'bad_encoding'],
  ];
  for (const [frame, code] of cases) {
    u.send(frame);
    const e = await u.next('error');
    assert.equal(e.code, code, `${frame.slice(0, 60)} -> ${JSON.stringify(e)}`);
    assert.ok(e.message);
  }
  // ids are echoed when known, fields named
  const fe = u.frames.filter((f) => f.type === 'error');
  assert.equal(fe[2].id, 'd1');
  assert.equal(fe[4].id, 'm1');
  assert.equal(fe[4].field, 'text');
  // invalid UTF-8 as a text frame and as a binary frame
  u.sendRaw(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), false);
  assert.equal((await u.next('error')).code, 'bad_encoding');
  u.sendRaw(Buffer.from('{"type":"ping"}'), true);
  assert.equal((await u.next('error')).code, 'bad_frame');
  // 1 MB: read to its end, dropped, answered
  u.send('{"type":"message","id":"huge","text":"' + '字'.repeat(350000) + '"}');
  assert.equal((await u.next('error')).code, 'too_large');
  // the connection still works
  const ack = await u.request({ type: 'message', id: 'ok-1', text: '邮箱满了怎么办' });
  assert.deepEqual([ack.type, ack.seq], ['ack', 1]);
  // a message of only blanks (ideographic spaces, NBSP, zero-width) is
  // refused with a clear error, and nothing is stored
  for (const text of [' \t\n', '\u3000\u3000', '\u00a0\u200b\u3000\ufeff']) {
    const b = await u.request({ type: 'message', id: 'blank', text });
    assert.deepEqual([b.type, b.code, b.field, b.id, b.message],
      ['error', 'bad_field', 'text', 'blank', 'text must not be blank'], JSON.stringify(b));
  }
  assert.equal(await sqlOne('SELECT count(*) FROM messages WHERE conversation_id = $1', u.conversation), '1');
  // and so does the server
  const v = await requester();
  await v.sync();
  assert.equal(daemon.exited, null);
  await v.close();
  await u.close();
});

test('frames over the rate limit are refused, then the connection goes on', { timeout: 60000 }, async () => {
  const u = await Client.open();
  const N = 120; // default: 20 per second, bursts of 40
  for (let i = 0; i < N; i++) u.send({ type: 'ping', id: `p${i}` });
  const answers = [];
  for (let i = 0; i < N; i++) answers.push(await u.next((f) => f.id === `p${i}`));
  const pongs = answers.filter((f) => f.type === 'pong').length;
  const limited = answers.filter((f) => f.type === 'error' && f.code === 'rate_limited').length;
  assert.equal(pongs + limited, N);
  assert.ok(limited >= 1, `no frame was rate limited (${pongs} pongs)`);
  assert.ok(pongs >= 40, `only ${pongs} pongs`);
  await u.close();
});

test('a message of many receive buffers arrives whole (fragment reassembly)', { timeout: 60000 }, async () => {
  // 13,000 different ideographs, 39,000 bytes: libwebsockets hands it over
  // in pieces of its per-connection receive buffer (2 KiB), which chatdesk
  // must put back together in order
  const text = Array.from({ length: 13000 }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7919) % 20000))).join('');
  const u = await requester();
  const ack = await u.request({ type: 'message', id: 'long-1', text });
  assert.deepEqual([ack.type, ack.seq], ['ack', 1], JSON.stringify(ack).slice(0, 200));
  // read it back as stored: a resume replays the conversation
  const u2 = await Client.open();
  const w = await u2.request({ type: 'hello', resume: { session: u.session, last_seq: 0, conversation: ack.conversation.id } });
  assert.equal(w.resumed, true);
  const m = await u2.next('message');
  assert.equal(m.seq, 1);
  assert.equal(m.text.length, text.length);
  assert.ok(m.text === text, 'the stored text differs from the one sent');
  await u.close();
  await u2.close();
});

test('PostgreSQL stopped and restarted during a chat', { timeout: 120000 }, async () => {
  const u = await requester();
  const a0 = await u.request({ type: 'message', id: 'before', text: '共享盘打不开' });
  assert.equal(a0.seq, 1);
  await pg('stop');
  try {
    u.send({ type: 'message', id: 'down-1', text: '还是打不开' });
    const e = await u.next((f) => f.id === 'down-1');
    assert.deepEqual([e.type, e.code], ['error', 'db_unavailable'], JSON.stringify(e));
    await u.sync(); // every answer is in: no ack for it
    assert.equal(u.frames.filter((f) => f.type === 'ack' && f.id === 'down-1').length, 0);
    // a new client is welcomed (hello stores nothing), its first message
    // gets a clear error, and the server keeps running
    const v = await Client.open();
    assert.equal((await v.request({ type: 'hello', name: '新用户' })).type, 'welcome');
    const ve = await v.request({ type: 'message', id: 'first', text: '打印机脱机' });
    assert.deepEqual([ve.type, ve.code], ['error', 'db_unavailable'], JSON.stringify(ve));
    await v.close();
    assert.equal(daemon.exited, null);
  } finally {
    await pg('start');
  }
  // back: the resend is stored once, with the next seq
  const a1 = await u.request({ type: 'message', id: 'down-1', text: '还是打不开' });
  assert.deepEqual([a1.type, a1.seq, a1.duplicate], ['ack', 2, false]);
  assert.equal(await sqlOne('SELECT count(*) FROM messages WHERE conversation_id = $1', u.conversation), '2');
  const t = await u.request({ type: 'escalate', impact: 3, urgency: 2 });
  assert.equal(t.type, 'ticket');
  const v2 = await requester();
  await v2.close();
  await u.close();
});

test('useradd reads the password from stdin and refuses bad input', { timeout: 60000 }, async () => {
  const empty = await run(CHATDESK, ['useradd', '--agent', 'nopass', '--db', conninfo], { input: '\n' });
  assert.equal(empty.code, 2, empty.stderr);
  const dup = await run(CHATDESK, ['useradd', '--agent', 'agent1', '--db', conninfo], { input: 'x\n' });
  assert.equal(dup.code, 3, dup.stderr);
  const bad = await run(CHATDESK, ['useradd', '--agent', 'bad name!', '--db', conninfo], { input: 'x\n' });
  assert.equal(bad.code, 2, bad.stderr);
  const usage = await run(CHATDESK, ['useradd', '--db', conninfo], { input: 'x\n' });
  assert.equal(usage.code, 2);
  // through a config file
  const cfg = path.join(tmp, 'chatdesk.conf');
  await writeFile(cfg, `# test\ndb = ${conninfo}\n`);
  const ok = await run(CHATDESK, ['useradd', '--agent', 'agent3', '--config', cfg], { input: 'pw-3\n' });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(await sqlOne("SELECT password_hash FROM people WHERE username = 'agent3'"), /^\$argon2id\$/);
  const c = await Client.open();
  assert.equal((await c.request({ type: 'login', username: 'agent3', password: 'pw-3' })).type, 'welcome');
  await c.close();
  const help = await run(CHATDESK, ['--help']);
  assert.equal(help.code, 0);
  for (const key of ['--index', '--db', '--listen', '--config', '--www', '--threads', '--max-frame',
    '--rate', '--burst', '--session-ttl', '--auto-close-days', '--allowed-origins', 'useradd', 'max_frame',
    'auto_close_days', 'allowed_origins']) {
    assert.ok(help.stdout.includes(key), `--help lacks ${key}`);
  }
  const badflag = await run(CHATDESK, ['--index', index, '--db', conninfo, '--rate', '0']);
  assert.equal(badflag.code, 2);
  for (const bad of ['evil.example', 'http://a.example/path', 'ftp://a.example', 'http://a.example,', 'http://a:99999']) {
    const r = await run(CHATDESK, ['--index', index, '--db', conninfo, '--allowed-origins', bad]);
    assert.equal(r.code, 2, `--allowed-origins ${bad}: ${r.stderr}`);
    assert.match(r.stderr, /--allowed-origins/);
  }
});

test('the WebSocket handshake checks the Origin of browsers', { timeout: 120000 }, async () => {
  const port = new URL(base).port;
  // no Origin (not a browser), the page's own origin, and localhost for a loopback address
  for (const origin of [undefined, base, `http://localhost:${port}`, base.toUpperCase()]) {
    const c = await Client.open(wsUrl, undefined, origin ? { origin } : {});
    await c.sync();
    await c.close();
  }
  // anything else is refused during the handshake
  for (const origin of ['http://evil.example', `http://127.0.0.1:${Number(port) + 1}`, `https://127.0.0.1:${port}`,
    `${base}.evil.example`, 'null']) {
    await assert.rejects(Client.open(wsUrl, undefined, { origin }), `origin ${origin} is refused`);
  }
  // allowed_origins (a config file key, and the flag over it) adds origins
  const cfg = path.join(tmp, 'origins.conf');
  await writeFile(cfg, 'allowed_origins = https://desk.example.cn , http://10.0.0.5:8081/\n');
  const d2 = startDaemon(['--index', index, '--db', conninfo, '--listen', '127.0.0.1:0',
    '--www', 'chatdesk/www', '--threads', '1', '--config', cfg]);
  try {
    const base2 = await d2.ready;
    const ws2 = base2.replace('http:', 'ws:') + '/ws';
    for (const origin of ['https://desk.example.cn', 'http://10.0.0.5:8081', base2]) {
      const c = await Client.open(ws2, undefined, { origin });
      const w = await c.request({ type: 'hello', name: '跨域用户' });
      assert.equal(w.type, 'welcome');
      await c.close();
    }
    for (const origin of ['http://desk.example.cn', 'https://desk.example.cn:8443', 'http://evil.example']) {
      await assert.rejects(Client.open(ws2, undefined, { origin }), `origin ${origin} is refused`);
    }
  } finally {
    const e = await stopDaemon(d2);
    assert.deepEqual(e, { code: 0, signal: null }, d2.log);
  }
});

test('agents search the knowledge base and read documents over /ws', { timeout: 60000 }, async () => {
  const a = await agent('agent1');
  const r = await a.request({ type: 'search', q: '域账号锁定 4740' });
  assert.equal(r.type, 'search_results', JSON.stringify(r));
  assert.equal(r.q, '域账号锁定 4740');
  assert.ok(r.total >= r.items.length && r.items.length >= 1 && r.items.length <= 10);
  const kb30 = r.items.find((i) => i.id === 'KB-0030');
  assert.ok(kb30, `the lockout article is found: ${r.items.map((i) => i.id)}`);
  assert.equal(kb30.visibility, 'internal');
  assert.ok(kb30.title && typeof kb30.snippet === 'string');
  const ke = await a.request({ type: 'search', q: 'VPN', kind: 'known_error', limit: 3 });
  assert.ok(ke.items.length >= 1 && ke.items.length <= 3);
  assert.ok(ke.items.every((i) => i.kind === 'known_error' && i.status));
  const std = await a.request({ type: 'search', q: '服务台', kind: 'standard', limit: 2 });
  assert.ok(std.items.every((i) => i.kind === 'standard' && i.clause));
  for (const [frame, code, field] of [
    [{ type: 'search', q: '' }, 'bad_field', 'q'],
    [{ type: 'search' }, 'missing_field', 'q'],
    [{ type: 'search', q: 'x'.repeat(4097) }, 'bad_field', 'q'],
    [{ type: 'search', q: 'VPN', kind: 'faq' }, 'bad_field', 'kind'],
    [{ type: 'search', q: 'VPN', limit: 500 }, 'bad_field', 'limit'],
    [{ type: 'doc' }, 'missing_field', 'item'],
  ]) {
    const e = await a.request(frame);
    assert.deepEqual([e.type, e.code, e.field], ['error', code, field], JSON.stringify([frame, e]));
  }
  // the full document: internal ones for agents only
  const d = await a.request({ type: 'doc', item: 'KB-0030' });
  assert.equal(d.type, 'doc');
  assert.equal(d.doc.id, 'KB-0030');
  assert.equal(d.doc.visibility, 'internal');
  assert.match(d.doc.body, /4740/);
  const u = await requester();
  const f = await u.request({ type: 'search', q: 'VPN' });
  assert.deepEqual([f.type, f.code], ['error', 'forbidden']);
  const pub = await u.request({ type: 'doc', item: 'KB-0001' });
  assert.equal(pub.doc.id, 'KB-0001');
  assert.match(pub.doc.body, /AssumeUDPEncapsulationContextOnSendRule/);
  const hidden = await u.request({ type: 'doc', item: 'KB-0030' });
  assert.deepEqual([hidden.type, hidden.code], ['error', 'not_found']);
  const none = await a.request({ type: 'doc', item: 'KB-9999' });
  assert.equal(none.code, 'not_found');
  await u.close();
  await a.close();
});

// The internal-only terms of the index (terms no public document holds),
// the internal ids, and every document's text: from `indexer list` and
// `indexer show --terms`, as tests/e2e/visibility.test.mjs derives them.
async function readVisibility() {
  const ids = (await mustRun(INDEXER, ['list', '--index', index])).split('\n').filter(Boolean)
    .map((l) => l.split('\t')[0]);
  const docs = new Map();
  const batches = [0, 1, 2, 3].map((k) => ids.filter((_, i) => i % 4 === k)).filter((b) => b.length);
  await Promise.all(batches.map(async (batch) => {
    // each document's JSON ("{" ... "}" lines), then its terms
    const out = await mustRun(INDEXER, ['show', '--index', index, '--terms', ...batch]);
    let json = null, doc = null;
    for (const line of out.split('\n')) {
      if (json !== null) {
        json.push(line);
        if (line === '}') {
          const d = JSON.parse(json.join('\n'));
          json = null;
          doc = { visibility: d.visibility || 'public', terms: [],
            text: [d.body, d.symptom, d.cause, d.workaround, d.resolution].filter(Boolean).join('\n') };
          docs.set(d.id, doc);
        }
      } else if (line === '{') {
        json = [line];
      } else if (line.includes('\twdf=') && !/^[A-Z]/.test(line)) {
        doc.terms.push(line.slice(0, line.indexOf('\twdf=')));
      }
    }
  }));
  assert.equal(docs.size, ids.length);
  const pub = new Set(), int = new Set();
  for (const d of docs.values()) for (const t of d.terms) (d.visibility === 'public' ? pub : int).add(t);
  const internalOnly = [...int].filter((t) => !pub.has(t)).sort();
  const internalIds = new Set([...docs].filter(([, d]) => d.visibility !== 'public').map(([id]) => id));
  return { docs, internalOnly, internalIds };
}

test('a requester gets nothing of internal knowledge: suggestions, documents, links, ticket listings',
  { timeout: 300000 }, async () => {
    const { docs, internalOnly, internalIds } = await readVisibility();
    const internalSet = new Set(internalOnly);
    assert.ok(internalOnly.length >= 500 && internalIds.size >= 10, `${internalOnly.length} terms`);
    const seen = []; // every text a requester was given
    const u = await requester();
    // every internal-only term, 80 to a message: the suggestions stay public
    for (let i = 0; i < internalOnly.length; i += 80) {
      const ack = await u.request({ type: 'message', text: internalOnly.slice(i, i + 80).join(' ') });
      assert.equal(ack.type, 'ack', JSON.stringify(ack));
      const sg = await u.next((f) => f.type === 'suggestions' && f.for_seq === ack.seq);
      for (const it of sg.items) {
        assert.ok(!internalIds.has(it.id) && it.visibility === 'public', JSON.stringify(it));
        // (a snippet is a cut of the hit's text: its first and last words may
        // be parts of words, so the hit itself is what is checked)
        seen.push(it.title, it.workaround || '');
      }
    }
    // documents: an internal one is not found; the ids a public one names
    // are links (refs) only when public
    const named = [];
    for (const [id, d] of docs) {
      if (d.visibility !== 'public') continue;
      for (const m of new Set(d.text.match(/\b(?:KB|KE)-\d{3,6}\b/g) || [])) if (m !== id && docs.has(m)) named.push([id, m]);
    }
    assert.ok(named.some(([, to]) => internalIds.has(to)), JSON.stringify(named));
    // the look-ups go through fresh connections, 30 to one: a connection's
    // frames are limited (20/s, bursts of 40), and a fast build answers
    // faster than that
    let ud = null, ad0 = null;
    for (const [k, [from, to]] of named.entries()) {
      if (k % 30 === 0) {
        if (ud) await Promise.all([ud.close(), ad0.close()]);
        [ud, ad0] = await Promise.all([requester(), agent('agent2')]);
      }
      const pd = await ud.request({ type: 'doc', item: from });
      assert.equal(pd.type, 'doc', JSON.stringify(pd));
      assert.equal(pd.doc.refs.includes(to), !internalIds.has(to), `${from} -> ${to}: ${pd.doc.refs}`);
      seen.push(pd.doc.title, pd.doc.body || '', pd.doc.symptom || '', pd.doc.workaround || '');
      const ad = await ad0.request({ type: 'doc', item: from });
      assert.ok(ad.doc.refs.includes(to), `${from} -> ${to} (agent): ${ad.doc.refs}`);
    }
    await Promise.all([ud.close(), ad0.close()]);
    const a = await agent('agent2');
    const u2 = await requester(); // a fresh rate bucket for these requests
    for (const id of internalIds) {
      const e = await u2.request({ type: 'doc', item: id });
      assert.deepEqual([e.type, e.code], ['error', 'not_found'], id);
    }
    await u2.close();
    // no word of anything the requester was given is an internal-only term
    const words = (await run(INDEXER, ['tokenize'], { input: seen.join('\n') })).stdout.split('\n');
    assert.ok(words.length > 100, `${words.length} words`);
    assert.deepEqual(words.filter((w) => internalSet.has(w)).slice(0, 10), []);
    // the ticket: an agent links an internal and a public document; the
    // requester's transcript lists the public one only
    const t = await u.request({ type: 'escalate', impact: 3, urgency: 3 });
    assert.equal(t.type, 'ticket', JSON.stringify(t));
    assert.equal((await a.request({ type: 'take', ticket: t.number })).status, 'assigned');
    const hidden = [...internalIds].sort()[0];
    for (const item of [hidden, 'KB-0001']) {
      const ln = await a.request({ type: 'link', ticket: t.number, item });
      assert.equal(ln.type, 'linked', JSON.stringify(ln));
    }
    const ut = await u.request({ type: 'open', ticket: t.number });
    assert.equal(ut.type, 'transcript');
    assert.ok(ut.links.some((l) => l.item === 'KB-0001'), JSON.stringify(ut.links));
    assert.deepEqual(ut.links.filter((l) => internalIds.has(l.item)), [], JSON.stringify(ut.links));
    assert.deepEqual(ut.suggestions.filter((s) => internalIds.has(s.id)), []);
    const at = await a.request({ type: 'open', ticket: t.number });
    assert.ok(at.links.some((l) => l.item === hidden), JSON.stringify(at.links));
    await u.close();
    await a.close();
  });

test('a connection whose session ends is signed out and can sign in again', { timeout: 60000 }, async () => {
  // a requester whose session runs out (its row expired in PostgreSQL)
  const u = await requester();
  assert.equal((await u.request({ type: 'message', text: '邮箱满了' })).type, 'ack');
  const hash = await sqlOne(`SELECT encode(s.token_hash, 'hex') FROM sessions s
    JOIN conversations c ON c.requester_id = s.person_id WHERE c.id = $1`, u.conversation);
  await sql(`UPDATE sessions SET created_at = now() - interval '2 hours', last_seen_at = now() - interval '1 hour',
    expires_at = now() - interval '1 second' WHERE token_hash = decode($1, 'hex')`, hash);
  const e = await u.request({ type: 'message', id: 'late', text: '还在吗' });
  assert.deepEqual([e.type, e.code, e.id], ['error', 'session_expired', 'late']);
  assert.equal(await sqlOne('SELECT count(*) FROM messages WHERE conversation_id = $1', u.conversation), '1');
  const na = await u.request({ type: 'escalate', impact: 1, urgency: 1 });
  assert.equal(na.code, 'not_authenticated');
  // the connection is still open: a new chat on it
  const w = await u.request({ type: 'hello', name: '重新开始' });
  assert.equal(w.type, 'welcome');
  assert.equal((await u.request({ type: 'message', text: '邮箱满了' })).seq, 1);

  // an agent's session ended by a logout on another connection
  const a1 = await agent('agent2');
  const login = a1.frames.find((f) => f.type === 'welcome');
  const a2 = await Client.open();
  assert.equal((await a2.request({ type: 'login', session: login.session })).type, 'welcome');
  assert.equal((await a2.request({ type: 'queue' })).type, 'queue');
  assert.equal((await a1.request({ type: 'logout' })).type, 'logged_out');
  const e2 = await a2.request({ type: 'queue' });
  assert.deepEqual([e2.type, e2.code], ['error', 'session_expired']);
  const again = await a2.request({ type: 'login', username: 'agent2', password: AGENTS.agent2 });
  assert.equal(again.type, 'welcome');
  assert.equal((await a2.request({ type: 'queue' })).type, 'queue');
  await a2.close();
  await a1.close();
  await u.close();
});

test('stops cleanly on SIGTERM', { timeout: 60000 }, async () => {
  const c = await requester(); // a connection open while stopping
  const e = await stopDaemon(daemon);
  assert.deepEqual(e, { code: 0, signal: null }, daemon.log);
  clients.delete(c);
});
