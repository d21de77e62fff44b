# Two entry points: `make book` builds the site into _build/html, `make test` runs the test suite.
# Both create the virtual environment .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MATHJAX_VERSION := 3.2.2
MATHJAX := book/_vendor/mathjax

.PHONY: book test test-fast venv vendor browser corpus clean

venv: $(BIN)/replication
$(BIN)/replication: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]' 2>&1 | grep -v "is ignored" ; test -x $(BIN)/replication
	touch $(BIN)/replication

# MathJax 3 from the npm registry, so that the site renders math offline.
vendor: $(MATHJAX)/es5/tex-mml-chtml.js
$(MATHJAX)/es5/tex-mml-chtml.js:
	rm -rf $(MATHJAX) .mathjax-tmp && mkdir -p $(MATHJAX) .mathjax-tmp
	cd .mathjax-tmp && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null
	tar -xzf .mathjax-tmp/mathjax-$(MATHJAX_VERSION).tgz -C .mathjax-tmp
	mkdir -p $(MATHJAX)/es5/output/chtml/fonts
	cp .mathjax-tmp/package/es5/tex-mml-chtml.js $(MATHJAX)/es5/
	cp -r .mathjax-tmp/package/es5/output/chtml/fonts/woff-v2 $(MATHJAX)/es5/output/chtml/fonts/
	cp .mathjax-tmp/package/LICENSE $(MATHJAX)/
	rm -rf .mathjax-tmp

book: venv vendor
	$(BIN)/replication book

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
# build) is made once. The site's file is named first, so that its build (the longest fixture) starts at once
# while the other worker runs the rest, instead of last, alone.
PYTEST_WORKERS ?= 2
test: venv vendor browser corpus
	$(BIN)/pytest -q -ra -n $(PYTEST_WORKERS) --dist loadfile tests/test_site.py \
	  $(filter-out tests/test_site.py,$(wildcard tests/test_*.py))

test-fast: venv
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile -m "not slow"

clean:
	rm -rf _build book/_build runs/chapters
