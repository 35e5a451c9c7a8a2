#!/usr/bin/env python3
"""Fits the confidence model of shared/kb_search_rank.c.

    make eval                      # writes build/eval/hits.tsv
    python3 tests/eval/calibrate.py build/eval/hits.tsv

Input: kbeval's --dump-hits TSV, one kbdesk hit a line: set (ans: a judged
query of tests/eval/queries.tsv, oos: an out-of-scope question), qid, rank,
score, right (1: a grade-2 document). Model: P(right) = 1 / (1 + e^-z),
z = bias + a * ln(1 + score) + b * score / first hit's score + c * [rank 0],
fitted by Newton's method on the log loss (a small L2 penalty keeps it
stable). Prints the constants to paste into kb_search_rank.c and the
calibration table. Plain Python, no packages."""
import math, sys

rows = []
top = {}
for line in open(sys.argv[1] if len(sys.argv) > 1 else 'build/eval/hits.tsv', encoding='utf-8'):
    p = line.rstrip('\n').split('\t')
    if len(p) != 5:
        continue
    kind, qid, rank, score, right = p[0], p[1], int(p[2]), float(p[3]), int(p[4])
    if rank == 0:
        top[(kind, qid)] = score
    rows.append((kind, qid, rank, score, right))

X, Y = [], []
for kind, qid, rank, score, right in rows:
    t = top.get((kind, qid), score)
    X.append([1.0, math.log1p(max(score, 0)), score / t if t > 0 else 0.0, 1.0 if rank == 0 else 0.0])
    Y.append(right)

def sig(z):
    return 1 / (1 + math.exp(-z)) if z > -30 else 0.0

w = [0.0] * 4
lam = 1e-3
for _ in range(50):
    g = [lam * wi for wi in w]
    H = [[lam if i == j else 0.0 for j in range(4)] for i in range(4)]
    for x, y in zip(X, Y):
        p = sig(sum(a * b for a, b in zip(w, x)))
        for i in range(4):
            g[i] += (p - y) * x[i]
            for j in range(4):
                H[i][j] += p * (1 - p) * x[i] * x[j]
    # solve H d = g (Gaussian elimination)
    A = [H[i][:] + [g[i]] for i in range(4)]
    for c in range(4):
        piv = max(range(c, 4), key=lambda r: abs(A[r][c]))
        A[c], A[piv] = A[piv], A[c]
        for r in range(4):
            if r != c:
                f = A[r][c] / A[c][c]
                for k in range(c, 5):
                    A[r][k] -= f * A[c][k]
    d = [A[i][4] / A[i][i] for i in range(4)]
    w = [wi - di for wi, di in zip(w, d)]
    if max(abs(di) for di in d) < 1e-9:
        break

names = ['CONF_BIAS', 'CONF_LOGSCORE', 'CONF_RELATIVE', 'CONF_FIRST']
for n, v in zip(names, w):
    print('#define %s %.3f' % (n, v))
bands = [[0, 0] for _ in range(10)]
for x, y in zip(X, Y):
    b = min(9, int(sig(sum(a * b for a, b in zip(w, x))) * 10))
    bands[b][0] += 1
    bands[b][1] += y
for i, (n, k) in enumerate(bands):
    print('%.1f-%.1f  hits %5d  right %s' % (i / 10, (i + 1) / 10, n, '%.3f' % (k / n) if n else '-'))
