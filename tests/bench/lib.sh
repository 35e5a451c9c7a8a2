# tests/bench/lib.sh: the pieces tests/bench/run.sh (make bench) and
# tests/bench/known.sh (the known-item loop) share. Sourced, not run; the
# caller sets ROOT (the repository), W (the work folder, build/bench) and a
# log function, and runs under `set -euo pipefail`.

# bench_packages PKG...: installs the Debian packages not installed yet
# (apt-get, as root or through sudo)
bench_packages() {
    local missing="" p SUDO=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
    done
    [ -n "$missing" ] || return 0
    log "installing$missing"
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
}
# the text packages of the real corpus and the Xapian baseline's indexer
BENCH_TEXT_PKGS="libreoffice-help-zh-cn libreoffice-help-en-us manpages-zh debian-reference-zh-cn
debian-reference-en xapian-tools xapian-omega python3"

# bench_benchq: builds the query driver $W/bin/benchq against build/lib/libkb.a
# and searchd's block map (make all must have run); sets BENCHQ
bench_benchq() {
    [ -f build/lib/libkb.a ] && [ -x build/bin/indexer ] && [ -f build/obj/shared/kb_blockmap.c.o ] ||
        { echo "bench: build first (make all)" >&2; exit 1; }
    mkdir -p "$W/bin"
    local KBPKGS="libutf8proc jansson icu-uc icu-i18n opencc libzstd libcurl libmariadb"
    # shellcheck disable=SC2046
    c++ -std=c++17 -O2 -g -Ishared $(pkg-config --cflags $KBPKGS) -I"$(pg_config --includedir)" \
        -o "$W/bin/benchq" tests/bench/benchq.cc build/obj/shared/kb_blockmap.c.o build/lib/libkb.a \
        $(pkg-config --libs $KBPKGS) -lxapian -lpq -lstdc++ -lm -lpthread
    BENCHQ=$W/bin/benchq
}

# bench_convert SOURCES_JSON: converts the Debian packages' text into
# $W/real (articles in $W/real/corpus, docs.jsonl) and the baselines' input
# formats ($W/real/docs.si for scriptindex, docs.tsv for PostgreSQL); the
# per-source statistics go to SOURCES_JSON
bench_convert() {
    rm -rf "$W/real"
    python3 tests/bench/convert.py "$W/real" >"$1"
    python3 tests/bench/scale.py formats "$W/real/docs.jsonl" "$W/real/docs"
}

# bench_index_kbdesk DIR [CMD_PREFIX...]: a fresh kbdesk index of the real
# corpus in DIR; bench_index_xapian DIR [CMD_PREFIX...]: the same documents
# through scriptindex (tests/bench/xapian.si, CJK n-grams). The prefix
# (e.g. `timed FILE`, `taskset -c 1`) runs before the command.
bench_index_kbdesk() {
    local dir=$1; shift
    rm -rf "$dir"
    "$@" build/bin/indexer build --corpus "$W/real/corpus" --index "$dir" --quiet >/dev/null
}
bench_index_xapian() {
    local dir=$1; shift
    rm -rf "$dir"
    XAPIAN_CJK_NGRAM=1 "$@" scriptindex "$dir" tests/bench/xapian.si "$W/real/docs.si" >/dev/null
}

# bench_known ENGINE INDEX QUERIES OUT_JSON [benchq options...]: the
# known-item pass of one engine on core 1 (one repeat, 200 warm-up queries)
bench_known() {
    local e=$1 ix=$2 qf=$3 out=$4; shift 4
    taskset -c 1 "$BENCHQ" --engine "$e" --warm 200 --index "$ix" --queries "$qf" --repeat 1 "$@" >"$out"
}

# bench_listen_url LOG PID TENTHS: prints the URL a daemon (PID, logging to
# LOG) announces with "listening on http://...", waiting up to TENTHS tenths
# of a second; returns 1 (the log on stderr) if it died or never said it
bench_listen_url() {
    local log=$1 pid=$2 n=$3 url
    for _ in $(seq 1 "$n"); do
        url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$log" | head -1)
        [ -n "$url" ] && { echo "$url"; return 0; }
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; return 1; }
        sleep 0.1
    done
    return 1
}
