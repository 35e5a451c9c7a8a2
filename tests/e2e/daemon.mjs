// Helpers the end-to-end tests (and the soak) share: running a program to
// its end; starting a daemon (or any long-running program), waiting
// (bounded) for its "listening on" line (or another line) and stopping it
// (SIGTERM, then SIGKILL after a deadline); a throwaway PostgreSQL cluster
// in a fresh temporary folder (scripts/pg.sh).
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PG_SH = path.join(ROOT, 'scripts/pg.sh');

// Runs file with args in ROOT (input on stdin, env added to the process's);
// resolves to {code, stdout, stderr, err}, never rejects.
export function run(file, args, { input, env, timeoutMs = 120000 } = {}) {
  return new Promise((resolve) => {
    const child = execFile(file, args, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 64 << 20,
      env: { ...process.env, ...env } },
    (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr, err }));
    if (input !== undefined) child.stdin.end(input);
  });
}

// run, asserting exit status 0; resolves to the standard output.
export async function mustRun(file, args, opts) {
  const r = await run(file, args, opts);
  assert.equal(r.code, 0, `${file} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// Starts the program bin with args; d.ready resolves to the first group of
// re once its standard output matches re, or rejects when it exits first or
// timeoutMs passes. d.log collects its standard error, d.exited its exit
// ({code, signal}) once it is gone.
export function startProgram(bin, args, re, timeoutMs = 30000) {
  const name = path.basename(bin);
  const child = spawn(bin, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const d = { child, log: '', out: '', exited: null };
  d.exit = new Promise((resolve) => child.on('exit', (code, signal) => {
    d.exited = { code, signal };
    resolve(d.exited);
  }));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s) => { d.log += s; });
  child.stdout.setEncoding('utf8');
  d.ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready after ${timeoutMs} ms\n${d.log}`)), timeoutMs);
    child.stdout.on('data', (s) => {
      d.out += s;
      const m = re.exec(d.out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    d.exit.then((e) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${JSON.stringify(e)}) before it was ready\n${d.log}`));
    });
  });
  return d;
}

// startProgram for a daemon: d.ready resolves to its base URL once it
// printed "listening on http://127.0.0.1:PORT".
export function startDaemon(bin, args, timeoutMs = 30000) {
  return startProgram(bin, args, /^listening on (http:\/\/127\.0\.0\.1:(\d+))\n/m, timeoutMs);
}

// SIGTERM, then SIGKILL after deadlineMs; resolves to the exit status.
export async function stopDaemon(d, deadlineMs = 15000) {
  if (!d || d.exited) return d?.exited;
  d.child.kill('SIGTERM');
  const timer = setTimeout(() => d.child.kill('SIGKILL'), deadlineMs);
  const e = await d.exit;
  clearTimeout(timer);
  return e;
}

// A PostgreSQL cluster in a fresh folder prefix-XXXXXX under the system's
// temporary folder (open to the postgres user); resolves to {tmp, pgdir,
// conninfo}. fsync 'off' for speed, 'on' where durability is tested.
export async function startPg(prefix, { fsync = 'off' } = {}) {
  const tmp = await mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  await chmod(tmp, 0o755);
  const pgdir = path.join(tmp, 'pg');
  const conninfo = (await mustRun(PG_SH, ['start', pgdir], { env: { PG_FSYNC: fsync } })).trim();
  return { tmp, pgdir, conninfo };
}

// Destroys what startPg made (either may be undefined: a failed start).
export async function destroyPg({ tmp, pgdir } = {}) {
  if (pgdir) await run(PG_SH, ['destroy', pgdir]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
}
