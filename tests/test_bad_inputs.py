"""Bad input, through every command and every chapter parameter: exit status 2 and one line on stderr that
names the parameter and what is allowed, no traceback, and nothing written.

Commands run in-process (``replication.cli.main``). A chapter parameter is refused either before the chapter
runs (by name and type, a command row) or inside it, by the library function its cell calls with the value:
those rows call that function the way the cell does, and a few real ``replication run`` rows (slow) show
that the same error comes out of the command.
"""
import shlex
import subprocess
from pathlib import Path

import numpy as np
import pytest

import replication.fit as F
from replication import claims
from replication.cli import main
from replication.errors import ReplicationError
from replication.counting import PerceiverARShape
from replication.fit.laws import anchored_allocation, chinchilla_law, growth_table
from replication.fit.stopping import sum_versus_mean
from replication.fit.vertex_bias import off_centre_bias
from replication.papers import chinchilla as paper
from replication.studies import chinchilla as study
from replication.studies import accountings, krasser, krasser_design

REPO = Path(__file__).resolve().parents[1]
CHAPTER_OUTPUT = REPO / "runs" / "chapters"
TRUE = {"A": 400.0, "B": 600.0, "E": 1.8, "alpha": 0.33, "beta": 0.30}
#: What every fitter, chapter and command says of a bad number of bootstrap resamples.
RESAMPLES = "allowed: 0 (no interval) or an integer in [2, 1000000]"
FINITE = "allowed: finite numbers"
#: Executing a chapter takes seconds.
EXECUTED = [pytest.mark.slow]


