// End-to-end tests of the visibility rule in searchd (KB_BIN selects the
// binaries): nothing of an internal document reaches a caller without the
// agent token: no completion, no spelling suggestion or correction, no
// facet count, no link to its id. The internal-only terms are derived from
// the index itself (`indexer list` + `indexer show --terms`), not listed by
// hand, and every one of them is probed; with the token they come back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, cp, rm, readFile, writeFile, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

import { ROOT, mustRun, startDaemon as startProc, stopDaemon as stopProc } from './daemon.mjs';

const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const INDEXER = path.join(BIN, 'indexer');
const SEARCHD = path.join(BIN, 'searchd');

let tmp, token, daemon, base, corpus, index;
let docs;          // id -> {visibility, kind, text, terms: Set}
let internalOnly;  // sorted terms held by internal documents only
let internalSet;   // the same, as a Set
let internalIds;   // Set of internal document ids

// ---- helpers ----------------------------------------------------------------

async function getJson(b, pathname, agent) {
  const r = await fetch(b + pathname, { headers: agent ? { Authorization: `Bearer ${token}` } : {} });
  const body = await r.text();
  assert.equal(r.status, 200, `${pathname}: ${body}`);
  return JSON.parse(body);
}

// Runs fn over items, `width` at a time; resolves to the results in order.
async function pool(items, width, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }));
  return out;
}

// Every document of the index with its visibility, kind, text and
// unprefixed terms (the words completions and spelling draw on): `indexer
// show --terms` prints each document's JSON ("{" ... "}" lines) and then its
// terms ("term<TAB>wdf=...").
async function readIndex(ix) {
  const stdout = await mustRun(INDEXER, ['list', '--index', ix]);
  const ids = stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]);
  const out = new Map();
  const batches = [0, 1, 2, 3].map((k) => ids.filter((_, i) => i % 4 === k)).filter((b) => b.length);
  await Promise.all(batches.map(async (batch) => {
    const s = await mustRun(INDEXER, ['show', '--index', ix, '--terms', ...batch]);
    let json = null, doc = null;
    for (const line of s.split('\n')) {
      if (json !== null) {
        json.push(line);
        if (line === '}') {
          const d = JSON.parse(json.join('\n'));
          json = null;
          const text = [d.body, d.symptom, d.cause, d.workaround, d.resolution].filter(Boolean).join('\n');
          doc = { visibility: d.visibility || 'public', kind: d.kind, text, terms: new Set() };
          out.set(d.id, doc);
        }
      } else if (line === '{') {
        json = [line];
      } else {
        const tab = line.indexOf('\twdf=');
        if (tab > 0 && !/^[A-Z]/.test(line)) doc.terms.add(line.slice(0, tab));
      }
    }
  }));
  assert.equal(out.size, ids.length);
  return out;
}

function onlyInternal(d) {
  const pub = new Set(), int = new Set();
  for (const doc of d.values()) for (const t of doc.terms) (doc.visibility === 'public' ? pub : int).add(t);
  return [...int].filter((t) => !pub.has(t)).sort();
}

// The term T with its last character replaced: one edit away from T.
function misspell(t) {
  const cps = [...t];
  const last = cps[cps.length - 1];
  const sub = /[a-z]/.test(last) ? (last === 'q' ? 'x' : 'q') : /[0-9]/.test(last) ? (last === '7' ? '3' : '7')
    : /\p{Script=Han}/u.test(last) ? (last === '甲' ? '乙' : '甲') : 'q';
  return cps.slice(0, -1).join('') + sub;
}

const prefixOf = (t) => [...t].slice(0, -1).join('');
const lastWord = (s) => s.split(' ').pop();

// What a /suggest answer leaks: completions that are internal-only terms,
// titles of internal documents.
function suggestLeaks(res) {
  const bad = [];
  for (const s of res.suggestions) {
    if (s.kind === 'term' && internalSet.has(lastWord(s.text))) bad.push(`term ${s.text}`);
    if (s.kind === 'title' && internalIds.has(s.id)) bad.push(`title ${s.id}`);
  }
  return bad;
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kb-vis-'));
  corpus = path.join(tmp, 'corpus');
  index = path.join(tmp, 'index');
  await cp(path.join(ROOT, 'corpora'), corpus, { recursive: true });
  await mustRun(INDEXER, ['build', '--quiet', '--corpus', corpus, '--index', index]);
  docs = await readIndex(index);
  internalIds = new Set([...docs].filter(([, d]) => d.visibility !== 'public').map(([id]) => id));
  internalOnly = onlyInternal(docs);
  internalSet = new Set(internalOnly);
  token = randomBytes(16).toString('hex');
  daemon = startProc(SEARCHD, ['--index', index, '--listen', '127.0.0.1:0', '--agent-token', token,
    '--www', path.join(ROOT, 'searchd/www'), '--threads', '2', '--cache-mb', '0']);
  base = await daemon.ready;
});

