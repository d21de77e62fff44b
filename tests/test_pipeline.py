import json
from pathlib import Path

import pytest

from replication import cli
from replication.book import cache, chapters, execution, parameters, sphinx
from replication.errors import ReplicationError
from replication.repository import PACKAGE_DIR

CHAPTER = """---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  name: python3
  display_name: Python 3
  language: python
---
# A tiny chapter

```{code-cell} ipython3
:tags: [parameters]
budget = 1e18
layers = 4
name = "kjv"
sizes = [1, 2]
use_bias = False
```

```{code-cell} ipython3
print(budget * layers, name, sum(sizes), use_bias)
```
"""


@pytest.fixture
def book(tmp_path):
    (tmp_path / "tiny.md").write_text(CHAPTER)
    (tmp_path / "plain.md").write_text("# Not a notebook\n")
    return tmp_path


def test_chapters_are_notebooks_with_a_parameters_cell(book):
    assert list(chapters.chapters(book)) == ["tiny"]


def test_read_parameters(book):
    nb = chapters.read_md((book / "tiny.md").read_text())
    assert chapters.read_parameters(nb) == {
        "budget": 1e18, "layers": 4, "name": "kjv", "sizes": [1, 2], "use_bias": False}


@pytest.mark.parametrize("given, expected", [
    ({"budget": "2e18"}, {"budget": 2e18}),
    ({"budget": 3}, {"budget": 3.0}),          # an int where a float is expected is fine
    ({"name": "wiki"}, {"name": "wiki"}),
    ({"sizes": (3, 4)}, {"sizes": [3, 4]}),
    ({"use_bias": True}, {"use_bias": True}),
])
def test_validate_accepts_and_coerces(given, expected):
    defaults = {"budget": 1e18, "layers": 4, "name": "kjv", "sizes": [1, 2], "use_bias": False}
    assert parameters.validate_parameters("tiny", defaults, given) == expected


@pytest.mark.parametrize("given, message", [
    ({"bogus": 1}, "unknown parameter 'bogus'"),
    ({"layers": 2.5}, "parameter 'layers' expects int"),
    ({"layers": True}, "parameter 'layers' expects int"),
    ({"budget": "abc"}, "parameter 'budget' expects float"),
    ({"sizes": 3}, "parameter 'sizes' expects list"),
])
def test_validate_rejects(given, message):
    defaults = {"budget": 1e18, "layers": 4, "name": "kjv", "sizes": [1, 2]}
    with pytest.raises(ReplicationError, match=message):
        parameters.validate_parameters("tiny", defaults, given)


def test_parse_assignments():
    assert parameters.parse_assignments(["a=1e3", "b=[1, 2]", "c=text"]) == {"a": 1e3, "b": [1, 2], "c": "text"}
    with pytest.raises(ReplicationError, match="name=value"):
        parameters.parse_assignments(["oops"])


def test_cache_key_depends_on_text_params_and_library():
    base = cache.cache_key("text", {"a": 1}, "lib")
    assert base == cache.cache_key("text", {"a": 1}, "lib")
    assert base != cache.cache_key("text2", {"a": 1}, "lib")
    assert base != cache.cache_key("text", {"a": 2}, "lib")
    assert base != cache.cache_key("text", {"a": 1}, "lib2")


@pytest.mark.slow
def test_run_chapter_executes_injects_and_caches(book, tmp_path):
    out = execution.run_chapter("tiny", {"layers": 3, "name": "wiki"}, book_dir=book,
                               out_root=tmp_path / "runs", progress=False)
    nb = json.loads((out / "tiny.ipynb").read_text())
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and "layers = 3" in "".join(injected[0]["source"])
    printed = "".join(o.get("text", "") if isinstance(o.get("text"), str) else "".join(o.get("text", []))
                      for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))
    assert "3e+18 wiki 3 False" in printed
    assert json.loads((out / "parameters.json").read_text()) == {"layers": 3, "name": "wiki"}
    mtime = (out / "tiny.ipynb").stat().st_mtime_ns
    assert execution.run_chapter("tiny", {"layers": 3, "name": "wiki"}, book_dir=book,
                                out_root=tmp_path / "runs") == out
    assert (out / "tiny.ipynb").stat().st_mtime_ns == mtime  # cached: not executed again


