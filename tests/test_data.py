import json

import numpy as np
import pytest
import torch

from replication import corpus as data
from replication.errors import ReplicationError

PROSE = [
    "It was a bright cold day in April, and the clocks were striking thirteen.",
    "Call me Ishmael. Some years ago, never mind how long precisely, I went to sea.",
    "All happy families are alike; each unhappy family is unhappy in its own way.",
    "The sun shone, having no alternative, on the nothing new.",
    "In a hole in the ground there lived a hobbit, not a nasty dirty wet hole.",
    "Whether I shall turn out to be the hero of my own life, these pages must show.",
]


@pytest.fixture
def text_dir(tmp_path):
    d = tmp_path / "texts"
    d.mkdir()
    for i in range(40):
        (d / f"doc{i:02d}.txt").write_text("\n".join(PROSE[(i + j) % len(PROSE)] for j in range(6)) + f" ({i})\n")
    return d


def test_bytes_tokenizer():
    tok = data.BytesTokenizer()
    assert tok.vocab_size == 262
    ids = tok.encode("Aé\n")
    assert ids.tolist() == [65 + 6, 0xC3 + 6, 0xA9 + 6, 10 + 6]
    assert ids.min() >= 6 and ids.max() < 262
    assert tok.decode(ids) == "Aé\n"


def test_default_corpus_is_the_kjv():
    docs = data.load_documents()
    assert len(docs) == 1189  # chapters
    assert 4.0e6 < sum(len(t) for _, t in docs) < 4.3e6
    assert docs[0][1].startswith("Genesis 1\nIn the beginning God created the heaven and the earth.")


def test_split_is_deterministic_disjoint_and_by_document():
    docs = [(f"d{i}", f"text {i}") for i in range(500)]
    tr, va = data.split_documents(docs, 0.1, seed=0)
    tr2, va2 = data.split_documents(docs, 0.1, seed=0)
    assert tr == tr2 and va == va2
    ids_tr, ids_va = {d[0] for d in tr}, {d[0] for d in va}
    assert not ids_tr & ids_va and len(ids_tr | ids_va) == 500
    assert 25 <= len(va) <= 80  # about 10%
    # a document's side does not depend on the others
    sub = [d for d in docs if d[0] != "d0"]
    assert {d[0] for d in data.split_documents(sub, 0.1)[1]} == ids_va - {"d0"}
    _, va3 = data.split_documents(docs, 0.1, seed=1)
    assert va3 != va


def test_kjv_streams_are_disjoint_by_chapter(tmp_path):
    td = data.load_data("kjv", "bytes", 0.05, cache_dir=tmp_path)
    assert len(td.train) + len(td.val) == 4149243 + 1189  # every byte plus one EOS per chapter
    assert td.val_documents + td.train_documents == 1189
    val_text = td.tokenizer.decode(td.val)
    train_docs, val_docs = data.split_documents(data.load_documents("kjv"), 0.05)
    assert val_text.startswith(val_docs[0][1][:50])
    assert all(d[1] not in val_text for d in train_docs[:30])
    # cached token streams give the same arrays
    td2 = data.load_data("kjv", "bytes", 0.05, cache_dir=tmp_path)
    assert np.array_equal(td.train, td2.train)


def test_local_files_corpus_and_batches(text_dir, tmp_path):
    td = data.load_data(f"files:{text_dir}/*.txt", "bytes", 0.2, cache_dir=tmp_path)
    assert td.train_documents + td.val_documents == 40
    g = torch.Generator().manual_seed(0)
    x, y = td.batch(4, 24, 8, g)
    assert x.shape == (4, 24) and y.shape == (4, 8)
    assert torch.equal(x[:, -7:], y[:, :-1])  # y is x shifted by one over the latent positions
    v1 = list(td.val_batches(24, 8, 10, 4))
    v2 = list(td.val_batches(24, 8, 10, 4))
    assert sum(len(b[0]) for b in v1) == 10
    assert all(torch.equal(a[0], b[0]) for a, b in zip(v1, v2))


