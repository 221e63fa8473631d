# orderd — build, run, test, bench.
#
#   make            bin/orderd
#   make run        start orderd in the foreground on 127.0.0.1:7070
#   make test       unit + integration tests, plain and under ASan/UBSan; the
#                   order, channel and saga suites also on a throwaway PostgreSQL
#   make pg         a PostgreSQL in ./var/pg to run orderd on (make pg-stop stops it)
#   make crashtest  kill -9 orderd 50 times under load; nothing acknowledged is lost
#   make bench      benchmarks next to Redis (see docs/bench.md)
#   make fuzz       the libFuzzer targets of tests/fuzz, FUZZ_SECONDS (60) each
#                   (see docs/testing.md)
#   make install    the binaries, the systemd unit, an example config, the docs
#                   (PREFIX=/usr/local, DESTDIR; see "Install" below); make uninstall
#   make clean
#
# Two build flavours live side by side: build/release (-O2, what bin/ holds)
# and build/asan (-fsanitize=address,undefined). SAN=1 selects the latter.

CC      ?= cc
# libpq: orderd's PostgreSQL store (--store postgres). openssl (libcrypto):
# password digests (SHA-256) and constant-time compares for AUTH; with
# libevent_openssl, TLS on the protocol and HTTP ports (--tls-port, --http-tls).
# libsystemd: sd_notify for a Type=notify service (server/notify.c). json-c:
# the HTTP API's request bodies (it keeps a number's text, so amounts stay exact).
PKGS    := libevent hiredis libpq libevent_openssl openssl libsystemd json-c
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread $(WARN) -g -MMD -MP $(PKG_CFLAGS) -Iprotocol -Iserver

ifeq ($(SAN),1)
FLAVOUR := asan
OPT     := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
BINDIR  := build/asan/bin
else
FLAVOUR := release
OPT     := -O2
BINDIR  := bin
endif

OUT      := build/$(FLAVOUR)
CFLAGS   ?=
ALL_CFLAGS := $(BASE_CFLAGS) $(OPT) $(CFLAGS)
# -pthread: the journal's background fsync thread (server/store/syncer.c).
LDFLAGS_ALL := $(OPT) -pthread $(LDFLAGS)

PROTO_SRC  := $(wildcard protocol/*.c)
SERVER_SRC := $(filter-out server/main.c,$(wildcard server/*.c server/*/*.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
# What several server unit tests share: a world of real subsystems around
# a store double (tests/unit/support/).
SUPPORT_SRC := $(wildcard tests/unit/support/*.c)

PROTO_OBJ  := $(PROTO_SRC:%.c=$(OUT)/%.o)
# The OpenAPI document, built in as a generated source (below).
OPENAPI_OBJ := $(OUT)/gen/openapi_doc.o
SERVER_OBJ := $(SERVER_SRC:%.c=$(OUT)/%.o) $(OPENAPI_OBJ)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(OUT)/tests/%)
SUPPORT_OBJ := $(SUPPORT_SRC:%.c=$(OUT)/%.o)

# Keep test objects: make would otherwise delete them as intermediates.
.SECONDARY:

.PHONY: all run test unit integration integration-pg test-release test-asan bench crashtest \
        clean deps pg pg-stop install uninstall fuzz fuzz-build
all: $(BINDIR)/orderd $(BINDIR)/orderbench $(BINDIR)/ordertop

# V=1 shows the full compiler lines.
Q := $(if $(V),,@)

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# docs/openapi.json as a C array, for GET /openapi.json (server/net/openapi_doc.h):
# od prints each byte as two hex digits, sed makes them initialisers. The
# source is a build output, regenerated when the document changes.
$(OUT)/gen/openapi_doc.c: docs/openapi.json
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q){ printf '/* Generated from %s by the Makefile: do not edit. */\n' '$<'; \
	  printf '#include "net/openapi_doc.h"\n\nconst unsigned char openapi_doc[] = {\n'; \
	  od -An -v -tx1 $< | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  printf '};\nconst size_t openapi_doc_len = sizeof openapi_doc;\n'; } >$@.tmp
	$(Q)mv $@.tmp $@

$(OPENAPI_OBJ): $(OUT)/gen/openapi_doc.c
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUT)/libproto.a: $(PROTO_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BINDIR)/orderd: $(OUT)/server/main.o $(SERVER_OBJ) $(OUT)/libproto.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -lm

