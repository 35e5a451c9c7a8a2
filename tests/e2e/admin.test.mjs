// End-to-end tests of the administration API (/api/v1/admin/...,
// chatdesk/api_admin.c; README "Administration") through the real daemon, a
// real PostgreSQL 15 (scripts/pg.sh, fsync off) and a real index of
// corpora/: people and roles, teams, ticket categories with their default
// teams (a ticket escalated with a category lands in its team), runtime
// settings (the suggestions setting changes what a requester gets). Every
// change leaves an audit row; bad input is a clear 400 / 422 and changes
// nothing; an agent and a requester are refused (403) on every route,
// tested from their side. No sleeps: every wait is for an answer, bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startDesk, deskClientOf } from './deskfix.mjs';

const WAIT = 20000; // ms: the sanitizer build is slow
const ADMIN = { username: 'boss', password: 'admin pw for tests 1' };
const AGENT = { username: 'agent', password: 'demo agent pw 1' };

const d = {};

// the API and WebSocket clients of the desk in d (tests/e2e/deskfix.mjs)
const { api, assertError, login, wsOpen, wsRequest, wsClose, stop } = deskClientOf(d, AGENT, WAIT);


let adminToken, agentToken, agentId, adminId;

before(async () => {
  await startDesk(d, 'kbadmin', {
    agents: [{ ...ADMIN, name: '管理员', role: 'admin' }, { ...AGENT, name: '普通坐席' }], wait: WAIT,
  });
  adminToken = await login(ADMIN.username, ADMIN.password);
  agentToken = await login(AGENT.username, AGENT.password);
  const people = (await api('GET', '/api/v1/admin/people', { token: adminToken })).body.people;
  agentId = people.find((p) => p.username === AGENT.username).id;
  adminId = people.find((p) => p.username === ADMIN.username).id;
}, { timeout: 180000 });

after(stop, { timeout: 60000 });

const person = async (id) => (await api('GET', '/api/v1/admin/people', { token: adminToken })).body.people.find((p) => p.id === id);
const auditRows = async (type, id) => (await api('GET', `/api/v1/audit?object_type=${type}&object_id=${encodeURIComponent(id)}`,
  { token: adminToken })).body.items;

// Every admin route with a harmless body.
const ROUTES = () => [
  ['GET', '/api/v1/admin/people'],
  ['PATCH', `/api/v1/admin/people/${agentId}`, { role: 'admin' }],
  ['POST', '/api/v1/admin/teams', { slug: 'sneaky', name: '偷偷' }],
  ['PATCH', '/api/v1/admin/teams/first-line', { name: '改名' }],
  ['PUT', `/api/v1/admin/teams/first-line/members/${agentId}`],
  ['DELETE', `/api/v1/admin/teams/first-line/members/${agentId}`],
  ['GET', '/api/v1/admin/categories'],
  ['POST', '/api/v1/admin/categories', { name: '偷偷' }],
  ['PATCH', '/api/v1/admin/categories/1', { name: '偷偷' }],
  ['DELETE', '/api/v1/admin/categories/1'],
  ['GET', '/api/v1/admin/settings'],
  ['PATCH', '/api/v1/admin/settings', { suggestions: 1 }],
];

test('an agent and a requester are refused on every admin route, and nothing changes', { timeout: 60000 }, async () => {
  const c = await wsOpen();
  const w = await wsRequest(c, { type: 'hello', name: '好奇的用户' });
  assert.equal(w.type, 'welcome');
  // the first message stores the requester and the session
  assert.equal((await wsRequest(c, { type: 'message', text: '我想看看管理页面' })).type, 'ack');
  for (const [method, p, json] of ROUTES()) {
    assertError(await api(method, p, { token: agentToken, json }), 403, 'forbidden');
    assertError(await api(method, p, { token: w.session, json }), 403, 'forbidden');
    assertError(await api(method, p, { json }), 401, 'unauthorized');
  }
  const me = await person(agentId);
  assert.equal(me.role, 'agent', 'the agent did not make themself an admin');
  assert.deepEqual(me.teams, []);
  const teams = (await api('GET', '/api/v1/teams', { token: adminToken })).body.teams;
  assert.ok(!teams.some((t) => t.slug === 'sneaky'));
  assert.equal(teams.find((t) => t.slug === 'first-line').name, '一线');
  assert.deepEqual((await api('GET', '/api/v1/admin/categories', { token: adminToken })).body.categories, []);
  const s = (await api('GET', '/api/v1/admin/settings', { token: adminToken })).body.settings;
  assert.equal(s.find((x) => x.key === 'suggestions').value, 5);
  await wsClose(c);
});

