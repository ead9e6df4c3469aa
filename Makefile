# The course's two commands: `make lab` (open the course) and `make test` (what CI runs).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAB_ARGS ?=
LABKIT_PROFILE ?= quick
SMOKE_JOBS ?= 2

NBVAL := $(BIN)/pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env \
	--nbval-cell-timeout=600 --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks/

.PHONY: setup lab html notebooks seeds test browser-deps student clean

setup: $(STAMP)

# Reinstalls only when requirements.txt or pyproject.toml change.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name labkit --display-name "Python (labkit)"
	touch $@

lab: setup
	$(BIN)/jupyter lab notebooks/00_start_here.ipynb $(LAB_ARGS)

# Static pages under artifacts/html/: the stored notebooks (executed and cleaned by
# `make notebooks`), or with EXECUTE=1 a fresh run in $(LABKIT_PROFILE). Each retrain panel shows
# as a picture of its controls, runs and curves (no widget state is stored).
EXECUTE ?=
html: setup
	mkdir -p artifacts/html
	LABKIT_PROFILE=$(LABKIT_PROFILE) $(BIN)/jupyter nbconvert --to html \
		$(if $(EXECUTE),--execute --ExecutePreprocessor.timeout=600 \
		--ExecutePreprocessor.store_widget_state=False) \
		--output-dir artifacts/html notebooks/*.ipynb

# Rebuild the lessons: sync notebooks/src/*.py into notebooks/*.ipynb, execute them in place in
# the quick profile, clean them, regenerate README's generated blocks. `make notebooks NB="03 10"`
# rebuilds only those lessons.
NB ?=
notebooks: setup
	$(BIN)/python -m labkit.dev.notebooks $(NB)

# Re-run the lessons for seeds 42, 43, 44 (copies in artifacts/seeds/): docs/seeds.json, README.
seeds: setup
	$(BIN)/python -m labkit.dev.seeds $(NB)

# Debian's chromium for the browser test; installed only when missing and we are root.
# A system package, so `make test` does not depend on it: CI (.ci/run) runs it before make test.
browser-deps:
	@if [ -x /usr/bin/chromium ]; then \
		echo "browser-deps: /usr/bin/chromium present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else \
		echo "browser-deps: no /usr/bin/chromium and not root; browser tests will skip"; \
	fi

# After the unit tests, nbval (quick profile) and the full-profile smoke run (smoke-full below)
# run side by side: nbval leaves a core idle for part of each notebook, and the smoke run's
# kernels are mostly single-threaded tracing. The smoke report (artifacts/smoke.log) is printed
# after nbval's; the target fails if either fails. SMOKE=0 skips the smoke run.
SMOKE ?= 1
test: setup
	$(BIN)/ruff check labkit tests conftest.py notebooks/src
	$(BIN)/python -m labkit.dev.notebooks --check
	$(BIN)/pytest -q tests
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then \
		smoke=""; \
		if [ "$(SMOKE)" = 1 ]; then \
			mkdir -p artifacts; \
			echo "smoke-full: runs beside nbval; its report follows nbval's (artifacts/smoke.log)"; \
			$(BIN)/python -m labkit.dev.smoke --jobs $(SMOKE_JOBS) > artifacts/smoke.log 2>&1 & \
			smoke=$$!; \
		fi; \
		echo "+ LABKIT_PROFILE=quick LABKIT_SEED= $(NBVAL)"; \
		LABKIT_PROFILE=quick LABKIT_SEED= $(NBVAL); nbval_rc=$$?; \
		smoke_rc=0; \
		if [ -n "$$smoke" ]; then wait $$smoke; smoke_rc=$$?; cat artifacts/smoke.log; fi; \
		echo "make test: nbval exit $$nbval_rc, smoke exit $$smoke_rc"; \
		[ $$nbval_rc = 0 ] && [ $$smoke_rc = 0 ]; \
	else \
		echo "nbval: no notebooks/*.ipynb yet, nothing to run"; \
	fi

# Every lesson notebook end to end on the full profile's code path (CIFAR-10 reader, VGG16 and
# ResNet50 loaded from Keras' cache) with offline stand-ins, tiny sizes, 1 epoch, nothing asserted:
# no crash and a RESULT line per lesson (python -m labkit.dev.smoke; a few minutes on CPU).
# `make smoke-full NB="03 10"` runs only those lessons.
.PHONY: smoke-full
smoke-full: setup
	$(BIN)/python -m labkit.dev.smoke --jobs $(SMOKE_JOBS) $(NB)

# Learners' copies: student/NN_name.ipynb without outputs or solution cells (python -m labkit.dev.student).
student: setup
	$(BIN)/python -m labkit.dev.student --out student

# Leaves .venv alone; `rm -rf .venv` to start over.
clean:
	rm -rf artifacts build *.egg-info .pytest_cache .ruff_cache
	find . -path ./.venv -prune -o \( -name __pycache__ -o -name .ipynb_checkpoints \) \
		-type d -print -exec rm -rf {} +
