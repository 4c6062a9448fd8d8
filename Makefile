# micrograd, the literate book. The two commands a newcomer needs:
#   make book   the website (_build/html) and the PDF (_build/latex/micrograd-book.pdf)
#   make test   tangle check, lint (ruff), tool tests, package tests, per-chapter snapshot tests
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# TORCH=0 skips PyTorch (the cross-check tests then skip; CI always installs it).
TORCH  ?= 1
comma  := ,
EXTRAS := book,test$(if $(filter 1,$(TORCH)),$(comma)torch)
JB     := $(VENV)/bin/jupyter-book
JBFLAGS := -n -W --keep-going

.PHONY: check-book help book html pdf test lint tangle check-tangle venv clean system system-test readme-figure

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

venv: $(STAMP) ## create .venv with the pinned dependencies

# pip names the package it could not fetch in its ERROR line; the line after it says why that can happen.
PIP_FAILED = || { echo "make venv: pip could not install a package, named above (offline, and not in pip's cache?)" >&2; exit 1; }

$(STAMP): pyproject.toml requirements/constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing the pinned Python dependencies into $(VENV) (extras: $(EXTRAS)); a few minutes the first time"
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade "pip>=24" $(PIP_FAILED)
	@$(PY) -m pip install -q --disable-pip-version-check -c requirements/constraints.txt -e ".[$(EXTRAS)]" $(PIP_FAILED)
	@touch $@

# The Debian packages (TeX, graphviz, poppler, chromium, npm) for the commands that are missing,
# and only those: see tools/system.py. As root it installs them; otherwise it prints the command.
system: ## install the Debian packages `make book` needs, if any is missing
	@$(PYTHON) tools/system.py book

system-test:
	@$(PYTHON) tools/system.py test

tangle: $(STAMP) ## write micrograd/ from the chapters
	$(PY) tools/tangle.py

