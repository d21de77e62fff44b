"""Every chapter gives its verdict first: right under its title a Verdict admonition whose body is glued from
Verdict objects (``glue:md``), then the parameters cell, hidden. Reads the chapters' text only; what the
boxes say (and that they stay under 60 words) is tested with the library functions that make them."""
import re

import pytest

from replication.book.chapters import chapters, read_md, toc_chapters

#: chapters whose box is not written yet (their owners are on it)
PENDING: dict = {}

BOX = re.compile(r"^(`{4,})\{admonition\} Verdict\n(?P<body>.*?)\n\1\s*$", re.S)


def _chapters():
    executable = chapters()
    return [pytest.param(name, marks=pytest.mark.xfail(reason=PENDING[name], strict=True)) if name in PENDING
            else name for name in toc_chapters() if name in executable]


def test_every_executable_chapter_in_the_toc_is_checked():
    assert len(_chapters()) >= 13


@pytest.mark.parametrize("name", _chapters())
def test_the_verdict_box_comes_first_and_the_parameters_follow_it_hidden(name):
    nb = read_md(chapters()[name].read_text())
    first, second = nb.cells[0], nb.cells[1]
    assert first.cell_type == "markdown", "the chapter must open with its title and Verdict box"
    title, _, rest = first.source.strip().partition("\n")
    assert title.startswith("# "), f"{name}: the first line is not the title: {title!r}"
    box = BOX.match(rest.strip())
    assert box, f"{name}: the first block after the title is not the Verdict admonition (alone before the parameters)"
    body = box["body"]
    assert re.search(r"^:class:.*\bverdict\b", body, re.M), f"{name}: the box has no verdict class"
    assert "warning" not in body and "important" not in body, f"{name}: the box takes an alarm's colour"
    glued = re.search(r"^```\{glue:md\} (\w+)\n:format: myst\n```$", body, re.M)
    assert glued, f"{name}: the box's body is not one glue:md directive (format myst)"
    assert second.cell_type == "code", f"{name}: the parameters cell must follow the box"
    tags = second.metadata.get("tags", [])
    assert "parameters" in tags and "hide-input" in tags, f"{name}: the parameters cell follows the box, hidden"
