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
