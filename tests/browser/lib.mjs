// What the browser tests of both daemons' pages share: starting a daemon
// and waiting (bounded) for its "listening on" line, stopping it (SIGTERM,
// then SIGKILL), launching headless Debian chromium (playwright-core), and
// a fresh page that collects page errors, console errors (CSP violations
// show up there) and dialogs for noProblems() to check; a whole chatdesk
// with its cluster, index, agents and SLA data (startDesk / stopDesk); the
// chat page's and the agent page's common steps (deskPages).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as daemon from '../e2e/daemon.mjs';
import { deskData } from '../e2e/deskfix.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const KB_BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');

/* Starts the daemon bin with args; resolves to {proc, url} once it printed
 * "listening on http://127.0.0.1:PORT", rejects (killing it) when it exits
 * first or prints nothing within timeoutMs. */
export function startDaemon(bin, args, timeoutMs = 30000) {
  const name = path.basename(bin);
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let settled = false;
    const fail = (why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`${why}\nstdout: ${out}\nstderr: ${err}`));
    };
    const timer = setTimeout(() => fail(`${name} printed no "listening on" line within ${timeoutMs / 1000} s`), timeoutMs);
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    // keep reading both pipes for the daemon's whole life, so it never blocks on a full pipe
    proc.stderr.on('data', (d) => { err = (err + d).slice(-20000); });
    proc.stdout.on('data', (d) => {
      out = (out + d).slice(-20000);
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({ proc, url: m[1] });
      }
    });
    proc.on('error', (e) => fail(`${name} could not start: ${e.message}`));
    proc.on('exit', (code, sig) => fail(`${name} exited early (${code ?? sig})`));
  });
}

