"""Units: bytes per subword token, to read a byte-level study in Chinchilla's units.

Our CPU-scale study counts data in UTF-8 bytes (tokenizer ``bytes``); Chinchilla's ~20 tokens per
parameter counts SentencePiece tokens (V = 32,000). The bridge is the number of bytes one SentencePiece
token covers on the same corpus, measured here on the held-out validation documents with the very
tokenizer a ``sentencepiece:<V>`` run trains (same training split, same trainer, same cache).

What is counted: the raw UTF-8 bytes of each validation document, as a byte-level model reads them, and
the SentencePiece tokens of that same document. SentencePiece normalizes before it encodes (newlines
become spaces, runs of spaces collapse), so its tokens decode to slightly less text than went in; the
raw count is the right numerator, because the question is how many subword tokens the *same text*
would have been. The end-of-document token both streams append is a separator, not text, and is left
out of both counts.
"""
from __future__ import annotations

import re
from pathlib import Path

from replication.corpus.documents import DEFAULT_CORPUS, Document, load_documents, split_documents
from replication.corpus.tokenizers import SentencePieceTokenizer
from replication.errors import ReplicationError, check_int, check_range

# what sentencepiece says when the corpus has too few distinct pieces for the vocabulary asked for, and
# when the vocabulary cannot hold every character of the corpus (character_coverage is 1.0)
_TOO_HIGH = re.compile(r"Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)")
_TOO_LOW = re.compile(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)")


def _train(train_docs: list[Document], vocab_size: int, corpus: str, cache_dir) -> SentencePieceTokenizer:
    """The project's ``sentencepiece:<V>`` tokenizer, with a vocabulary too large or too small said plainly."""
    try:
        return SentencePieceTokenizer.train(train_docs, vocab_size, cache_dir)
    except ReplicationError as err:
        high, low = _TOO_HIGH.search(str(err)), _TOO_LOW.search(str(err))
        if high:
            raise ReplicationError(f"vocab_size={vocab_size} is too large for corpus={corpus!r}: SentencePiece "
                                   f"can build at most {high.group(2)} pieces from its training split; "
                                   f"allowed: vocab_size <= {high.group(2)}") from None
        if low:
            raise ReplicationError(f"vocab_size={vocab_size} is too small for corpus={corpus!r}: its training "
                                   f"split needs {low.group(2)} pieces for its characters alone; "
                                   f"allowed: vocab_size >= {low.group(2)}") from None
        raise


def _count(tok: SentencePieceTokenizer, docs: list[Document]) -> tuple[int, int]:
    """(UTF-8 bytes, SentencePiece tokens) of ``docs``, document by document as the token streams do."""
    n_bytes = n_tokens = 0
    for _, text in docs:
        n_bytes += len(text.encode("utf-8"))
        n_tokens += len(tok.encode(text))
    return n_bytes, n_tokens


def bytes_per_token(corpus: str = DEFAULT_CORPUS, vocab_size: int = 32000, val_fraction: float = 0.05,
                    cache_dir: Path | None = None) -> dict:
    """UTF-8 bytes per SentencePiece token on the corpus's validation documents.

    The tokenizer is trained on the training split (or loaded from ``cache_dir``) exactly as a
    ``sentencepiece:<vocab_size>`` run's is. Returns {"vocab_size", "bytes", "tokens", "bytes_per_token",
    "split": "validation", "documents"}. Raises ReplicationError if SentencePiece cannot build that many
    pieces from the corpus, naming the largest size it can."""
    vocab_size = check_int("vocab_size", vocab_size, 16, 1_000_000)  # the range parse_tokenizer allows
    check_range("val_fraction", val_fraction, 0.0, 0.5, lo_open=True)
    train_docs, val_docs = split_documents(load_documents(corpus), val_fraction, seed=0)  # seed 0: the runs' split
    tok = _train(train_docs, vocab_size, corpus, cache_dir)
    n_bytes, n_tokens = _count(tok, val_docs)
    return {"vocab_size": tok.vocab_size, "bytes": n_bytes, "tokens": n_tokens,
            "bytes_per_token": n_bytes / n_tokens, "split": "validation", "documents": len(val_docs)}
