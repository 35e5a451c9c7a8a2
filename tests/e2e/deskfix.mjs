// deskfix: what the e2e tests of the SLA timer's notifications share
// (tests/e2e/escal.test.mjs, major.test.mjs): psql queries against the
// test cluster, a bounded wait for a condition, a free loopback port, the
// SMTP sink (scripts/mailsink.py) and the mails it wrote, a WebSocket
// client that waits for frames, the JSON API, and agents' logins (password
// PW). deskFixture(WAIT, ctx, PW) binds them to a test file: ctx() returns
// that file's current { conninfo, base, mailDir } (set in its before()),
// read at each call.
// No sleeps: every wait is for a condition, bounded by WAIT.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { ROOT, mustRun } from './daemon.mjs';

export function deskFixture(WAIT, ctx, PW) {

  function psqlBin() {
    for (const d of [process.env.PG_BIN, '/usr/lib/postgresql/15/bin'])
      if (d && existsSync(path.join(d, 'psql'))) return path.join(d, 'psql');
    return 'psql';
  }

  async function sql(query, ...params) {
    const args = ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', ctx().conninfo];
    params.forEach((p, i) => args.push('-v', `p${i + 1}=${p}`));
    const out = await mustRun(psqlBin(), [...args, '-f', '-'],
      { input: `${query.replace(/\$(\d)/g, ":'p$1'")};\n` });
    return out.split('\n').filter((l) => l !== '').map((l) => l.split('|'));
  }

  async function until(what, check, ms = WAIT) {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await check();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  function freePort() {
    return new Promise((resolve, reject) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
      s.on('error', reject);
    });
  }

  function startSink(port) {
    const child = spawn('/usr/bin/python3', [path.join(ROOT, 'scripts/mailsink.py'), String(port), ctx().mailDir],
      { stdio: ['pipe', 'pipe', 'pipe'] });
    const s = { child, log: '' };
    s.exit = new Promise((resolve) => child.on('exit', resolve));
    child.stderr.on('data', (d) => { s.log += d; });
    s.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`smtp sink not ready: ${s.log}`)), WAIT);
      child.stdout.on('data', (d) => { if (String(d).includes('ready')) { clearTimeout(timer); resolve(); } });
      s.exit.then(() => { clearTimeout(timer); reject(new Error(`smtp sink exited: ${s.log}`)); });
    });
    return s;
  }

  async function stopSink(s) {
    if (!s || s.child.exitCode !== null) return;
    s.child.kill('SIGTERM');
    const timer = setTimeout(() => s.child.kill('SIGKILL'), 10000);
    await s.exit;
    clearTimeout(timer);
  }

  const decodeHeader = (v) => v.replace(/\r\n /g, '').replace(/=\?UTF-8\?B\?([A-Za-z0-9+/=]+)\?=/g,
    (_, b) => Buffer.from(b, 'base64').toString('utf8'));

  async function mails() {
    const out = [];
    for (const f of (await readdir(ctx().mailDir)).filter((x) => x.endsWith('.eml')).sort()) {
      const raw = await readFile(path.join(ctx().mailDir, f), 'latin1');
      const rcpt = (await readFile(path.join(ctx().mailDir, f.replace('.eml', '.rcpt')), 'utf8')).trim().split('\n');
      const end = raw.indexOf('\r\n\r\n');
      const headers = {};
      for (const m of raw.slice(0, end).replace(/\r\n[ \t]/g, '\r\n ').split(/\r\n(?! )/)) {
        const i = m.indexOf(':');
        headers[m.slice(0, i).toLowerCase()] = m.slice(i + 1).trim();
      }
      const body = Buffer.from(raw.slice(end + 4).replace(/\r\n/g, ''), 'base64').toString('utf8');
      out.push({ file: f, rcpt, subject: decodeHeader(headers.subject || ''), body });
    }
    return out;
  }

  class Client {
    constructor(ws) {
      this.ws = ws;
      this.frames = [];
      this.waiters = [];
      ws.on('message', (d) => {
        this.frames.push(JSON.parse(d.toString('utf8')));
        for (const w of [...this.waiters]) w();
      });
    }

    static open() {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(ctx().base.replace('http:', 'ws:') + '/ws', { handshakeTimeout: WAIT });
        ws.once('open', () => resolve(new Client(ws)));
        ws.once('error', reject);
      });
    }

    wait(pred, what, ms = WAIT) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const f = this.frames.find(pred);
          if (!f) return false;
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== check);
          resolve(f);
          return true;
        };
        const timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== check);
          reject(new Error(`no ${what} within ${ms} ms; got ${JSON.stringify(this.frames).slice(-1500)}`));
        }, ms);
        if (!check()) this.waiters.push(check);
      });
    }

    request(obj) {
      const id = `r${Math.random().toString(36).slice(2)}`;
      this.ws.send(JSON.stringify({ ...obj, id }));
      return this.wait((f) => f.id === id && f.type !== 'message', `answer to ${obj.type}`);
    }

    close() { this.ws.close(); }
  }

  async function api(p, token, method = 'GET', json) {
    const headers = token ? { authorization: `Bearer ${token}` } : {};
    if (json !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(ctx().base + p, { method, headers, body: json === undefined ? undefined : JSON.stringify(json),
      signal: AbortSignal.timeout(WAIT) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null, text };
  }

  // a bearer token and a logged-in agent socket for who (password PW);
  // logins wait at the password-hashing gate: a try_later is asked again
  // (bounded)
  async function token(who) {
    const deadline = Date.now() + WAIT;
    for (;;) {
      const r = await api('/api/v1/sessions', null, 'POST', { username: who.username, password: PW });
      if (r.status === 503 && r.body?.error?.code === 'try_later' && Date.now() < deadline) continue;
      assert.equal(r.status, 201, r.text);
      return r.body.token;
    }
  }

  async function agentSocket(who) {
    const c = await Client.open();
    const deadline = Date.now() + WAIT;
    for (;;) {
      const w = await c.request({ type: 'login', username: who.username, password: PW });
      if (w.type === 'error' && w.code === 'try_later' && Date.now() < deadline) continue;
      assert.equal(w.type, 'welcome', JSON.stringify(w));
      return c;
    }
  }

  return { sql, until, freePort, startSink, stopSink, mails, Client, api, token, agentSocket };
}