/* SIGTERM, then SIGKILL after 5 s; resolves once proc is gone. */
export async function stopProc(proc) {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

/* Headless Debian chromium. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/* A fresh context (own storage, in locale) and page of browser, closed
 * after test t; collects page errors, console errors other than those
 * matching allowedConsole (if given), and dialogs, which every test checks
 * at its end with noProblems(). */
export async function openPage(browser, t, { viewport = { width: 1280, height: 860 }, locale = 'zh-CN', wait,
  allowedConsole }) {
  const context = await browser.newContext({ viewport, locale });
  t.after(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(wait);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !allowedConsole?.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('dialog', (d) => { problems.push(`dialog: ${d.message()}`); d.dismiss().catch(() => {}); });
  return { context, page, problems };
}

export const noProblems = (problems) => assert.deepEqual(problems, [], 'no page errors, console errors or dialogs');

/* Runs a program with text on stdin; resolves with stdout, rejects with
 * stdout and stderr on a non-zero exit or after timeoutMs. */
export function runWithInput(cmd, args, input, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`${cmd} ${args.join(' ')}: timed out\n${out}${err}`)); }, timeoutMs);
    p.stdout.setEncoding('utf8');
    p.stderr.setEncoding('utf8');
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', (e) => { clearTimeout(timer); reject(e); });
    p.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}\nstdout: ${out}\nstderr: ${err}`));
    });
    p.stdin.end(input);
  });
}

/* The chat page's and the agent page's steps the desk's browser tests
 * share; getBase() gives chatdesk's address (known once before() ran),
 * agent the default agent login {user, pass}. */
export function deskPages(getBase, agent) {
  /* The chat page, started with a name and an email. */
  async function startChat(page, name, email) {
    await page.goto(getBase() + '/');
    assert.equal(await page.evaluate(() => document.characterSet), 'UTF-8');
    await page.getByTestId('name-input').fill(name);
    await page.getByTestId('email-input').fill(email);
    await page.getByTestId('start-button').click();
    await page.getByTestId('message-input').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid=conn-status]').dataset.state === 'open');
  }

  /* Sends a message from the chat page and waits until the server acknowledged it. */
  async function say(page, msg) {
    const input = page.getByTestId('message-input');
    await input.fill(msg);
    await input.press('Enter');
    await waitMine(page, msg, 'sent');
  }

  function waitMine(page, msg, state) {
    return page.waitForFunction(([m, s]) => [...document.querySelectorAll('[data-testid=transcript] [data-testid=msg][data-from=me]')]
      .some((li) => li.querySelector('[data-testid=msg-text]').textContent === m && (!s || li.dataset.state === s)), [msg, state]);
  }

  /* The texts of the chat page's messages, in order: "me: ..." / "agent: ...". */
  const chatMessages = (page) => page.locator('[data-testid=transcript] [data-testid=msg]').evaluateAll((els) =>
    els.map((li) => `${li.dataset.from}: ${li.querySelector('[data-testid=msg-text]').textContent}`));

  async function agentLogin(page, user = agent.user, pass = agent.pass) {
    await page.goto(getBase() + '/agent.html');
    assert.equal(await page.evaluate(() => document.characterSet), 'UTF-8');
    await page.getByTestId('login-username').fill(user);
    await page.getByTestId('login-password').fill(pass);
    await page.getByTestId('login-button').click();
    await page.getByTestId('desk').waitFor();
    await page.waitForFunction(() => /个未关闭/.test(document.querySelector('[data-testid=queue-count]').textContent));
  }

  const queueItem = (page, number) => page.locator(`[data-testid=queue-item][data-number="${number}"]`);

  /* Escalates the chat page's conversation; resolves to the ticket's number. */
  async function escalate(page) {
    await page.getByTestId('escalate-toggle').click();
    await page.getByTestId('escalate-submit').click();
    await page.getByTestId('ticket-bar').waitFor();
    return (await page.getByTestId('ticket-number').textContent() || '').trim();
  }

  /* The agent page takes ticket number from the queue and waits until the
   * reply box can be used. */
  async function take(page, number) {
    await queueItem(page, number).getByTestId('take-button').click();
    await page.waitForFunction(() => !document.querySelector('[data-testid=reply-input]').disabled);
  }

  /* Does the page overflow horizontally (at 360 px everything must fit)? */
  const overflowX = (page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

  return { startChat, say, waitMine, chatMessages, agentLogin, queueItem, escalate, take, overflowX };
}

/* SLA data for `chatdesk sla-load`: one round-the-clock service name (the
 * default; its title: title, else name) whose four priorities p get
 * response and resolution minutes from minutes(p) ({response_minutes,
 * resolve_minutes, ...}). */
export const allDaySla = (name, minutes, title = name) => ({
  calendars: [{ name, tz: 'Asia/Shanghai', always: true }],
  services: [{ name, title, calendar: name, default: true }],
  policies: [1, 2, 3, 4].map((p) => ({ service: name, priority: p, ...minutes(p) })),
});

/* A chatdesk for a browser test, set up in d (an empty object, filled as
 * it goes so that stopDesk(d) also undoes a start that failed half way):
 * the desk's data of tests/e2e/deskfix.mjs deskData(d, prefix, { agents,
 * sla }) (a PostgreSQL cluster in a fresh folder prefix-XXXXXX: d.tmp,
 * d.pgdir, d.conninfo; the demo corpus indexed: d.index; the agents made,
 * each {username, password, name?, team?, role?}; the SLA data sla loaded,
 * if given), a configuration file config(d.tmp) written (if given),
 * prepare(d) run (if given), chatdesk started serving chatdesk/www with
 * args added (d.chat, ready within startMs; its address d.base, d.wsUrl)
 * and headless chromium launched (d.browser). */
export async function startDesk(d, prefix, { agents = [], sla, config, prepare, args = [], startMs = 60000 } = {}) {
  const chatdesk = path.join(KB_BIN, 'chatdesk');
  await deskData(d, prefix, { agents, sla });
  const conf = [];
  if (config) {
    conf.push('--config', path.join(d.tmp, 'chatdesk.conf'));
    await writeFile(conf[1], config(d.tmp));
  }
  if (prepare) await prepare(d);
  d.chat = daemon.startDaemon(chatdesk, [...conf, '--index', d.index, '--db', d.conninfo, '--listen', '127.0.0.1:0',
    '--www', 'chatdesk/www', ...args], startMs);
  d.base = await d.chat.ready;
  d.wsUrl = d.base.replace('http:', 'ws:') + '/ws';
  d.browser = await launchBrowser();
  return d;
}

/* Closes the browser, stops chatdesk and destroys the cluster and folder
 * that startDesk(d) made (whatever of them it got to). */
export async function stopDesk(d) {
  if (d.browser) await d.browser.close().catch(() => {});
  await daemon.stopDaemon(d.chat);
  await daemon.destroyPg(d);
}
