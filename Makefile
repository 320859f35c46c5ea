# vmshift: non-recursive Makefile.
#
#   make                  library (static + shared + pkg-config), vmshift, tools
#   make check            install missing Debian packages, build, run every test
#   make unit | oracle | integration | lint   one layer of tests
#   make fuzz-smoke       build the libFuzzer harnesses with clang, run each briefly
#   make DEBUG=1          -O0 -g3 build in build-debug/
#   make SANITIZE=1       ASan + UBSan build in build-asan/
#   make install PREFIX=/usr/local DESTDIR=
#
# Sources are picked up by wildcard: a new .c file in a module folder is
# part of the library, a new tests/unit/test-*.c is a new test binary.

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man

CC ?= cc
ifeq ($(SANITIZE),1)
  BUILD ?= build-asan
  OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDSAN := -fsanitize=address,undefined
else ifeq ($(DEBUG),1)
  BUILD ?= build-debug
  OPT := -O0 -g3
else
  BUILD ?= build
  OPT := -O2 -g
endif

WARN := -Wall -Wextra -Wshadow -Wvla -Wformat=2 -Wno-format-nonliteral -Werror
CSTD := -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64
PKGS := libcurl libcjson libnfs zlib libcrypto libssl libxml-2.0 sqlite3
# Libraries no test calls directly: their headers, never their link flags.
DL_PKGS := libvirt libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) $(DL_PKGS) 2>/dev/null)
# The library and the command link only the C library (and libm): the
# packages above are opened with dlopen() when a code path needs them
# (engine/base/dl.h).  Their headers are needed to build; their libraries
# are linked only into the tests and the ONTAP simulator, which call them
# directly.
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS ?= $(OPT)
ALL_CFLAGS := $(CSTD) $(WARN) $(CFLAGS) -fPIC -fvisibility=hidden -I. $(PKG_CFLAGS) -DVMSHIFT_VERSION_STRING='"$(VERSION)"'
# libm only where a build calls it (json.c's floor is inlined at -O2, a
# call at -O0): one shared library fewer to load at every start.
LIBS := -Wl,--as-needed -lm -Wl,--no-as-needed
TEST_LIBS := $(PKG_LIBS) -lpthread -lm
LDFLAGS += $(LDSAN)

