"""Token streams: a corpus split, tokenized, as the two arrays the trainer samples windows from.

Each split is one stream: documents in order, each followed by an end-of-sequence token. Streams are
cached under the run store's cache folder and memory-mapped when read back.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from replication.corpus.documents import DEFAULT_CORPUS, Document, corpus_hash, load_documents, split_documents
from replication.corpus.tokenizers import BytesTokenizer, SentencePieceTokenizer, parse_tokenizer
from replication.files import atomic_write_bytes

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
            atomic_write_bytes(p, buf.getvalue())
    return TokenData(train, val, tok.vocab_size, tok, corpus, corpus_hash(docs), len(train_docs), len(val_docs))
