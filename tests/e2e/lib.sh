# Shared helpers for end-to-end shell tests: TAP-like "ok" / "not ok" lines
# that scripts/testrun.sh counts. KB_BIN is the folder holding the binaries.
KB_BIN=${KB_BIN:-build/bin}
INDEXER="$KB_BIN/indexer"
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
# check DESC COMMAND...: passes when the command exits 0
check() {
    d=$1; shift
    if "$@" >/dev/null 2>&1; then ok "$d"; else notok "$d" "command: $*"; fi
}
# has_line FILE LINE: FILE holds LINE exactly
has_line() { grep -qxF -- "$2" "$1"; }
mktmp() { mktemp -d "${TMPDIR:-/tmp}/kbtest.XXXXXX"; }
