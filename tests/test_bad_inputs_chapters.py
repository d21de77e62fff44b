"""Bad chapter parameters and params files, through ``replication run`` and ``replication book --params``:
exit status 2 and one line on stderr that names the parameter (or the file and entry) and what is allowed,
no traceback, nothing written, and no build started. The same table form as tests/test_bad_inputs.py.

Every row is refused before a chapter executes: by the parameter's kind (element by element, against the
chapter's default), or by the params file's reader (regular files of at most 64 KiB, plain YAML values only,
nothing YAML 1.1 and 1.2 read differently, each key once and a string).
"""
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from replication import cli
from replication.book import execution
from replication.book.parameters import PARAMS_MAX_BYTES

REPO = Path(__file__).resolve().parents[1]
CHAPTER_OUTPUT = REPO / "runs" / "chapters"
LIST_OF_PAIRS = "parameter 'my_models' expects list of list of int"
PLAIN = "allowed: plain YAML values"
AMBIGUOUS = "allowed: a decimal number without leading zeros or underscores, true/false, or a string in quotes"
REGULAR = "is not a regular file; allowed: a regular file"


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    """A folder of bad params files, a FIFO, a folder and a link to /dev/zero among them."""
    d = tmp_path_factory.mktemp("params")
    files = {
        "binary": "flops:\n  my_models: [!!binary eCIsIF9faW1wb3J0X18=]\n",
        "set": "flops:\n  my_models: !!set {a: null}\n",
        "pytuple": "flops:\n  my_models: [!!python/tuple [512, 9]]\n",
        "bang": "glance:\n  c_min: ! 1e20\n",
        "bomb": "glance:\n  a: &a [x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                "  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
        "octal": "glance:\n  c_min: 1e20\n  factor: 010\n",
        "yes": "article_scale:\n  cpu_checks: yes\n",
        "on_in_list": "flops:\n  my_models: [[512, on]]\n",
        "underscore": "transfer:\n  bootstrap: 1_000\n",
        "sexagesimal": "study:\n  seed: 1:30\n",
        "dupe": "glance:\n  c_min: 1e20\n  c_min: 2e20\n",
        "dupe_chapter": "glance:\n  c_min: 1e20\nglance:\n  c_max: 1e25\n",
        "intkey": "glance:\n  1: 2\n",
        "nullkey": "null:\n  c_min: 1e20\n",
        "listkey": "glance:\n  ? [c_min]\n  : 1e20\n",
        "empty": "",
        "comments": "# nothing but a comment\n",
        "null_chapter": "glance:\n",
        "two_documents": "glance: {}\n---\nglance: {}\n",
        "deep": "glance:\n  c_min: " + "[" * 40 + "]" * 40 + "\n",
        "inf": "glance:\n  c_max: .inf\n",
        "nan_in_list": "planning:\n  losses: [2.1, .nan]\n",
        "bigint": "study:\n  seed: " + "9" * 200 + "\n",
        "long_ambiguous": "study:\n  seed: 1_" + "1" * 5000 + "\n",  # 1.1 would read 5,001 digits
        "nested_bad": "flops:\n  my_models: [[512, [9]]]\n",
        "str_in_floats": "approach2:\n  budgets: [6e18, '1e19']\n",
        "null_in_ints": "transfer:\n  seeds: [0, 1, null]\n",
        "huge": "glance:\n  c_min: 1e20\n" + "# padding\n" * (PARAMS_MAX_BYTES // 10 + 1),
    }
    for name, text in files.items():
        (d / f"{name}.yaml").write_text(text)
    os.mkfifo(d / "fifo.yaml")
    (d / "zero.yaml").symlink_to("/dev/zero")
    (d / "folder.yaml").mkdir()
    return d


CHAPTERS = [
    # (arguments, what the message must say); {d} is the folder of bad files
    # -p: each element of a list is of the kind the default's elements are
    ("run flops -p my_models=[[512,9.5]]", [LIST_OF_PAIRS, "got 9.5 at my_models[0][1]"]),
    ("run flops -p \"my_models=[[512,'9']]\"", [LIST_OF_PAIRS, "got '9' at my_models[0][1]"]),
    ("run flops -p my_models=[[512,True]]", [LIST_OF_PAIRS, "got True at my_models[0][1]"]),
    ("run flops -p my_models=[[512,9],{1}]", [LIST_OF_PAIRS, "got {1} at my_models[1]"]),
    ("run flops -p \"my_models=[b'x']\"", [LIST_OF_PAIRS, "got b'x' at my_models[0]"]),
    ("run flops -p my_models={512:9}", [LIST_OF_PAIRS, "got {512: 9}"]),
    ("run flops -p my_models=[[512,None]]", [LIST_OF_PAIRS, "got None at my_models[0][1]"]),
    ("run flops -p my_models=[[512,[9]]]", [LIST_OF_PAIRS, "got [9] at my_models[0][1]"]),
    ("run flops -p ratio_vocab_sizes=[262,1e400]", ["parameter 'ratio_vocab_sizes' must be finite",
                                                    "ratio_vocab_sizes[1]"]),
    ("run transfer -p seeds=[0,1.5]", ["parameter 'seeds' expects list of int", "got 1.5 at seeds[1]"]),
    ("run planning -p \"losses=[2.1,'x']\"", ["parameter 'losses' expects list of float", "'x' at losses[1]"]),
    ("run planning -p example_tokens=[[1e12]]", ["parameter 'example_tokens' expects list of float",
                                                 "[1000000000000.0] at example_tokens[0]"]),
    ("run approach1 -p demo_sizes=[1e7,3e9,None]", ["parameter 'demo_sizes' expects list of float or int",
                                                    "None at demo_sizes[2]"]),
    ("run experiment1 -p models=[[512,9],{1}]", ["parameter 'models' expects list (of numbers, strings, bools, "
                                                 "None or lists of those)", "{1} at models[1]"]),
    ("run experiment1 -p tokenizer=None", ["parameter 'tokenizer' expects str", "got None"]),
    ("run article_scale -p cpu_checks=1", ["parameter 'cpu_checks' expects bool", "got 1"]),
    ("run glance -p c_min=1j", ["parameter 'c_min' expects float", "got 1j"]),
    ("run glance -p c_min=(1e20,)", ["parameter 'c_min' expects float", "got (1e+20,)"]),
    # params files: tags, anchors and aliases
    ("run flops --params {d}/binary.yaml", ["params file binary.yaml (line 2)", "tag !!binary", PLAIN]),
    ("book --params {d}/set.yaml", ["params file set.yaml (line 2)", "tag !!set", PLAIN]),
    ("book --params {d}/pytuple.yaml", ["params file pytuple.yaml", "tag !!python/tuple", PLAIN]),
    ("run glance --params {d}/bang.yaml", ["params file bang.yaml", "tag ! is not allowed", PLAIN]),
    ("run glance --params {d}/bomb.yaml", ["params file bomb.yaml (line 2)", "anchors and aliases", PLAIN]),
    ("book --params {d}/bomb.yaml", ["params file bomb.yaml", "anchors and aliases", PLAIN]),
    # what YAML 1.1 and 1.2 read differently
    ("book --params {d}/octal.yaml", ["octal.yaml: glance.factor (line 3)", "010 is 8 in YAML 1.1 but 10 in YAML 1.2",
                                      AMBIGUOUS]),
    ("run glance --params {d}/octal.yaml", ["glance.factor", "010 is 8 in YAML 1.1"]),
    ("book --params {d}/yes.yaml", ["article_scale.cpu_checks (line 2)", "yes is True in YAML 1.1 but 'yes'",
                                    AMBIGUOUS]),
    ("run flops --params {d}/on_in_list.yaml", ["flops.my_models[0][1]", "on is True in YAML 1.1", AMBIGUOUS]),
    ("book --params {d}/underscore.yaml", ["transfer.bootstrap", "1_000 is 1000 in YAML 1.1", AMBIGUOUS]),
    ("book --params {d}/sexagesimal.yaml", ["study.seed", "1:30 is 90 in YAML 1.1", AMBIGUOUS]),
    ("book --params {d}/long_ambiguous.yaml", ["study.seed", "1_1111", "read differently by YAML 1.1 and 1.2",
                                               AMBIGUOUS]),
    # keys: strings, each once
    ("run glance --params {d}/dupe.yaml", ["params file dupe.yaml: glance (line 3)", "key 'c_min' appears more than "
                                           "once", "allowed: each name once"]),
    ("book --params {d}/dupe_chapter.yaml", ["dupe_chapter.yaml", "key 'glance' appears more than once"]),
    ("book --params {d}/intkey.yaml", ["params file intkey.yaml: glance (line 2)", "key '1' is not a string",
                                       "allowed: names"]),
    ("book --params {d}/nullkey.yaml", ["key 'null' is not a string", "allowed: names"]),
    ("run glance --params {d}/listkey.yaml", ["key a list or mapping is not a string"]),
    # what the file holds
    ("run glance --params {d}/empty.yaml", ["params file empty.yaml is empty", "allowed: a mapping chapter -> "
                                            "{name: value}"]),
    ("book --params {d}/comments.yaml", ["params file comments.yaml is empty"]),
    ("run glance --params {d}/null_chapter.yaml", ["null_chapter.yaml", "expected a mapping chapter -> {name: value}"]),
    ("book --params {d}/two_documents.yaml", ["two_documents.yaml: not valid YAML text (line 2)"]),
    ("book --params {d}/deep.yaml", ["deep.yaml (line 2)", "nest more than 32 deep", "allowed: at most 32"]),
    ("run glance --params {d}/inf.yaml", ["parameter 'c_max' must be finite", "inf"]),
    ("book --params {d}/nan_in_list.yaml", ["parameter 'losses' must be finite", "losses[1]"]),
    ("book --params {d}/bigint.yaml", ["study.seed (line 2)", "an integer of 200 characters", "at most 100"]),
    ("run flops --params {d}/nested_bad.yaml", [LIST_OF_PAIRS, "[9] at my_models[0][1]"]),
    ("book --params {d}/str_in_floats.yaml", ["parameter 'budgets' expects list of float", "'1e19' at budgets[1]"]),
    ("book --params {d}/null_in_ints.yaml", ["parameter 'seeds' expects list of int", "None at seeds[2]"]),
    # what the file is: a regular file of at most 64 KiB, read without blocking
    ("run glance --params {d}/fifo.yaml", ["--params=", "fifo.yaml", REGULAR]),
    ("book --params {d}/fifo.yaml", ["--params=", "fifo.yaml", REGULAR]),
    ("run glance --params /dev/zero", ["--params='/dev/zero'", REGULAR]),
    ("book --params {d}/zero.yaml", ["zero.yaml", REGULAR]),
    ("run glance --params {d}/folder.yaml", ["folder.yaml", REGULAR]),
    ("book --params {d}/huge.yaml", ["huge.yaml", f"allowed: at most {PARAMS_MAX_BYTES:,}"]),
    ("run glance --params {d}/nosuch.yaml", ["--params=", "nosuch.yaml", "no such file"]),
]


def _one_line(err: str, expected) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err, err
    for text in expected:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"


def _written():
    """What a chapter command could have written: git's view of runs/, data/ and book/, and the chapter
    outputs (ignored by git)."""
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--", "runs", "data", "book"],
                            cwd=REPO, capture_output=True, text=True, check=True).stdout
    outputs = sorted(p for p in CHAPTER_OUTPUT.rglob("*") if p.is_file()) if CHAPTER_OUTPUT.is_dir() else []
    return status, outputs


@pytest.mark.timeout(30)  # a FIFO or /dev/zero read the naive way would never end
@pytest.mark.parametrize("argv, expected", CHAPTERS, ids=[row[0] for row in CHAPTERS])
def test_a_bad_chapter_parameter_is_one_line_and_writes_nothing(argv, expected, d, monkeypatch, capsys):
    import replication.cli.chapters as chapters

    def never(*args, **kwargs):  # a row that got past the checks would start a build or a kernel
        pytest.fail("the build or the chapter started")

    monkeypatch.setattr(chapters.subprocess, "call", never)
    monkeypatch.setattr(execution, "execute", never)
    before = _written()
    code = cli.main(shlex.split(argv.replace("{d}", str(d))))
    _one_line(capsys.readouterr().err, expected)
    assert code == 2
    assert _written() == before


def test_the_table_has_the_rows_the_issue_asks_for():
    assert len(CHAPTERS) >= 25
