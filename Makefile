# lipnb-book: build the book, run the tests, refresh the notebooks' stored outputs.
# Every target that needs Python first sets up $(VENV) from requirements-lock.txt
# (exact pins, CPU-only torch), then installs the lipnb package in editable mode.
# requirements.txt is for Binder only and is not used here.

PYTHON ?= python3
VENV ?= .venv

BIN := $(VENV)/bin
# pytest-xdist workers. Each notebook kernel and each test uses one torch thread, so tests run side by
# side, one per core (--dist loadfile keeps a notebook's cells together in one kernel); at most 4, since
# every worker holds its own torch.
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)
STAMP := $(VENV)/.installed
# The checks of the built book (`make check-html`) and where the browser check saves its screenshots.
HTML_CHECKS := tests/test_links.py tests/test_static_figure.py tests/test_book_pages.py
SCREENSHOTS ?= $(CURDIR)/artifacts/screenshots
NOTEBOOKS := $(sort $(wildcard chapters/*.ipynb))
# The environment the notebooks run in, the same for `make execute` (which writes
# the outputs) and `make test` (which compares against them).
# The numerical libraries pick their kernels by the CPU they find, and kernels for
# different instruction sets round differently in the last bit; over thousands of GD
# steps that reaches the printed digits (seen: stored outputs made on an AMD EPYC
# failed on an Intel Xeon). So every library is pinned to a code path that both
# vendors' x86-64 CPUs with AVX2 run bit for bit alike:
#   MKL_CBWR=COMPATIBLE    torch's BLAS/LAPACK/vector math (MKL): the SSE2 branch, the
#                          only reproducible branch MKL offers on non-Intel CPUs
#   ATEN_CPU_CAPABILITY    torch's own vectorized kernels: the AVX2 versions, not AVX-512
#   OPENBLAS_CORETYPE      NumPy's and SciPy's OpenBLAS: the Haswell (AVX2) kernels
#   NPY_DISABLE_CPU_FEATURES  NumPy's own AVX-512 loops (silently ignored where absent)
#   OPENBLAS_NUM_THREADS=1 a threaded BLAS reduction sums in an order that depends on the
#                          core count (torch's threads are fixed by lipnb.notebook.setup)
# The pins cost about a third more time in training; benchmarks/ runs without them.
NB_PINS := PYTHONHASHSEED=0 MKL_CBWR=COMPATIBLE ATEN_CPU_CAPABILITY=avx2 \
	OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1 NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR"
NB_ENV := MPLBACKEND=Agg $(NB_PINS)
# What `make lint` checks: the Python code with ruff (rules in pyproject.toml), the CI workflows against
# GitHub's workflow schema (check-jsonschema ships it; actionlint's PyPI wrapper downloads its binary from
# GitHub while installing, which this project's machines cannot reach).
LINT_PATHS := lipnb tests benchmarks _ext
WORKFLOWS := $(wildcard .github/workflows/*.yml)
# JupyterLab refuses to run as root unless told to (containers, CI).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.DEFAULT_GOAL := help
.PHONY: help venv test lint book check-html check-determinism execute lab clean

help:
	@echo "make book     build the HTML book into _build/html (every warning is an error)"
	@echo "make test     make lint, unit tests (JupyterLab's live explorer included), strict nbval on every notebook in chapters/, then make check-html"
	@echo "make lint     ruff check and ruff format --check on $(LINT_PATHS); the CI workflows against GitHub's schema"
	@echo "make lab      JupyterLab on chapters/ with the $(VENV) kernel and its widgets (Ctrl+C stops it)"
	@echo "make check-html  build the book, then check its links and (with chromium) every page and the static figure"
	@echo "make check-determinism  execute every chapter twice and diff the text outputs"
	@echo "make execute  re-run every chapters/*.ipynb in place, keeping widget state"
	@echo "make venv     only set up $(VENV) from requirements-lock.txt"
	@echo "make clean    remove _build and artifacts (the screenshots)"
	@echo "Variables: PYTHON=$(PYTHON) VENV=$(VENV) SCREENSHOTS=$(SCREENSHOTS)"

venv: $(STAMP)

$(STAMP): requirements-lock.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install -r requirements-lock.txt
	$(BIN)/python -m pip install --no-deps -e .
	touch $@

# Unit tests and strict nbval, then the book build and the checks of the HTML it wrote. The first run
# leaves the HTML checks out: they would check whatever _build/html lay there before the build.
# tests/test_jupyterlab.py (chapter 8's explorer in a real JupyterLab, with chromium) runs among them.
test: $(STAMP) lint
	LIPNB_SCREENSHOTS=$(SCREENSHOTS) $(NB_ENV) $(BIN)/python -m pytest tests chapters --nbval --nbval-current-env -p no:cacheprovider \
		-n $(JOBS) --dist loadfile $(addprefix --ignore=,$(HTML_CHECKS))
	$(MAKE) --no-print-directory check-html

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(if $(WORKFLOWS),$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS))

# --all: an incremental build only re-reads changed pages, so a warning from an
# unchanged page would not be reported again and the build would pass.
book: $(STAMP)
	$(BIN)/jupyter-book build . --all --warningiserror --keep-going

# The built HTML: internal links and anchors resolve (external ones are listed), every toc page
# exists, and in headless Chromium (Debian's chromium, when installed) every page loads with no
# console error and nothing from other hosts, with its math, images, widgets and theorem boxes
# (a full-page screenshot of each goes to $(SCREENSHOTS)), and the static decay-grid slider changes
# the plotted data.
check-html: book
	LIPNB_BOOK_HTML=$(CURDIR)/_build/html LIPNB_SCREENSHOTS=$(SCREENSHOTS) \
		$(BIN)/python -m pytest $(HTML_CHECKS) -p no:cacheprovider -rs

# Two fresh executions of every chapter must print the same text (see tests/test_determinism.py).
check-determinism: $(STAMP)
	JUPYTER_PREFER_ENV_PATH=1 LIPNB_DETERMINISM=1 $(NB_ENV) $(BIN)/python -m pytest tests/test_determinism.py -p no:cacheprovider \
		-n $(JOBS) --dist load

# JUPYTER_PREFER_ENV_PATH: the "python3" kernel is the venv's, even when the user
# has a kernel of that name in ~/.local/share/jupyter. record_timing=False keeps
# per-cell timestamps out of the committed notebooks.
execute: $(STAMP)
	@test -n "$(NOTEBOOKS)" || { echo "no notebooks in chapters/"; exit 1; }
	JUPYTER_PREFER_ENV_PATH=1 $(NB_ENV) $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=1200 --ExecutePreprocessor.kernel_name=python3 \
		--ExecutePreprocessor.store_widget_state=True --ExecutePreprocessor.record_timing=False \
		$(NOTEBOOKS)

# JupyterLab on the repository, its file browser open on chapters/, with the .venv's kernel (even when
# ~/.local/share/jupyter has a "python3" kernel of its own) and the pins under which the stored outputs
# were made (NB_PINS, so a re-run cell prints what is stored); widgets and plotly work through the lab
# extensions that ipywidgets (jupyterlab_widgets) and plotly install into .venv.
lab: $(STAMP)
	JUPYTER_PREFER_ENV_PATH=1 $(NB_PINS) $(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) \
		--LabApp.default_url=/lab/tree/chapters $(ALLOW_ROOT)

clean:
	rm -rf _build artifacts