@pytest.mark.slow
def test_failing_cell_is_one_line_error_and_leaves_nothing(book, tmp_path):
    (book / "bad.md").write_text(CHAPTER.replace("print(", "raise RuntimeError('boom'); print("))
    with pytest.raises(ReplicationError, match="RuntimeError: boom"):
        execution.run_chapter("bad", {}, book_dir=book, out_root=tmp_path / "runs", progress=False)
    assert not (tmp_path / "runs" / "bad").exists() or not any((tmp_path / "runs" / "bad").iterdir())


def test_cli_unknown_parameter_is_one_line_and_writes_nothing(capsys):
    before = set(execution.CHAPTER_RUNS_DIR.rglob("*")) if execution.CHAPTER_RUNS_DIR.exists() else set()
    assert cli.main(["run", "glance", "-p", "bogus=1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown parameter 'bogus'" in err
    after = set(execution.CHAPTER_RUNS_DIR.rglob("*")) if execution.CHAPTER_RUNS_DIR.exists() else set()
    assert after == before


def test_cli_unknown_chapter_and_command(capsys):
    assert cli.main(["run", "nosuchchapter"]) == 2
    assert "chapter='nosuchchapter' not found" in capsys.readouterr().err
    assert cli.main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_injected_parameters_get_a_visible_note():
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("a = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("a = 2", metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_code_cell("print(a)"),
    ])
    sphinx.label_injected(nb, {"a": 2})
    assert [c.cell_type for c in nb.cells] == ["code", "markdown", "code", "code"]
    assert "`a = 2`" in nb.cells[1].source and "{note}" in nb.cells[1].source


def test_library_hash_covers_the_store_that_is_read(tmp_path, monkeypatch):
    from replication.store import RunStore

    before = cache.library_hash(tmp_path)
    run = RunStore(tmp_path).run("abc123")
    run.dir.mkdir()
    (run.dir / "config.json").write_text("{}\n")
    last = {"step": 1, "loss": 2.0, "latent_tokens": 64, "C_self": 1.0, "C_cross": 2.0}  # what a summary repeats
    (run.dir / "metrics.jsonl").write_text(json.dumps({"kind": "train", **last}) + "\n"
                                           + json.dumps({"kind": "val", **last}) + "\n")
    assert cache.library_hash(tmp_path) == before  # an unfinished run changes nothing
    run.write_summary({"final_val_loss": 2.0, "steps": 1, "latent_tokens": 64, "C_self": 1.0, "C_cross": 2.0})
    finished = cache.library_hash(tmp_path)
    assert finished != before
    monkeypatch.setenv("REPLICATION_RUNS_DIR", str(tmp_path))
    assert cache.library_hash() == finished  # the store the chapters read, not runs/ of the checkout
    monkeypatch.setenv("REPLICATION_RUNS_DIR", str(tmp_path / "empty"))
    assert cache.library_hash() != finished
    with open(run.dir / "metrics.jsonl", "a") as f:  # a damaged run stops the build, naming the file
        f.write('{"kind": "val", "step": 2, "loss": 1.0}\n')
    with pytest.raises(ReplicationError, match="abc123.*metrics.jsonl|metrics.jsonl.*abc123"):
        cache.library_hash(tmp_path)



HELPED = CHAPTER.replace("print(budget * layers, name, sum(sizes), use_bias)",
                         "from _lib import {helper}\nprint({helper}.describe(budget))")


@pytest.fixture
def helped_book(tmp_path):
    """Two chapters, each with its own presentation helper in _lib; the helper of ``b`` imports a shared one."""
    book = tmp_path / "book"
    (book / "_lib").mkdir(parents=True)
    (book / "_lib" / "__init__.py").write_text("")
    (book / "_lib" / "style.py").write_text("UNIT = 'FLOPs'\n")
    (book / "_lib" / "a_helper.py").write_text("def describe(x):\n    return f'{x:.3g} FLOPs'\n")
    (book / "_lib" / "b_helper.py").write_text("from .style import UNIT\n\n\ndef describe(x):\n"
                                               "    return f'{x:.2e} {UNIT}'\n")
    (book / "a.md").write_text(HELPED.replace("{helper}", "a_helper"))
    (book / "b.md").write_text(HELPED.replace("{helper}", "b_helper"))
    return book


def _keys(book):
    return {name: cache.cache_key(path.read_text(), {}, "lib", cache.chapter_helpers(path.read_text(), book))
            for name, path in chapters.chapters(book).items()}


def test_chapter_helpers_are_the_lib_modules_it_imports(helped_book):
    lib = helped_book / "_lib"
    assert cache.chapter_helpers((helped_book / "a.md").read_text(), helped_book) == [
        lib / "__init__.py", lib / "a_helper.py"]
    assert cache.chapter_helpers((helped_book / "b.md").read_text(), helped_book) == [
        lib / "__init__.py", lib / "b_helper.py", lib / "style.py"]  # and what the helper imports


def test_editing_one_helper_changes_only_its_chapters_key(helped_book):
    before = _keys(helped_book)
    with open(helped_book / "_lib" / "a_helper.py", "a") as f:
        f.write("# restyled\n")
    after = _keys(helped_book)
    assert after["a"] != before["a"] and after["b"] == before["b"]
    (helped_book / "_lib" / "style.py").write_text("UNIT = 'FLOP'\n")
    assert _keys(helped_book)["b"] != after["b"]


@pytest.mark.slow
def test_editing_one_helper_re_executes_only_its_chapter(helped_book, tmp_path):
    out = tmp_path / "runs"
    first = {name: execution.run_chapter(name, {}, book_dir=helped_book, out_root=out, progress=False)
             for name in ("a", "b")}
    stamps = {name: (d / f"{name}.ipynb").stat().st_mtime_ns for name, d in first.items()}
    (helped_book / "_lib" / "a_helper.py").write_text("def describe(x):\n    return f'{x:.4g} FLOPs'\n")
    second = {name: execution.run_chapter(name, {}, book_dir=helped_book, out_root=out, progress=False)
              for name in ("a", "b")}
    assert second["b"] == first["b"] and (second["b"] / "b.ipynb").stat().st_mtime_ns == stamps["b"]
    assert second["a"] != first["a"]
    executed = json.loads((second["a"] / "a.ipynb").read_text())
    assert "1e+18 FLOPs" in json.dumps(executed["cells"][-1]["outputs"])


def test_toc_chapters_reads_the_toc_in_order():
    pages = chapters.toc_chapters()
    assert pages[0] == "intro" and pages[-1] == "references"
    assert set(chapters.chapters()) <= set(pages)


def test_rerun_note_gives_a_command_that_parses_back_to_the_defaults():
    import ast

    from replication.book import site

    defaults = {"budget": 5.76e23, "sizes": [1e12, 1e13], "name": "kjv", "layers": 4, "ratio": 2.0}
    note = site.rerun_note("tiny", defaults).source
    # the example changes a value (the default would run nothing new): here the first number, doubled
    assert "replication run tiny -p budget=1.152e+24" in note and "1000000000000.0" not in note
    shown = dict(part.split("` (default `") for part in note.split("Parameters: `")[1].rstrip(".\n`").split(
        "`), `"))
    assert {k: ast.literal_eval(v.rstrip("`)")) for k, v in shown.items()} == defaults


# -- parameters: element by element, written as literals only ---------------------------------------

LIST_DEFAULTS = {"models": [[512, 9], [592, 10]], "sizes": [1e7, 3e9, 20], "seeds": [0, 1], "free": [],
                 "losses": [2.1, 2.0]}


@pytest.mark.parametrize("given, expected", [
    ({"models": [(640, 11)]}, {"models": [[640, 11]]}),     # a tuple from -p is a list
    ({"sizes": [1e8, 2e9, 30]}, {"sizes": [1e8, 2e9, 30]}),  # [float, float, int] as the default has it
    ({"losses": [2, 1.9]}, {"losses": [2.0, 1.9]}),
    ({"free": [[1, "a"], None, True]}, {"free": [[1, "a"], None, True]}),  # an empty default: any plain value
])
def test_validate_lists_element_by_element(given, expected):
    assert parameters.validate_parameters("tiny", LIST_DEFAULTS, given) == expected


@pytest.mark.parametrize("given, message", [
    ({"models": [("x\", __import__('os'), \"",)]}, r"'models' expects list of list of int, got .* at models\[0\]\[0\]"),
    ({"models": [b"x"]}, r"'models' expects list of list of int, got b'x' at models\[0\]"),
    ({"models": {1, 2}}, r"'models' expects list of list of int, got \{1, 2\}$"),
    ({"models": [[512, True]]}, r"got True at models\[0\]\[1\]"),
    ({"seeds": [0, 1.5]}, r"'seeds' expects list of int, got 1.5 at seeds\[1\]"),
    ({"free": [{"a": 1}]}, r"'free' expects list \(of numbers, strings, bools, None or lists of those\), got"),
    ({"free": [[1e400]]}, r"'free' must be finite, got inf at free\[0\]\[0\]"),
    ({"losses": ["2.1"]}, r"'losses' expects list of float, got '2.1' at losses\[0\]"),
    ({"layers": None}, "parameter 'layers' expects int, got None"),
    ({"name": b"kjv"}, "parameter 'name' expects str, got b'kjv'"),
])
def test_validate_refuses_what_is_not_a_plain_value_of_the_defaults_kind(given, message):
    defaults = {**LIST_DEFAULTS, "layers": 4, "name": "kjv"}
    with pytest.raises(ReplicationError, match=message):
        parameters.validate_parameters("tiny", defaults, given)


def test_parameters_source_writes_literals_that_read_back():
    import ast

    from replication.book.parameters import parameters_source

    params = {"name": 'x", __import__("os").system("touch PWNED"), "\n\\', "sizes": [1e-300, -0.0, 7, [None, True]]}
    source = parameters_source(params)
    assert source.startswith("# Parameters\n")
    tree = ast.parse(source)
    assert [type(node) for node in tree.body] == [ast.Assign, ast.Assign]  # nothing but two assignments
    assert {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body} == params
    for bad in ({"a": ("x",)}, {"a": {"x"}}, {"a": b"x"}, {"a": [float("nan")]}, {"a": {"k": 1}}):
        with pytest.raises(ReplicationError):
            parameters_source(bad)
    with pytest.raises(ReplicationError, match="not a Python name"):
        parameters_source({"import os; x": 1})


def test_injected_cell_is_placed_and_tagged_as_papermill_would():
    nb = chapters.read_md(CHAPTER)
    out = parameters.inject_parameters(nb, {"layers": 3})
    tags = [c.metadata.get("tags", []) for c in out.cells]
    at = tags.index(["parameters"])
    assert tags[at + 1] == ["injected-parameters"] and out.cells[at + 1].source == "# Parameters\nlayers = 3\n"
    assert out.metadata.papermill["parameters"] == {"layers": 3}
    again = parameters.inject_parameters(out, {"layers": 5})  # an executed notebook: the injected cell is replaced
    assert [c.source for c in again.cells].count("# Parameters\nlayers = 5\n") == 1
    assert sum("injected-parameters" in c.metadata.get("tags", []) for c in again.cells) == 1


EVIL = "`x` <script>alert(1)</script> ```{note}\n$x$ {{ y }}"


def _rendered(markdown: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").render(markdown)


def test_notes_show_a_parameter_value_as_text():
    import html
    import re

    import nbformat

    from replication.book import site

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("a = 1", metadata={"tags": ["parameters"]}),
                                         nbformat.v4.new_code_cell("a = 2", metadata={"tags": ["injected-parameters"]})])
    sphinx.label_injected(nb, {"a": EVIL})
    site.add_rerun_note(nb, "tiny", {"name": EVIL, "n": 1})
    for note in (nb.cells[1].source, nb.cells[-1].source):
        fence = note.split("{")[0]
        body = note.split("\n", 1)[1].rsplit("\n", 1)[0]
        assert note.endswith("\n" + fence) and fence not in body  # nothing in the value closes the block
        page = _rendered(body)
        assert "<script>" not in page and "&lt;script&gt;" in page
        codes = [html.unescape(c) for c in re.findall(r"<code>(.*?)</code>", page, flags=re.S)]
        assert any(repr(EVIL) in c for c in codes), codes  # the value, whole, as code


