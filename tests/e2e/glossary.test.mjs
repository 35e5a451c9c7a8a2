// The glossary's own rules (corpora/glossary.txt header), checked on the
// file itself: a term belongs to one group only, a group has two terms or
// more, English is written in lower case with single spaces, and every term
// written wholly in Chinese characters is in the domain lexicon
// (shared/kb_lexicon_words.h) so the tokenizer keeps it whole and the
// synonym can match an indexed term. Also checks that the checker finds
// each kind of mistake in a small bad glossary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CJK_WORD = /^[\u4e00-\u9fff]{2,}$/u;

function lexiconWords() {
  const src = readFileSync(path.join(ROOT, 'shared/kb_lexicon_words.h'), 'utf8');
  return new Set([...src.matchAll(/"([^"\\]+)"/gu)].map((m) => m[1]));
}

// Returns one message per broken rule (empty when the text is fine).
function glossaryProblems(text, lexicon) {
  const problems = [];
  const seen = new Map();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const n = i + 1;
    const terms = line.split(' | ');
    if (terms.length < 2) problems.push(`line ${n}: a group needs two terms or more`);
    for (const t of terms) {
      if (t !== t.trim() || /\s{2,}|\|/u.test(t) || t === '') problems.push(`line ${n}: malformed term '${t}'`);
      if (t !== t.toLowerCase()) problems.push(`line ${n}: '${t}' is not in lower case`);
      if (seen.has(t)) problems.push(`line ${n}: '${t}' is already in the group of line ${seen.get(t)}`);
      else seen.set(t, n);
      if (CJK_WORD.test(t) && !lexicon.has(t)) problems.push(`line ${n}: '${t}' is not in the lexicon`);
    }
  });
  return problems;
}

test('corpora/glossary.txt keeps its rules and its Chinese terms are in the lexicon', () => {
  const text = readFileSync(path.join(ROOT, 'corpora/glossary.txt'), 'utf8');
  const problems = glossaryProblems(text, lexiconWords());
  assert.deepEqual(problems, []);
});

test('the glossary names the standards\' processes and indicators in English', () => {
  const text = readFileSync(path.join(ROOT, 'corpora/glossary.txt'), 'utf8');
  const groups = text.split('\n').filter((l) => l.trim() && !l.startsWith('#')).map((l) => l.split(' | '));
  const together = (a, b) => groups.some((g) => g.includes(a) && g.includes(b));
  for (const [en, zh] of [['release management', '发布管理'], ['cmdb', '配置管理数据库'],
    ['known error', '已知错误'], ['service level attainment', '服务级别达成率'],
    ['knowledge utilisation', '知识利用率'], ['service desk satisfaction', '服务台满意度'],
    ['service catalogue', '服务目录'], ['service catalog', '服务目录']])
    assert.ok(together(en, zh), `${en} and ${zh} are not in one group`);
});

test('the checker reports a repeated term, a Chinese term missing from the lexicon and a lone term', () => {
  const bad = '# comment\nfoo | 甲乙\nbar | foo\nBaz | 丙丁\nsolo\n';
  const problems = glossaryProblems(bad, new Set(['甲乙']));
  assert.ok(problems.some((p) => /'foo' is already in the group of line 2/u.test(p)), problems.join('\n'));
  assert.ok(problems.some((p) => /'丙丁' is not in the lexicon/u.test(p)), problems.join('\n'));
  assert.ok(problems.some((p) => /'Baz' is not in lower case/u.test(p)), problems.join('\n'));
  assert.ok(problems.some((p) => /line 5: a group needs two terms/u.test(p)), problems.join('\n'));
  assert.ok(!problems.some((p) => /甲乙/u.test(p)), problems.join('\n'));
});