def test_sentencepiece_trained_on_train_split_and_cached(text_dir, tmp_path):
    td = data.load_data(f"files:{text_dir}/*.txt", "sentencepiece:64", 0.2, cache_dir=tmp_path)
    assert td.vocab_size == 64
    assert td.train.max() < 64
    cached = list((tmp_path / "tokenizers").glob("sp-*.model"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    td2 = data.load_data(f"files:{text_dir}/*.txt", "sentencepiece:64", 0.2, cache_dir=tmp_path)
    assert cached[0].stat().st_mtime_ns == stamp and np.array_equal(td.val, td2.val)
    text = "Call me Ishmael."
    assert td.tokenizer.decode(td.tokenizer.encode(text)) == text
    with pytest.raises(ReplicationError, match="vocab_size"):
        data.load_data(f"files:{text_dir}/*.txt", "sentencepiece:100000", 0.2, cache_dir=tmp_path)


def test_hf_loader_with_a_stand_in(tmp_path):
    rows = [{"text": t, "title": str(i)} for i, t in enumerate(PROSE)]
    calls = []

    def fake_load(name, *args, **kwargs):
        calls.append((name, args, kwargs))
        return rows

    docs = data.hf_documents("bookcorpusopen?split=train", load_dataset=fake_load)
    assert [t for _, t in docs] == PROSE and calls[0][0] == "bookcorpusopen"
    with pytest.raises(ReplicationError, match="field"):
        data.hf_documents("x?field=body", load_dataset=fake_load)
    with pytest.raises(ReplicationError, match="unknown option"):
        data.hf_documents("x?colour=red", load_dataset=fake_load)


def test_hf_loader_with_datasets_on_local_files(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # local files only: nothing may come from the network
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    pytest.importorskip("datasets")
    path = tmp_path / "books.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in PROSE))
    td = data.load_data(f"hf:json?data_files={path}", "bytes", 0.3, cache_dir=tmp_path)
    assert td.train_documents + td.val_documents == len(PROSE)


@pytest.mark.parametrize("spec", ["gutenberg", "files:/nonexistent/*.txt", "hf:", 3])
def test_bad_corpus(spec):
    with pytest.raises(ReplicationError):
        data.check_corpus(spec)


@pytest.mark.parametrize("spec", ["bpe", "sentencepiece:", "sentencepiece:8"])
def test_bad_tokenizer(spec):
    with pytest.raises(ReplicationError):
        data.parse_tokenizer(spec)


def test_atomic_writes_replace_whole_files_or_nothing(tmp_path):
    from replication.files import atomic_write, atomic_write_bytes, atomic_write_text, write_json

    path = tmp_path / "sub" / "f.json"
    write_json(path, {"b": 1, "a": [1, 2]})
    assert path.read_text() == '{\n "a": [\n  1,\n  2\n ],\n "b": 1\n}\n'
    atomic_write_text(path, "new")
    atomic_write_bytes(tmp_path / "g.bin", b"\x00\x01")
    assert path.read_text() == "new" and (tmp_path / "g.bin").read_bytes() == b"\x00\x01"
    with pytest.raises(RuntimeError):
        with atomic_write(path) as f:
            f.write("half")
            raise RuntimeError
    assert path.read_text() == "new"  # a failed write leaves the old file, and no temporary one
    assert sorted(p.name for p in path.parent.iterdir()) == ["f.json"]


def test_hf_corpora_that_cannot_be_loaded_are_one_line_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # local files only: nothing may come from the network
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    pytest.importorskip("datasets")
    missing = tmp_path / "missing.jsonl"
    with pytest.raises(ReplicationError, match=f"data_files='{missing}' .* matches no files"):
        data.check_corpus(f"hf:json?data_files={missing}")  # before any run folder exists
    not_json = tmp_path / "books.jsonl"
    not_json.write_text("this is not JSON {\n")
    numbers = tmp_path / "numbers.jsonl"
    numbers.write_text('{"text": 5}\n{"text": 6}\n')
    for spec, needle in [(f"hf:json?data_files={not_json}", "cannot be loaded: DatasetGenerationError"),
                         ("hf:no-such-dataset-anywhere", "cannot be loaded: ConnectionError"),
                         (f"hf:json?data_files={numbers}", "does not hold text in every row")]:
        with pytest.raises(ReplicationError, match=needle) as err:
            data.load_documents(spec)
        assert "\n" not in str(err.value) and spec in str(err.value)
