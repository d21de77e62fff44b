"""Bad input to the commands that fit, plan and count: hostile ``--data`` files (a FIFO, a device, a symlink to
one, too big, empty, not UTF-8, too many rows or columns), data a fit cannot determine anything from, a Huber
delta out of range, plan questions and flops counts outside physical ranges, and an option given twice.

Each row is as in test_bad_inputs.py: exit status 2, one line on stderr naming the parameter and what is
allowed, no traceback, nothing written. Every row is guarded by a timeout: a FIFO or a device read the old way
hangs or fills memory instead of failing.
"""
import importlib
import os
import shlex

import numpy as np
import pytest

import replication.fit as F
from replication.cli import main
from replication.errors import ArgumentParser, ReplicationError
from replication.papers import chinchilla as paper
from test_bad_inputs import _one_line, _written

# the modules (replication.fit exports a function named observations, which shadows its module there)
observations, approach1, approach2, approach3 = (importlib.import_module(f"replication.fit.{m}") for m in
                                                 ("observations", "approach1", "approach2", "approach3"))

TRUE = {"A": 400.0, "B": 600.0, "E": 1.8, "alpha": 0.33, "beta": 0.30}
LIMIT = "67,108,864"  # replication.files.MAX_INPUT_BYTES, as the messages print it
REGULAR = "allowed: a regular file"
UTF8 = "allowed: a UTF-8 text file"


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    """Hostile files, degenerate data for each fit kind, and data past the fitters' size caps."""
    d = tmp_path_factory.mktemp("fit-inputs")
    os.mkfifo(d / "fifo.csv")
    os.symlink("/dev/zero", d / "zero.csv")
    with open(d / "huge.csv", "wb") as f:  # sparse: its size is over the cap without a byte on disk
        f.truncate(64 * 1024 * 1024 + 1)
    (d / "empty.csv").write_text("")
    (d / "latin1.csv").write_bytes("N,D,loss\n1e8,2e9,3.0\n# café\n".encode("latin-1"))
    (d / "rows.csv").write_text("N,D,loss\n" + "1,1,1\n" * (observations.MAX_CSV_ROWS + 1))
    (d / "wide.csv").write_text(",".join(f"c{i}" for i in range(observations.MAX_CSV_COLUMNS + 1)) + "\n1\n")

    pts = F.synthetic_points(TRUE, n_points=40)
    pts.to_csv(d / "pts.csv", index=False)
    (d / "same.csv").write_text("N,D,loss\n" + "1e8,2e9,3.0\n" * 20)
    pts.assign(loss=3.0).to_csv(d / "flat_loss.csv", index=False)
    pts.assign(N=1e8).to_csv(d / "flat_N.csv", index=False)
    pts.assign(D=2e9).to_csv(d / "flat_D.csv", index=False)
    F.synthetic_points(TRUE, n_points=approach3.MAX_POINTS + 1).to_csv(d / "many_points.csv", index=False)

    opt = paper.TABLE_3[["N", "D", "C"]]
    opt.assign(N=1e9).to_csv(d / "opt_flat_N.csv", index=False)
    opt.assign(D=1e11).to_csv(d / "opt_flat_D.csv", index=False)
    (d / "opt_same.csv").write_text("N,D,C\n" + "1e8,2e9,1.2e18\n" * 10)

    iso = F.synthetic_isoflops(TRUE, [1e18, 1e19, 1e20])
    iso.assign(loss=3.0).to_csv(d / "iso_flat_loss.csv", index=False)
    iso.assign(N=1e8).drop(columns="D").to_csv(d / "iso_flat_N.csv", index=False)
    c = np.logspace(18, 21, approach2.MAX_BUDGETS + 1)
    (d / "iso_budgets.csv").write_text("N,C,loss\n" + "".join(f"1e8,{x:.6e},3.0\n1e9,{x:.6e},2.9\n" for x in c))

    curves = F.synthetic_curves(TRUE, np.logspace(7, 9, 6), [1e9, 1e10])
    curves.assign(loss=3.0).to_csv(d / "curves_flat_loss.csv", index=False)
    curves.assign(N=1e8).to_csv(d / "curves_flat_N.csv", index=False)
    F.synthetic_curves(TRUE, np.logspace(7, 9, 12), [1e9, 1e10]).to_csv(d / "curves24.csv", index=False)
    runs = approach1.MAX_RUNS + 1
    (d / "curves_runs.csv").write_text("run,N,D,loss\n" + "".join(f"r{i},1e8,{dd},{lo}\n" for i in range(runs)
                                                                 for dd, lo in ((1e9, 3.0), (2e9, 2.9))))
    return d


