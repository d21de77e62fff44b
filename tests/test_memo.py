"""Results kept on disk between processes: plain values only, read back as they were, keyed on their arguments."""
import json
import math

import pytest

from replication import memo


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setenv(memo.ENV, str(tmp_path))
    return tmp_path


def test_a_kept_result_reads_back_equal_with_its_types_and_is_computed_once(results):
    value = {"a": (0.25, 0.5), "n": 3, "ok": True, "nan": math.nan, "inf": -math.inf, "rows": [1, "x", None]}
    calls = []

    def compute():
        calls.append(1)
        return value

    first = memo.kept("demo", {"k": 1}, compute)
    second = memo.kept("demo", {"k": 1}, compute)
    assert len(calls) == 1
    for got in (first, second):
        assert got["a"] == (0.25, 0.5) and isinstance(got["a"], tuple)
        assert math.isnan(got["nan"]) and got["inf"] == -math.inf
        assert got["rows"] == [1, "x", None] and got["ok"] is True
    memo.kept("demo", {"k": 2}, compute)
    assert len(calls) == 2, "other arguments are another result"


def test_a_damaged_file_is_computed_again(results):
    memo.kept("demo", {}, lambda: {"x": 1.0})
    (path,) = results.glob("demo-*.json")
    path.write_text("{not json")
    assert memo.kept("demo", {}, lambda: {"x": 2.0}) == {"x": 2.0}
    assert json.loads(path.read_text())["value"] == {"x": 2.0}


@pytest.mark.parametrize("value", [{"x": object()}, {1: 2.0}, {"x": {"__tuple__": 1}}, {"x": b"bytes"}])
def test_only_plain_values_are_kept(results, value):
    with pytest.raises(TypeError):
        memo.kept("demo", {}, lambda: value)
    assert not list(results.glob("demo-*.json"))


def test_asking_again_from_inside_the_computation_does_not_wait_for_itself(results):
    inner = []

    def compute():
        inner.append(memo.kept("demo", {}, lambda: {"x": 1.0}))
        return {"x": 1.0}

    assert memo.kept("demo", {}, compute) == {"x": 1.0} and inner == [{"x": 1.0}]


def test_a_per_process_cache_hands_each_caller_its_own_copy():
    import pandas as pd

    calls = []

    @memo.per_process(maxsize=2)
    def table(n):
        calls.append(n)
        return pd.DataFrame({"x": range(n)})

    first = table(3)
    first.loc[0, "x"] = 99
    again = table(3)
    assert calls == [3] and again["x"].tolist() == [0, 1, 2]


def test_a_per_process_cache_keys_a_call_by_its_bound_arguments():
    calls = []

    @memo.per_process()
    def f(resamples: int = 4000, seed: int = 0):
        calls.append((resamples, seed))
        return [resamples, seed]

    assert f(4000) == f(4000, 0) == f(resamples=4000) == f() == [4000, 0]
    assert calls == [(4000, 0)], "one computation for one set of arguments however it is written"
    assert f(4000, 1) == [4000, 1] and len(calls) == 2


def test_a_digest_follows_content_dtype_and_shape():
    import numpy as np

    a = np.arange(6, dtype=float)
    assert memo.digest(a) == memo.digest(a.copy())
    assert memo.digest(a) != memo.digest(a.reshape(2, 3))
    assert memo.digest(a) != memo.digest(a.astype(np.float32))
    b = a.copy()
    b[5] = np.nextafter(5.0, 6.0)
    assert memo.digest(a) != memo.digest(b)
    assert memo.digest(a, a) != memo.digest(a)


def test_kept_bootstraps_read_back_bit_for_bit_with_nan_and_empty_samples(results):
    import numpy as np

    from replication.fit.bootstrap import Bootstrap, kept_bootstraps

    rng = np.random.default_rng(3)
    samples = rng.normal(size=(50, 3))
    samples[4, 1] = np.nan
    many = {("huber", "points"): Bootstrap(("a", "b", "c"), samples, 60, (2.5, 97.5)),
            "empty": Bootstrap(("x",), np.empty((0, 1)), 10)}
    one = Bootstrap(("a",), samples[:, :1], 50)
    calls = []

    def compute():
        calls.append(1)
        return many, one

    for _ in range(2):
        got, got_one = kept_bootstraps("boots", {"seed": 3}, compute)
        assert set(got) == set(many)
        for key, b in many.items():
            g = got[key]
            assert g.names == b.names and g.resamples == b.resamples and g.percentiles == b.percentiles
            assert g.samples.shape == b.samples.shape
            assert np.array_equal(g.samples, b.samples, equal_nan=True)
        assert np.array_equal(got_one.samples, one.samples)
    assert calls == [1]
    assert kept_bootstraps("single", {}, lambda: ({}, None)) == ({}, None)