# The load driver: a client, sharing only the histogram with the server.
$(BINDIR)/orderbench: $(OUT)/tests/bench/orderbench.o $(OUT)/server/lib/histogram.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

# The console: its own objects, linked with ncursesw.
CONSOLE_SRC := $(filter-out console/main.c,$(wildcard console/*.c))
CONSOLE_OBJ := $(CONSOLE_SRC:%.c=$(OUT)/%.o)
CURSES_CFLAGS := $(shell pkg-config --cflags ncursesw 2>/dev/null)
CURSES_LIBS   := $(shell pkg-config --libs ncursesw 2>/dev/null)
$(OUT)/console/%.o: ALL_CFLAGS += $(CURSES_CFLAGS) -Iconsole

$(BINDIR)/ordertop: $(OUT)/console/main.o $(CONSOLE_OBJ) $(OUT)/libproto.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) $(CURSES_LIBS)

# Console unit tests (tests/unit/console_*.c) link the console, not the server.
CONSOLE_UNIT_SRC := $(wildcard tests/unit/console_*.c)
CONSOLE_UNIT_BIN := $(CONSOLE_UNIT_SRC:tests/unit/%.c=$(OUT)/tests/%)
$(OUT)/tests/unit/console_%.o: ALL_CFLAGS += $(CURSES_CFLAGS) -Iconsole

$(OUT)/tests/console_%: $(OUT)/tests/unit/console_%.o $(CONSOLE_OBJ) $(OUT)/libproto.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) $(CURSES_LIBS) $(CMOCKA_LIBS)

$(OUT)/tests/unit/%.o: ALL_CFLAGS += -Itests/unit

$(OUT)/tests/%: $(OUT)/tests/unit/%.o $(SUPPORT_OBJ) $(SERVER_OBJ) $(OUT)/libproto.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS) -lm

deps:
	@scripts/deps

run: deps
	@$(MAKE) --no-print-directory all
	./bin/orderd --bind 127.0.0.1 --port 7070 --data ./var

# Unit tests of the current flavour.
unit: $(UNIT_BIN) $(CONSOLE_UNIT_BIN)
	@set -e; for t in $(UNIT_BIN) $(CONSOLE_UNIT_BIN); do echo "== $$t"; $$t; done

# Integration tests against the current flavour's binary.
integration: $(BINDIR)/orderd $(BINDIR)/ordertop
	@ORDERD=$(BINDIR)/orderd ORDERTOP=$(BINDIR)/ordertop tests/integration/run

# The integration tests that declare `# stores: journal postgres`, again
# with orderd on PostgreSQL: one throwaway cluster (--fast) for the run.
integration-pg: $(BINDIR)/orderd $(BINDIR)/ordertop
	@STORE=postgres ORDERD=$(BINDIR)/orderd ORDERTOP=$(BINDIR)/ordertop tests/integration/run

test-release:
	@$(MAKE) --no-print-directory unit integration integration-pg

test-asan:
	@$(MAKE) --no-print-directory SAN=1 unit integration integration-pg

test: deps
	@$(MAKE) --no-print-directory test-release
	@$(MAKE) --no-print-directory test-asan
	@echo "all tests passed (release and asan+ubsan)"

# A PostgreSQL cluster in ./var/pg, durable (not the tests' --fast), for
# trying orderd on it; started unless it is running, again if it was
# stopped. It keeps its data until `rm -rf var/pg`
# (scripts/pg-throwaway destroy var/pg).
PG_DIR := $(CURDIR)/var/pg
pg: deps
	@$(MAKE) --no-print-directory all
	@set -e; st=0; scripts/pg-throwaway status "$(PG_DIR)" || st=$$?; \
	case $$st in \
	  0) ci=$$(scripts/pg-throwaway conninfo "$(PG_DIR)") ;; \
	  3) ci=$$(scripts/pg-throwaway start-again "$(PG_DIR)") ;; \
	  *) ci=$$(scripts/pg-throwaway start "$(PG_DIR)") ;; \
	esac; \
	echo "PostgreSQL is running in var/pg ($$ci); make pg-stop stops it."; \
	echo "Run orderd on it, and look at its tables:"; \
	echo; \
	echo "  ./bin/orderd --store postgres --pg \"$$ci\""; \
	echo "  psql \"$$ci\" -c 'select * from orders'"

pg-stop:
	@scripts/pg-throwaway stop "$(PG_DIR)"

BENCH_TOOLS := build/bench/sink build/bench/consume

build/bench/%: tests/bench/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -o $@ $< $(PKG_CFLAGS) $(PKG_LIBS)

# The crash test with more kills than make test gives it.
crashtest: deps
	@$(MAKE) --no-print-directory all
	ORDERD=bin/orderd CRASH_KILLS=$${CRASH_KILLS:-50} tests/integration/test_crash_kill9.py

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_TOOLS)
	tests/bench/run

# --- Fuzzing ----------------------------------------------------------------
# libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang in build/fuzz:
# every object they link, the parsers' included, is compiled there with the
# same instrumentation (coverage for the fuzzer, ASan and UBSan).
#   make fuzz                          each target for FUZZ_SECONDS (60)
#   make fuzz FUZZ_TARGETS=request FUZZ_SECONDS=600
#   make fuzz FUZZ_RECORD=1            also writes the run's executions per
#                                      second into docs/bench.md
# Runs start from a copy of tests/fuzz/corpus/<target> in build/fuzz/corpus,
# so the committed corpus only grows by hand; docs/testing.md says more.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= request framing journal http acl config commands
FUZZ_RECORD  ?= 0
FUZZ_OUT     := build/fuzz
FUZZ_SAN     := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -pthread $(WARN) -g -O1 -fno-omit-frame-pointer -MMD -MP \
                $(FUZZ_SAN) $(PKG_CFLAGS) -Iprotocol -Iserver -Itests/unit -Itests/fuzz

FUZZ_PROTO  := $(FUZZ_OUT)/libproto.a
FUZZ_SERVER := $(FUZZ_OUT)/libserver.a
FUZZ_WORLD  := $(FUZZ_OUT)/tests/unit/support/world.o
# What each target links beyond its own file: the parsers alone where that
# is all it uses; the server's objects (an archive: only what is used is
# linked) and the unit tests' in-memory world for the rest.
FUZZ_LINK_request  := $(FUZZ_PROTO)
FUZZ_LINK_framing  := $(FUZZ_PROTO)
FUZZ_LINK_acl      := $(FUZZ_OUT)/server/auth/acl.o $(FUZZ_PROTO)
FUZZ_LINK_http     := $(FUZZ_SERVER) $(FUZZ_PROTO)
FUZZ_LINK_config   := $(FUZZ_SERVER) $(FUZZ_PROTO)
FUZZ_LINK_journal  := $(FUZZ_WORLD) $(FUZZ_SERVER) $(FUZZ_PROTO)
FUZZ_LINK_commands := $(FUZZ_WORLD) $(FUZZ_SERVER) $(FUZZ_PROTO)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_OUT)/fuzz_%)

$(FUZZ_OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CLANG   $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_PROTO): $(PROTO_SRC:%.c=$(FUZZ_OUT)/%.o)
	@rm -f $@
	$(Q)ar rcs $@ $^

# The server's objects, and the OpenAPI document it serves (generated).
$(FUZZ_OUT)/gen/openapi_doc.o: $(OUT)/gen/openapi_doc.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CLANG   $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_SERVER): $(SERVER_SRC:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/gen/openapi_doc.o
	@rm -f $@
	$(Q)ar rcs $@ $^

.SECONDEXPANSION:
$(FUZZ_OUT)/fuzz_%: $(FUZZ_OUT)/tests/fuzz/fuzz_%.o $$(FUZZ_LINK_$$*)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -pthread -o $@ $^ $(PKG_LIBS) -lm

fuzz-build: $(FUZZ_BINS)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_OUT=$(FUZZ_OUT) FUZZ_RECORD=$(FUZZ_RECORD) \
	    tests/fuzz/run $(FUZZ_TARGETS)

# --- Install ----------------------------------------------------------------
# Where `make install` puts things (DESTDIR is prepended to each, for
# staging a package):
#   $(PREFIX)/bin                     orderd, ordertop, orderbench
#   $(UNITDIR)/orderd.service         the unit, with these paths in it; systemd
#                                     reads /usr/local/lib/systemd/system and
#                                     /usr/lib/systemd/system both
#   $(SYSCONFDIR)/orderd/orderd.conf  the example config, mode 0600; one that is
#                                     there already is kept
#   $(DOCDIR)                         README.md, docs/*.md and docs/openapi.json
#   $(DATADIR)/grafana                the Grafana dashboards (docs/grafana/*.json)
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DOCDIR     ?= $(PREFIX)/share/doc/orderd
DATADIR    ?= $(PREFIX)/share/orderd
INSTALL    ?= install
INSTALL_BINS := orderd ordertop orderbench

install: all
	@mkdir -p $(OUT)
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    -e 's|@DOCDIR@|$(DOCDIR)|g' systemd/orderd.service.in >$(OUT)/orderd.service
	for b in $(INSTALL_BINS); do \
	    $(INSTALL) -D -m 0755 $(BINDIR)/$$b "$(DESTDIR)$(PREFIX)/bin/$$b" || exit 1; done
	$(INSTALL) -D -m 0644 $(OUT)/orderd.service "$(DESTDIR)$(UNITDIR)/orderd.service"
	@if [ -e "$(DESTDIR)$(SYSCONFDIR)/orderd/orderd.conf" ]; then \
	    echo "keeping $(DESTDIR)$(SYSCONFDIR)/orderd/orderd.conf (the example is systemd/orderd.conf)"; \
	else \
	    echo "$(INSTALL) -D -m 0600 systemd/orderd.conf $(DESTDIR)$(SYSCONFDIR)/orderd/orderd.conf"; \
	    $(INSTALL) -D -m 0600 systemd/orderd.conf "$(DESTDIR)$(SYSCONFDIR)/orderd/orderd.conf"; \
	fi
	$(INSTALL) -D -m 0644 README.md "$(DESTDIR)$(DOCDIR)/README.md"
	for f in $(wildcard docs/*.md) docs/openapi.json; do \
	    $(INSTALL) -D -m 0644 $$f "$(DESTDIR)$(DOCDIR)/$$f" || exit 1; done
	for f in $(wildcard docs/grafana/*.json); do \
	    $(INSTALL) -D -m 0644 $$f "$(DESTDIR)$(DATADIR)/grafana/$$(basename $$f)" || exit 1; done

# The config is left, as it may hold what you set: remove it yourself.
uninstall:
	for b in $(INSTALL_BINS); do rm -f "$(DESTDIR)$(PREFIX)/bin/$$b"; done
	rm -f "$(DESTDIR)$(UNITDIR)/orderd.service"
	rm -rf "$(DESTDIR)$(DOCDIR)" "$(DESTDIR)$(DATADIR)"

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
