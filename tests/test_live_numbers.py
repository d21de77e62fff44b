"""Live numbers: a chapter re-executed with other parameters says other numbers in its prose, because every
number in the prose is glued from the computation (nothing is typed in)."""
import re

import nbformat
import pytest

from replication.book import execution

pytestmark = pytest.mark.slow

#: the chapter re-executed here (one of the fastest), and a parameter change that must move its results
CHAPTER, CHANGE = "glance", {"factor": 100.0}

GLUE_REF = re.compile(r"\{glue(?::text)?\}`([^`:]+)")


def prose_keys(nb) -> set[str]:
    """The glued values the chapter's prose (its markdown cells) quotes."""
    return {m.group(1) for c in nb.cells if c.cell_type == "markdown" for m in GLUE_REF.finditer(c.source)}


def glued(nb) -> dict[str, str]:
    """name -> the text/plain form of every value the notebook glued."""
    out = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            scrap = o.get("metadata", {}).get("scrapbook", {})
            if scrap.get("name"):  # glue(..., display=False) records under a mime prefix
                out[scrap["name"]] = o.get("data", {}).get(scrap.get("mime_prefix", "") + "text/plain", "")
    return out


def test_prose_numbers_follow_the_parameters(tmp_path):
    runs = {}
    for label, params in (("default", {}), ("changed", CHANGE)):
        folder = execution.run_chapter(CHAPTER, params, out_root=tmp_path, progress=False)
        runs[label] = nbformat.read(folder / f"{CHAPTER}.ipynb", as_version=4)
    keys = prose_keys(runs["default"])
    assert keys, f"{CHAPTER}: its prose quotes no glued value"
    for label, nb in runs.items():
        missing = keys - set(glued(nb))
        assert not missing, f"{label} run: prose quotes values that were never glued: {sorted(missing)}"
    a, b = glued(runs["default"]), glued(runs["changed"])
    changed = {k for k in keys if a[k] != b[k]}
    # the verdict box and the prose quote what the parameter decides: those values must move with it
    assert len(changed) >= 2, f"only {sorted(changed)} of {sorted(keys)} changed with {CHANGE}"
    assert "injected-parameters" in {t for c in runs["changed"].cells for t in c.metadata.get("tags", [])}
