// wsload: what the WebSocket load generators (chatload.mjs, deskload.mjs)
// share: the query texts they send, a client connection, percentiles.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const WebSocket = require('../node_modules/ws');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The p-th percentile (nearest rank) of the ascending array s; null when empty.
export function pct(s, p) {
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : null;
}

// The queries of a query log (tests/bench/queries.txt: tab-separated type,
// lang, source document, query; '#' lines are comments) in Chinese or of
// the mixed type.
export function texts(file) {
  return readFileSync(file, 'utf8').split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t'))
    .filter((f) => f.length >= 4 && (f[1] === 'zh' || f[0] === 'mixed'))
    .map((f) => f[3]);
}

// A WebSocket client on u (no compression), once open; rejects on an error
// or when the handshake takes longer than handshakeMs.
export function open(u, handshakeMs) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(u, { perMessageDeflate: false, handshakeTimeout: handshakeMs });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}
