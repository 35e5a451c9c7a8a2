// End-to-end tests of `indexer import` and `indexer export` (KB_BIN selects
// the binaries folder) against a real PostgreSQL 15 (scripts/pg.sh, fsync
// off): corpora/ imported into an empty database and exported again gives
// back every article's and known error's fields, as the real parser reads
// them (both folders indexed with `indexer build`, documents compared with
// `indexer show`); a second import changes nothing; a malformed file is
// reported and the rest still imported; an id both in a file and in the
// database is indexed once, from the file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { ROOT, run as run0, startPg, destroyPg } from './daemon.mjs';

const BIN = path.resolve(ROOT, process.env.KB_BIN || 'build/bin');
const CHATDESK = path.join(BIN, 'chatdesk');
const INDEXER = path.join(BIN, 'indexer');

let tmp, pgdir, conninfo;

// imports and exports of the whole corpus take longer than the default
const run = (file, args, opts) => run0(file, args, { timeoutMs: 180000, ...opts });
// run, asserting exit status 0; resolves to the whole result (stdout and stderr)
async function mustRun(file, args, opts) {
  const r = await run(file, args, opts);
  assert.equal(r.code, 0, `${file} ${args.join(' ')}: ${r.stderr}`);
  return r;
}

// id -> document (JSON of `indexer show`, without where it came from) of
// every article and known error of an index.
async function documents(index) {
  const list = (await mustRun(INDEXER, ['list', '--index', index])).stdout;
  const ids = list.split('\n').filter(Boolean).map((l) => l.split('\t')[0])
    .filter((id) => !id.startsWith('std-'));
  const out = new Map();
  if (!ids.length) return out;
  const shown = (await mustRun(INDEXER, ['show', '--index', index, ...ids])).stdout;
  // one pretty-printed object after another
  for (const chunk of shown.split(/\n(?=\{)/)) {
    const d = JSON.parse(chunk);
    delete d.source;
    delete d.source_line;
    out.set(d.id, d);
  }
  return out;
}

before(async () => {
  ({ tmp, pgdir, conninfo } = await startPg('kbkio'));
  await mustRun(CHATDESK, ['useradd', '--agent', 'importer', '--db', conninfo], { input: 'importer password 1\n' });
}, { timeout: 120000 });

after(async () => {
  await destroyPg({ tmp, pgdir });
}, { timeout: 60000 });

test('import corpora/ into an empty database, export: the same fields come back', { timeout: 300000 }, async () => {
  const imp = await mustRun(INDEXER, ['import', '--corpus', 'corpora', '--db', conninfo, '--owner', 'importer']);
  const m = /files: (\d+); imported (\d+), already there 0, refused 0/.exec(imp.stdout);
  assert.ok(m, imp.stdout + imp.stderr);
  const articles = (await readdir(path.join(ROOT, 'corpora/articles'))).filter((f) => f.endsWith('.md'));
  const kes = (await readdir(path.join(ROOT, 'corpora/known_errors'))).filter((f) => f.endsWith('.md'));
  assert.equal(Number(m[2]), articles.length + kes.length);

  // again: nothing new, nothing refused
  const again = await mustRun(INDEXER, ['import', '--corpus', 'corpora', '--db', conninfo, '--owner', 'importer']);
  assert.match(again.stdout, new RegExp(`imported 0, already there ${m[2]}, refused 0`));

  const out = path.join(tmp, 'export');
  const exp = await mustRun(INDEXER, ['export', '--db', conninfo, '--out', out]);
  assert.match(exp.stdout, new RegExp(`^exported ${m[2]} items`));

  const a = path.join(tmp, 'index-files');
  const b = path.join(tmp, 'index-export');
  await mustRun(INDEXER, ['build', '--quiet', '--strict', '--corpus', 'corpora', '--index', a]);
  await mustRun(INDEXER, ['build', '--quiet', '--strict', '--corpus', out, '--index', b]);
  const fromFiles = await documents(a);
  const fromExport = await documents(b);
  assert.equal(fromFiles.size, Number(m[2]));
  assert.deepEqual([...fromExport.keys()].sort(), [...fromFiles.keys()].sort());
  for (const [id, d] of fromFiles) assert.deepEqual(fromExport.get(id), d, id);

  // the files and the database hold the same ids: each is indexed once,
  // from its file, and the database items are reported
  const c = path.join(tmp, 'index-both');
  const both = await mustRun(INDEXER, ['build', '--quiet', '--corpus', 'corpora', '--db', conninfo, '--index', c]);
  assert.match(both.stdout, new RegExp(`database: 0 items indexed, 0 removed, ${m[2]} skipped`));
  assert.match(both.stderr, /database item KB-0001: the id is also in corpora\/articles\/KB-0001-[^:]*: the file wins/);
  const fromBoth = await documents(c);
  assert.equal(fromBoth.size, fromFiles.size);
});

test('a malformed file is reported with its line and the rest imported; an unknown owner is refused', { timeout: 120000 }, async () => {
  const corpus = path.join(tmp, 'bad-corpus');
  await mkdir(path.join(corpus, 'articles'), { recursive: true });
  await writeFile(path.join(corpus, 'articles', 'good.md'),
    '---\nid: KB-9901\nkind: article\ntitle: 导入测试\nvisibility: internal\n---\n正文\n');
  await writeFile(path.join(corpus, 'articles', 'bad.md'),
    '---\nid: KB-9902\nkind: article\ntitle: 坏文件\nvisibility: secret\n---\n正文\n');
  const r = await run(INDEXER, ['import', '--corpus', corpus, '--db', conninfo, '--owner', 'importer']);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /articles\/bad\.md:5: visibility must be public or internal/);
  assert.match(r.stdout, /files: 2; imported 1, already there 0, refused 1/);
  const nobody = await run(INDEXER, ['import', '--corpus', corpus, '--db', conninfo, '--owner', 'nobody']);
  assert.equal(nobody.code, 1);
  assert.match(nobody.stderr, /no such enabled agent/);
  const exp = await mustRun(INDEXER, ['export', '--db', conninfo, '--out', path.join(tmp, 'export2')]);
  assert.match(exp.stdout, /^exported \d+ items/);
  const files = await readdir(path.join(tmp, 'export2', 'articles'));
  assert.ok(files.includes('KB-9901.md'));
  assert.ok(!files.includes('KB-9902.md'));
});
