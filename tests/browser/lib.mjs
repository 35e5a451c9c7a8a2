// What the browser tests of both daemons' pages share: starting a daemon
// and waiting (bounded) for its "listening on" line, stopping it (SIGTERM,
// then SIGKILL), launching headless Debian chromium (playwright-core), and
// a fresh page that collects page errors, console errors (CSP violations
// show up there) and dialogs for noProblems() to check.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

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

/* A fresh context (own storage) and page of browser, closed after test t;
 * collects page errors, console errors other than those matching
 * allowedConsole, and dialogs, which every test checks at its end with
 * noProblems(). */
export async function openPage(browser, t, { viewport = { width: 1280, height: 860 }, wait, allowedConsole }) {
  const context = await browser.newContext({ viewport, locale: 'zh-CN' });
  t.after(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(wait);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !allowedConsole.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('dialog', (d) => { problems.push(`dialog: ${d.message()}`); d.dismiss().catch(() => {}); });
  return { context, page, problems };
}

export const noProblems = (problems) => assert.deepEqual(problems, [], 'no page errors, console errors or dialogs');
