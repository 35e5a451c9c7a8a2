# kbdesk: one non-recursive Makefile, out-of-tree build in build/.
#
#   make          build the programs (build/bin/indexer, ...)
#   make test     deps, normal + ASan/UBSan builds, unit and end-to-end tests
#   make soak     the fault soak alone (PostgreSQL restarts, chatdesk kill -9)
#   make run      deps, build, index corpora/, start searchd, print the URLs
#   make deps     install missing Debian packages (no-op when all are there)
#
# Two variants are built from the same sources: build/ (optimised, the one
# `make run` uses) and build/asan/ (AddressSanitizer + UBSan, used by tests).

CC      ?= cc
CXX     ?= c++
AR      ?= ar
PKGS    := libutf8proc jansson icu-uc icu-i18n opencc libzstd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
CXXFLAGS ?= -O2 -g
CPPFLAGS += -Ishared -Ishared/store -D_POSIX_C_SOURCE=200809L $(PKG_CFLAGS) $(LWS_CFLAGS) $(PQ_CFLAGS)
ALL_CFLAGS   = -std=c11 $(WARN) $(CFLAGS) -MMD -MP
ALL_CXXFLAGS = -std=c++17 $(WARN) $(CXXFLAGS) -MMD -MP
LDLIBS  += $(PKG_LIBS) -lxapian -lstdc++ -lm -lpthread
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# kb_blockmap.c interposes open/close/pread (served from mappings): linked
# into searchd and test_blockmap only, never into libkb.a
BLOCKMAP_SRC := shared/kb_blockmap.c
SHARED_SRC  := $(filter-out $(BLOCKMAP_SRC),$(wildcard shared/*.c)) $(wildcard shared/*.cc)
STORE_SRC   := $(wildcard shared/store/*.c)
INDEXER_SRC := $(wildcard indexer/*.c)
SEARCHD_SRC := $(wildcard searchd/*.c)
DESK_SRC    := $(filter-out chatdesk/main.c,$(wildcard chatdesk/*.c))
DESK_MAIN   := $(wildcard chatdesk/main.c)
PQ_CFLAGS   := -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
STORE_LIBS  := -lpq
DESK_LIBS   := $(STORE_LIBS) -lsodium
# outgoing mail (chatdesk/mail.c): libcurl's SMTP
DESK_LIBS   += $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
EVAL_SRC    := $(wildcard tests/eval/*.c) $(wildcard tests/eval/*.cc)
LWS_CFLAGS  := $(shell pkg-config --cflags libwebsockets 2>/dev/null)
LWS_LIBS    := $(shell pkg-config --libs libwebsockets 2>/dev/null) -lev
UNIT_SRC    := $(wildcard tests/unit/test_*.c)

# $(call objs,VARIANT_DIR,SOURCES)
objs = $(patsubst %,$(1)/obj/%.o,$(2))

B  := build
BA := build/asan

LIBKB   := $(B)/lib/libkb.a
LIBKB_A := $(BA)/lib/libkb.a
# the PostgreSQL store (shared/store/), linked by chatdesk, the indexer and
# the unit tests; it needs libkb and -lpq after it
LIBSTORE   := $(B)/lib/libstore.a
LIBSTORE_A := $(BA)/lib/libstore.a
PROGS   := $(if $(INDEXER_SRC),$(B)/bin/indexer) $(if $(SEARCHD_SRC),$(B)/bin/searchd) \
           $(if $(DESK_MAIN),$(B)/bin/chatdesk)
PROGS_A := $(if $(INDEXER_SRC),$(BA)/bin/indexer) $(if $(SEARCHD_SRC),$(BA)/bin/searchd) \
           $(if $(DESK_MAIN),$(BA)/bin/chatdesk)
LIBDESK   := $(B)/lib/libdesk.a
LIBDESK_A := $(BA)/lib/libdesk.a
EVAL    := $(if $(EVAL_SRC),$(B)/bin/kbeval)
FUZZ    := $(if $(wildcard tests/fuzz/*.c),$(B)/fuzz/fuzz_query)
UNITS   := $(patsubst tests/unit/%.c,$(B)/test/%,$(UNIT_SRC))
UNITS_A := $(patsubst tests/unit/%.c,$(BA)/test/%,$(UNIT_SRC))

.PHONY: all deps test unit e2e run asan eval clean
all: $(PROGS)

asan: $(PROGS_A) $(UNITS_A)

# ---- normal variant -------------------------------------------------------
$(B)/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@
$(B)/obj/%.cc.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(ALL_CXXFLAGS) -c $< -o $@
# kb_pinyin.c embeds its data file (.incbin): rebuild it when the file changes
$(B)/obj/shared/kb_pinyin.c.o $(BA)/obj/shared/kb_pinyin.c.o: shared/kb_pinyin.txt
$(LIBKB): $(call objs,$(B),$(SHARED_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(LIBSTORE): $(call objs,$(B),$(STORE_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
# The indexer's and searchd's malloc is tcmalloc (Debian's
# libtcmalloc-minimal4). Xapian's inverter allocates a map node per term and
# document: a build of the real corpus took 7 % less CPU with it, same index
# (tests/bench/RESULTS.md, "Indexing: the spelling table, and the analysis
# third made cheaper"). A search allocates its query tree, posting lists and
# hits: searchd answered 2-3 % more requests per second over HTTP with it
# (RESULTS.md, "A cache of decoded heads, and tcmalloc in searchd"). The
# sanitizer build keeps ASan's own allocator; chatdesk keeps glibc's (its
# memory per idle connection was measured with it). `make FAST_MALLOC=`
# links glibc's malloc instead.
FAST_MALLOC ?= -Wl,--push-state,--no-as-needed -l:libtcmalloc_minimal.so.4 -Wl,--pop-state
$(B)/bin/indexer: $(call objs,$(B),$(INDEXER_SRC)) $(LIBSTORE) $(LIBKB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(STORE_LIBS) $(LDLIBS) $(FAST_MALLOC)
$(B)/bin/searchd: $(call objs,$(B),$(SEARCHD_SRC) $(BLOCKMAP_SRC)) $(LIBKB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LWS_LIBS) $(LDLIBS) $(FAST_MALLOC)
$(B)/bin/kbeval: $(call objs,$(B),$(EVAL_SRC)) $(LIBKB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -o $@ $^ $(LDLIBS)
$(LIBDESK): $(call objs,$(B),$(DESK_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(B)/bin/chatdesk: $(call objs,$(B),$(DESK_MAIN)) $(LIBDESK) $(LIBSTORE) $(LIBKB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LWS_LIBS) $(DESK_LIBS) $(LDLIBS)
$(B)/test/%: $(B)/obj/tests/unit/%.c.o $(LIBDESK) $(LIBSTORE) $(LIBKB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(DESK_LIBS) $(LDLIBS) -lcmocka
$(B)/test/test_blockmap: $(call objs,$(B),$(BLOCKMAP_SRC))

# ---- sanitizer variant ----------------------------------------------------
$(BA)/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -O1 $(SAN) -c $< -o $@
$(BA)/obj/%.cc.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(ALL_CXXFLAGS) -O1 $(SAN) -c $< -o $@
$(LIBKB_A): $(call objs,$(BA),$(SHARED_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(LIBSTORE_A): $(call objs,$(BA),$(STORE_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(BA)/bin/indexer: $(call objs,$(BA),$(INDEXER_SRC)) $(LIBSTORE_A) $(LIBKB_A)
	@mkdir -p $(dir $@)
	$(CXX) $(SAN) -o $@ $^ $(STORE_LIBS) $(LDLIBS)
$(BA)/bin/searchd: $(call objs,$(BA),$(SEARCHD_SRC) $(BLOCKMAP_SRC)) $(LIBKB_A)
	@mkdir -p $(dir $@)
	$(CXX) $(SAN) -o $@ $^ $(LWS_LIBS) $(LDLIBS)
$(LIBDESK_A): $(call objs,$(BA),$(DESK_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(BA)/bin/chatdesk: $(call objs,$(BA),$(DESK_MAIN)) $(LIBDESK_A) $(LIBSTORE_A) $(LIBKB_A)
	@mkdir -p $(dir $@)
	$(CXX) $(SAN) -o $@ $^ $(LWS_LIBS) $(DESK_LIBS) $(LDLIBS)
$(BA)/test/%: $(BA)/obj/tests/unit/%.c.o $(LIBDESK_A) $(LIBSTORE_A) $(LIBKB_A)
	@mkdir -p $(dir $@)
	$(CXX) $(SAN) -o $@ $^ $(DESK_LIBS) $(LDLIBS) -lcmocka
$(BA)/test/test_blockmap: $(call objs,$(BA),$(BLOCKMAP_SRC))

# ---- fuzzing (clang + libFuzzer), sources built straight from the tree ------
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -Ishared $(PKG_CFLAGS)
$(B)/fuzz/fuzz_query: tests/fuzz/fuzz_query.c $(SHARED_SRC) $(wildcard shared/*.h) \
                      searchd/codec.c searchd/codec_json.c searchd/codec.h indexer/build.c indexer/walk.c indexer/termgen.c \
                      indexer/prep.c indexer/prep.h
	@mkdir -p $(dir $@)/obj
	for f in $(filter-out shared/kb_lws.c,$(filter %.c,$(SHARED_SRC))); do clang -std=c11 -D_POSIX_C_SOURCE=200809L $(FUZZ_FLAGS) -c $$f -o $(dir $@)/obj/$$(basename $$f).o || exit 1; done
	for f in $(filter %.cc,$(SHARED_SRC)); do clang++ -std=c++17 $(FUZZ_FLAGS) -c $$f -o $(dir $@)/obj/$$(basename $$f).o || exit 1; done
	clang -std=c11 -D_POSIX_C_SOURCE=200809L $(FUZZ_FLAGS) -c tests/fuzz/fuzz_query.c -o $(dir $@)/obj/fuzz_query.o
	clang -std=c11 -D_POSIX_C_SOURCE=200809L $(FUZZ_FLAGS) -Iindexer -c indexer/prep.c -o $(dir $@)/obj/prep.o
	clang++ $(FUZZ_FLAGS) -o $@ $(dir $@)/obj/*.o $(LDLIBS)

# ---- tasks -----------------------------------------------------------------
deps:
	@sh scripts/deps.sh

# Unit tests run under the sanitizers; end-to-end tests run the real binaries
# of both variants. scripts/testrun.sh prints the closing "N passed, N failed".
test: deps
	$(MAKE) all asan $(UNITS) $(EVAL) $(FUZZ)
	@sh scripts/testrun.sh

run: deps
	$(MAKE) all
	@sh scripts/run.sh

# the fault soak alone (tests/soak/soak.test.mjs, about a minute; also part
# of `make test`): PostgreSQL restarts and chatdesk kill -9 under traffic,
# then lost and duplicated messages counted. SOAK_SEED=N replays a run's
# pauses and fault order.
.PHONY: soak
soak: deps
	$(MAKE) all
	KB_BIN=$(B)/bin node --test --test-reporter=tap tests/soak/soak.test.mjs

# relevance evaluation against the baselines; rewrites tests/eval/RESULTS.md
eval: all $(EVAL)
	@mkdir -p build/eval
	$(B)/bin/indexer build --quiet --corpus corpora --index build/eval/index
	$(B)/bin/kbeval --corpus corpora --index build/eval/index --work build/eval \
	    --queries tests/eval/queries.tsv --oos tests/eval/out_of_scope.tsv \
	    --dump-hits build/eval/hits.tsv --out tests/eval/RESULTS.md

# benchmarks on real Chinese/English text from Debian packages, against
# Xapian's scriptindex and PostgreSQL full-text search measured in the same
# run (tests/bench/run.sh; installs what it needs; ~30 min on 2 cores);
# rewrites tests/bench/RESULTS.md and tests/bench/plots/. Not part of
# `make test`. `make bench BENCH_QUICK=1`: a quick pass (~12 min) for iteration.
.PHONY: bench
bench: deps
	$(MAKE) all $(EVAL)
	@BENCH_QUICK="$(BENCH_QUICK)" bash tests/bench/run.sh

# the larger points, apart from `make bench` and `make test` (tests/bench/
# big.sh): desk capacity (1,000 agents, 10,000 requesters) and 100,000 idle
# WebSocket connections (about 20 minutes on 2 cores), and 1,000,000
# documents (tests/bench/big1m.sh: an estimated 40 minutes more the first
# time on a quiet machine, for the corpus and the two index builds, kept in
# build/bench-big/1m/ and reused, then about 2); replaces the bench-big
# section of tests/bench/RESULTS.md. BIG_PARTS=desk,idle,idlemany,1m picks
# the parts.
.PHONY: bench-big
bench-big: all
	@bash tests/bench/big.sh && python3 tests/bench/bigreport.py build/bench-big/results tests/bench/RESULTS.md

# searchd replicas (1, 2, 3 processes) and shards (1, 2, 4) at the largest
# scale point, apart from `make bench` and `make test` (tests/bench/
# scale_out.sh --scale; the scale set and its indexes are kept in
# build/bench-scale/ and reused, so only the first run builds them).
# Prints the tables of tests/bench/RESULTS.md section 8 (also in
# build/bench-scale/results/tables.md), which are pasted there by hand.
SCALEOUT_DOCS ?= 200000
SCALEOUT_SECONDS ?= 15
.PHONY: bench-scaleout
bench-scaleout: all
	@sh tests/bench/scale_out.sh --scale $(SCALEOUT_DOCS) $(SCALEOUT_SECONDS)

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
