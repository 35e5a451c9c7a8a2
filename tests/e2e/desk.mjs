// Clients of a running chatdesk that the end-to-end tests share: JSON API
// calls with fetch, the API's one error shape, agent logins over the API
// (asked again while the password-hashing gate answers try_later), and
// WebSocket clients (wsclient.mjs) that keep every frame and wait (bounded)
// for the answer to a request. deskClient(where) takes a function giving
// {base, wsUrl}, as the tests learn the daemon's port only in before().
import assert from 'node:assert/strict';
import { FrameClient } from './wsclient.mjs';

export function deskClient(where, { wait = 20000 } = {}) {
  const WAIT = wait;
  const sockets = new Set(); // open clients, for after() to terminate

  // ---- HTTP --------------------------------------------------------------------------

  // A request with fetch; returns { status, headers, body (parsed JSON or
  // null), text, bytes }. Every answer is JSON, except with binary (a file
  // download), where body is parsed only when the answer says it is JSON.
  async function api(method, p, { token, json, body, headers = {}, binary = false } = {}) {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    if (json !== undefined) {
      h['content-type'] = 'application/json';
      body = JSON.stringify(json);
    }
    const r = await fetch(where().base + p, { method, headers: h, body, signal: AbortSignal.timeout(WAIT) });
    const bytes = Buffer.from(await r.arrayBuffer());
    const text = bytes.toString('utf8');
    let parsed = null;
    if (text && (!binary || (r.headers.get('content-type') || '').startsWith('application/json')))
      parsed = JSON.parse(text);
    return { status: r.status, headers: r.headers, body: parsed, text, bytes };
  }

  // The one error shape, exactly.
  function assertError(r, status, code) {
    assert.equal(r.status, status, r.text);
    assert.deepEqual(Object.keys(r.body), ['error'], r.text);
    assert.deepEqual(Object.keys(r.body.error).sort(), ['code', 'message'], r.text);
    assert.equal(r.body.error.code, code, r.text);
    assert.ok(r.body.error.message.length > 0);
    assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(r.headers.get('cache-control'), 'no-store');
  }

  // Logs in; a 503 try_later (every place at the password-hashing gate is
  // taken, e.g. by logins of clients that left) is asked again until WAIT.
  async function login(username, password) {
    const deadline = Date.now() + WAIT;
    for (;;) {
      const r = await api('POST', '/api/v1/sessions', { json: { username, password } });
      if (r.status === 503 && r.body?.error?.code === 'try_later' && Date.now() < deadline) continue;
      assert.equal(r.status, 201, r.text);
      return r.body.token;
    }
  }

  // ---- WebSocket -----------------------------------------------------------------------

  // A client (wsclient.mjs) on where().wsUrl (from localAddress, default the
  // system's choice) that keeps every frame.
  async function wsOpen(localAddress) {
    const c = await FrameClient.connect(where().wsUrl, { options: localAddress ? { localAddress } : {}, wait: WAIT });
    sockets.add(c.ws);
    return c;
  }

  // Sends obj with an id (its own, else a fresh one) and waits for the
  // answer carrying that id.
  const wsRequest = (c, obj) => c.request(obj);

  // Waits (bounded by WAIT) for the first frame of c that pred accepts.
  const wsWait = (c, pred, what) => c.wait(pred, what);

  function wsClose(c) {
    sockets.delete(c.ws);
    return c.close();
  }

  // A new requester (name) says text over a WebSocket and escalates it
  // (impact, urgency); each answer must be the expected frame. Resolves to
  // the ticket's number.
  async function wsEscalate(name, text, impact = 2, urgency = 2) {
    const c = await wsOpen();
    assert.equal((await wsRequest(c, { type: 'hello', name })).type, 'welcome');
    assert.equal((await wsRequest(c, { type: 'message', text })).type, 'ack');
    const t = await wsRequest(c, { type: 'escalate', impact, urgency });
    assert.equal(t.type, 'ticket', JSON.stringify(t));
    await wsClose(c);
    return t.number;
  }

  // An agent who (username, password) logged in over a new WebSocket; the
  // client (answered welcome, else the test fails).
  async function wsLogin(who) {
    const c = await wsOpen();
    const w = await wsRequest(c, { type: 'login', username: who.username, password: who.password });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    return c;
  }

  return { api, assertError, login, wsOpen, wsRequest, wsWait, wsClose, wsEscalate, wsLogin, sockets };
}

// One WebSocket client on url, for a test that keeps no deskClient: its
// request(obj) resolves with the frame answering obj (bounded by wait),
// close() ends it; ws and frames are the socket and every frame so far.
export async function wsClient(url, { wait = 20000 } = {}) {
  const d = deskClient(() => ({ wsUrl: url }), { wait });
  const c = await d.wsOpen();
  return { ws: c.ws, frames: c.frames, request: (obj) => d.wsRequest(c, obj), close: () => d.wsClose(c) };
}
