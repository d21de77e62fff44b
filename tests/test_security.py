"""Injection attempts through every way a value reaches a chapter or a page, each of which must fail safely.

A chapter parameter becomes code (the injected cell) and text on a page (the notes around it); a value
from data becomes a table cell or header. Each attempt below plants a payload that would create a marker
file if it ran, and checks that the marker never appears, that the command exits 2 with one line, and
that a page shows the payload as text.
"""
import base64
import json
import re
import shlex
import types
from pathlib import Path

import pandas as pd
import pytest

from replication import cli
from replication.book import chapters, execution, sphinx
from replication.errors import ReplicationError

#: Python that, if it ever ran, would create the file ``{marker}``.
RUN = '__import__("os").system("touch {marker}")'


def _payload(marker: Path) -> str:
    """A string that ends a double-quoted string, runs RUN, and opens another: what papermill wrote
    unescaped for a tuple, a set or bytes."""
    return f'", {RUN.format(marker=marker)}, "'


def _cli(argv: list[str], capsys) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "the payload ran"


# -- parameters on the command line ------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    '[("{p}",)]',          # a tuple in the list: papermill wrote str(tuple) between quotes
    '[[512, 9], ("{p}",)]',
    '[b"{p}"]',            # bytes
    '[{{"{p}"}}]',         # a set
    '{{"{p}"}}',
    '[[512, {{"{p}": 1}}]]',  # a dict
])
def test_a_parameter_that_is_not_a_plain_value_is_refused(value, marker, capsys):
    p = _payload(marker).replace('"', '\\"')
    line = _cli(["run", "flops", "-p", "my_models=" + value.format(p=p)], capsys)
    assert "parameter 'my_models' expects list of list of int" in line


# -- params files: run --params, book --params and $REPLICATION_PARAMS --------------------------------

def _yaml_files(folder: Path, marker: Path) -> dict[str, Path]:
    p = _payload(marker)
    quoted = json.dumps(p)  # a YAML double-quoted string
    texts = {
        "binary": f"flops:\n  my_models: [!!binary {base64.b64encode(p.encode()).decode()}]\n",
        "set": f"flops:\n  my_models: [!!set {{{quoted}: null}}]\n",
        "tuple": f"flops:\n  my_models: [!!python/tuple [{quoted}]]\n",
        "apply": f"flops:\n  my_models: !!python/object/apply:os.system [{json.dumps('touch ' + str(marker))}]\n",
        "str-in-ints": f"flops:\n  my_models: [[{quoted}, 9]]\n",
        "alias": "flops:\n  my_models: &m [[512, 9]]\n  ratio_shapes: *m\n",
    }
    folder.mkdir(exist_ok=True)
    for name, text in texts.items():
        (folder / f"{name}.yaml").write_text(text)
    return {name: folder / f"{name}.yaml" for name in texts}


TAGGED = {"binary": "tag !!binary is not allowed", "set": "tag !!set is not allowed",
          "tuple": "tag !!python/tuple is not allowed", "apply": "tag !!python/object/apply:os.system",
          "str-in-ints": "parameter 'my_models' expects list of list of int",
          "alias": "anchors and aliases (&name, *name) are not allowed"}


@pytest.mark.parametrize("name", TAGGED)
@pytest.mark.parametrize("command", ["run flops --params", "book --params"])
def test_a_params_file_that_smuggles_a_type_is_refused(command, name, marker, tmp_path, capsys):
    path = _yaml_files(tmp_path / "params", marker)[name]
    line = _cli([*shlex.split(command), str(path)], capsys)
    assert TAGGED[name] in line


@pytest.mark.parametrize("name", TAGGED)
def test_the_build_refuses_the_same_files_from_the_environment(name, marker, tmp_path, monkeypatch):
    """``REPLICATION_PARAMS``: the Sphinx extension loads and validates the file when the build starts."""
    path = _yaml_files(tmp_path / "params", marker)[name]
    monkeypatch.setenv(chapters.PARAMS_ENV, str(path))
    app = types.SimpleNamespace(env=types.SimpleNamespace())
    with pytest.raises(ReplicationError, match=re.escape(TAGGED[name])):
        sphinx.on_builder_inited(app)
    with pytest.raises(ReplicationError, match=re.escape(TAGGED[name])):
        chapters.book_params(path)


def test_the_environment_names_the_variable_when_the_file_is_no_regular_file(tmp_path, monkeypatch):
    monkeypatch.setenv(chapters.PARAMS_ENV, "/dev/zero")
    with pytest.raises(ReplicationError, match=f"^{chapters.PARAMS_ENV}='/dev/zero' is not a regular file"):
        sphinx.on_builder_inited(types.SimpleNamespace(env=types.SimpleNamespace()))


# -- what passes validation is written as a literal and executes as one ------------------------------

@pytest.mark.slow
def test_a_string_with_quotes_reaches_the_chapter_as_the_same_string(tmp_path, marker):
    """A str parameter may hold any text, quotes and backslashes included: the injected cell is written
    by our own writer (repr), so the chapter prints the value back and nothing else runs."""
    from test_pipeline import CHAPTER

    book = tmp_path / "book"
    book.mkdir()
    (book / "tiny.md").write_text(CHAPTER)
    value = _payload(marker) + "\\' ''' \n" + 'x = """'
    out = execution.run_chapter("tiny", {"name": value}, book_dir=book, out_root=tmp_path / "runs", progress=False)
    nb = json.loads((out / "tiny.ipynb").read_text())
    printed = "".join("".join(o.get("text", "")) for c in nb["cells"] if c["cell_type"] == "code"
                      for o in c.get("outputs", []))
    assert printed == f"4e+18 {value} 3 False\n"


# -- values from data, in tables -------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(1)">'


def _no_markup_from(html: str) -> None:
    assert "<script" not in html and "<img" not in html, html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x" in html


def test_table_cells_headers_and_captions_are_escaped():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book"))
    from _lib import tables

    df = pd.DataFrame({IMG: [SCRIPT, 1.5e20], "label": ["a", IMG], "p": [1e-4, 0.2]})
    _no_markup_from(tables.table(df, formats={"p": "p"}, caption=SCRIPT + IMG).to_html())
    shown = tables.table(df, headers={"label": f"N<sub>self</sub> {SCRIPT}"}, index="label", transpose=True)
    html = shown.to_html()
    _no_markup_from(html)
    assert "N<sub>self</sub>" in html  # the helpers' own markup still renders
    assert "&lt; 0.001" not in html and "10⁻⁴" in html
    assert "&lt; 0.001" in tables.table(df, formats={"p": "p"}).to_html()  # written once, as the entity


def test_a_gpu_record_with_markup_in_its_shape_shows_as_text():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book"))
    from _lib import article_scale

    row = {"shape": SCRIPT + IMG, "compile": True, "num_params": 1.2e8, "latent_tokens_per_s": 3.4e5,
           "model_flops_per_s": 2.1e14, "mfu": 0.3, "peak_memory_bytes": 2**33, "first_step_s": 12.0}
    page = types.SimpleNamespace(record={"throughput": [row]})
    _no_markup_from(article_scale.throughput_table(page).to_html())
