# RepostWatch developer tasks. `make` alone lists them; docs/development.md explains them.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed
PIP_TOOLS_VERSION := 7.6.2
# Extra pip-compile arguments for `make lock`, e.g. LOCK_ARGS='--upgrade-package scrapy'.
LOCK_ARGS ?=
# Extra pytest arguments for `make test`, e.g. PYTEST_ARGS='-k rotated -x'.
PYTEST_ARGS ?=
# pytest-xdist processes for `make test`. Most of the slow tests wait on crawls that keep a
# download delay, so four processes on two cores halve the suite's time; 0 runs in one process.
TEST_WORKERS ?= 4

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
APT_GET := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get

# Shell snippet: make sure $(PYTHON) exists and can create venvs (Debian ships venv/ensurepip
# in a separate package), installing it with apt-get when it cannot.
define ensure_python
if ! $(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1; then \
	echo "==> $(PYTHON) cannot create virtual environments; installing python3.11-venv with apt-get"; \
	$(APT_GET) update -q; \
	$(APT_GET) install -y -q --no-install-recommends python3.11 python3.11-venv \
		|| $(APT_GET) install -y -q --no-install-recommends python3 python3-venv; \
fi; \
$(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1 || { \
	echo "error: $(PYTHON) still cannot create a venv; install Python 3.11 with its venv module" \
		"or run make with PYTHON=/path/to/python3.11" >&2; exit 1; }
endef

.PHONY: help install lock services demo test lint format clean distclean

help: ## List the targets
	@echo "RepostWatch make targets:"
	@grep -E '^[a-z][a-z0-9-]*:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "} {printf "  %-13s %s\n", $$1, $$2}'
	@echo "Variables: PYTEST_ARGS, TEST_WORKERS (test), LOCK_ARGS (lock), PYTHON (install, lock; default python3.11)"

install: $(STAMP) ## Create .venv and install requirements.lock + the project (only when they change)

$(STAMP): requirements.lock pyproject.toml
	@$(ensure_python)
	@if ! $(VENV)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then \
		echo "==> creating $(VENV) with $(PYTHON)"; \
		rm -rf $(VENV); \
		$(PYTHON) -m venv $(VENV); \
	fi
	@echo "==> installing locked dependencies from requirements.lock into $(VENV)"
	$(VENV)/bin/pip install --disable-pip-version-check -r requirements.lock
	@echo "==> installing repostwatch itself (editable, no dependencies)"
	$(VENV)/bin/pip install --disable-pip-version-check --no-deps -e .
	@touch $@
	@echo "==> $(VENV) is up to date"

lock: ## Regenerate requirements.lock from pyproject.toml (runtime + dev), pip-tools in a temp venv
	@$(ensure_python)
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	echo "==> installing pip-tools $(PIP_TOOLS_VERSION) into a throwaway venv"; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/pip" install --quiet --disable-pip-version-check pip-tools==$(PIP_TOOLS_VERSION); \
	if [ -f requirements.lock ]; then cp requirements.lock "$$tmp/lock.txt"; fi; \
	echo "==> resolving pyproject.toml [dev] into requirements.lock (kept pins stay unless LOCK_ARGS upgrades them)"; \
	CUSTOM_COMPILE_COMMAND='make lock' "$$tmp/venv/bin/pip-compile" --quiet --extra dev --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links --no-emit-trusted-host $(LOCK_ARGS) \
		--output-file "$$tmp/lock.txt" pyproject.toml; \
	if grep -nE '^(-|repostwatch\b)|^[^#]*(file:|://| @ )' "$$tmp/lock.txt"; then \
		echo "error: the lock above has an index, path, URL or the project itself in it" >&2; exit 1; \
	fi; \
	{ \
		echo "# The single lock of everything RepostWatch installs: runtime dependencies + the dev extra."; \
		echo "# Generated from pyproject.toml by pip-tools; do not edit by hand."; \
		echo "# Regenerate: make lock   (upgrade one package: make lock LOCK_ARGS='--upgrade-package NAME')"; \
		echo "# Install:    make install"; \
		cat "$$tmp/lock.txt"; \
	} > requirements.lock
	@echo "==> wrote requirements.lock ($$(grep -cE '^[A-Za-z0-9]' requirements.lock) pins)"

services: ## Install/start PostgreSQL and Redis; install Chromium, nginx, ffmpeg, a CJK font (scripts/services.sh)
	@echo "==> making PostgreSQL, Redis, Chromium, nginx and ffmpeg available on 127.0.0.1"
	bash scripts/services.sh

demo: install ## Serve the demo site, crawl it and print the flags (its own SQLite in var/demo/, made afresh)
	@echo "==> running the demo"
	$(VENV)/bin/repostwatch demo

test: install services lint ## Lint, then run the tests against real PostgreSQL and Redis
	@echo "==> running the tests"
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: install ## ruff check, ruff format --check, import-linter contracts
	@status=0; \
	echo "==> ruff check"; $(VENV)/bin/ruff check . || status=1; \
	echo "==> ruff format --check"; $(VENV)/bin/ruff format --check . || status=1; \
	echo "==> lint-imports (contracts in pyproject.toml)"; $(VENV)/bin/lint-imports || status=1; \
	if [ "$$status" -ne 0 ]; then echo "error: lint failed; 'make format' fixes most ruff findings" >&2; fi; \
	exit $$status

format: install ## Format with ruff and apply ruff's safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

.PHONY: bench
bench: install ## Print the benchmark tables (docs/benchmarks.md); writes docs/benchmarks-robustness.png
	@echo "==> robustness: edited copies of real photos and videos (fetches opencv-doc into var/bench once)"
	$(VENV)/bin/python -m benchmarks.robustness
	@echo "==> hashing speed"
	$(VENV)/bin/python -m benchmarks.hashing
	@echo "==> reference index at 1M and 10M PDQ hashes"
	$(VENV)/bin/python -m benchmarks.index
	@echo "==> video: recall per edit and delivery form, false matches, bytes fetched, frame index (opencv-doc clips into var/bench once; needs nginx and ffmpeg: make services)"
	$(VENV)/bin/python -m benchmarks.video
	@echo "==> distributed crawls: Redis memory per million URLs; one worker against two (needs Redis)"
	$(VENV)/bin/python -m benchmarks.redis_memory
	$(VENV)/bin/python -m benchmarks.distributed

.PHONY: reliability
reliability: install services ## Kill -9, outages and hostile-input figures (docs/reliability.md; ~40 min)
	@echo "==> reliability: kill -9 x 20 (alone, distributed), PostgreSQL/Redis/scrapyd down, hostile corpus"
	$(VENV)/bin/python -m benchmarks.reliability

.PHONY: scrapyd
scrapyd: install ## Run scrapyd for production use in the foreground (scripts/scrapyd.sh; state in ~/.local/state/repostwatch/scrapyd)
	@echo "==> starting scrapyd (README: Operations)"
	bash scripts/scrapyd.sh

.PHONY: screenshots
screenshots: install ## Screenshots of the review web app into docs/screenshots/ (demo data, Chromium)
	@echo "==> review app screenshots from a temporary demo database (scripts/screenshots.py)"
	$(VENV)/bin/python scripts/screenshots.py --out docs/screenshots

# The web app's translations (crawler/review/translations, docs/development.md: Translations).
I18N_DIR := crawler/review/translations
PYBABEL = $(VENV)/bin/pybabel
.PHONY: i18n i18n-extract i18n-update i18n-compile
i18n: i18n-extract i18n-update i18n-compile ## Extract the web app's strings, update the ko/en catalogs, compile them (after make install)

i18n-extract: ## Extract the web app's strings into crawler/review/translations/messages.pot (babel.cfg; the CLI's help texts through crawler.cli.helptext)
	PYTHONPATH=$(CURDIR) $(PYBABEL) extract -F babel.cfg -k _l -k N_ --add-location=file --sort-output --no-wrap \
		--project RepostWatch --copyright-holder RepostWatch -o $(I18N_DIR)/messages.pot .

i18n-update: ## Merge messages.pot into each language's messages.po (new strings come in empty)
	$(PYBABEL) update -i $(I18N_DIR)/messages.pot -d $(I18N_DIR) --no-wrap --ignore-obsolete --no-fuzzy-matching

i18n-compile: ## Compile each messages.po into the messages.mo the app reads (committed)
	$(PYBABEL) compile -d $(I18N_DIR) --statistics

# clean never touches var/: it holds the default database, the spill file of matches that still
# wait for the database, and the demo's workspace (which `repostwatch demo` remakes itself).
clean: ## Remove caches and build output (never data: var/ is kept; keeps .venv)
	rm -rf .pytest_cache .ruff_cache .import_linter_cache build dist
	find . -path ./$(VENV) -prune -o -path ./var -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)
