#!/bin/sh
# Runs every test and prints the closing line "N passed, N failed".
#   unit tests: build/asan/test/test_* (cmocka, under ASan + UBSan), then
#               build/test/test_*, optimised (-O2 compiles some undefined
#               behaviour differently from the sanitizer build's -O1)
#   end-to-end: tests/e2e/*.sh, run against the sanitizer binaries and the
#               optimised ones (KB_BIN selects which)
#   browser, soak (tests/soak: faults under traffic), eval, fuzz: once, with
#               the optimised binaries
# Exit status 0 only if nothing failed.
set -u
cd "$(dirname "$0")/.."
pass=0
fail=0
failed_names=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

for t in build/asan/test/test_* build/test/test_*; do
    [ -x "$t" ] || continue
    case $t in build/asan/*) variant=asan ;; *) variant=release ;; esac
    "$t" >"$log" 2>&1
    rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1 # crashed, leaked or aborted outside a test
    fi
    pass=$((pass + p))
    fail=$((fail + f))
    if [ "$f" -ne 0 ]; then
        failed_names="$failed_names $(basename "$t")[$variant]"
        cat "$log"
    fi
    echo "unit $(basename "$t") [$variant]: $p passed, $f failed"
done

# run_tap NAME CMD...: count a TAP-like run's top-level "ok" / "not ok" lines
run_tap() {
    name=$1; shift
    "$@" >"$log" 2>&1
    rc=$?
    p=$(grep -c '^ok ' "$log")
    f=$(grep -c '^not ok ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
    fi
    pass=$((pass + p))
    fail=$((fail + f))
    if [ "$f" -ne 0 ]; then
        failed_names="$failed_names $name"
        cat "$log"
    fi
    echo "$name: $p passed, $f failed"
}

for bin in build/asan/bin build/bin; do
    for e in tests/e2e/*.sh; do
        [ "$(basename "$e")" = lib.sh ] && continue
        run_tap "e2e $(basename "$e") [$bin]" env KB_BIN=$bin sh "$e"
    done
    for e in tests/e2e/*.test.mjs; do
        [ -f "$e" ] || continue
        run_tap "e2e $(basename "$e") [$bin]" env KB_BIN=$bin node --test --test-reporter=tap "$e"
    done
done
for e in tests/browser/*.test.mjs; do
    [ -f "$e" ] || continue
    run_tap "browser $(basename "$e")" env KB_BIN=build/bin node --test --test-reporter=tap "$e"
done
for e in tests/soak/*.test.mjs; do
    [ -f "$e" ] || continue
    # the fault soak (about a minute): PostgreSQL restarts and chatdesk
    # kill -9 under traffic, then lost / duplicated messages counted
    run_tap "soak $(basename "$e")" env KB_BIN=build/bin node --test --test-reporter=tap "$e"
done
if [ -x build/bin/kbeval ]; then
    # relevance: kbdesk must beat the stronger baseline on every measure
    run_tap "eval kbeval --check" sh -c '
        d=$(mktemp -d) && trap "rm -rf $d" EXIT &&
        build/bin/indexer build --quiet --corpus corpora --index "$d/index" >/dev/null &&
        build/bin/kbeval --corpus corpora --index "$d/index" --work "$d" \
            --queries tests/eval/queries.tsv --check &&
        echo "ok 1 - kbdesk beats both baselines on S@1, MRR@10 and nDCG@10" ||
        { echo "not ok 1 - kbdesk does not beat the stronger baseline"; exit 1; }'
fi
for f in build/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    # a short coverage-guided run from the seed corpus; any crash fails
    # a short coverage-guided run over a copy of the seed corpus; any crash
    # fails, with the fuzzer's report shown (crash files go to build/fuzz)
    run_tap "fuzz $(basename "$f")" sh -c "d=\$(mktemp -d) && cp tests/fuzz/corpus/* \$d/ &&
        '$f' -max_total_time=20 -max_len=8192 -timeout=10 -artifact_prefix=build/fuzz/ \$d \
            >\$d.log 2>&1 && echo 'ok 1 - $(basename "$f") 20 s without a crash' ||
        { tail -40 \$d.log; echo 'not ok 1 - $(basename "$f") crashed'; exit 1; }"
done

[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