DATA = [
    # (arguments, what the message must say); {d} is the inputs folder
    ("fit approach3 --data {d}/fifo.csv", ["--data=", "fifo.csv", "is not a regular file", REGULAR, LIMIT]),
    ("fit powerlaw --data {d}/fifo.csv", ["--data=", "is not a regular file", REGULAR]),
    ("plan --data {d}/fifo.csv --compute 1e20", ["--data=", "is not a regular file", REGULAR]),
    ("bench fit --data {d}/fifo.csv", ["--data=", "is not a regular file", REGULAR]),
    ("fit approach2 --data /dev/zero", ["--data='/dev/zero' is not a regular file", REGULAR]),
    ("plan --data /dev/zero --compute 1e20", ["--data='/dev/zero' is not a regular file", REGULAR]),
    ("bench fit --data /dev/zero", ["--data='/dev/zero' is not a regular file", REGULAR]),
    ("fit approach1 --data {d}/zero.csv", ["--data=", "zero.csv", "is not a regular file", REGULAR]),
    ("plan --data {d}/zero.csv --compute 1e20", ["--data=", "is not a regular file", REGULAR]),
    ("bench fit --data {d}/zero.csv", ["--data=", "is not a regular file", REGULAR]),
    ("fit prefactor --data {d}/huge.csv", ["--data=", "has 67,108,865 bytes", f"allowed: at most {LIMIT}"]),
    ("plan --data {d}/huge.csv --compute 1e20", ["--data=", f"allowed: at most {LIMIT}"]),
    ("bench fit --data {d}/huge.csv", ["--data=", f"allowed: at most {LIMIT}"]),
    ("fit approach3 --data {d}/empty.csv", ["--data=", "is empty", "a CSV with a header"]),
    ("plan --data {d}/empty.csv --compute 1e20", ["--data=", "is empty"]),
    ("bench fit --data {d}/empty.csv", ["--data=", "is empty"]),
    ("fit approach3 --data {d}/latin1.csv", ["--data=", "is not UTF-8 text (byte 26)", UTF8]),
    ("plan --data {d}/latin1.csv --compute 1e20", ["--data=", "is not UTF-8 text", UTF8]),
    ("bench fit --data {d}/latin1.csv", ["--data=", "is not UTF-8 text", UTF8]),
    ("fit powerlaw --data {d}/rows.csv", ["--data=", "has 1,000,001 rows", "at most 1,000,000 rows"]),
    ("fit approach3 --data {d}/wide.csv", ["--data=", "more than 100 columns", "at most 100"]),
]

DEGENERATE = [
    ("fit approach3 --data {d}/same.csv", ["N has the same value (1e+08) in all 20 rows", "Approach 3", "N, D and loss"]),
    ("fit approach3 --data {d}/flat_loss.csv", ["loss has the same value (3) in all 40 rows", "2 or more values"]),
    ("fit approach3 --data {d}/flat_N.csv", ["N has the same value (1e+08)", "Approach 3"]),
    ("fit approach3 --data {d}/flat_D.csv", ["D has the same value (2e+09)", "Approach 3"]),
    ("fit approach3 --method likelihood --data {d}/flat_D.csv", ["D has the same value (2e+09)", "Approach 3"]),
    ("fit approach3 --data {d}/many_points.csv", ["Approach 3 got 5,001 points", "at most 5,000"]),
    ("fit powerlaw --data {d}/opt_flat_N.csv", ["N has the same value (1e+09) in all 9 rows", "must change with"]),
    ("fit powerlaw --data {d}/opt_flat_D.csv", ["D has the same value (1e+11) in all 9 rows", "must change with"]),
    ("fit powerlaw --data {d}/opt_same.csv", ["C must take at least 2 distinct values"]),
    ("fit prefactor --data {d}/opt_same.csv", ["all 10 rows are the same point", "one row per budget"]),
    ("fit approach2 --data {d}/iso_flat_loss.csv", ["loss has the same value (3)", "Approach 2", "N and loss"]),
    ("fit approach2 --data {d}/iso_flat_N.csv", ["N has the same value (1e+08)", "Approach 2"]),
    ("fit approach2 --data {d}/iso_budgets.csv", ["1,001 IsoFLOP budgets", "at most 1,000"]),
    ("fit approach1 --data {d}/curves_flat_loss.csv", ["loss has the same value (3)", "Approach 1", "N and loss"]),
    ("fit approach1 --data {d}/curves_flat_N.csv", ["N has the same value (1e+08)", "Approach 1"]),
    ("fit approach1 --data {d}/curves_runs.csv", ["Approach 1 got 5,001 runs", "at most 5,000"]),
    ("fit approach1 --data {d}/curves24.csv --grid-points 1000000", ["24 runs × 1,000,000 grid points",
                                                                      "at most 20,000,000"]),
    ("plan --data {d}/flat_loss.csv --compute 1e20", ["loss has the same value (3)", "Approach 3"]),
    ("bench fit --data {d}/flat_D.csv --starts 1 --bootstrap 0", ["D has the same value (2e+09)", "Approach 3"]),
]

