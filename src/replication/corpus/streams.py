"""Token streams: a corpus split, tokenized, as the two arrays the trainer samples windows from.

Each split is one stream: documents in order, each followed by an end-of-sequence token. Streams are
cached under the run store's cache folder and memory-mapped when read back.

The cache is read as plain arrays (``allow_pickle=False``: an .npy file of objects would unpickle them)
and checked before use: a ``<key>.json`` beside the two streams records what they were built from (the
corpus hash, the tokenizer, the split) and the SHA-256 of each stream's tokens. A cache that is damaged,
swapped for another or left half-written does not match it and is rebuilt (atomically, as it was written),
with one line on stderr; a run never trains on tokens that are not its corpus's.
"""
from __future__ import annotations

import hashlib
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from replication.corpus.documents import DEFAULT_CORPUS, Document, corpus_hash, load_documents, split_documents
from replication.corpus.tokenizers import BytesTokenizer, SentencePieceTokenizer, parse_tokenizer
from replication.files import atomic_write_bytes, atomic_write_text

#: Bump when a change in replication.corpus changes the token streams a given corpus, tokenizer and
#: split produce (it is part of every run id, like the model's version).
DATA_VERSION = 1


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


def _read_cached(paths: list[Path], meta_path: Path, built_from: dict) -> tuple[np.ndarray, np.ndarray]:
    """The cached (train, val) streams, or ValueError saying why they cannot be used."""
    if not meta_path.is_file():
        raise ValueError(f"{meta_path} is missing (a cache written before caches recorded their hashes, or cut "
                         "short)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ValueError(f"{meta_path} cannot be read ({type(err).__name__})") from None
    if not isinstance(meta, dict) or meta.get("built_from") != built_from:
        raise ValueError(f"{meta_path} records other inputs than this corpus, tokenizer and split")
    streams = []
    for p, split in zip(paths, ("train", "val")):
        try:
            # memory-mapped: a large corpus is paged in as the sampler touches it
            arr = np.load(p, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise ValueError(f"{p} is not a token stream ({str(err).splitlines()[0] if str(err) else err!r})") \
                from None
        if arr.ndim != 1 or arr.dtype not in (np.uint16, np.int32) or not arr.flags.c_contiguous:
            raise ValueError(f"{p} holds a {arr.dtype} array of shape {arr.shape}, not a token stream")
        if hashlib.sha256(memoryview(arr).cast("B")).hexdigest() != meta.get("sha256", {}).get(split):
            raise ValueError(f"{p} does not match the SHA-256 recorded in {meta_path.name}")
        streams.append(arr)
    return streams[0], streams[1]


def load_data(corpus: str = DEFAULT_CORPUS, tokenizer: str = "bytes", val_fraction: float = 0.05,
              split_seed: int = 0, cache_dir: Path | None = None, warn=None) -> TokenData:
    """Load, split and tokenize a corpus; token streams are cached under ``cache_dir``.

    ``warn`` (default: print to stderr) receives the one line said when a cache is rebuilt."""
    warn = warn or (lambda msg: print(msg, file=sys.stderr))
    kind, vocab = parse_tokenizer(tokenizer)
    docs = load_documents(corpus)
    train_docs, val_docs = split_documents(docs, val_fraction, split_seed)
    tok = BytesTokenizer() if kind == "bytes" else SentencePieceTokenizer.train(train_docs, vocab, cache_dir)
    tok_key = "bytes" if kind == "bytes" else hashlib.sha256(tok.model_bytes).hexdigest()[:16]
    key = hashlib.sha256(f"{corpus_hash(docs)}|{tok_key}|{val_fraction}|{split_seed}".encode()).hexdigest()[:16]
    built_from = {"corpus_hash": corpus_hash(docs), "tokenizer": tok_key, "val_fraction": val_fraction,
                  "split_seed": split_seed, "data_version": DATA_VERSION}
    train = val = None
    if cache_dir:
        folder = Path(cache_dir) / "tokens"
        paths = [folder / f"{key}-{s}.npy" for s in ("train", "val")]
        meta_path = folder / f"{key}.json"
        if any(p.exists() for p in (*paths, meta_path)):
            try:
                train, val = _read_cached(paths, meta_path, built_from)
            except ValueError as why:
                warn(f"token cache: {why}; rebuilding it")
    if train is None:
        train, val = _stream(tok, train_docs), _stream(tok, val_docs)
        if cache_dir:
            # the streams first, the record of their hashes last: a cache cut short is never taken for whole
            for p, arr in zip(paths, (train, val)):
                buf = io.BytesIO()
                np.save(buf, arr, allow_pickle=False)
                atomic_write_bytes(p, buf.getvalue())
            meta = {"built_from": built_from,
                    "sha256": {s: hashlib.sha256(a.tobytes()).hexdigest() for s, a in (("train", train), ("val", val))}}
            atomic_write_text(meta_path, json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return TokenData(train, val, tok.vocab_size, tok, corpus, corpus_hash(docs), len(train_docs), len(val_docs))