# -- concurrent runs: one waits, nothing finished is removed ------------------------------------------


def test_remove_unfinished_spares_finished_and_locked_folders(tmp_path):
    chapter = tmp_path / "tiny"
    finished, running, left = chapter / "finished", chapter / "running", chapter / "left"
    for folder in (finished, running, left):
        folder.mkdir(parents=True)
        (folder / "figures").mkdir()
    (finished / "tiny.ipynb").write_text("{}")
    with execution.folder_lock(running, wait=True) as held:  # another run writing it
        assert held
        with execution.folder_lock(running, wait=False) as again:
            assert again is False
        execution.remove_unfinished(chapter, "tiny")
    assert finished.exists() and running.exists() and not left.exists()


def test_a_failed_run_removes_only_its_own_folder(book, tmp_path, monkeypatch):
    out = tmp_path / "runs"
    other = out / "tiny" / "finished"
    other.mkdir(parents=True)
    (other / "tiny.ipynb").write_text("{}")

    def fail(*args, **kwargs):
        raise ReplicationError("tiny: cell 2 failed: boom")

    monkeypatch.setattr(execution, "execute", fail)
    with pytest.raises(ReplicationError, match="boom"):
        execution.run_chapter("tiny", {"layers": 3}, book_dir=book, out_root=out, progress=False)
    assert [p.name for p in (out / "tiny").iterdir()] == ["finished"] and (other / "tiny.ipynb").exists()