DELTA = [
    ("fit approach3 --data {d}/pts.csv --grid 5 --delta 1e-310", ["delta=1e-310", "[1e-06, 10.0]"]),
    ("fit approach3 --data {d}/pts.csv --grid 5 --delta 1e-8", ["delta=1e-08", "[1e-06, 10.0]"]),
    ("fit approach3 --data {d}/pts.csv --grid 5 --delta 11", ["delta=11.0", "[1e-06, 10.0]"]),
    ("fit approach3 --data {d}/pts.csv --grid 5 --delta 1e300", ["delta=1e+300", "[1e-06, 10.0]"]),
]

PLAN = [
    ("plan --compute 1e-300", ["--compute=1e-300", "[1e+06, 1e+35] FLOPs"]),
    ("plan --compute 1e5", ["--compute=100000.0", "[1e+06, 1e+35] FLOPs"]),
    ("plan --compute 1e36", ["--compute=1e+36", "[1e+06, 1e+35] FLOPs"]),
    ("plan --loss 1e300", ["--loss=1e+300", "(0, 20] nats per token", "above the law's E"]),
    ("plan --loss 21", ["--loss=21.0", "(0, 20]"]),
    ("plan --loss 0", ["--loss=0.0", "(0, 20]"]),
    ("plan --loss 1.0", ["target loss 1 is not above the irreducible loss E = 1.693", "allowed: loss > E"]),
    ("plan --params 1e-300", ["--params=1e-300", "[1000, 1e+15] parameters"]),
    ("plan --params 1e16", ["--params=1e+16", "[1000, 1e+15] parameters"]),
    ("plan --tokens 1e-300", ["--tokens=1e-300", "[1000, 1e+17] training tokens"]),
    ("plan --tokens 1e18", ["--tokens=1e+18", "[1000, 1e+17] training tokens"]),
    ("plan --loss 2 --inference-tokens=-1", ["--inference-tokens=-1.0", "[0, 1e+20] tokens served"]),
    ("plan --loss 2 --inference-tokens 1e21", ["--inference-tokens=1e+21", "[0, 1e+20] tokens served"]),
    ("plan --data {d}/pts.csv --compute 1e-300", ["--compute=1e-300", "[1e+06, 1e+35]"]),  # before the slow fit
]

FLOPS = [
    ("flops --channels 1000000000000000000000000000000", ["--channels=1000000000000000000000000000000",
                                                           "[1, 1000000]"]),
    ("flops --vocab-size 100000000", ["--vocab-size=100000000", "[1, 10000000]"]),
    ("flops --layers 100000", ["--layers=100000", "[1, 10000]"]),
    ("flops --max-seq-len 1000000000", ["--max-seq-len=1000000000", "[1, 100000000]"]),
    ("flops --heads 10000000", ["--heads=10000000", "[1, 1000000]"]),
    ("flops --decoder-only --ffw-size 100000000", ["--ffw-size=100000000", "[1, 10000000]"]),
    ("flops --decoder-only --kv-size 1000000", ["--kv-size=1000000", "[1, 100000]"]),
    ("flops --table-a4 --max-seq-len 1000000000", ["--max-seq-len=1000000000", "[1, 100000000]"]),
]