# Checked once until a chapter, the package or the tool changes: `make test` and `make book` share it.
TANGLE_CHECKED := _build/.tangle-checked
$(TANGLE_CHECKED): $(STAMP) _toc.yml _config.yml micrograd $(wildcard book/*.md micrograd/*.py tools/tangle.py tools/literate/*.py)
	$(PY) tools/tangle.py --check
	@mkdir -p $(@D) && touch $@

check-tangle: $(TANGLE_CHECKED) ## fail if micrograd/ differs from the chapters

# ruff (settings in pyproject.toml) prints each problem as FILE:LINE:COL; the lines after it say how to fix.
LINTED := tools tests micrograd
LINT_FAILED = || { echo "make lint: ruff found the problems above. \`$(VENV)/bin/ruff check --fix tools tests\` fixes those marked [*]; micrograd/ is generated, so fix it in the chapter: \`$(PY) tools/tangle.py --locate micrograd/FILE:LINE\` names the chunk's line, then \`make tangle\`." >&2; exit 1; }
# actionlint (pinned, from PyPI) checks the GitHub workflow offline; shellcheck and pyflakes, which it
# would look for on PATH, are off, so the result is the same on every machine.
lint: $(STAMP) ## check the style of tools/, tests/ and micrograd/ (ruff), and the GitHub workflow (actionlint)
	@$(VENV)/bin/ruff check --output-format concise $(LINTED) $(LINT_FAILED)
	@$(VENV)/bin/actionlint -oneline -shellcheck= -pyflakes= .github/workflows/*.yml \
	  || { echo "make lint: actionlint found the problems above in the GitHub workflow" >&2; exit 1; }

# One pytest worker per CPU (pytest-xdist); WORKERS=0 runs the tests in this process, one after another.
# The chapters' cells run here, into the cache `make book` reads (tests/chapters/test_cells.py).
WORKERS ?= auto
test: $(STAMP) system-test check-tangle lint ## run every test
	$(PY) -m pytest -n $(WORKERS) --dist worksteal --durations=10

# MathJax is served with the site, so math renders offline too (pinned, checked by hash).
MATHJAX := 3.2.2
VENDOR  := _build/vendor
$(VENDOR)/mathjax/tex-mml-chtml.js: requirements/mathjax.sha256
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/download
	cd $(VENDOR)/download && npm pack --silent mathjax@$(MATHJAX) >/dev/null && sha256sum -c ../../../requirements/mathjax.sha256
	cd $(VENDOR)/download && tar xzf mathjax-$(MATHJAX).tgz
	mkdir -p $(VENDOR)/mathjax && cd $(VENDOR)/download/package/es5 && \
	  cp -r tex-mml-chtml.js a11y adaptors input output sre ui ../../../mathjax/
	rm -rf $(VENDOR)/download

# Pyodide (CPython in WebAssembly) is served with the site, so a reader can run a chapter's
# cells in the page, offline (tools/live.py). Pinned, checked by hash; only the files it needs.
PYODIDE := 314.0.7
$(VENDOR)/pyodide/pyodide.mjs: requirements/pyodide.sha256 | $(VENDOR)/mathjax/tex-mml-chtml.js
	rm -rf $(VENDOR)/pyodide $(VENDOR)/pyodide-download && mkdir -p $(VENDOR)/pyodide-download
	cd $(VENDOR)/pyodide-download && npm pack --silent pyodide@$(PYODIDE) >/dev/null && sha256sum -c ../../../requirements/pyodide.sha256
	cd $(VENDOR)/pyodide-download && tar xzf pyodide-$(PYODIDE).tgz
	mkdir -p $(VENDOR)/pyodide && cd $(VENDOR)/pyodide-download/package && \
	  cp pyodide.mjs pyodide.asm.mjs pyodide.asm.wasm python_stdlib.zip pyodide-lock.json ../../pyodide/
	rm -rf $(VENDOR)/pyodide-download

# The editor (CodeMirror 6) and the Graphviz drawing (@viz-js/viz), from npm: package-lock.json pins every
# package with its integrity hash and `npm ci` checks them; esbuild (pinned the same way) bundles them.
NPM := _build/npm
$(VENDOR)/live/editor.mjs: package.json package-lock.json tools/static/live_editor.mjs tools/static/live_viz.mjs \
  | $(VENDOR)/mathjax/tex-mml-chtml.js
	rm -rf $(NPM) $(VENDOR)/live && mkdir -p $(NPM) $(VENDOR)/live && cp package.json package-lock.json $(NPM)/
	cd $(NPM) && npm ci --ignore-scripts --no-audit --no-fund --silent
	cd $(NPM) && node -e "require('esbuild').buildSync({entryPoints: {editor: '../../tools/static/live_editor.mjs', \
	  viz: '../../tools/static/live_viz.mjs'}, bundle: true, format: 'esm', minify: true, nodePaths: ['node_modules'], \
	  outdir: '../vendor/live', outExtension: {'.js': '.mjs'}, logLevel: 'warning'})"

# graphviz, pytest and hypothesis for the page (tools/live.py): pure-Python wheels, pinned with their hashes.
$(VENDOR)/live/wheels/.done: requirements/live-wheels.txt | $(STAMP) $(VENDOR)/live/editor.mjs
	rm -rf $(VENDOR)/live/wheels && mkdir -p $(VENDOR)/live/wheels
	$(PY) -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: --require-hashes \
	  --platform any --implementation py --python-version 3.14 \
	  -r requirements/live-wheels.txt -d $(VENDOR)/live/wheels \
	  || { echo "make html: pip could not fetch the page's wheel named above (offline, and not in pip's cache?)" >&2; exit 1; }
	touch $@

LIVE_VENDOR := $(VENDOR)/mathjax/tex-mml-chtml.js $(VENDOR)/pyodide/pyodide.mjs $(VENDOR)/live/editor.mjs \
  $(VENDOR)/live/wheels/.done
html: $(STAMP) system check-tangle $(LIVE_VENDOR) ## build the website
	$(JB) build . $(JBFLAGS)
	@echo "site: _build/html/index.html"

pdf: $(STAMP) system check-tangle ## build the PDF
	$(JB) build . --builder pdflatex $(JBFLAGS)
	@echo "pdf: _build/latex/micrograd-book.pdf"

# axe-core checks each page's accessibility in the reader-level checks; it is not part of the site.
AXE := 4.14.1
_build/axe-core/axe.min.js: requirements/axe-core.sha256
	rm -rf _build/axe-core && mkdir -p _build/axe-core/download
	cd _build/axe-core/download && npm pack --silent axe-core@$(AXE) >/dev/null && sha256sum -c ../../../requirements/axe-core.sha256
	cd _build/axe-core/download && tar xzf axe-core-$(AXE).tgz && mv package/axe.min.js .. && touch ../axe.min.js
	rm -rf _build/axe-core/download

# The reader-level checks (tests/reader, pytest): the built site and the live book in headless Chromium, the
# chapters' zips, and the PDF. Two workers, each with its browser; every test of one page runs in one worker.
READER_CHECKS = $(PY) -m pytest tests/reader -p no:cacheprovider -q -n 2 --dist loadgroup
check-book: _build/axe-core/axe.min.js ## reader-level checks of the built site (headless Chromium) and PDF
	$(READER_CHECKS)

book: html pdf _build/axe-core/axe.min.js ## build the website and the PDF, then check both as a reader would
	$(READER_CHECKS)
	@echo "site: _build/html/index.html   pdf: _build/latex/micrograd-book.pdf"

readme-figure: $(STAMP) ## redraw docs/graph.svg, the README's picture
	$(PY) tools/readme_figure.py

clean: ## remove the build output (keeps .venv)
	rm -rf _build .pytest_cache .hypothesis .ruff_cache
