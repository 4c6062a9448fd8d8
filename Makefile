# micrograd, the literate book. The two commands a newcomer needs:
#   make book   the website (_build/html) and the PDF (_build/latex/micrograd-book.pdf)
#   make test   tangle check, tool tests, package tests, per-chapter snapshot tests
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

# Debian packages: TeX for the PDF (see README: why not texlive-fonts-extra),
# graphviz for the graph drawings, poppler and chromium for the reader-level checks.
TEST_APT := graphviz chromium
BOOK_APT := texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended texlive-xetex \
            latexmk fonts-freefont-otf graphviz poppler-utils chromium npm
TEST_CMDS := dot chromium
BOOK_CMDS := xelatex latexmk dot pdftotext pdfinfo chromium npm

.PHONY: check-book help book html pdf test tangle check-tangle venv clean system-test system-book readme-figure

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

venv: $(STAMP) ## create .venv with the pinned dependencies

$(STAMP): pyproject.toml requirements/constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade "pip>=24"
	$(PY) -m pip install -q --disable-pip-version-check -c requirements/constraints.txt -e ".[$(EXTRAS)]"
	@touch $@

# Installs missing Debian packages when run as root; otherwise says what to run.
define need_system
	@missing=""; for c in $(2); do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages for:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(1) >/dev/null; \
	  else \
	    echo "missing:$$missing. Run: sudo apt-get install $(1)"; exit 1; \
	  fi; \
	fi
endef

system-test:
	$(call need_system,$(TEST_APT),$(TEST_CMDS))

system-book:
	$(call need_system,$(BOOK_APT),$(BOOK_CMDS))

tangle: $(STAMP) ## write micrograd/ from the chapters
	$(PY) tools/tangle.py

check-tangle: $(STAMP) ## fail if micrograd/ differs from the chapters
	$(PY) tools/tangle.py --check

test: $(STAMP) system-test check-tangle ## run every test
	$(PY) -m pytest

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

html: $(STAMP) system-book check-tangle $(VENDOR)/mathjax/tex-mml-chtml.js $(VENDOR)/pyodide/pyodide.mjs ## build the website
	$(JB) build . $(JBFLAGS)
	@echo "site: _build/html/index.html"

pdf: $(STAMP) system-book check-tangle ## build the PDF
	$(JB) build . --builder pdflatex $(JBFLAGS)
	@echo "pdf: _build/latex/micrograd-book.pdf"

check-book: ## reader-level checks of the built site (headless Chromium) and PDF
	$(PY) tools/check_book.py
	$(PY) tools/check_live.py

book: html pdf ## build the website and the PDF, then check both as a reader would
	$(PY) tools/check_book.py
	$(PY) tools/check_live.py
	@echo "site: _build/html/index.html   pdf: _build/latex/micrograd-book.pdf"

readme-figure: $(STAMP) ## redraw docs/graph.svg, the README's picture
	$(PY) tools/readme_figure.py

clean: ## remove the build output (keeps .venv)
	rm -rf _build .pytest_cache .hypothesis
