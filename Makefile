# make serve: install what is missing, build the page's assets and the local hub, serve on :8000.
# make test:  the same set-up plus Chromium, then every test (CPython and browser).
PYTHON ?= python3
PORT ?= 8000
STAMPS := .cache/stamps

.PHONY: setup serve test test-unit test-browser bench vendor hub chromium qemu espeak clean

setup: $(STAMPS)/pip node_modules/.package-lock.json vendor hub

$(STAMPS)/pip: requirements-dev.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@mkdir -p $(STAMPS) && touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts

vendor: $(STAMPS)/pip node_modules/.package-lock.json
	$(PYTHON) -m tools.vendor

hub: $(STAMPS)/pip
	$(PYTHON) -m tools.build_hub

chromium:
	@command -v /usr/bin/chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# qemu-user emulates an AVX2-only CPU, so quantized kernels are checked for both CPU kinds on either one.
qemu:
	@command -v qemu-x86_64 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user; }

# espeak-ng synthesizes the speech the speech-recognition tests transcribe (tests/audio_clips.py).
espeak:
	@command -v espeak-ng >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng; }

serve: setup
	$(PYTHON) -m tools.serve --port $(PORT)

test: setup chromium qemu espeak
	$(PYTHON) -m pytest -q

test-unit: setup qemu espeak
	$(PYTHON) -m pytest -q tests/unit

test-browser: setup chromium espeak
	$(PYTHON) -m pytest -q tests/browser

bench: setup chromium qemu espeak
	$(PYTHON) -m bench.feature_extraction
	$(PYTHON) -m bench.text_tasks
	$(PYTHON) -m bench.generation
	$(PYTHON) -m bench.generation --smollm2
	$(PYTHON) -m bench.wllama_agreement
	$(PYTHON) -m bench.speech_recognition
	$(PYTHON) -m bench.tokenizers
	$(PYTHON) -m bench.conversion
	$(PYTHON) -m bench.quantization
	$(PYTHON) -m bench.main_thread
	$(PYTHON) -m bench.startup
	$(PYTHON) -m bench.storage
	$(PYTHON) -m bench.opfs_writes
	$(PYTHON) -m bench.large_model

clean:
	rm -rf web/vendor hub .cache node_modules
