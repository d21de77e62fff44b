"""The downloadable notebooks (replication.book.notebooks) and the re-run note (replication.book.site): a
notebook carries the page's numbers, figures, citations and cross-references, not MyST roles; the note is
folded and its example changes a value."""
import json
import zipfile

import nbformat
import pytest

from replication.book import notebooks, site
from replication.book.chapters import chapters, read_md, read_parameters
from replication.book.parameters import validate_parameters

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10pt" height="10pt"></svg>'

GLUE = {
    "n": {"data": {"text/plain": "3.14159"}, "metadata": {}, "output_type": "display_data"},
    "word": {"data": {"text/plain": "'reproduced'"}, "metadata": {}, "output_type": "display_data"},
    "count": {"data": {"text/plain": "335"}, "metadata": {}, "output_type": "display_data"},
    "box": {"data": {"text/markdown": "We find {glue:text}`n:.2f` {bdg-success}`agrees` {cite:p}`hoffmann2022`",
                     "text/plain": "<Markdown>"}, "metadata": {}, "output_type": "display_data"},
    "fig": {"data": {"image/svg+xml": SVG, "text/plain": "<SVG>"},
            "metadata": {"scrapbook": {"name": "fig", "mime_prefix": ""}}, "output_type": "display_data"},
}

PAGE = """(sec-top)=
# A chapter

````{admonition} Verdict
:class: verdict
```{glue:md} box
:format: myst
```
````

{cite:t}`krasser2023` finds $a$ = {glue:text}`n:.3f`, *{glue:text}`word`*, {glue}`count` claims, as in
{numref}`fig-a`, eq. {eq}`eq-x` and {doc}`flops`; see {ref}`the top <sec-top>`. Inline code stays:
`{glue:text}` and ``a `b` c``.

$$
a + b = 1
$$ (eq-x)

% a comment the page does not show

```{glue:figure} fig
:name: fig-a
:alt: A plot of something, in five words or more.

The caption, with {glue:text}`n:.1f`.
```

After the figure.
"""

REFS = notebooks.References(
    numbers={"fig-a": "Fig. 7"}, equations={"eq-x": "2"}, sections={"sec-top": ("page", "A chapter")},
    titles={"flops": "Counting FLOPs"},
    citations={"hoffmann2022": ("Hoffmann et al.", "2022", "Jordan Hoffmann and others. Training. 2022."),
               "krasser2023": ("Krasser", "2023", "Martin Krasser. Perceiver. 2023.")})


def executed_page():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1", outputs=[]), nbformat.v4.new_markdown_cell(PAGE)]
    note = site.rerun_note("page", {"x": 1})
    nb.cells.insert(1, note)
    return nb


@pytest.fixture(scope="module")
def standalone():
    return notebooks.standalone(executed_page(), GLUE, REFS, "page", preface="The preface.",
                                drop_tags=(site.RERUN_TAG,))


def markdown(nb) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_no_role_or_directive_is_left(standalone):
    assert notebooks.leftovers(standalone) == []
    assert notebooks.leftovers(executed_page())  # the page's own notebook holds them


def test_numbers_are_written_as_the_page_shows_them(standalone):
    text = markdown(standalone)
    assert "$a$ = 3.142, *reproduced*, 335 claims" in text  # a string without its quotes, as the page
    assert "We find 3.14 **agrees** \\[Hoffmann et al., 2022\\]" in text


def test_citations_cross_references_and_equations_resolve(standalone):
    text = markdown(standalone)
    assert text.count("Krasser \\[2023\\] finds") == 1
    assert "as in\nFig. 7, eq. (2) and [Counting FLOPs](flops.ipynb); see the top." in text
    assert "a + b = 1 \\tag{2}\n$$" in text and "(sec-top)=" not in text and "% a comment" not in text
    assert standalone.cells[-1].source.startswith("## References")
    refs = standalone.cells[-1].source
    assert refs.index("Jordan Hoffmann") < refs.index("Martin Krasser")  # in the order cited (the box first)


def test_inline_code_is_kept_as_it_is(standalone):
    assert "`{glue:text}` and ``a `b` c``" in markdown(standalone)


def test_admonitions_are_quotes_with_a_bold_title(standalone):
    assert "> **Verdict**\n>\n> We find 3.14" in markdown(standalone)


def test_each_glued_figure_is_an_output_with_its_numbered_caption(standalone):
    cells = standalone.cells
    at = next(i for i, c in enumerate(cells) if "figure" in c.metadata.get("tags", []))
    output = cells[at].outputs[0]
    assert output.output_type == "display_data" and output.data["image/svg+xml"] == SVG
    assert "scrapbook" not in output.metadata
    assert cells[at].source == "# A plot of something, in five words or more."
    assert cells[at + 1].source == "**Fig. 7** The caption, with 3.1."
    assert cells[at + 2].source.strip() == "After the figure."


def test_the_page_s_notes_give_way_to_a_preface(standalone):
    assert standalone.cells[0].source == "The preface."
    assert site.RERUN_TAG not in json.dumps([c.metadata for c in standalone.cells])


def test_write_all_writes_each_chapter_and_a_zip(tmp_path):
    executed = tmp_path / "jupyter_execute"
    executed.mkdir()
    nbformat.write(executed_page(), executed / "page.ipynb")
    (executed / "page.glue.json").write_text(json.dumps(GLUE))
    written = notebooks.write_all(executed, tmp_path / "out", ["page", "missing"], REFS, {"page": "Hi."})
    assert [p.name for p in written] == ["page.ipynb"]
    with zipfile.ZipFile(tmp_path / "out" / notebooks.ZIP_NAME) as z:
        assert z.namelist() == ["page.ipynb"]
        assert notebooks.leftovers(nbformat.reads(z.read("page.ipynb").decode(), as_version=4)) == []


def test_bibliography_labels_read_like_the_page_s_citations():
    from replication.repository import REPO_DIR

    cited = notebooks.bibliography(REPO_DIR / "book" / "references.bib")
    assert cited["hoffmann2022"][:2] == ("Hoffmann et al.", "2022")
    assert cited["pearce2024"][:2] == ("Pearce and Song", "2024") and cited["krasser2023"][0] == "Krasser"
    assert "arxiv.org/abs/2203.15556" in cited["hoffmann2022"][2] and "\n" not in cited["hoffmann2022"][2]


# -- the re-run note ----------------------------------------------------------------------------------------


def test_the_re_run_note_is_folded_and_its_example_changes_a_value():
    note = site.rerun_note("glance", {"c_min": 1e18, "c_max": 1e26})
    assert ":class: tip dropdown rerun-note" in note.source
    assert "`replication run glance -p c_min=1e+20`" in note.source
    assert "(default `1e+18`)" in note.source


@pytest.mark.parametrize("chapter", sorted(chapters()))
def test_every_chapter_s_example_is_valid_and_not_its_default(chapter):
    defaults = read_parameters(read_md(chapters()[chapter].read_text()))
    name, value = site.rerun_example(chapter, defaults)
    assert chapter in site.RERUN_EXAMPLES, f"{chapter}: no example of its own"
    assert value != defaults[name]
    assert validate_parameters(chapter, defaults, {name: value}) == {name: value}


def test_the_example_rule_for_a_chapter_without_one():
    assert site.rerun_example("new", {"label": "x", "n": 0, "flag": False}) == ("n", 1)
    assert site.rerun_example("new", {"flag": False, "n": 3}) == ("flag", True)
    assert site.rerun_example("new", {"label": "x"}) == ("label", "x")