test('people: search, role and extra roles, disable; each change audited; bad input changes nothing', { timeout: 60000 }, async () => {
  let r = await api('GET', '/api/v1/admin/people?q=AGEN', { token: adminToken });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.people.map((p) => p.username), [AGENT.username]);
  assertError(await api('GET', '/api/v1/admin/people?role=emperor', { token: adminToken }), 400, 'bad_query');
  assertError(await api('GET', '/api/v1/admin/people?limit=0', { token: adminToken }), 400, 'bad_query');

  const before = await person(agentId);
  const bad = [
    [{ role: 'emperor' }, 422, 'invalid'],
    [{ role: 'requester' }, 422, 'invalid'],
    [{ role: 7 }, 400, 'bad_field'],
    [{ team_lead: 'yes' }, 400, 'bad_field'],
    [{ disabled: true, colour: 'red' }, 400, 'bad_field'],
    [{ team_lead: true, role: 'nobody' }, 422, 'invalid'],
    [{}, 400, 'bad_json'],
  ];
  for (const [json, status, code] of bad)
    assertError(await api('PATCH', `/api/v1/admin/people/${agentId}`, { token: adminToken, json }), status, code);
  assertError(await api('PATCH', '/api/v1/admin/people/999999', { token: adminToken, json: { role: 'admin' } }), 404, 'not_found');
  assertError(await api('PATCH', '/api/v1/admin/people/x', { token: adminToken, json: { role: 'admin' } }), 404, 'not_found');
  // an administrator cannot lock themself out
  assertError(await api('PATCH', `/api/v1/admin/people/${adminId}`, { token: adminToken, json: { role: 'agent' } }), 422, 'invalid');
  assertError(await api('PATCH', `/api/v1/admin/people/${adminId}`, { token: adminToken, json: { disabled: true } }), 422, 'invalid');
  assert.deepEqual(await person(agentId), before, 'nothing changed');
  assert.equal((await person(adminId)).role, 'admin');
  assert.deepEqual(await auditRows('role', String(agentId)), []);

  r = await api('PATCH', `/api/v1/admin/people/${agentId}`, { token: adminToken, json: { role: 'admin', team_lead: true, knowledge_reviewer: true } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.role, 'admin');
  assert.deepEqual(r.body.roles, ['knowledge_reviewer', 'team_lead']);
  const rows = await auditRows('role', String(agentId));
  assert.equal(rows.length, 3, JSON.stringify(rows));
  const details = rows.map((x) => (typeof x.detail === 'string' ? JSON.parse(x.detail) : x.detail));
  assert.ok(details.some((d) => d.field === 'role' && d.from === 'agent' && d.to === 'admin'), JSON.stringify(details));
  assert.ok(details.some((d) => d.field === 'team_lead' && d.to === true));
  assert.ok(rows.every((x) => x.action === 'change' && x.actor_id === adminId), JSON.stringify(rows));
  // the new admin may now use the admin API; back to agent, and disabled
  assert.equal((await api('GET', '/api/v1/admin/settings', { token: agentToken })).status, 200);
  r = await api('PATCH', `/api/v1/admin/people/${agentId}`, { token: adminToken, json: { role: 'agent', team_lead: false, knowledge_reviewer: false } });
  assert.equal(r.status, 200, r.text);
  assertError(await api('GET', '/api/v1/admin/settings', { token: agentToken }), 403, 'forbidden');
  r = await api('PATCH', `/api/v1/admin/people/${agentId}`, { token: adminToken, json: { disabled: true } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.disabled, true);
  assert.equal((await auditRows('person', String(agentId))).length, 1);
  assertError(await api('GET', '/api/v1/teams', { token: agentToken }), 401, 'unauthorized');
  r = await api('PATCH', `/api/v1/admin/people/${agentId}`, { token: adminToken, json: { disabled: false } });
  assert.equal(r.body.disabled, false);
  agentToken = await login(AGENT.username, AGENT.password);
  // a requester holds no staff role
  const c = await wsOpen();
  const w = await wsRequest(c, { type: 'hello', name: '请求人甲', email: 'jia@example.com' });
  assert.equal((await wsRequest(c, { type: 'message', text: 'VPN 连不上' })).type, 'ack');
  const req = (await api('GET', '/api/v1/admin/people?q=jia@example', { token: adminToken })).body.people;
  assert.equal(req.length, 1);
  assert.equal(req[0].role, 'requester');
  assertError(await api('PATCH', `/api/v1/admin/people/${req[0].id}`, { token: adminToken, json: { team_lead: true } }), 422, 'invalid');
  await wsClose(c);
  void w;
});

test('teams: create, rename, members; audited; bad input refused', { timeout: 60000 }, async () => {
  let r = await api('POST', '/api/v1/admin/teams', { token: adminToken, json: { slug: 'network', name: '网络组', name_en: 'Network' } });
  assert.equal(r.status, 201, r.text);
  assertError(await api('POST', '/api/v1/admin/teams', { token: adminToken, json: { slug: 'network', name: '又一个' } }), 409, 'conflict');
  assertError(await api('POST', '/api/v1/admin/teams', { token: adminToken, json: { slug: 'Bad Slug', name: '坏' } }), 422, 'invalid');
  assertError(await api('POST', '/api/v1/admin/teams', { token: adminToken, json: { slug: 'noname' } }), 400, 'missing_field');
  assertError(await api('POST', '/api/v1/admin/teams', { token: adminToken, json: { slug: 'x', name: 5 } }), 400, 'bad_field');
  assertError(await api('PATCH', '/api/v1/admin/teams/network', { token: adminToken, json: { name: '   ' } }), 422, 'invalid');
  assertError(await api('PATCH', '/api/v1/admin/teams/nowhere', { token: adminToken, json: { name: '无' } }), 404, 'not_found');
  r = await api('PATCH', '/api/v1/admin/teams/network', { token: adminToken, json: { name: '网络支持组', name_en: 'Network support' } });
  assert.equal(r.status, 200, r.text);
  r = await api('PUT', `/api/v1/admin/teams/network/members/${agentId}`, { token: adminToken });
  assert.equal(r.status, 200, r.text);
  assertError(await api('PUT', '/api/v1/admin/teams/nowhere/members/' + agentId, { token: adminToken }), 404, 'not_found');
  assertError(await api('PUT', '/api/v1/admin/teams/network/members/999999', { token: adminToken }), 404, 'not_found');
  let teams = (await api('GET', '/api/v1/teams', { token: adminToken })).body.teams;
  let net = teams.find((t) => t.slug === 'network');
  assert.equal(net.name, '网络支持组');
  assert.equal(net.name_en, 'Network support');
  assert.deepEqual(net.members.map((m) => m.id), [agentId]);
  assert.ok(!teams.some((t) => t.slug === 'x' || t.slug === 'Bad Slug'));
  const rows = await auditRows('setting', 'team:network');
  assert.deepEqual(rows.map((x) => (typeof x.detail === 'string' ? JSON.parse(x.detail) : x.detail).op).sort(),
    ['create', 'member_add', 'rename']);
});

test('categories route a new ticket to their default team (longest path prefix); bad input refused', { timeout: 60000 }, async () => {
  let r = await api('POST', '/api/v1/admin/categories', { token: adminToken, json: { name: '网络', team: 'network' } });
  assert.equal(r.status, 201, r.text);
  const netId = r.body.id;
  r = await api('POST', '/api/v1/admin/categories', { token: adminToken, json: { name: '网络/打印机', team: 'second-line' } });
  assert.equal(r.status, 201, r.text);
  assertError(await api('POST', '/api/v1/admin/categories', { token: adminToken, json: { name: '网络' } }), 409, 'conflict');
  assertError(await api('POST', '/api/v1/admin/categories', { token: adminToken, json: { name: ' 网络 ' } }), 422, 'invalid');
  assertError(await api('POST', '/api/v1/admin/categories', { token: adminToken, json: { name: '硬件', team: 'nowhere' } }), 404, 'not_found');
  assertError(await api('POST', '/api/v1/admin/categories', { token: adminToken, json: { team: 'network' } }), 400, 'missing_field');
  assertError(await api('PATCH', '/api/v1/admin/categories/999999', { token: adminToken, json: { name: '无' } }), 404, 'not_found');
  r = await api('GET', '/api/v1/admin/categories', { token: adminToken });
  assert.deepEqual(r.body.categories.map((c) => [c.name, c.team]), [['网络', 'network'], ['网络/打印机', 'second-line']]);
  assert.equal((await auditRows('setting', `category:${netId}`)).length, 1);

  const ticketIn = async (category) => {
    const c = await wsOpen();
    const w = await wsRequest(c, { type: 'hello', name: '分类用户' });
    assert.equal(w.type, 'welcome');
    assert.equal((await wsRequest(c, { type: 'message', text: '连不上公司网络' })).type, 'ack');
    const t = await wsRequest(c, { type: 'escalate', impact: 3, urgency: 3, category });
    assert.equal(t.type, 'ticket', JSON.stringify(t));
    await wsClose(c);
    return (await api('GET', `/api/v1/tickets/${t.number}`, { token: adminToken })).body;
  };
  assert.equal((await ticketIn('网络/VPN')).team, 'network', 'a path below 网络');
  assert.equal((await ticketIn('网络/打印机/卡纸')).team, 'second-line', 'the longest prefix wins');
  assert.equal((await ticketIn('网络设备')).team, null, 'a prefix that is not a path level does not route');
  const t = await ticketIn('网络');
  assert.equal(t.team, 'network');
  const ev = (await api('GET', `/api/v1/tickets/${t.number}/events`, { token: adminToken })).body;
  const created = (ev.events || ev.items || ev).find((e) => e.type === 'created');
  assert.equal((created.detail || {}).team, 'network', JSON.stringify(created));
  r = await api('PATCH', `/api/v1/admin/categories/${netId}`, { token: adminToken, json: { name: '网络', team: null } });
  assert.equal(r.status, 200, r.text);
  assert.equal((await ticketIn('网络/VPN')).team, null, 'no default team any more');
  r = await api('DELETE', `/api/v1/admin/categories/${netId}`, { token: adminToken });
  assert.equal(r.status, 200, r.text);
  assertError(await api('DELETE', `/api/v1/admin/categories/${netId}`, { token: adminToken }), 404, 'not_found');
});

test('settings: change, reset, checked whole before any change; suggestions applies to the next message', { timeout: 60000 }, async () => {
  let r = await api('GET', '/api/v1/admin/settings', { token: adminToken });
  assert.deepEqual(r.body.settings.map((s) => [s.key, s.value, s.file_value]),
    [['knowledge_self_approval', 0, 0], ['auto_close_days', 3, 3], ['suggestions', 5, 5]]);
  const bad = [
    [{ suggestions: 99 }, 422, 'invalid'],
    [{ suggestions: 1, auto_close_days: 0 }, 422, 'invalid'],
    [{ suggestions: '1' }, 400, 'bad_field'],
    [{ suggestions: 1, session_ttl: 60 }, 400, 'bad_field'],
    [{}, 400, 'bad_json'],
  ];
  for (const [json, status, code] of bad)
    assertError(await api('PATCH', '/api/v1/admin/settings', { token: adminToken, json }), status, code);
  r = await api('GET', '/api/v1/admin/settings', { token: adminToken });
  assert.equal(r.body.settings.find((s) => s.key === 'suggestions').value, 5, 'nothing changed');
  assert.deepEqual(await auditRows('setting', 'suggestions'), []);

  r = await api('PATCH', '/api/v1/admin/settings', { token: adminToken, json: { suggestions: 1, knowledge_self_approval: true } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.settings.find((s) => s.key === 'suggestions').value, 1);
  assert.equal(r.body.settings.find((s) => s.key === 'knowledge_self_approval').value, 1);
  const rows = await auditRows('setting', 'suggestions');
  assert.equal(rows.length, 1);
  const d = typeof rows[0].detail === 'string' ? JSON.parse(rows[0].detail) : rows[0].detail;
  assert.deepEqual([d.from, d.to], [5, 1]);

  const ask = async () => {
    const c = await wsOpen();
    assert.equal((await wsRequest(c, { type: 'hello', name: '建议用户' })).type, 'welcome');
    c.ws.send(JSON.stringify({ type: 'message', text: 'VPN 连接失败 错误 809', id: 'm1' }));
    const deadline = Date.now() + WAIT;
    let f;
    while (!(f = c.frames.find((x) => x.type === 'suggestions')) && Date.now() < deadline)
      await new Promise((resolve) => { c.waiters.push(resolve); setTimeout(resolve, 200); });
    await wsClose(c);
    assert.ok(f, 'a suggestions frame');
    return f.items.length;
  };
  assert.equal(await ask(), 1, 'one suggestion with suggestions = 1');
  r = await api('PATCH', '/api/v1/admin/settings', { token: adminToken, json: { suggestions: null } });
  assert.equal(r.body.settings.find((s) => s.key === 'suggestions').value, 5, 'back to the file value');
  assert.ok(await ask() > 1, 'more than one again');
});