after(async () => {
  await stopProc(daemon, 8000);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

// ---- completions ---------------------------------------------------------------

test('the demo corpus has internal documents with words of their own', () => {
  assert.ok(internalIds.size >= 10, `${internalIds.size} internal documents`);
  assert.ok(internalOnly.length >= 500, `${internalOnly.length} internal-only terms`);
  // the issue's example: RADIUS server addresses of an internal known error
  assert.ok(internalOnly.some((t) => t.startsWith('10.10.2.')), internalOnly.slice(0, 20).join(' '));
});

test('no internal-only term comes back as a completion without the token', async () => {
  const probes = internalOnly.filter((t) => [...t].length >= 2);
  const leaks = (await pool(probes, 4, async (t) => {
    const res = await getJson(base, `/suggest?q=${encodeURIComponent(prefixOf(t))}`);
    const bad = suggestLeaks(res);
    return bad.length ? `${prefixOf(t)} -> ${bad.join(', ')}` : null;
  })).filter(Boolean);
  assert.deepEqual(leaks.slice(0, 10), [], `${leaks.length} of ${probes.length} prefixes leak`);
  const ex = await getJson(base, '/suggest?q=10.10.2');
  assert.deepEqual(ex.suggestions.filter((s) => s.text.startsWith('10.10.2.')), [], JSON.stringify(ex));
});

test('with the token the internal-only terms do come back as completions', async () => {
  const ex = await getJson(base, '/suggest?q=10.10.2', true);
  assert.ok(ex.suggestions.some((s) => s.kind === 'term' && s.text.startsWith('10.10.2.')), JSON.stringify(ex));
  // a sample of every 10th term whose prefix completes to few enough terms
  // to list it among the 8 answers: most of them come back
  const sample = internalOnly.filter((t, i) => i % 10 === 0 && /^[a-z0-9.-]{6,}$/.test(t));
  const back = await pool(sample, 4, async (t) => {
    const res = await getJson(base, `/suggest?q=${encodeURIComponent(prefixOf(t))}`, true);
    return res.suggestions.some((s) => s.kind === 'term' && lastWord(s.text) === t);
  });
  const n = back.filter(Boolean).length;
  assert.ok(sample.length >= 10 && n >= sample.length * 0.7, `${n} of ${sample.length} came back`);
});

// ---- spelling -------------------------------------------------------------------

test('a one-edit misspelling of an internal-only term is never corrected into it without the token', async () => {
  const probes = internalOnly.filter((t) => [...t].length >= 2);
  const leaks = (await pool(probes, 4, async (t) => {
    const q = misspell(t);
    const res = await getJson(base, `/search?limit=1&q=${encodeURIComponent(q)}`);
    // every word of the answer (a public word may contain t: "advanced"
    // for the internal-only "advance" is no leak)
    const bad = [res.suggestion, res.corrected].filter((s) => s && s.split(' ').some((w) => internalSet.has(w)));
    for (const h of res.hits) if (internalIds.has(h.id)) bad.push(`hit ${h.id}`);
    return bad.length ? `${q} -> ${bad.join(', ')}` : null;
  })).filter(Boolean);
  assert.deepEqual(leaks.slice(0, 10), [], `${leaks.length} of ${probes.length} misspellings leak`);
});

test('with the token, misspelt internal words are corrected into them', async () => {
  // words the spelling table holds: letters only, long enough to be words
  const sample = internalOnly.filter((t) => /^[a-z]{6,30}$/.test(t));
  const back = await pool(sample, 4, async (t) => {
    const res = await getJson(base, `/search?limit=1&q=${encodeURIComponent(misspell(t))}`, true);
    return res.suggestion === t && res.corrected === t;
  });
  const n = back.filter(Boolean).length;
  assert.ok(sample.length >= 10 && n >= sample.length * 0.5, `${n} of ${sample.length} corrected`);
});

// ---- facets, documents, links -------------------------------------------------------

test('facet counts without the token count public documents only', async () => {
  const count = (kind, pub) => [...docs.values()].filter((d) => d.kind === kind && (!pub || d.visibility === 'public')).length;
  for (const kind of ['article', 'known_error']) {
    assert.ok(count(kind, true) < count(kind, false), `${kind}: the corpus has internal ones`);
    const pub = await getJson(base, `/search?limit=1&facets=1&q=${encodeURIComponent(`kind:${kind}`)}`);
    assert.equal(pub.facets.kind[kind], count(kind, true), JSON.stringify(pub.facets.kind));
    assert.equal(pub.total, count(kind, true));
    const all = await getJson(base, `/search?limit=1&facets=1&q=${encodeURIComponent(`kind:${kind}`)}`, true);
    assert.equal(all.facets.kind[kind], count(kind, false), JSON.stringify(all.facets.kind));
  }
});

test('ids of internal documents named in a public body are no links for a public caller', async () => {
  const idRe = /\b(?:KB|KE)-\d{3,6}\b/g;
  const pairs = [];
  for (const [id, d] of docs) {
    if (d.visibility !== 'public') continue;
    for (const m of new Set(d.text.match(idRe) || [])) if (m !== id && docs.has(m)) pairs.push([id, m]);
  }
  const toInternal = pairs.filter(([, to]) => internalIds.has(to));
  const toPublic = pairs.filter(([, to]) => !internalIds.has(to));
  assert.ok(toInternal.length >= 1 && toPublic.length >= 1, JSON.stringify(pairs));
  for (const [from, to] of pairs) {
    const pub = await getJson(base, `/doc/${from}`);
    const agent = await getJson(base, `/doc/${from}`, true);
    assert.equal(pub.refs.includes(to), !internalIds.has(to), `${from} -> ${to} (public): ${JSON.stringify(pub.refs)}`);
    assert.ok(agent.refs.includes(to), `${from} -> ${to} (agent): ${JSON.stringify(agent.refs)}`);
  }
  for (const id of internalIds) {
    const r = await fetch(`${base}/doc/${id}`);
    assert.equal(r.status, 404, id);
    await r.arrayBuffer();
  }
});

// ---- incremental builds -------------------------------------------------------------

// Waits (bounded) until searchd serves an index revision other than rev.
async function nextRevision(b, rev, deadlineMs = 15000) {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const h = await getJson(b, '/healthz');
    if (h.revision !== rev) return h.revision;
    if (Date.now() > end) throw new Error(`searchd still at revision ${rev}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('completions and spelling follow an internal document through edits, a visibility change and removal', async () => {
  // a corpus of its own, so the other tests keep theirs
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kb-vis-inc-'));
  const c = path.join(dir, 'corpus'), ix = path.join(dir, 'index');
  let d2;
  try {
    await cp(corpus, c, { recursive: true });
    await mustRun(INDEXER, ['build', '--quiet', '--corpus', c, '--index', ix]);
    // one search worker: once /healthz shows a new revision, every answer
    // is from it (with two, the other worker may still answer from the old
    // one for up to its 0.1 s refresh interval)
    d2 = startProc(SEARCHD, ['--index', ix, '--listen', '127.0.0.1:0', '--agent-token', token,
      '--www', path.join(ROOT, 'searchd/www'), '--threads', '1', '--cache-mb', '0']);
    const b = await d2.ready;
    // the internal document with the most words of its own (letters only)
    const own = (id) => internalOnly.filter((t) => /^[a-z]{6,30}$/.test(t)
      && [...docs].every(([o, d]) => o === id || !d.terms.has(t)));
    const id = [...internalIds].sort((x, y) => own(y).length - own(x).length)[0];
    const words = own(id);
    assert.ok(words.length >= 3, `${id}: ${words}`);
    const file = path.join(c, (await mustRun(INDEXER, ['show', '--index', ix, id])).match(/"source": "([^"]+)"/)[1]);
    const corrected = async (w, agent) => (await getJson(b, `/search?limit=1&q=${misspell(w)}`, agent)).suggestion === w;
    const completed = async (w, agent) => (await getJson(b, `/suggest?q=${prefixOf(w)}`, agent))
      .suggestions.some((s) => s.kind === 'term' && lastWord(s.text) === w);
    const state = async (agent) => {
      const out = [];
      for (const w of words) out.push(`${w}:${await corrected(w, agent) ? 'S' : '-'}${await completed(w, agent) ? 'C' : '-'}`);
      return out.join(' ');
    };
    const agentBefore = await state(true);
    assert.match(agentBefore, /S/, agentBefore);
    assert.doesNotMatch(await state(false), /[SC]/);
    let rev = (await getJson(b, '/healthz')).revision;
    const text = await readFile(file, 'utf8');
    const rebuild = async (newText) => {
      if (newText === null) await unlink(file); else await writeFile(file, newText);
      await mustRun(INDEXER, ['build', '--quiet', '--corpus', c, '--index', ix]);
      rev = await nextRevision(b, rev);
    };
    // made public: its words are everyone's, with the same answers the agent had
    await rebuild(text.replace(/^visibility: internal$/m, 'visibility: public'));
    assert.equal(await state(false), agentBefore);
    // internal again (an edit too): hidden again, the agent's answers unchanged
    await rebuild(text.replace(/^visibility: public$/m, 'visibility: internal') + '\n');
    assert.doesNotMatch(await state(false), /[SC]/);
    assert.equal(await state(true), agentBefore);
    // removed: its words are gone for everyone
    await rebuild(null);
    assert.doesNotMatch(await state(true), /[SC]/);
    assert.doesNotMatch(await state(false), /[SC]/);
  } finally {
    await stopProc(d2, 8000);
    await rm(dir, { recursive: true, force: true });
  }
});