TWICE = "given more than once; allowed: once"
DUPLICATES = [
    ("fit approach3 --data {d}/same.csv --data {d}/pts.csv", ["argument --data", TWICE]),
    ("fit approach3 --data={d}/same.csv --dat {d}/pts.csv", ["argument --data", TWICE]),  # an abbreviation too
    ("fit approach3 --data {d}/pts.csv --json --json", ["argument --json", TWICE]),
    ("fit approach3 --data {d}/pts.csv --delta 1e-3 --delta 1e-2", ["argument --delta", TWICE]),
    ("plan --compute 1e20 --compute=1e21", ["argument --compute", TWICE]),
    ("plan --law paper --law besiroglu --compute 1e20", ["argument --law", TWICE]),
    ("flops --layers 3 --layers 4", ["argument --layers", TWICE]),
    ("flops --decoder-only --decoder-only", ["argument --decoder-only", TWICE]),
    ("bench fit --starts 1 --starts 2", ["argument --starts", TWICE]),
    ("train --channels 32 --channels 64 --layers 2", ["argument --channels", TWICE]),
]

ROWS = DATA + DEGENERATE + DELTA + PLAN + FLOPS + DUPLICATES


@pytest.mark.timeout(30)
@pytest.mark.parametrize("argv, expected", ROWS, ids=[r[0] for r in ROWS])
def test_a_bad_fit_plan_or_flops_command_is_one_line_and_writes_nothing(argv, expected, d, tmp_path, monkeypatch,
                                                                         capsys):
    runs = tmp_path / "runs"
    monkeypatch.setenv("REPLICATION_RUNS_DIR", str(runs))
    before = _written()
    code = main(shlex.split(argv.format(d=d)))
    captured = capsys.readouterr()
    _one_line(captured.err, expected)
    assert len(captured.err.strip().splitlines()) == 1, captured.err
    assert code == 2
    assert not runs.exists() or not [p for p in runs.iterdir() if not p.name.startswith(".")]
    assert _written() == before


# -- what the checks let through --------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_csv_at_the_row_cap_is_read(tmp_path):
    path = tmp_path / "cap.csv"
    path.write_text("N,D,loss\n" + "1,2,3\n" * observations.MAX_CSV_ROWS)
    table = F.read_csv(str(path))
    assert table.shape == (observations.MAX_CSV_ROWS, 3) and list(table.columns) == ["N", "D", "loss"]


def test_read_csv_names_the_option_it_is_given(tmp_path):
    with pytest.raises(ReplicationError, match=r"^--runs='.*nope.csv': no such file$"):
        F.read_csv(str(tmp_path / "nope.csv"), "--runs")


def test_repeatable_options_still_repeat_and_one_parser_parses_twice():
    p = ArgumentParser(prog="t")
    p.add_argument("-p", "--param", action="append", default=[])
    p.add_argument("-v", action="count", default=0)
    p.add_argument("--x", type=int)
    a = p.parse_args(["-p", "a=1", "--param", "b=2", "-v", "-v", "--x", "3"])
    assert a.param == ["a=1", "b=2"] and a.v == 2 and a.x == 3
    assert p.parse_args(["--x", "4"]).x == 4  # what was seen in the first parse does not carry over
    with pytest.raises(ReplicationError, match=r"^argument --x: given more than once"):
        p.parse_args(["--x", "4", "--x", "5"])


def test_delta_at_its_bounds_fits():
    pts = F.synthetic_points(TRUE, n_points=40)
    lo, hi = approach3.DELTA_RANGE
    for delta in (lo, hi):
        fit = F.fit_approach3(pts, delta=delta, grid=20)
        assert fit.status == "converged"
        assert fit["alpha"] == pytest.approx(TRUE["alpha"], rel=1e-3)


def test_a_column_that_varies_passes_and_a_single_row_is_left_to_need_points():
    observations.need_variation("x", N=np.array([1.0, 2.0]), D=np.array([5.0]), loss=None)
    with pytest.raises(ReplicationError, match=r"^loss has the same value \(2\) in all 3 rows; the fit needs it$"):
        observations.need_variation("the fit needs it", N=np.array([1.0, 2.0, 3.0]), loss=np.full(3, 2.0))


def test_one_row_per_budget_is_still_a_prefactor_fit():
    """Fixed exponents are determined by one budget: one row fits; only copies of a row are refused."""
    t = paper.TABLE_3.iloc[:1]
    fit = F.fit_prefactors(t["C"], t["N"], t["D"], 0.5, 0.5)
    assert fit.params["k_N"] == pytest.approx(float(t["N"].iloc[0] / t["C"].iloc[0] ** 0.5))
