#!/bin/sh
# End to end: the real indexer binary on the real corpus, in a temp folder.
# Covers tokenize, build (full, no-op, incremental change / add / delete,
# malformed files), stats and show.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

T=$(mktmp)
trap 'rm -rf "$T"' EXIT

# ---- tokenize ---------------------------------------------------------------
tok() { printf '%s' "$1" | "$INDEXER" tokenize >"$T/tok" 2>"$T/tok.err"; }
tok '运行维护服务主责部门应建立知识库'
for w in 运行 维护 服务 部门 知识库 建立 行维 识库; do
    if has_line "$T/tok" "$w"; then ok "tokenize: $w"; else notok "tokenize: $w" "$(tr '\n' ' ' <"$T/tok")"; fi
done
tok 'ＯＲＡ－１２１５４ 错误'
check "tokenize: full-width ORA-12154 gives ora-12154" has_line "$T/tok" "ora-12154"
tok '知識庫'
check "tokenize: Traditional 知識庫 gives 知识库" has_line "$T/tok" "知识库"
tok 'Windows 更新失败 0x80070005'
check "tokenize: windows" has_line "$T/tok" "windows"
check "tokenize: 0x80070005 whole" has_line "$T/tok" "0x80070005"
tok '8.3.4.1 问题管理'
check "tokenize: clause number 8.3.4.1 whole" has_line "$T/tok" "8.3.4.1"
printf 'ok \377\376 bad' | "$INDEXER" tokenize >"$T/tok" 2>"$T/tok.err"
rc=$?
if [ $rc -ne 0 ] && grep -q "invalid UTF-8" "$T/tok.err" && [ ! -s "$T/tok" ]; then
    ok "tokenize: invalid UTF-8 is an error, nothing printed"
else
    notok "tokenize: invalid UTF-8 is an error" "rc=$rc" "$(cat "$T/tok.err")"
fi