def _rows(n):
    return "".join(f"{1e8 * (i + 1)},{1e9 * (i + 2)},{3.0 - 0.1 * i}\n" for i in range(n))


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    """A folder of inputs: good data for each kind, and bad CSV and YAML files."""
    d = tmp_path_factory.mktemp("inputs")
    paper.TABLE_3[["N", "D", "C"]].to_csv(d / "opt.csv", index=False)
    F.synthetic_isoflops(TRUE, [1e18, 1e19, 1e20]).to_csv(d / "iso.csv", index=False)
    F.synthetic_points(TRUE, n_points=40).to_csv(d / "pts.csv", index=False)
    F.synthetic_curves(TRUE, np.logspace(7, 9, 6), [1e9, 1e10]).to_csv(d / "curves.csv", index=False)
    pts = F.synthetic_points(TRUE, n_points=12)
    body = [(n, dd, lo) for n, dd, lo in pts[["N", "D", "loss"]].to_numpy()]
    (d / "dup.csv").write_text("N,D,loss,loss\n" + "".join(f"{n},{dd},{lo},{2 * lo}\n" for n, dd, lo in body))
    (d / "dupspace.csv").write_text("N,D,loss, loss\n" + "".join(f"{n},{dd},{lo},{2 * lo}\n" for n, dd, lo in body))
    (d / "ragged.csv").write_text("N,D,loss\n" + _rows(8) + "1,2,3,4\n")
    (d / "bool.csv").write_text("N,D,loss\n" + "".join(f"True,{dd},{lo}\n" for _, dd, lo in body))
    (d / "header.csv").write_text("N,D,loss\n")
    (d / "overflow.csv").write_text("N,D,loss\n1e160,1e160,2\n1e161,1e160,2.1\n1e162,1e161,2.2\n")
    (d / "binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    (d / "bad.yaml").write_text("glance: [\n")
    (d / "unknown.yaml").write_text("nosuch:\n  a: 1\n")
    (d / "badparam.yaml").write_text("glance:\n  nosuch: 1\n")
    (d / "badtype.yaml").write_text("glance:\n  c_min: abc\n")
    (d / "list.yaml").write_text("- 1\n- 2\n")
    return d


#: What the test runners themselves create at the top of the repository (the site build of tests/test_site.py,
#: pytest's and hypothesis's caches), perhaps in another pytest worker while a command here runs.
RUNNERS_OWN = {"_build", ".pytest_cache", ".hypothesis"}


def _written():
    """What a command could have written: the status of the folders it writes to (the run store, the data
    sets, the book), the entries at the top of the repository, and chapter outputs (ignored by git).

    The source folders are left out so that an edit made while the suite runs is not taken for a write.
    """
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--", "runs", "data", "book"],
                            cwd=REPO, capture_output=True, text=True, check=True).stdout
    top = sorted(p.name for p in REPO.iterdir() if p.name not in RUNNERS_OWN)
    outputs = sorted(p for p in CHAPTER_OUTPUT.rglob("*") if p.is_file()) if CHAPTER_OUTPUT.is_dir() else []
    return status, top, outputs


def _one_line(err: str, expected) -> None:
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= 2, err
    assert "Traceback" not in err, err
    for text in expected:
        assert text in lines[-1], f"{text!r} not in {lines[-1]!r}"


# -- commands --------------------------------------------------------------------------------------

FIT = [
    # (arguments, what the message must say); {d} is the inputs folder
    ("fit approach2 --data {d}/iso.csv --budgets ,", ["argument --budgets", "comma-separated numbers"]),
    ("fit approach2 --data {d}/iso.csv --budgets 1e18,abc", ["argument --budgets", "expected a number"]),
    ("fit approach2 --data {d}/iso.csv --budgets=-1e18,1e19", ["budgets[0]=-1e+18", "(0, inf)"]),
    ("fit approach2 --data {d}/iso.csv --budgets -1e18,1e19", ["argument --budgets", "--option=VALUE"]),
    ("fit approach2 --data {d}/iso.csv --budgets 1e18,inf", ["argument --budgets", FINITE]),
    ("fit approach2 --data {d}/iso.csv --budgets 1e18,1e400", ["argument --budgets", FINITE]),
    ("fit approach2 --data {d}/iso.csv --budgets 1e18,1e19 --snap-tol 0", ["snap_tol=0.0", "(0, 1)"]),
    ("fit approach2 --data {d}/iso.csv --budgets 1e18,1e19 --snap-tol 1", ["snap_tol=1.0", "(0, 1)"]),
    ("fit approach2 --data {d}/iso.csv --snap-tol -1", ["snap_tol=-1.0", "(0, 1)"]),
    ("fit approach2 --data {d}/iso.csv --snap-tol nan", ["argument --snap-tol", FINITE]),
    ("fit approach2 --data {d}/iso.csv --on-edge ignore", ["argument --on-edge", "'exclude', 'raise'"]),
    ("fit approach2 --data {d}/iso.csv --bootstrap 1", ["bootstrap=1", RESAMPLES]),
    ("fit approach2 --data {d}/iso.csv --bootstrap 5 --seed -1", ["seed=-1", "[0, inf)"]),
    ("fit approach2 --data {d}/iso.csv --delta 0.1", ["--delta does not apply to approach2", "approach3"]),
    ("fit approach2 --data {d}/pts.csv", ["at least 2 budgets with an interior minimum", "need 5"]),
    ("fit powerlaw --data {d}/opt.csv --seed -1 --bootstrap 5", ["seed=-1", "[0, inf)"]),
    ("fit powerlaw --data {d}/opt.csv --seed -1", ["seed=-1", "[0, inf)"]),
    ("fit powerlaw --data {d}/opt.csv --bootstrap 1", ["bootstrap=1", RESAMPLES]),
    ("fit powerlaw --data {d}/opt.csv --bootstrap -1", ["bootstrap=-1", RESAMPLES]),
    ("fit powerlaw --data {d}/opt.csv --bootstrap 2000000", ["bootstrap=2000000", RESAMPLES]),
    ("fit powerlaw --data {d}/opt.csv --bootstrap 2.5", ["argument --bootstrap", "invalid int value"]),
    ("fit powerlaw --data {d}/opt.csv --tail 0.2", ["--tail does not apply to powerlaw", "approach1"]),
    ("fit prefactor --data {d}/opt.csv --a 1e400", ["argument --a", FINITE]),
    ("fit prefactor --data {d}/opt.csv --a inf", ["argument --a", FINITE]),
    ("fit prefactor --data {d}/opt.csv --a -0.5", ["a=-0.5", "[0, 2]"]),
    ("fit prefactor --data {d}/opt.csv --a 3", ["a=3.0", "[0, 2]"]),
    ("fit prefactor --data {d}/opt.csv --b nan", ["argument --b", FINITE]),
    ("fit prefactor --data {d}/opt.csv --bootstrap 5", ["--bootstrap does not apply to prefactor", "powerlaw"]),
    ("fit prefactor --data {d}/opt.csv --space cubic", ["argument --space", "'linear', 'log'"]),
    ("fit prefactor --data {d}/opt.csv --method huber", ["--method does not apply to prefactor", "approach3"]),
    ("fit prefactor --data {d}/opt.csv --grid 10", ["--grid does not apply to prefactor", "approach3"]),
    ("fit approach1 --data {d}/curves.csv --tail 0", ["tail=0.0", "(0, 1]"]),
    ("fit approach1 --data {d}/curves.csv --tail 1.5", ["tail=1.5", "(0, 1]"]),
    ("fit approach1 --data {d}/curves.csv --tail inf", ["argument --tail", FINITE]),
    ("fit approach1 --data {d}/curves.csv --grid-points 1", ["grid_points=1", "[2, 1000000]"]),
    ("fit approach1 --data {d}/curves.csv --grid-points -5", ["grid_points=-5", "[2, 1000000]"]),
    ("fit approach1 --data {d}/curves.csv --grid-points 2000000", ["grid_points=2000000", "[2, 1000000]"]),
    ("fit approach1 --data {d}/curves.csv --grid-points 1.5", ["argument --grid-points", "invalid int value"]),
    ("fit approach1 --data {d}/curves.csv --bootstrap 1", ["bootstrap=1", RESAMPLES]),
    ("fit approach1 --data {d}/curves.csv --bootstrap 3 --seed -1", ["seed=-1", "[0, inf)"]),
    ("fit approach1 --data {d}/curves.csv --budgets 1e19", ["--budgets does not apply to approach1", "approach2"]),
    ("fit approach1 --data {d}/pts.csv", ["at least 2 runs", "last 15%"]),
    ("fit approach3 --data {d}/pts.csv --grid 0", ["grid=0", "[1, 4500]"]),
    ("fit approach3 --data {d}/pts.csv --grid 5000", ["grid=5000", "[1, 4500]"]),
    ("fit approach3 --data {d}/pts.csv --grid 2.5", ["grid='2.5'", "'chinchilla', a number of starts in [1, 4500]"]),
    ("fit approach3 --data {d}/pts.csv --grid abc", ["grid='abc'", "'chinchilla', a number of starts in [1, 4500]"]),
    ("fit approach3 --data {d}/pts.csv --grid -3", ["grid='-3'", "'chinchilla', a number of starts in [1, 4500]"]),
    ("fit approach3 --data {d}/pts.csv --grid 5 --delta 0", ["delta=0.0", "[1e-06, 10.0]"]),
    ("fit approach3 --data {d}/pts.csv --grid 5 --delta -1", ["delta=-1.0", "[1e-06, 10.0]"]),
    ("fit approach3 --data {d}/pts.csv --grid 5 --delta inf", ["argument --delta", FINITE]),
    ("fit approach3 --data {d}/pts.csv --grid 5 --delta 1e400", ["argument --delta", FINITE]),
    ("fit approach3 --data {d}/pts.csv --grid 5 --delta nan", ["argument --delta", FINITE]),
    ("fit approach3 --data {d}/pts.csv --grid 5 --bootstrap 1", ["bootstrap=1", RESAMPLES]),
    ("fit approach3 --data {d}/pts.csv --grid 5 --seed -1", ["seed=-1", "[0, inf)"]),
    ("fit approach3 --data {d}/pts.csv --method mean", ["argument --method", "'huber', 'likelihood'"]),
    ("fit approach3 --data {d}/pts.csv --tail 0.5", ["--tail does not apply to approach3", "approach1"]),
    ("fit approach3 --data {d}/opt.csv", ["missing column 'loss'", "need columns N, D, loss"]),
    ("fit approach3 --data {d}/dup.csv", ["column 'loss' appears more than once", "each column once"]),
    ("fit approach3 --data {d}/dupspace.csv", ["column 'loss' appears more than once", "each column once"]),
    ("fit approach3 --data {d}/ragged.csv", ["cannot read as CSV", "Expected 3 fields in line 10, saw 4"]),
    ("fit approach3 --data {d}/bool.csv", ["N must be numeric", "finite values > 0"]),
    ("fit approach3 --data {d}/binary.csv", ["--data=", "is not UTF-8 text", "a UTF-8 text file"]),
    ("fit approach3 --data {d}/header.csv", ["has no rows", "one row per run"]),
    ("fit powerlaw --data {d}/overflow.csv", ["6·N·D overflows at row 0", "or give column C"]),
    ("fit approach3 --data {d}/overflow.csv", ["6·N·D overflows at row 0", "or give column C"]),
    ("fit approach3 --data {d}/missing.csv", ["missing.csv", "no such file"]),
    ("fit approach3 --data {d}", ["--data=", "is not a regular file", "allowed: a regular file"]),
    ("fit approach3", ["required", "--data"]),
    ("fit cubic --data {d}/pts.csv", ["argument kind", "'prefactor', 'powerlaw', 'approach1'"]),
    ("fit approach3 --data {d}/pts.csv --bogus 1", ["unrecognized arguments: --bogus"]),
    ("fit", ["required", "kind"]),
]

FLOPS = [
    ("flops --vocab-size 0", ["--vocab-size=0", "[1, 10000000]"]),
    ("flops --num-latents 4096", ["--num-latents=4096 must be < --max-seq-len=2048"]),
    ("flops --num-latents 0", ["--num-latents=0", "[1, 100000000]"]),
    ("flops --channels -512", ["--channels=-512", "[1, 1000000]"]),
    ("flops --layers 0", ["--layers=0", "[1, 10000]"]),
    ("flops --heads 0", ["--heads=0", "[1, 1000000]"]),
    ("flops --heads 3", ["--channels=512 must be divisible by --heads=3"]),
    ("flops --prefix-dropout 1", ["--prefix-dropout=1.0", "[0.0, 1.0)"]),
    ("flops --prefix-dropout -0.1", ["--prefix-dropout=-0.1", "[0.0, 1.0)"]),
    ("flops --prefix-dropout inf", ["argument --prefix-dropout", FINITE]),
    ("flops --prefix-dropout 1e400", ["argument --prefix-dropout", FINITE]),
    ("flops --accounting kaplan", ["argument --accounting", "'article', 'corrected'"]),
    ("flops --channels 1.5", ["argument --channels", "invalid int value"]),
    ("flops --kv-size 64", ["--kv-size does not apply to Perceiver AR", "--decoder-only"]),
    ("flops --ffw-size 64", ["--ffw-size does not apply to Perceiver AR", "--decoder-only"]),
    ("flops --decoder-only --ffw-size 0", ["--ffw-size=0", "[1, 10000000]"]),
    ("flops --decoder-only --kv-size -1", ["--kv-size=-1", "[1, 100000]"]),
    ("flops --decoder-only --max-seq-len 0", ["--max-seq-len=0", "[1, 100000000]"]),
    ("flops --decoder-only --heads 3", ["--channels=512 must be divisible by --heads=3"]),
    ("flops --decoder-only --num-latents 128", ["--num-latents does not apply to --decoder-only", "Perceiver AR"]),
    ("flops --decoder-only --accounting article", ["--accounting does not apply to --decoder-only", "Perceiver AR"]),
    ("flops --table-a4 --decoder-only", ["--table-a4 and --decoder-only exclude each other"]),
    ("flops --table-a4 --channels 7", ["--channels does not apply to --table-a4", "--decoder-only"]),
    ("flops --table-a4 --vocab-size 0", ["--vocab-size=0", "[1, 10000000]"]),
    ("flops --bogus", ["unrecognized arguments: --bogus"]),
]

TRAIN = [
    ("train --channels 0 --layers 2 --steps 10", ["num_channels=0", "[1, inf)"]),
    ("train --channels 32 --layers 0 --steps 10", ["num_layers=0", "[1, inf)"]),
    ("train --channels 32 --layers 2 --steps 0", ["steps=0", "allowed: [1, "]),
    ("train --channels 32 --layers 2 --budget-flops 0", ["budget_flops=0.0", "(0, inf)"]),
    ("train --channels 32 --layers 2 --budget-flops nan", ["budget_flops=nan", "finite"]),
    ("train --channels 32 --layers 2 --budget-flops inf", ["budget_flops=inf", "finite"]),
    ("train --channels 32 --layers 2 --budget-flops 1e400", ["budget_flops=inf", "finite"]),
    ("train --channels 32 --layers 2 --steps 10 --lr 0", ["lr=0.0", "(0.0, 1.0]"]),
    ("train --channels 32 --layers 2 --steps 10 --tokenizer foo", ["tokenizer='foo'", "bytes or sentencepiece:<V>"]),
    ("train --channels 32 --layers 2 --steps 10 --tokenizer sentencepiece:0", ["vocab_size=0", "[16, 1000000]"]),
    ("train --channels 32 --layers 2 --steps 10 --corpus nosuch", ["corpus='nosuch'", "kjv, files:<glob>, hf:<name>"]),
    ("train --channels 32 --layers 2 --steps 10 --corpus hf:", ["corpus='hf:'", "needs a dataset name"]),
    ("train --channels 32 --layers 2 --steps 10 --corpus files:/nonexistent/*.txt", ["matches no files"]),
    ("train --channels 32 --layers 2 --steps 10 --max-seq-len 10", ["max_seq_len=10 must be > latents=512"]),
    ("train --channels 32 --layers 2 --steps 10 --heads 3", ["num_channels=32 must be divisible by num_heads=3"]),
    ("train --channels 32 --layers 2 --steps 10 --prefix-dropout 1", ["prefix_dropout=1.0", "[0.0, 1.0)"]),
    ("train --channels 32 --layers 2 --steps 10 --seed -1", ["seed=-1", "allowed: [0, "]),
    ("train --channels 32 --layers 2 --steps 10 --accounting foo", ["accounting='foo'", "article, corrected"]),
    ("train --channels 32 --layers 2 --steps 10 --runs-dir /proc/nope", ["--runs-dir", "/proc/nope"]),
    ("train", ["required", "--channels"]),
    ("train --channels 32 --layers 2 --budget-flops -1e12", ["argument --budget-flops", "--option=VALUE"]),
    ("train --channels 32 --layers 2 --budget-flops=-1e12", ["budget_flops=-1000000000000.0", "allowed: (0"]),
    ("train --channels 32 --layers 2 --steps 10 --budget-flops 1e12", ["--budget-flops", "not allowed with", "--steps"]),
    ("train --channels 32 --layers 2 --steps 1.5", ["argument --steps", "invalid int value"]),
    pytest.param("train --channels 32 --layers 2 --steps 10 --corpus hf:nosuch/dataset",
                 ["corpus='hf:nosuch/dataset'", "cannot be loaded"],  # the Hub's retries, logged on stderr
                 marks=[pytest.mark.slow]),
]

CHAPTERS = [
    ("run nosuch", ["chapter='nosuch'", "chapters: approach1"]),
    ("run ../README", ["chapter='../README'", "chapters: approach1"]),
    ("run", ["required", "chapter"]),
    ("run glance -p c_min", ["-p expects name=value", "'c_min'"]),
    ("run glance -p nosuch=1", ["unknown parameter 'nosuch'", "parameters: c_min, c_max, factor"]),
    ("run glance -p c_min=abc", ["parameter 'c_min' expects float", "'abc'"]),
    ("run glance -p c_min=inf", ["parameter 'c_min' must be finite"]),
    ("run glance -p c_min=1e400", ["parameter 'c_min' must be finite"]),
    ("run glance -p c_min=nan", ["parameter 'c_min' must be finite"]),
    ("run glance -p factor=True", ["parameter 'factor' expects float", "True"]),
    ("run approach3 -p grid=300", ["parameter 'grid' expects str"]),  # documented: grid="300"
    ("run approach3 -p bootstrap=0.5", ["parameter 'bootstrap' expects int", "0.5"]),
    ("run experiment1 -p seeds=5", ["parameter 'seeds' expects list", "5"]),
    ("run glance --params {d}/missing.yaml", ["--params=", "missing.yaml", "no such file"]),
    ("book --params {d}/bad.yaml", ["params file bad.yaml", "not valid YAML"]),
    ("book --params {d}/unknown.yaml", ["unknown chapter 'nosuch'", "chapters: approach1"]),
    ("book --params {d}/badparam.yaml", ["unknown parameter 'nosuch'", "parameters: c_min"]),
    ("book --params {d}/badtype.yaml", ["parameter 'c_min' expects float", "'abc'"]),
    ("book --params {d}/list.yaml", ["params file list.yaml", "expected a mapping chapter -> {name: value}"]),
    ("book --bogus", ["unrecognized arguments: --bogus"]),
    # executed: the chapter's own cell refuses the value
    pytest.param("run approach2 -p noise=-1.0", ["approach2: cell", "noise=-1.0", "[0, inf)"], marks=EXECUTED),
    pytest.param("run study -p bootstrap=0", ["study: cell", "bootstrap=0", "[2, 1000000]"], marks=EXECUTED),
    pytest.param("run flops -p my_models=[[512]]", ["flops: cell", "my_models entry [512] is not a pair"],
                 marks=EXECUTED),
    pytest.param("run approach1 -p demo_sizes=[1e7,3e9]", ["approach1: cell", "demo_sizes=", "[first, last, count]"],
                 marks=EXECUTED),
]

BENCH = [
    ("bench", ["bench: choose one of:", "fit"]),
    ("bench nosuch", ["bench: choose one of:", "fit"]),
    ("bench fit --starts 0", ["--starts=0", "[1, 4500]"]),
    ("bench fit --starts abc", ["argument --starts", "invalid int value"]),
    ("bench fit --bootstrap 1", ["--bootstrap=1", RESAMPLES]),
    ("bench fit --bootstrap -1", ["--bootstrap=-1", RESAMPLES]),
    ("bench fit --seed -1", ["--seed=-1", "[0, inf)"]),
    ("bench fit --gradient foo", ["argument --gradient", "'numeric', 'analytic'"]),
    ("bench fit --data {d}/missing.csv", ["missing.csv", "no such file"]),
    ("bench fit --data {d}/dup.csv", ["column 'loss' appears more than once"]),
    ("bench train nosuch", ["config='nosuch'", "tiny, small"]),
    ("bench train --steps 0", ["steps=0", "[1, 10000]"]),
    ("bench train --warmup -1", ["warmup=-1", "[0, 10000]"]),
    ("bench train --threads 0", ["threads=0", "[1, 1024]"]),
    ("bench train --bogus", ["unrecognized arguments: --bogus"]),
    ("nosuch", ["unknown command 'nosuch'", "choose one of: run, book"]),
]


def _id(row):
    return row.values[0] if hasattr(row, "values") else row[0]


@pytest.mark.parametrize("argv, expected", FIT + FLOPS + TRAIN + CHAPTERS + BENCH,
                         ids=[_id(r) for r in FIT + FLOPS + TRAIN + CHAPTERS + BENCH])
def test_a_bad_command_line_is_one_line_and_writes_nothing(argv, expected, d, tmp_path, monkeypatch, capsys):
    runs = tmp_path / "runs"
    if not argv.startswith("run "):  # a chapter reads the recorded runs; git status guards those
        monkeypatch.setenv("REPLICATION_RUNS_DIR", str(runs))
    before = _written()
    try:
        code = main(shlex.split(argv.format(d=d)))
    except SystemExit as stop:  # argparse's own exit, with the usage printed above its message
        code = stop.code
    _one_line(capsys.readouterr().err, expected)
    assert code == 2
    # no run folder (the store's hidden caches and locks are not records)
    assert not runs.exists() or not [p for p in runs.iterdir() if not p.name.startswith(".")]
    assert _written() == before


# -- chapter parameters, through the library functions their cells call ---------------------------

BUDGETS = [6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21]
EQ10 = paper.EQ10_UNROUNDED


def _points():
    return F.synthetic_points(TRUE, n_points=40)


def _iso(**kw):
    return F.synthetic_isoflops(EQ10, kw.pop("budgets", BUDGETS), **kw)


def _curves(grid_points=1500):
    curves = F.synthetic_curves(EQ10, np.logspace(7, 9, 4), np.logspace(8.5, 10, 3))
    return F.fit_approach1(curves, grid_points=grid_points)


def _experiment(**kw):
    return krasser_design.Experiment("mine", kw.pop("vocab", 32000), 2048, kw.pop("ref_steps", 50000),
                                     krasser_design.check_models(kw.pop("models", [[512, 9]]), "my_models"))


PARAMETERS = [
    # (chapter parameter, the call its cell makes with it, what the message must say)
    ("glance c_min=0", lambda: anchored_allocation(0.0, 1e26), ["c_min=0.0", "0 < c_min < c_max"]),
    ("glance c_max<c_min", lambda: anchored_allocation(1e18, 1e17), ["c_max=1e+17", "0 < c_min < c_max"]),
    ("glance factor=1.0", lambda: growth_table(1.0), ["factor=1.0", "(1, inf)"]),
    ("flops my_models=[]", lambda: krasser_design.check_models([], "my_models"),
     ["my_models=[]", "[num_channels, num_layers] integer pairs"]),
    ("flops my_models=[[512]]", lambda: krasser_design.check_models([[512]], "my_models"),
     ["my_models entry [512] is not a pair", "[num_channels, num_layers]"]),
    ("flops my_models=[[0, 9]]", lambda: _experiment(models=[[0, 9]]), ["my_models num_channels=0", "[1, inf)"]),
    ("flops my_models=[[500, 9]]", lambda: _experiment(models=[[500, 9]]),
     ["num_channels=500 must be divisible by num_heads=8"]),
    ("flops my_vocab_size=0", lambda: PerceiverARShape(0, 2048, 512, 512, 9), ["vocab_size=0", "[1, inf)"]),
    ("flops my_max_seq_len=100", lambda: PerceiverARShape(32000, 100, 512, 512, 9),
     ["num_latents=512 must be <= max_seq_len=100"]),
    ("flops my_ref_steps=0", lambda: _experiment(ref_steps=0), ["ref_steps=0", "[1, inf)"]),
    ("flops prefix_dropout=1.0", lambda: accountings.accounting_terms(PerceiverARShape(32000, 2048, 512, 512, 9), 1.0),
     ["prefix_dropout=1.0", "[0.0, 1.0)"]),
    ("flops ratio_vocab_sizes=[]", lambda: accountings.self_flops_ratios([], [[256, 4]]),
     ["vocab_sizes is empty", "one or more"]),
    ("flops ratio_shapes=[]", lambda: accountings.self_flops_ratios([262], []), ["shapes=[]", "integer pairs"]),
    ("flops ratio_shapes=[[256]]", lambda: accountings.self_flops_ratios([262], [[256]]),
     ["shapes entry [256] is not a pair"]),
    ("flops prefix_lengths=[]", lambda: accountings.cross_shares(262, 512, 9, [], 512, 0.5),
     ["prefix_lengths is empty", "one or more"]),
    ("flops prefix_lengths=[-5]", lambda: accountings.cross_shares(262, 512, 9, [-5], 512, 0.5),
     ["prefix_lengths entry=-5", "[0, inf)"]),
    ("approach1 budget=0", lambda: chinchilla_law(1).n_opt(0.0), ["budget C=0.0", "(0, inf) FLOPs"]),
    ("approach1 budget=-1", lambda: chinchilla_law(1).d_opt(-1.0), ["budget C=-1.0", "(0, inf) FLOPs"]),
    ("approach1 demo_sizes=[1e7, 3e9]", lambda: F.log_spaced([1e7, 3e9], "demo_sizes"),
     ["demo_sizes=", "[first, last, count]"]),
    ("approach1 demo_sizes=[1e7, 3e9, 1]", lambda: F.log_spaced([1e7, 3e9, 1], "demo_sizes"),
     ["demo_sizes count=1", "[2, 1000]"]),
    ("approach1 demo_sizes=[1e7, 3e9, 2.5]", lambda: F.log_spaced([1e7, 3e9, 2.5], "demo_sizes"),
     ["demo_sizes count=2.5", "must be an integer >= 2"]),
    ("approach1 demo_sizes=[-1, 3e9, 20]", lambda: F.log_spaced([-1, 3e9, 20], "demo_sizes"),
     ["demo_sizes[0]=-1.0", "(0, inf)"]),
    ("approach1 demo_horizons=[3e8, 1e11, 0]", lambda: F.log_spaced([3e8, 1e11, 0], "demo_horizons"),
     ["demo_horizons count=0", "[2, 1000]"]),
    ("approach1 grid_points=1", lambda: _curves(grid_points=1), ["grid_points=1", "[2, 1000000]"]),
    ("approach1 grid_points=1.5", lambda: _curves(grid_points=1.5), ["grid_points=1.5", "must be an integer"]),
    ("approach2 budgets=[]", lambda: _iso(budgets=[]), ["budgets is empty", "one or more budgets > 0"]),
    ("approach2 budgets=[-1e20, 1e21]", lambda: _iso(budgets=[-1e20, 1e21]), ["budgets[0]=-1e+20", "(0, inf)"]),
    ("approach2 budgets=[1e20]", lambda: F.fit_approach2(_iso(budgets=[1e20])), ["at least 2 budgets", "got 1"]),
    ("approach2 sizes=0", lambda: _iso(sizes=0), ["sizes=0", "[1, inf)"]),
    ("approach2 sizes=2", lambda: F.fit_approach2(_iso(sizes=2)), ["2 distinct sizes, need 5"]),
    ("approach2 span=0.0", lambda: _iso(span=0.0), ["span=0.0", "(0, inf)"]),
    ("approach2 span=-1.0", lambda: _iso(span=-1.0), ["span=-1.0", "(0, inf)"]),
    ("approach2 noise=-1.0", lambda: _iso(noise=-1.0), ["noise=-1.0", "[0, inf)"]),
    ("approach2 offsets=[]", lambda: off_centre_bias(EQ10, 1e20, []), ["offsets is empty", "decades"]),
    ("approach2 bias_span=0.0", lambda: off_centre_bias(EQ10, 1e20, [0.0], span=0.0), ["span=0.0", "(0, inf)"]),
    ("approach2 bootstrap=-1", lambda: F.fit_compute_optimal(paper.TABLE_A3["approach2_C"], paper.TABLE_A3["N"],
                                                             paper.TABLE_A3["approach2_D"], bootstrap=-1),
     ["bootstrap=-1", RESAMPLES]),
    ("approach2 bootstrap=1", lambda: F.fit_approach2(_iso(), bootstrap=1), ["bootstrap=1", RESAMPLES]),
    ("approach3 grid='0'", lambda: F.fit_approach3(_points(), grid="0"), ["grid=0", "[1, 4500]"]),
    ("approach3 grid='abc'", lambda: F.fit_approach3(_points(), grid="abc"), ["grid='abc'", "'chinchilla'"]),
    ("approach3 grid='-3'", lambda: F.fit_approach3(_points(), grid="-3"), ["grid='-3'", "[1, 4500]"]),
    ("approach3 bootstrap=-1", lambda: F.fit_approach3(_points(), grid=5, bootstrap=-1), ["bootstrap=-1", RESAMPLES]),
    ("approach3 bootstrap=1", lambda: F.fit_approach3(_points(), grid=5, bootstrap=1), ["bootstrap=1", RESAMPLES]),
    ("approach3 noise=-1.0", lambda: F.synthetic_isoflops(EQ10, [6e18, 1e19], sizes=30, span=1.6, noise=-1.0),
     ["noise=-1.0", "[0, inf)"]),
    ("approach3 sum_mean_starts=0", lambda: sum_versus_mean(_points(), starts=0), ["starts=0", "[1, 4500]"]),
    ("approach3 sum_mean_starts=5000", lambda: sum_versus_mean(_points(), starts=5000),
     ["starts=5000", "[1, 4500]"]),
    ("approach3 method='mean'", lambda: F.fit_approach3(_points(), method="mean", grid=5),
     ["method='mean'", "huber, likelihood"]),
    ("claims perturb=-1.0", lambda: claims.table([], -1.0), ["perturb=-1.0", "(-0.5, 0.5)"]),
    ("claims perturb=0.7", lambda: claims.table([], 0.7), ["perturb=0.7", "(-0.5, 0.5)"]),
    ("experiment scale='gpu'", lambda: krasser.check_scale("gpu"), ["scale='gpu'", "cpu, article"]),
    ("experiment accounting='foo'", lambda: krasser.cpu_study("1", "foo"), ["accounting='foo'", "article, corrected"]),
    ("experiment models=[[0, 2]]", lambda: krasser.cpu_study("1", models=[[0, 2]]), ["models num_channels=0", "[1, inf)"]),
    ("experiment models=[[32]]", lambda: krasser.cpu_study("1", models=[[32]]), ["models entry [32] is not a pair"]),
    ("experiment models=[[32.5, 2]]", lambda: krasser.cpu_study("1", models=[[32.5, 2]]),
     ["models num_channels=32.5", "must be an integer"]),
    ("experiment models=[['a', 2]]", lambda: krasser.cpu_study("1", models=[["a", 2]]),
     ["models num_channels='a'", "must be an integer"]),
    ("experiment models=[32, 2]", lambda: krasser.cpu_study("1", models=[32, 2]), ["models entry 32 is not a pair"]),
    ("experiment ref_steps=-5", lambda: krasser.cpu_study("1", ref_steps=-5), ["ref_steps=-5", "[1, inf)"]),
    ("experiment tokenizer='foo'", lambda: krasser.cpu_study("1", tokenizer="foo"),
     ["tokenizer='foo'", "bytes or sentencepiece:<V>"]),
    ("experiment tokenizer='sentencepiece:5'", lambda: krasser.cpu_study("1", tokenizer="sentencepiece:5"),
     ["vocab_size=5", "[16, 1000000]"]),
    ("experiment max_seq_len=10", lambda: krasser.cpu_study("1", max_seq_len=10),
     ["num_latents=128 must be <= max_seq_len=10"]),
    ("experiment seeds=[]", lambda: krasser.cpu_study("1", seeds=[]), ["seeds is empty", "at least 1 seed"]),
    ("experiment seeds=[-1]", lambda: krasser.cpu_study("1", seeds=[-1]), ["seeds=-1", "[0, inf)"]),
    ("experiment seeds=[0.5]", lambda: krasser.cpu_study("1", seeds=[0.5]), ["seeds=0.5", "must be an integer"]),
    ("experiment seeds=[0, 0]", lambda: krasser.cpu_study("1", seeds=[0, 0]), ["seeds has 0 twice", "distinct"]),
    ("experiment corpus='nosuch'", lambda: krasser.cpu_study("1", corpus="nosuch"),
     ["corpus='nosuch'", "kjv, files:<glob>, hf:<name>"]),
    ("experiment workers=0", lambda: krasser.train_missing(krasser.cpu_study("1"), workers=0),
     ["workers=0", "[1, inf)"]),
    ("experiment workers=-1", lambda: krasser.train_missing(krasser.cpu_study("1"), workers=-1),
     ["workers=-1", "[1, inf)"]),
    ("study bootstrap=-1", lambda: study.approach2(bootstrap=-1), ["bootstrap=-1", RESAMPLES]),
    ("study bootstrap=1", lambda: study.approach2(bootstrap=1), ["bootstrap=1", RESAMPLES]),
    ("study bootstrap=10**7", lambda: study.approach2(bootstrap=10**7), ["bootstrap=10000000", RESAMPLES]),
    ("approach1-3 data='<missing file>'", lambda: F.read_csv(str(REPO / "tests" / "no-such-dir" / "x.csv")),
     ["x.csv", "no such file"]),
]


@pytest.mark.parametrize("call, expected", [(c, e) for _, c, e in PARAMETERS], ids=[p for p, _, _ in PARAMETERS])
def test_a_bad_chapter_parameter_is_one_line_and_writes_nothing(call, expected, tmp_path, monkeypatch):
    monkeypatch.setenv("REPLICATION_RUNS_DIR", str(tmp_path / "runs"))  # nothing reads runs before the check
    before = _written()
    with pytest.raises(ReplicationError) as err:
        call()
    _one_line(str(err.value), expected)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    assert _written() == before


@pytest.mark.slow
def test_an_executed_chapter_ends_in_the_error_of_its_cell_and_leaves_nothing(capsys):
    before = _written()
    assert main(["run", "approach2", "-p", "noise=-1.0"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == ("replication run: error: approach2: cell 3 failed: ReplicationError: noise=-1.0 is out of range; "
                    "allowed: [0, inf)")
    assert _written() == before


def test_data_with_duplicate_or_unreadable_columns_is_refused_as_a_chapter_reads_it(d):
    with pytest.raises(ReplicationError, match="column 'loss' appears more than once"):
        F.read_csv(str(d / "dup.csv"))
    with pytest.raises(ReplicationError, match="Expected 3 fields"):
        F.read_csv(str(d / "ragged.csv"))


# -- the checks accept what they should -------------------------------------------------------------


def test_one_range_of_resamples_everywhere():
    """0 and 2 pass every fitter's check; 1 fails in each (the range is defined once, in fit/bootstrap.py)."""
    t3 = paper.TABLE_3
    assert F.fit_power_law(t3["C"], t3["N"], bootstrap=2).ci is not None
    for fit in (lambda b: F.fit_power_law(t3["C"], t3["N"], bootstrap=b),
                lambda b: F.fit_approach2(_iso(), bootstrap=b),
                lambda b: F.fit_approach3(_points(), grid=5, bootstrap=b),
                lambda b: study.approach2(bootstrap=b)):
        with pytest.raises(ReplicationError, match=r"allowed: 0 \(no interval\) or an integer in \[2, 1000000\]"):
            fit(1)


def test_grid_given_as_digits_is_that_many_starts():
    """A chapter parameter whose default is "chinchilla" is a string, so a number of starts is written "300"."""
    pts = _points()
    assert F.start_grid("300").shape == (300, 5)
    np.testing.assert_array_equal(F.start_grid("7", seed=3), F.start_grid(7, seed=3))
    assert F.fit_approach3(pts, grid="5", search="grid").details["starts"] == 5


def test_log_spaced_is_the_chapters_old_expression():
    np.testing.assert_array_equal(F.log_spaced([1e7, 3e9, 20]), np.logspace(np.log10(1e7), np.log10(3e9), 20))


def test_finite_float_refuses_inf_and_1e400_alike(capsys):
    for text in ("inf", "1e400", "-inf", "nan"):
        assert main(["fit", "approach3", "--data", "x.csv", f"--delta={text}"]) == 2
        assert capsys.readouterr().err.strip() == (f"replication fit: error: argument --delta: {text!r} is out of "
                                                   "range; allowed: finite numbers; see replication fit --help")
