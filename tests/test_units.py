import hashlib
import re

import pytest
import sentencepiece as spm

from replication.corpus import units
from replication.errors import ReplicationError

# non-ASCII on purpose: UTF-8 bytes and characters differ, and the byte count must be of bytes
PROSE = [
    "It was a bright cold day in April, and the clocks were striking thirteen.",
    "Call me Ishmael. Some years ago – never mind how long precisely – I went to sea.",
    "All happy families are alike; each unhappy family is unhappy in its own way.",
    "The sun shone, having no alternative, on the nothing new. “Café”, said she.",
    "In a hole in the ground there lived a hobbit, not a nasty dirty wet hole.",
    "Whether I shall turn out to be the hero of my own life, these pages must show.",
]


@pytest.fixture
def text_dir(tmp_path):
    d = tmp_path / "texts"
    d.mkdir()
    for i in range(40):
        (d / f"doc{i:02d}.txt").write_text("\n".join(PROSE[(i + j) % len(PROSE)] for j in range(6)) + f" ({i})\n",
                                           encoding="utf-8")
    return d


def validation_files(text_dir, val_fraction):
    """The held-out files by the split's documented rule (sha256 of seed and id below val_fraction)."""
    def u(path):
        return int.from_bytes(hashlib.sha256(f"0\0{path}".encode()).digest()[:8], "big") / 2**64

    paths = sorted(str(p) for p in text_dir.glob("*.txt"))
    return [p for p in paths if u(p) < val_fraction]


def test_bytes_per_token_matches_an_independent_count(text_dir, tmp_path):
    r = units.bytes_per_token(f"files:{text_dir}/*.txt", vocab_size=64, val_fraction=0.2, cache_dir=tmp_path)
    val = validation_files(text_dir, 0.2)
    assert len(val) >= 2 and r["documents"] == len(val)
    # bytes: the files' sizes on disk (they are UTF-8), more than their character count
    n_bytes = sum(open(p, "rb").read().__len__() for p in val)
    assert r["bytes"] == n_bytes > sum(len(open(p, encoding="utf-8").read()) for p in val)
    # tokens: the cached model, loaded and run by sentencepiece itself, document by document
    (model,) = (tmp_path / "tokenizers").glob("sp-*.model")
    sp = spm.SentencePieceProcessor(model_file=str(model))
    assert sp.get_piece_size() == 64
    n_tokens = sum(len(sp.encode(open(p, encoding="utf-8").read())) for p in val)
    assert r["tokens"] == n_tokens
    assert r["bytes_per_token"] == pytest.approx(n_bytes / n_tokens, rel=1e-12)
    assert r["vocab_size"] == 64 and r["split"] == "validation"
    # a second call loads the cached tokenizer and measures the same
    assert units.bytes_per_token(f"files:{text_dir}/*.txt", 64, 0.2, cache_dir=tmp_path) == r


def test_larger_vocabulary_covers_more_bytes_per_token(text_dir, tmp_path):
    rows = [units.bytes_per_token(f"files:{text_dir}/*.txt", v, val_fraction=0.2) for v in (56, 64, 100)]
    assert [r["vocab_size"] for r in rows] == [56, 64, 100]
    assert len({r["bytes"] for r in rows}) == 1  # one split, the same text for every V
    bpt = [r["bytes_per_token"] for r in rows]
    assert bpt[0] < bpt[1] < bpt[2]
    assert 1 < bpt[0] and bpt[2] < 20  # a piece is more than a byte and less than a long word


def test_too_large_a_vocabulary_names_the_largest_that_works(text_dir, tmp_path):
    spec = f"files:{text_dir}/*.txt"
    with pytest.raises(ReplicationError, match=r"vocab_size=5000 is too large .* at most \d+") as info:
        units.bytes_per_token(spec, 5000, 0.2)
    largest = int(re.search(r"at most (\d+)", str(info.value)).group(1))
    assert 64 < largest < 5000
    assert units.bytes_per_token(spec, largest, 0.2)["vocab_size"] == largest


def test_too_small_a_vocabulary_names_the_smallest_that_works(text_dir):
    spec = f"files:{text_dir}/*.txt"
    with pytest.raises(ReplicationError, match=r"vocab_size=20 is too small .* vocab_size >= \d+") as info:
        units.bytes_per_token(spec, 20, 0.2)
    smallest = int(re.search(r">= (\d+)", str(info.value)).group(1))
    # every distinct character of the training files needs a piece of its own, and so do the 4 specials
    # (pad, eos, bos, unk); sentencepiece also reserves the word-boundary mark
    chars = set().union(*(set(p.read_text(encoding="utf-8")) for p in text_dir.glob("*.txt")))
    assert len(chars) <= smallest <= len(chars) + 5
    assert units.bytes_per_token(spec, smallest, 0.2)["vocab_size"] == smallest


@pytest.mark.parametrize("call, words", [
    (lambda: units.bytes_per_token(vocab_size=8), ["vocab_size=8", "[16, 1000000]"]),
    (lambda: units.bytes_per_token(vocab_size=64.0), ["vocab_size=64.0", "integer"]),
    (lambda: units.bytes_per_token(vocab_size=64, val_fraction=0.9), ["val_fraction=0.9", "(0.0, 0.5]"]),
    (lambda: units.bytes_per_token("nosuch", 64), ["corpus='nosuch'", "kjv, files:<glob>"]),
])
def test_bad_inputs(call, words):
    with pytest.raises(ReplicationError) as info:
        call()
    assert all(w in str(info.value) for w in words), str(info.value)