# ---- golden files: tests/unit/golden/tok/NAME.in -> NAME.out --------------------
for in in tests/unit/golden/tok/*.in; do
    [ -f "$in" ] || continue
    want=${in%.in}.out
    "$INDEXER" tokenize --verbose <"$in" >"$T/golden" 2>&1
    if cmp -s "$T/golden" "$want"; then ok "golden $(basename "$in")"; else
        notok "golden $(basename "$in")" "$(diff "$want" "$T/golden" | head -20)"; fi
done

# ---- build on the real corpus ------------------------------------------------
cp -r corpora "$T/corpus"
IDX="$T/index"
"$INDEXER" build --corpus "$T/corpus" --index "$IDX" >"$T/build1" 2>"$T/build1.err"
check "build: exit 0" test $? -eq 0
check "build: no file errors" test ! -s "$T/build1.err"
"$INDEXER" stats --index "$IDX" >"$T/stats" 2>&1
count() { sed -n "s/^  $1 *\([0-9]*\)$/\1/p" "$T/stats" | head -1; }
a=$(count article); k=$(count known_error); s=$(count standard)
check "stats: at least 60 articles ($a)" test "${a:-0}" -ge 60
check "stats: at least 30 known errors ($k)" test "${k:-0}" -ge 30
check "stats: standard clauses ($s)" test "${s:-0}" -ge 100
check "stats: internal documents counted" grep -q "^visibility: [0-9]* public, [1-9][0-9]* internal" "$T/stats"

# every standard clause exactly once, and as many as the parser's golden list
"$INDEXER" list --index "$IDX" >"$T/list" 2>&1
check "list: one line per document" test "$(wc -l <"$T/list")" -eq "$(sed -n 's/^documents: //p' "$T/stats")"
check "list: no id twice" test -z "$(cut -f1 "$T/list" | sort | uniq -d)"
for g in tests/unit/golden/std/*.clauses; do
    [ -f "$g" ] || continue
    base=$(basename "$g" .clauses)
    want=$(grep -c . "$g")
    got=$(grep -c "	standards/$base$" "$T/list")
    check "standard $base: $want golden clauses indexed ($got)" test "$got" -eq "$want"
done
# 7.8 服务台 and 8.3.4.1 of the operations-and-maintenance standard (004)
check "7.8 服务台 indexed once" test "$(grep -c '^std-s004:7.8	7.8 服务台	' "$T/list")" -eq 1
check "8.3.4.1 indexed once" test "$(grep -c '^std-s004:8.3.4.1	' "$T/list")" -eq 1
"$INDEXER" show --index "$IDX" std-s004:7.8 >"$T/c78" 2>&1
check "7.8 body holds its own text (服务台管理制度)" grep -q '服务台管理制度' "$T/c78"
check "7.8 body has no table-of-contents leader" sh -c "! grep -q '\.\.\.\.\.' '$T/c78'"
"$INDEXER" show --index "$IDX" std-s004:8.3.4.1 >"$T/c8341" 2>&1
check "8.3.4.1 body keeps its list items" grep -q 'a) 建立统一的问题管理活动' "$T/c8341"
check "8.3.4.1 path names its parents" grep -q '"path": "8 实施 > 8.3 过程 > 8.3.4 问题管理"' "$T/c8341"
"$INDEXER" show --index "$IDX" --terms std-s004:8.3.4.1 >"$T/c8341t" 2>&1
check "show --terms lists positional terms" grep -q '^问题	wdf=[0-9]*	pos=' "$T/c8341t"
check "clause filter term N8.3.4.1" grep -q '^N8.3.4.1	' "$T/c8341t"
# several ids in one run; an unknown one is reported, the others printed
"$INDEXER" show --index "$IDX" --terms std-s004:7.8 KB-NOSUCH std-s004:8.3.4.1 >"$T/two" 2>"$T/two.err"
check "show ID...: exit 1 for an unknown id" test $? -eq 1
check "show ID...: both known documents printed" test "$(grep -c '^  "id": "std-s004:' "$T/two")" -eq 2
check "show ID...: the unknown id named" grep -q 'no document with id KB-NOSUCH' "$T/two.err"
# an internal document's terms have H twins (kb_schema.h): public ones none
"$INDEXER" show --index "$IDX" --terms KE-0003 KB-0001 >"$T/vis" 2>&1
check "internal document: its terms have H twins" grep -q '^H10.10.2.11	wdf=0' "$T/vis"
check "public document: no H twins" test "$("$INDEXER" show --index "$IDX" --terms KB-0001 | grep -c '^H')" -eq 0

# ---- no-op rebuild -------------------------------------------------------------
"$INDEXER" build --corpus "$T/corpus" --index "$IDX" >"$T/build2" 2>&1
check "rebuild unchanged: nothing re-indexed" grep -q "^documents indexed this run: 0 articles, 0 known errors, 0 standard clauses; 0 deleted" "$T/build2"
check "rebuild unchanged: all files unchanged" grep -q "0 indexed, [0-9]* unchanged, 0 removed, 0 skipped" "$T/build2"

# ---- incremental: change one article, delete one, add a malformed one ----------
f=$(ls "$T/corpus/articles/"*.md | head -1)
id=$(sed -n 's/^id: //p' "$f" | head -1)
sed -i 's/^title: .*/title: 已修改的标题 changedtitlemarker/' "$f"
g=$(ls "$T/corpus/articles/"*.md | sed -n 2p)
gid=$(sed -n 's/^id: //p' "$g" | head -1)
rm "$g"
printf -- '---\nid: KB-BAD\nkind: article\ntitle: broken\nvisibility: secret\n---\nbody\n' >"$T/corpus/articles/zz-bad.md"
"$INDEXER" build --corpus "$T/corpus" --index "$IDX" >"$T/build3" 2>"$T/build3.err"
check "incremental: exit 0 despite a malformed file" test $? -eq 0
check "incremental: one file re-indexed, one removed, one skipped" grep -q "^files: .*(1 indexed, [0-9]* unchanged, 1 removed, 1 skipped with errors)" "$T/build3"
check "incremental: malformed file reported with path and line" grep -q "articles/zz-bad.md:5: visibility must be public or internal" "$T/build3.err"
"$INDEXER" show --index "$IDX" "$id" >"$T/show" 2>&1
check "incremental: changed document has its new title" grep -q changedtitlemarker "$T/show"
"$INDEXER" show --index "$IDX" "$gid" >"$T/show2" 2>&1
check "incremental: deleted file's document is gone" test $? -eq 1
check "incremental: show says so" grep -q "no document with id $gid" "$T/show2"
"$INDEXER" show --index "$IDX" KB-BAD >/dev/null 2>&1
check "malformed file not indexed" test $? -eq 1
"$INDEXER" stats --index "$IDX" >"$T/stats2"
a2=$(sed -n "s/^  article *\([0-9]*\)$/\1/p" "$T/stats2")
check "article count went down by one ($a -> $a2)" test "$a2" -eq $((a - 1))