LIB_SRCS := $(sort $(wildcard engine/*.c engine/base/*.c engine/backend/*.c \
              engine/exec/*.c engine/workflow/*.c formats/*.c ontap/*.c \
              hypervisors/*.c hypervisors/libvirt-conn/*.c \
              hypervisors/vsphere/*.c))
# Scheduled jobs (docs/jobs.md).
LIB_SRCS += $(sort $(wildcard engine/jobs/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
# Guest network scripts (hypervisors/guest/) are compiled in as data.
GUEST_EMBED := hypervisors/guest/embed.sh
GUEST_SCRIPTS := $(filter-out $(GUEST_EMBED),$(sort $(wildcard \
                   hypervisors/guest/*.sh hypervisors/guest/*.ps1)))
LIB_OBJS += $(BUILD)/gen/guest-scripts.o
CLI_SRCS := $(sort $(wildcard tools/vmshift/*.c))
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
SIM_SRCS := $(sort $(wildcard tools/ontap-sim/*.c))
SIM_OBJS := $(SIM_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
UNIT_HELPERS := $(sort $(wildcard tests/unit/helpers/*.c))
UNIT_HELPER_OBJS := $(UNIT_HELPERS:%.c=$(BUILD)/%.o)
# Unit tests may run small servers of their own (the ONTAP client's TLS
# test); the library itself links no server code.
UNIT_LIBS := $(shell pkg-config --libs libmicrohttpd 2>/dev/null)

STATIC_LIB := $(BUILD)/libvmshift.a
SHARED_LIB := $(BUILD)/libvmshift.so.0
VMSHIFT := $(BUILD)/vmshift
ONTAP_SIM := $(BUILD)/ontap-sim
PCFILE := $(BUILD)/vmshift.pc
# VMware's vCenter simulator for the tests, built from Debian's govmomi
# (golang-github-vmware-govmomi-dev) when Go is installed.
GO := $(shell command -v go 2>/dev/null)
VCSIM := $(BUILD)/vcsim
VCSIM_CTL := $(BUILD)/vcsim-ctl
GO_ENV := GOPATH=/usr/share/gocode GO111MODULE=off \
          $(if $(HOME),,GOCACHE=$(CURDIR)/$(BUILD)/go-cache)

all: $(STATIC_LIB) $(SHARED_LIB) $(VMSHIFT) $(PCFILE) $(if $(SIM_SRCS),$(ONTAP_SIM)) \
     $(if $(GO),$(VCSIM) $(VCSIM_CTL))

ifeq ($(V),1)
  Q :=
  say = @true
else
  Q := @
  say = @printf '  %-6s %s\n' $(1) $(2)
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

.PRECIOUS: %/gen/guest-scripts.c
%/gen/guest-scripts.c: $(GUEST_SCRIPTS) $(GUEST_EMBED)
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)
	$(Q)sh $(GUEST_EMBED) $@ $(GUEST_SCRIPTS)

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(STATIC_LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(SHARED_LIB): $(LIB_OBJS) engine/libvmshift.syms
	$(call say,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,libvmshift.so.0 -Wl,--no-undefined \
	  -Wl,--version-script=engine/libvmshift.syms $(LDFLAGS) -o $@ $(LIB_OBJS) $(LIBS)
	$(Q)ln -sf libvmshift.so.0 $(BUILD)/libvmshift.so

$(VMSHIFT): $(CLI_OBJS) $(STATIC_LIB)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(STATIC_LIB) $(LIBS)

$(ONTAP_SIM): $(SIM_OBJS) $(STATIC_LIB)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(SIM_OBJS) $(STATIC_LIB) $(TEST_LIBS) $(shell pkg-config --libs libmicrohttpd)

$(VCSIM): tests/vcsim/main.go
	@mkdir -p $(dir $@)
	$(call say,GO,$@)
	$(Q)cd tests/vcsim && $(GO_ENV) $(GO) build -o $(abspath $@) .

$(VCSIM_CTL): tests/vcsim/ctl/main.go
	@mkdir -p $(dir $@)
	$(call say,GO,$@)
	$(Q)cd tests/vcsim/ctl && $(GO_ENV) $(GO) build -o $(abspath $@) .

$(PCFILE): engine/vmshift.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

.SECONDARY: $(UNIT_HELPER_OBJS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(STATIC_LIB) $(UNIT_HELPER_OBJS)
	@mkdir -p $(dir $@)
	$(call say,TEST,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -MF $@.d -Itests/unit $(LDFLAGS) -o $@ $< $(UNIT_HELPER_OBJS) $(STATIC_LIB) $(TEST_LIBS) $(UNIT_LIBS) -lcriterion

# ---------------------------------------------------------------- tests
TEST_ENV := VMSHIFT_TOP=$(CURDIR) VMSHIFT_BUILD=$(CURDIR)/$(BUILD) \
            VMSHIFT=$(CURDIR)/$(VMSHIFT) ONTAP_SIM=$(CURDIR)/$(ONTAP_SIM)

deps:
	tools/install-deps

check: deps
	$(MAKE) all tests
	$(TEST_ENV) tests/run-tests.sh all
	$(MAKE) fuzz-smoke FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)

CHECK_FUZZ_SECONDS ?= 5

# Store suites that need a server, started by their integration test
# (tests/integration/store-pg.sh): built here, not run by `make unit`.
SERVER_BINS := $(BUILD)/tests/unit/server-store-pg

tests: $(UNIT_BINS) $(SERVER_BINS)

unit: all tests
	$(TEST_ENV) tests/run-tests.sh unit

oracle: all
	$(TEST_ENV) tests/run-tests.sh oracle

integration: all
	$(TEST_ENV) tests/run-tests.sh integration

lint:
	$(TEST_ENV) tests/run-tests.sh lint

check-valgrind: all tests
	$(TEST_ENV) VMSHIFT_VALGRIND=1 tests/run-tests.sh unit

# ----------------------------------------------------------------- fuzz
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_BUILD := build-fuzz
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_CFLAGS := $(CSTD) -Wall -Wextra -Werror -g -O1 -I. $(PKG_CFLAGS) \
               -fsanitize=fuzzer-no-link,address,undefined -DVMSHIFT_VERSION_STRING='"$(VERSION)"'
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o) \
                 $(FUZZ_BUILD)/gen/guest-scripts.o

# -MMD -MP: an object is rebuilt when a header it includes changes (a stale
# object compiled against an older struct layout otherwise links in quietly;
# the Makefile too, so objects built before their .d files existed go)
$(FUZZ_BUILD)/gen/%.o: $(FUZZ_BUILD)/gen/%.c Makefile
	clang $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/libvmshift-fuzz.a: $(FUZZ_LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

# tests/fuzz/*.h: frames shared by several harnesses
$(FUZZ_BUILD)/fuzz-%: tests/fuzz/fuzz-%.c $(wildcard tests/fuzz/*.h) \
                     $(FUZZ_BUILD)/libvmshift-fuzz.a
	clang $(FUZZ_CFLAGS) -MMD -MP -MF $@.d \
	  -fsanitize=fuzzer,address,undefined -o $@ $< \
	  $(FUZZ_BUILD)/libvmshift-fuzz.a $(TEST_LIBS)

fuzz: $(FUZZ_BINS)

FUZZ_SECONDS ?= 10
fuzz-smoke: $(FUZZ_BINS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run-smoke.sh $(FUZZ_BINS)

# -------------------------------------------------------------- install
install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
	  $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libvmshift.so.0 $(DESTDIR)$(LIBDIR)/libvmshift.so
	install -m 644 engine/vmshift.h $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' engine/vmshift.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/vmshift.pc
	chmod 644 $(DESTDIR)$(LIBDIR)/pkgconfig/vmshift.pc
	install -m 755 $(VMSHIFT) $(DESTDIR)$(BINDIR)/
	install -m 644 docs/man/*.1 $(DESTDIR)$(MANDIR)/man1/

demo:
	tools/demo

clean:
	rm -rf build build-debug build-asan build-fuzz

.PHONY: all deps check tests unit oracle integration lint check-valgrind \
        fuzz fuzz-smoke install demo clean

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(SIM_OBJS:.o=.d) \
         $(UNIT_HELPER_OBJS:.o=.d) $(UNIT_BINS:=.d) \
         $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_BINS:=.d)
