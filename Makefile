# microvm — build, run, test.
#
#   make            build microvm and guest.bin
#   make run        ... and run guest.bin under microvm
#   make test       lint, then every unit and integration test
#   make test-native  the tests on a real kvm_amd, nested in QEMU's emulation
#   make lint       rustfmt check and clippy -D warnings, host and guest
#   make bench      microvm bench, then the criterion benchmarks
#   make fuzz       the cargo-fuzz targets, FUZZ_SECONDS (default 60) each

GUEST_TARGET := x86_64-unknown-none
GUEST_OUT    := target/guest/$(GUEST_TARGET)/release
MICROVM      := target/release/microvm
CARGO        ?= cargo

.PHONY: all setup build run test lint fmt clean bench

all: build

# Everything the build needs that a fresh machine may lack.
setup:
	@rustup target list --installed | grep -qx '$(GUEST_TARGET)' || rustup target add $(GUEST_TARGET)
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@missing=""; \
	command -v objcopy >/dev/null || missing="$$missing binutils"; \
	command -v gcc >/dev/null || missing="$$missing gcc libc6-dev"; \
	command -v musl-gcc >/dev/null || missing="$$missing musl-tools"; \
	command -v strace >/dev/null || missing="$$missing strace"; \
	command -v gdb >/dev/null || missing="$$missing gdb"; \
	[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || missing="$$missing libc6-dev"; \
	if [ -n "$$missing" ]; then apt-get update -q && apt-get install -y -q $$missing; fi

build: setup
	$(CARGO) build --release
	cp $(GUEST_OUT)/demo.bin guest.bin

guest.bin: build

run: build
	$(MICROVM) run guest.bin

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) fmt --manifest-path guest/Cargo.toml --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	cd guest && $(CARGO) clippy --release --target-dir ../target/guest -- -D warnings

fmt:
	$(CARGO) fmt --all
	$(CARGO) fmt --manifest-path guest/Cargo.toml --all

test: lint
	$(CARGO) test --workspace

# The tests again, inside QEMU's software emulation of an AMD machine whose
# /dev/kvm is kvm_amd: the SYSCALL-into-LSTAR path (scripts/test-native).
.PHONY: test-native
test-native: setup
	CARGO=$(CARGO) scripts/test-native

# Coverage-guided fuzzing of every parser of guest input (fuzz/; needs a
# nightly toolchain and cargo-fuzz, installed here when missing; make test
# does not need them). Fails on any crash, leak or timeout (scripts/fuzz).
FUZZ_SECONDS ?= 60
.PHONY: fuzz fuzz-setup
fuzz-setup: setup
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@rustup +nightly target list --installed | grep -qx '$(GUEST_TARGET)' || rustup +nightly target add $(GUEST_TARGET)
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked

fuzz: fuzz-setup
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz

# The benchmark table (BENCHMARKS.md), then the criterion benches with
# their HTML report in target/criterion/report/index.html.
bench: build
	$(MICROVM) bench
	$(CARGO) bench

clean:
	$(CARGO) clean
	rm -f guest.bin
