#!/usr/bin/env python3
"""Generates shared/kb_pinyin.txt, the toneless Mandarin readings of the
6,763 characters of GB 2312 (the characters a Chinese query is typed in),
from Unicode's Unihan database as Debian's unicode-data package ships it:

    python3 scripts/gen_pinyin.py /usr/share/unicode > shared/kb_pinyin.txt

kMandarin (Unihan_Readings) gives the readings (the customary PRC one
first), kGB0 (Unihan_OtherMappings) the GB 2312 membership. The output is
one line per syllable, "ku 哭库裤…", the syllable's characters in code point
order; the build embeds it (see the Makefile) and kb_pinyin.c reads it."""
import bz2, os, sys, unicodedata

root = sys.argv[1] if len(sys.argv) > 1 else '/usr/share/unicode'

def fields(name, key):
    path = os.path.join(root, name)
    op = bz2.open if path.endswith('.bz2') else open
    if not os.path.exists(path) and os.path.exists(path + '.bz2'):
        path, op = path + '.bz2', bz2.open
    with op(path, 'rt', encoding='utf-8') as f:
        for line in f:
            p = line.rstrip('\n').split('\t')
            if len(p) == 3 and p[1] == key:
                yield int(p[0][2:], 16), p[2]

def toneless(s):
    s = unicodedata.normalize('NFD', s)
    s = ''.join(c for c in s if not unicodedata.combining(c))
    return s.replace('ü', 'v').lower()

gb = {cp for cp, _ in fields('Unihan_OtherMappings.txt', 'kGB0')}
reading = {}
for cp, v in fields('Unihan_Readings.txt', 'kMandarin'):
    if cp in gb:
        syls = []
        for r in v.split():
            t = toneless(r)
            if t.isalpha() and t not in syls:
                syls.append(t)
        if syls:
            reading[cp] = syls[:2]

syllables = sorted({s for v in reading.values() for s in v})
out = sys.stdout
for s in syllables:
    out.write(s + ' ' + ''.join(chr(cp) for cp in sorted(reading) if s in reading[cp]) + '\n')