# a renamed file: its documents stay indexed, from the new path, with no
# "duplicate id" (the old path's ids are freed before the new file is read)
h=$(ls "$T/corpus/articles/"*.md | sed -n 3p)
hid=$(sed -n 's/^id: //p' "$h" | head -1)
mv "$h" "$T/corpus/articles/renamed-file.md"
"$INDEXER" build --corpus "$T/corpus" --index "$IDX" >"$T/build5" 2>"$T/build5.err"
check "rename: one indexed, one removed (zz-bad.md still skipped)" grep -q "(1 indexed, [0-9]* unchanged, 1 removed, 1 skipped" "$T/build5"
check "rename: no duplicate id reported" sh -c "! grep -q 'duplicate id' '$T/build5.err'"
"$INDEXER" list --index "$IDX" >"$T/list5"
check "rename: the document is listed from its new path" grep -q "^$hid	.*	articles/renamed-file.md$" "$T/list5"
"$INDEXER" stats --index "$IDX" >"$T/stats5"
check "rename: article count unchanged" test "$(sed -n "s/^  article *\([0-9]*\)$/\1/p" "$T/stats5")" -eq "$a2"

# a file that turns malformed keeps its indexed version
printf 'garbage\n' >"$f"
"$INDEXER" build --corpus "$T/corpus" --index "$IDX" >"$T/build4" 2>"$T/build4.err"
check "broken file reported at line 1" grep -q "$(basename "$f"):1: missing header" "$T/build4.err"
"$INDEXER" show --index "$IDX" "$id" >"$T/show" 2>&1
check "broken file's last good version stays searchable" grep -q changedtitlemarker "$T/show"

# --strict turns skipped files into a failure
"$INDEXER" build --strict --corpus "$T/corpus" --index "$IDX" >/dev/null 2>&1
check "--strict: exit 1 with a malformed file" test $? -eq 1

