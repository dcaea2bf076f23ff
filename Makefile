# selfheal — build, test, run, demo, bench, install deps.
#
#   make            build bin/selfheal (installs missing -dev packages first)
#   make run        the embedded default: the demo pipelines in manifests/local
#   make test       unit suites, the same under ASan/UBSan, integration tests
#   make valgrind   unit suites under valgrind (leak check)
#   make bench      benchmarks (docs/performance.md)
#   make install  bin/selfheal and the kubectl plugin link kubectl-selfheal under PREFIX (/usr/local)
#
# Sources are discovered: every controller/**.c and reconcilers/**.c except
# controller/cli/main.c is part of the library the binary and the tests link;
# every tests/unit/check_<name>.c exports <name>_suite() and is registered in
# the runner automatically.

PKGS      := yaml-0.1 libcurl libcjson libwebsockets check
CC        ?= cc
# snprintf into bounded buffers truncates by design (paths, messages); GCC's
# format-truncation guesses at -O2 are noise, every other warning is an error.
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wno-format-truncation
PKG_CFLAGS = $(patsubst -I%,-isystem %,$(shell pkg-config --cflags $(PKGS) 2>/dev/null))
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -pthread -I. -Icontroller -Ireconcilers $(PKG_CFLAGS) -MMD -MP
LIBS       = $(shell pkg-config --libs yaml-0.1 libcurl libcjson libwebsockets 2>/dev/null) -pthread -lm
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)
SAN       := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
TSAN      := -fsanitize=thread -fno-omit-frame-pointer