DRIVER = """
import sys
from pathlib import Path
from replication.book import execution
print(execution.run_chapter("tiny", {"layers": 7}, book_dir=Path(sys.argv[1]), out_root=Path(sys.argv[2]),
                            progress=False))
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_identical_runs_at_once_both_succeed_with_one_folder(book, tmp_path):
    import subprocess
    import sys

    # the chapter sleeps, so that the second run starts while the first one is executing
    (book / "tiny.md").write_text(CHAPTER.replace("print(budget", "import time; time.sleep(3); print(budget"))
    out = tmp_path / "runs"
    runs = [subprocess.Popen([sys.executable, "-c", DRIVER, str(book), str(out)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [run.communicate(timeout=100) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in results]
    folders = {stdout.strip() for stdout, _ in results}
    assert len(folders) == 1
    folder = Path(folders.pop())
    assert (folder / "tiny.ipynb").exists() and (folder / "parameters.json").exists()
    assert [p.name for p in (out / "tiny").iterdir()] == [folder.name]


def test_one_module_locates_the_repository():
    """Only ``replication.repository`` finds the checkout from its own path; every other module asks it."""
    import re

    from replication.repository import REPO_DIR

    assert (REPO_DIR / "pyproject.toml").is_file() and (PACKAGE_DIR / "repository.py").is_file()
    finders = sorted(str(p.relative_to(PACKAGE_DIR)) for p in PACKAGE_DIR.rglob("*.py")
                     if re.search(r"__file__\)?(\.resolve\(\))?\.parents?\b", p.read_text()))
    assert finders == ["repository.py"]


def test_the_extension_config_yml_names_is_the_book_package():
    import importlib

    import yaml

    from replication.repository import REPO_DIR

    config = yaml.safe_load((REPO_DIR / "_config.yml").read_text())["sphinx"]
    assert "replication.book" in config["extra_extensions"]
    assert callable(importlib.import_module("replication.book").setup)
    module, _, reader = config["config"]["nb_custom_formats"][".md"].rpartition(".")
    nb = getattr(importlib.import_module(module), reader)(CHAPTER)
    assert chapters.read_parameters(nb)["layers"] == 4


@pytest.mark.parametrize("path", sorted((PACKAGE_DIR / "book").glob("*.py")), ids=lambda p: p.name)
def test_each_module_of_the_book_package_is_short(path):
    assert len(path.read_text().splitlines()) <= 400