# ---- stat stamps: a file whose size, times and inode are unchanged is not read --
S="$T/stamp"
mkdir -p "$S/articles"
for a in $(ls corpora/articles/*.md | head -3); do cp "$a" "$S/articles/"; done
SIDX="$T/stampidx"
sbuild() { "$INDEXER" build --corpus "$S" --index "$SIDX" >"$T/sb" 2>&1; }
nread() { sed -n 's/^files read and hashed: \([0-9]*\).*/\1/p' "$T/sb"; }
sbuild
check "stamps: a new file is read (3 of 3)" test "$(nread)" -eq 3
# a file changed less than 2 s before a build gets no stamp (the same clock
# tick as the build could hide a later change); the condition to wait for is
# the clock itself: every file's ctime at least 3 s in the past (bounded)
newest=$(stat -c %Z "$S"/articles/*.md | sort -n | tail -1)
i=0
while [ "$(date +%s)" -le $((newest + 2)) ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sbuild
check "stamps: files without a stamp are read once more (3)" test "$(nread)" -eq 3
check "stamps: ... and found unchanged" grep -q "(0 indexed, 3 unchanged, 0 removed, 0 skipped" "$T/sb"
sbuild
check "stamps: stamped unchanged files are not read (0)" test "$(nread)" -eq 0
check "stamps: ... and counted unchanged" grep -q "(0 indexed, 3 unchanged, 0 removed, 0 skipped" "$T/sb"
# same size, mtime put back: the ctime still tells the change
sf=$(ls "$S"/articles/*.md | head -1)
sid=$(sed -n 's/^id: //p' "$sf" | head -1)
cp -p "$sf" "$T/stamp.ref"
sed -i 's/^title: \(..\).*/title: \1/' "$sf"   # shorter title ...
pad=$(( $(stat -c %s "$T/stamp.ref") - $(stat -c %s "$sf") ))
printf '%*s' "$pad" '' | tr ' ' 'q' >>"$sf"     # ... padded back to the same size
touch -r "$T/stamp.ref" "$sf"
check "stamps: edited file has its old size and mtime" test "$(stat -c '%s %Y' "$sf")" = "$(stat -c '%s %Y' "$T/stamp.ref")"
sbuild
check "stamps: the edited file is read (1) and re-indexed" sh -c "[ \"$(nread)\" -eq 1 ] && grep -q '(1 indexed, 2 unchanged' '$T/sb'"
"$INDEXER" show --index "$SIDX" "$sid" >"$T/stampshow" 2>&1
check "stamps: the edit is in the index" grep -q 'qqq' "$T/stampshow"

# ---- the reading stage: on one CPU it runs inline, on two on its own thread ----
# (indexer/prep.h); both must give the same documents, terms and positions
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    cp -r corpora "$T/pc"
    taskset -c 0 "$INDEXER" build --quiet --corpus "$T/pc" --index "$T/p1" >"$T/p1.out" 2>&1
    check "one CPU: build exit 0" test $? -eq 0
    "$INDEXER" build --quiet --corpus "$T/pc" --index "$T/p2" >"$T/p2.out" 2>&1
    check "two CPUs: build exit 0" test $? -eq 0
    check "one and two CPUs: the same build summary" cmp "$T/p1.out" "$T/p2.out"
    "$INDEXER" list --index "$T/p1" >"$T/p1.list"
    "$INDEXER" list --index "$T/p2" >"$T/p2.list"
    check "one and two CPUs: the same documents ($(wc -l <"$T/p1.list"))" sh -c "[ -s '$T/p1.list' ] && cmp '$T/p1.list' '$T/p2.list'"
    # shellcheck disable=SC2046
    "$INDEXER" show --index "$T/p1" --terms $(cut -f1 "$T/p1.list") >"$T/p1.terms" 2>&1
    # shellcheck disable=SC2046
    "$INDEXER" show --index "$T/p2" --terms $(cut -f1 "$T/p2.list") >"$T/p2.terms" 2>&1
    check "one and two CPUs: the same terms and positions ($(grep -c 'pos=' "$T/p1.terms") positional terms)" \
        sh -c "grep -q 'pos=' '$T/p1.terms' && cmp '$T/p1.terms' '$T/p2.terms'"
else
    ok "# SKIP one and two CPUs: this machine has one CPU (or no taskset)"
fi

# ---- bad invocations -------------------------------------------------------------
"$INDEXER" build --corpus "$T/nope" --index "$T/idx2" >/dev/null 2>"$T/err"
check "missing corpus folder: exit 1" test $? -eq 1
check "missing corpus folder: message names it" grep -q "$T/nope" "$T/err"
"$INDEXER" stats --index "$T/none" >/dev/null 2>"$T/err"
check "stats on a missing index: exit 1" test $? -eq 1
"$INDEXER" frobnicate >/dev/null 2>&1
check "unknown command: exit 2" test $? -eq 2
"$INDEXER" --help >"$T/help"
check "--help lists every command" sh -c "grep -q build '$T/help' && grep -q stats '$T/help' && grep -q show '$T/help' && grep -q tokenize '$T/help'"
