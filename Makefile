# b24wa: the commands users run.
CARGO ?= cargo
export DATABASE_TEST_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: run test bench fmt lint check

## Build and start the service on the embedded default (SQLite under ./data, no Redis).
run:
	$(CARGO) run --bin b24wa -- serve

## Every test: unit, parser (fixtures), simulators, and end-to-end over HTTP on SQLite and PostgreSQL.
# cargo-nextest (one process per test, hung tests are killed: .config/nextest.toml) when present.
test:
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --no-fail-fast; \
	else \
	  $(CARGO) test --workspace --lib --bins --tests --no-fail-fast -- --test-threads=4; \
	fi

## The relay benchmark (PostgreSQL and SQLite, against the simulators); prints `bench <name> <value> <unit>` lines.
bench:
	$(CARGO) bench --bench relay

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

check: lint test
