# Two entry points: `make book` builds the site into _build/html, `make test` runs the test suite.
# Both create the virtual environment .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KATEX_VERSION := 0.16.22
AXE_VERSION := 4.10.3
KATEX := book/_vendor/katex

.PHONY: book test test-fast venv vendor browser corpus clean

venv: $(BIN)/replication
$(BIN)/replication: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]' 2>&1 | grep -v "is ignored" ; test -x $(BIN)/replication
	touch $(BIN)/replication

# From the npm registry, so that nothing loads from the network: KaTeX, whose stylesheet and fonts the site serves
# (book/_vendor/katex) and whose script renders every formula at build time (.vendor/katex, not shipped), and
# axe-core, which the browser test injects into each page (.vendor/axe-core).
vendor: $(KATEX)/katex.min.css .vendor/katex/katex.min.js .vendor/axe-core/axe.min.js
$(KATEX)/katex.min.css .vendor/katex/katex.min.js &:
	rm -rf $(KATEX) .vendor/katex .katex-tmp && mkdir -p $(KATEX)/fonts .vendor/katex .katex-tmp
	cd .katex-tmp && npm pack --silent katex@$(KATEX_VERSION) >/dev/null
	tar -xzf .katex-tmp/katex-$(KATEX_VERSION).tgz -C .katex-tmp
	cp .katex-tmp/package/dist/katex.min.css .katex-tmp/package/LICENSE $(KATEX)/
	cp .katex-tmp/package/dist/fonts/*.woff2 $(KATEX)/fonts/
	cp .katex-tmp/package/dist/katex.min.js .vendor/katex/
	rm -rf .katex-tmp
.vendor/axe-core/axe.min.js:
	rm -rf .vendor/axe-core .axe-tmp && mkdir -p .vendor/axe-core .axe-tmp
	cd .axe-tmp && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null
	tar -xzf .axe-tmp/axe-core-$(AXE_VERSION).tgz -C .axe-tmp
	cp .axe-tmp/package/axe.min.js .axe-tmp/package/LICENSE .vendor/axe-core/
	rm -rf .axe-tmp

# The site, and the whole book as one PDF in it (printed by chromium from a single-page build, where chromium is
# installed: `make browser`).
book: venv vendor browser
	$(BIN)/replication book $$( (command -v chromium || command -v chromium-browser) >/dev/null 2>&1 && echo --pdf)

# Debian's chromium for the browser test of the built site (root with apt only; elsewhere the test skips).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ; } || \
	  echo "chromium not installed: the browser test will skip"

# Debian's manuals of Python, SQLAlchemy, Django, SQLite and PostgreSQL as one English corpus, debian-docs
# (replication.corpus.debian): the pinned packages fetched with apt-get download (no root needed; the current
# version where the archive has dropped a pinned one, the package lists refreshed first where we are root),
# unpacked with dpkg-deb -x and cleaned to plain text in data/corpora/debian-docs.
CORPUS := data/corpora/debian-docs
corpus: $(CORPUS)/manifest.json
$(CORPUS)/manifest.json: src/replication/corpus/debian.py src/replication/corpus/markup.py | venv
	rm -rf .corpus-tmp && mkdir -p .corpus-tmp/debs
	cd .corpus-tmp/debs && for p in $$(../../$(BIN)/python -m replication.corpus packages); do \
	  apt-get download -q=2 "$$p" 2>/dev/null || apt-get download -q=2 "$${p%%=*}" 2>/dev/null || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get download -q=2 "$${p%%=*}"; } || exit 1; done
	for f in .corpus-tmp/debs/*.deb; do dpkg-deb -x "$$f" ".corpus-tmp/$$(basename "$$f" _all.deb)"; done
	$(BIN)/python -m replication.corpus build .corpus-tmp $(CORPUS)
	rm -rf .corpus-tmp

# Two pytest workers (one per core); a test file runs whole in one worker, so a module's fixture (the site
# build) is made once. Files run in the order named (--no-loadscope-reorder: pytest-xdist would otherwise
# start the files with the most tests first): the site's first, so that its build (the longest fixture)
# starts at once instead of last, alone; then the other long files, longest first (their times in CI, 15 to
# 150 s), so that none of them ends the run alone while the other worker waits; the claims ledger's file last,
# so that it reads the Figure-4 bootstraps the build has kept on disk instead of computing them again while
# the build does.
PYTEST_WORKERS ?= 2
FIRST_TESTS := tests/test_site.py tests/test_gpu_path.py tests/test_train.py tests/test_perceiver_study.py \
  tests/test_sweep.py tests/test_store_safety.py tests/test_wide.py tests/test_bad_inputs.py tests/test_model.py
LAST_TESTS := tests/test_claims.py
test: venv vendor browser corpus
	$(BIN)/pytest -q -ra -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder $(FIRST_TESTS) \
	  $(filter-out $(FIRST_TESTS) $(LAST_TESTS),$(wildcard tests/test_*.py)) $(LAST_TESTS)

test-fast: venv
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile -m "not slow"

clean:
	rm -rf _build book/_build runs/chapters
