"""Tokenizers: UTF-8 bytes, or a SentencePiece unigram model trained on the training split.

Tokenizer specs: ``"bytes"`` (UTF-8 bytes, V = 262 = 256 bytes + 6 special tokens, as in the article's
Experiment 2) or ``"sentencepiece:<V>"`` (a unigram SentencePiece model trained on the training split
only, cached by corpus and vocabulary hash).
"""
from __future__ import annotations

import hashlib
import io
import os
import sys
from pathlib import Path

import numpy as np

from replication.corpus.documents import Document, corpus_hash
from replication.errors import ReplicationError, check_range
from replication.files import atomic_write_bytes, atomic_write_text

#: Special tokens shared by both tokenizers; bytes come after them (byte b is token b + 6).
SPECIALS = ("<pad>", "</s>", "<s>", "<unk>", "<mask>", "<sep>")
PAD_ID, EOS_ID, BOS_ID, UNK_ID = 0, 1, 2, 3


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
        # the model's SHA-256 beside it: a damaged or replaced model would tokenize the corpus differently
        # (and the token cache, keyed by the model's hash, would follow it), so it is retrained instead
        digest = path.with_name(path.name + ".sha256") if path else None
        if path and path.is_file():
            data = path.read_bytes()
            recorded = digest.read_text().strip() if digest.is_file() else None
            if recorded == hashlib.sha256(data).hexdigest():
                try:
                    return cls(data)
                except (RuntimeError, OSError):
                    pass
            print(f"tokenizer cache: {path} does not match its recorded SHA-256; retraining it", file=sys.stderr)
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
            atomic_write_bytes(path, buf.getvalue())
            atomic_write_text(digest, hashlib.sha256(buf.getvalue()).hexdigest() + "\n")
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