LIB_SRC   := $(filter-out controller/cli/main.c,$(sort $(wildcard controller/*/*.c controller/*/*/*.c reconcilers/*/*.c)))
UNIT_SRC  := $(sort $(wildcard tests/unit/check_*.c))
UNIT_HELP := $(filter-out $(UNIT_SRC),$(sort $(wildcard tests/unit/*.c)))
SUITES    := $(patsubst tests/unit/check_%.c,%,$(UNIT_SRC))
EX_SRC    := $(sort $(wildcard examples/*/*.c tests/fixtures/*/*.c))

OBJ       := $(LIB_SRC:%.c=build/obj/%.o)
SAN_OBJ   := $(LIB_SRC:%.c=build/san/%.o)
TSAN_OBJ  := $(LIB_SRC:%.c=build/tsan/%.o)
UNIT_OBJ  := $(UNIT_SRC:%.c=build/obj/%.o) $(UNIT_HELP:%.c=build/obj/%.o)
UNIT_SOBJ := $(UNIT_SRC:%.c=build/san/%.o) $(UNIT_HELP:%.c=build/san/%.o)
UNIT_TOBJ := $(UNIT_SRC:%.c=build/tsan/%.o) $(UNIT_HELP:%.c=build/tsan/%.o)

.PHONY: install all deps test-deps test unit unit-san unit-tsan integration valgrind run demo bench clean clean-demo lint chart-crds chart-monitoring chart-readme install-manifests fuzz fuzz-ci
all: deps bin/selfheal examples

deps:
	@tests/deps.sh build

test-deps: deps
	@tests/deps.sh test

bin/selfheal: build/obj/controller/cli/main.o $(OBJ)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
build/obj/controller/base/version.o build/san/controller/base/version.o build/tsan/controller/base/version.o: CFLAGS += -DSELFHEAL_COMMIT='"$(GIT_COMMIT)"'

build/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/san/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC san  $<"
	@$(CC) $(ALL_CFLAGS) $(SAN) -c -o $@ $<

build/tsan/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC tsan $<"
	@$(CC) $(ALL_CFLAGS) $(TSAN) -c -o $@ $<

# The runner's list of suites is generated from the file names.
build/gen/suites.h: $(UNIT_SRC) Makefile
	@mkdir -p $(@D)
	@{ printf "#define SUITE_LIST"; for s in $(SUITES); do printf " X(%s)" $$s; done; echo; } > $@.tmp && mv $@.tmp $@

build/obj/tests/unit/runner.o build/san/tests/unit/runner.o build/tsan/tests/unit/runner.o: build/gen/suites.h

build/check_runner: $(UNIT_OBJ) $(OBJ)
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS) $(CHECK_LIBS)

build/check_runner_san: $(UNIT_SOBJ) $(SAN_OBJ)
	@echo "  LD san  $@"
	@$(CC) $(ALL_CFLAGS) $(SAN) -o $@ $^ $(LIBS) $(CHECK_LIBS)

# The binary under ASan/UBSan, for the integration tests that hunt for memory
# errors in a whole controller (test_shutdown).
build/selfheal_san: build/san/controller/cli/main.o $(SAN_OBJ)
	@echo "  LD san  $@"
	@$(CC) $(ALL_CFLAGS) $(SAN) -o $@ $^ $(LIBS)

build/check_runner_tsan: $(UNIT_TOBJ) $(TSAN_OBJ)
	@echo "  LD tsan $@"
	@$(CC) $(ALL_CFLAGS) $(TSAN) -o $@ $^ $(LIBS) $(CHECK_LIBS)

# Example and fixture programs: examples/<dir>/<prog>.c -> bin/<prog>
EX_BIN := $(addprefix bin/,$(notdir $(EX_SRC:.c=)))
examples: $(EX_BIN)
define EX_RULE
bin/$(notdir $(1:.c=)): build/obj/$(1:.c=.o) $(OBJ)
	@mkdir -p bin
	@echo "  LD      $$@"
	@$$(CC) $$(ALL_CFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach s,$(EX_SRC),$(eval $(call EX_RULE,$(s))))

unit: deps build/check_runner
	build/check_runner $(SUITE)

unit-san: deps build/check_runner_san
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 build/check_runner_san $(SUITE)

# ThreadSanitizer: a data race in product code fails the run (tests/tsan.supp
# names what is not ours: library internals).
unit-tsan: deps build/check_runner_tsan
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$(CURDIR)/tests/tsan.supp" build/check_runner_tsan $(SUITE)

valgrind: deps build/check_runner
	CK_FORK=no valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=3 build/check_runner $(SUITE)

integration: all
	tests/integration/run.sh

test: test-deps
	@$(MAKE) --no-print-directory all build/check_runner build/check_runner_san build/check_runner_tsan build/selfheal_san
	@$(MAKE) --no-print-directory lint
	@echo "== unit suites"
	@$(MAKE) --no-print-directory unit
	@echo "== unit suites under AddressSanitizer + UndefinedBehaviorSanitizer"
	@$(MAKE) --no-print-directory unit-san
	@echo "== unit suites under valgrind (leak check)"
	@$(MAKE) --no-print-directory valgrind
	@echo "== unit suites under ThreadSanitizer"
	@$(MAKE) --no-print-directory unit-tsan
	@echo "== integration tests"
	@$(MAKE) --no-print-directory integration

run: all
	examples/run-demo.sh

demo: all
	tests/integration/demo.sh

bench: all
	bench/run.sh

lint:
	@! grep -nE '\b(strcpy|sprintf|strtok|atoi|system|popen|wordexp)[[:space:]]*\(' $(LIB_SRC) controller/cli/main.c $(EX_SRC) \
	    $(wildcard tests/*/*.c fuzz/*.c bench/*/*.c) \
	    || { echo "banned function used"; exit 1; }
	@tests/lint/layers.sh

# A runner with one suite and only the sources it names, for working on a module
# while other files of the tree are mid-edit:
#   make part SUITE=spec PART="controller/runtime/spec.c controller/base/yamljson.c" [PART_SAN=1]
PART_FLAGS = $(if $(PART_SAN),$(SAN),)
part:
	@mkdir -p build/part
	$(CC) $(ALL_CFLAGS) $(PART_FLAGS) -DSINGLE_SUITE=$(SUITE) -o build/part/$(SUITE)$(if $(PART_SAN),_san,) \
	    tests/unit/runner.c tests/unit/check_$(SUITE).c $(UNIT_HELP:tests/unit/runner.c=) $(PART) \
	    controller/base/errors.c controller/base/clock.c controller/base/log.c $(LIBS) $(CHECK_LIBS)
	ASAN_OPTIONS=detect_leaks=1 build/part/$(SUITE)$(if $(PART_SAN),_san,)

# libFuzzer harnesses (fuzz/): FUZZ_SECONDS per harness (default 60); fuzz-ci
# runs them all in about a minute (make test runs it as test_fuzz_short).
fuzz: deps
	fuzz/run.sh

fuzz-ci: deps
	fuzz/run.sh --ci

# The controller's container image (Dockerfile) with podman or docker, whichever
# runs here; base images made locally when no registry is reachable
# (tests/image-tool.sh; docs/kubernetes.md "The image").
.PHONY: image
image:
	tests/image-tool.sh build

# The chart carries a copy of the CRD (helm installs crds/ first); the plain
# manifests are rendered from the chart. Tests check both are up to date.
chart-crds:
	@mkdir -p helm/selfheal/crds
	cp crd/*.yaml helm/selfheal/crds/

# The chart's copies of deploy/monitoring/ (alerts, dashboard) and its README (a table
# of every value, from values.yaml's `# --` comments); tests check both.
chart-monitoring:
	@mkdir -p helm/selfheal/files
	cp deploy/monitoring/selfheal-alerts.yaml deploy/monitoring/selfheal-dashboard.json helm/selfheal/files/

chart-readme:
	/usr/bin/python3 tests/render-chart-readme.py > helm/selfheal/README.md.tmp && mv helm/selfheal/README.md.tmp helm/selfheal/README.md

install-manifests: chart-crds
	tests/render-install.sh > manifests/install.yaml.tmp && mv manifests/install.yaml.tmp manifests/install.yaml

# bin/selfheal and the kubectl plugin (kubectl-selfheal, a symlink) under PREFIX.
PREFIX ?= /usr/local
install: bin/selfheal
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 bin/selfheal $(DESTDIR)$(PREFIX)/bin/selfheal
	ln -sf selfheal $(DESTDIR)$(PREFIX)/bin/kubectl-selfheal

clean:
	rm -rf build bin

# What `make run` creates in the checkout (docs/operations.md, "Cleaning up"):
# the demo workload (demo/), the state folder of manifests/local, and the
# brief's audit files the local controller writes in the working folder.
clean-demo:
	rm -rf demo manifests/local/.selfheal monitoring/recovery_log.json .github/triggers/retraining_log.json
	-rmdir monitoring .github/triggers .github 2>/dev/null || true

-include $(shell find build -name '*.d' 2>/dev/null)
