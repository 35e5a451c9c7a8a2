// idleconn: many idle WebSocket connections to chatdesk for `make bench-big`
// (tests/bench/big.sh), on plain sockets (a minimal WebSocket client, so
// that one node process holds tens of thousands):
//
//   node idleconn.mjs HOST PORT N PORT_FROM PORT_TO HOLD_S [PONG_S]
//
// Opens N connections to HOST:PORT (127.0.0.1 or ::1), each bound to the
// same loopback address and an explicit local port taken in turn from
// PORT_FROM..PORT_TO (a port already in use is skipped), 200 handshakes at
// a time; answers chatdesk's WebSocket pings (opcode 9) with pongs, as a
// browser does. Prints {"phase":"held",...} once all are open (or have
// failed), waits for SIGUSR1 (or HOLD_S seconds), then sends a protocol
// `ping` frame on every connection and counts the `pong` answers (PONG_S
// seconds at most, default 20). Prints one JSON object and exits 0.
import net from 'node:net';
import crypto from 'node:crypto';

const [host, portArg, nArg, fromArg, toArg, holdArg, pongArg] = process.argv.slice(2);
const port = Number(portArg), n = Number(nArg), from = Number(fromArg), to = Number(toArg);
const holdS = Number(holdArg || 30), pongS = Number(pongArg || 20);

// a masked client frame (RFC 6455 5.3); payloads here are < 126 bytes
function frame(opcode, payload) {
  const mask = crypto.randomBytes(4);
  const p = Buffer.from(payload);
  const f = Buffer.alloc(6 + p.length);
  f[0] = 0x80 | opcode;
  f[1] = 0x80 | p.length;
  mask.copy(f, 2);
  for (let i = 0; i < p.length; i++) f[6 + i] = p[i] ^ mask[i & 3];
  return f;
}

const conns = [];
const tally = { opened: 0, failed: 0, port_in_use: 0, closed: 0, pongs: 0, ws_pings: 0 };
let nextPort = from;

function openOne(i) {
  return new Promise((resolve) => {
    if (nextPort > to) { tally.failed++; resolve(); return; }
    const lp = nextPort++;
    const s = net.connect({ host, port, localAddress: host, localPort: lp });
    const c = { s, buf: Buffer.alloc(0), up: false, onPong: null };
    let settled = false;
    const done = (ok, why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (ok) { tally.opened++; conns.push(c); }
      else if (why === 'EADDRINUSE') { tally.port_in_use++; s.destroy(); resolve(openOne(i)); return; }
      else { tally.failed++; tally[why] = (tally[why] || 0) + 1; s.destroy(); }
      resolve();
    };
    const timer = setTimeout(() => done(false, 'timeout'), 30000);
    s.on('connect', () => {
      const key = crypto.randomBytes(16).toString('base64');
      s.write(`GET /ws HTTP/1.1\r\nHost: ${host.includes(':') ? `[${host}]` : host}:${port}\r\n` +
              `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
              'Sec-WebSocket-Version: 13\r\n\r\n');
    });
    s.on('data', (d) => {
      c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
      if (!c.up) {
        const e = c.buf.indexOf('\r\n\r\n');
        if (e < 0) return;
        if (!/^HTTP\/1\.1 101/.test(c.buf.subarray(0, 12).toString('latin1'))) { done(false, 'not_101'); return; }
        c.up = true;
        c.buf = c.buf.subarray(e + 4);
        done(true);
      }
      // server frames are unmasked; lengths < 65536 here
      while (c.buf.length >= 2) {
        let len = c.buf[1] & 0x7f, off = 2;
        if (len === 126) { if (c.buf.length < 4) return; len = c.buf.readUInt16BE(2); off = 4; }
        if (c.buf.length < off + len) return;
        const op = c.buf[0] & 0x0f, payload = c.buf.subarray(off, off + len);
        c.buf = c.buf.subarray(off + len);
        if (op === 9) { tally.ws_pings++; s.write(frame(10, payload)); }
        else if (op === 1 && c.onPong && payload.includes('"pong"')) { const f = c.onPong; c.onPong = null; f(); }
      }
    });
    s.on('error', (e) => done(false, e.code || 'error'));
    s.on('close', () => { if (settled && c.up) tally.closed++; else done(false, 'closed'); });
  });
}

const t0 = Date.now();
let i = 0;
const worker = async () => { while (i < n) await openOne(i++); };
await Promise.all(Array.from({ length: 200 }, worker));
const connectS = (Date.now() - t0) / 1000;
process.stdout.write(JSON.stringify({ phase: 'held', host, opened: tally.opened, failed: tally.failed, connect_s: connectS }) + '\n');
const closedBefore = tally.closed;
await new Promise((r) => { const t = setTimeout(r, holdS * 1000); process.once('SIGUSR1', () => { clearTimeout(t); r(); }); });
const closedDuringHold = tally.closed - closedBefore;
await new Promise((resolve) => {
  let left = conns.length;
  if (!left) resolve();
  const one = () => { if (--left === 0) resolve(); };
  setTimeout(resolve, pongS * 1000);
  conns.forEach((c, k) => {
    if (c.s.destroyed) { one(); return; }
    c.onPong = () => { tally.pongs++; one(); };
    c.s.write(frame(1, JSON.stringify({ type: 'ping', id: 'p' + k })));
  });
});
for (const c of conns) c.s.destroy();
process.stdout.write(JSON.stringify({ host, requested: n, ...tally, connect_s: connectS,
  closed_during_hold: closedDuringHold, rss_kb: Math.round(process.memoryUsage().rss / 1024) }) + '\n');
process.exit(0);
