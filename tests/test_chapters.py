"""Every chapter runs through papermill with its smallest sensible parameters."""
import json

import pytest

from replication import pipeline

#: chapter -> the smallest parameters that still exercise every cell. Chapters not listed run with defaults.
SMALLEST = {
    "glance": {"c_min": 1e20, "c_max": 1e22, "factor": 2.0},
    "claims": {"perturb": 0.01},
    "study": {"bootstrap": 20},  # reads the recorded runs; never trains
    "experiment1": {"scale": "cpu"},  # reuses the recorded runs
    "experiment2a": {"scale": "cpu"},  # reuses the recorded runs
    "experiment2b": {"scale": "cpu"},  # reuses the recorded runs
}


@pytest.mark.slow
@pytest.mark.parametrize("chapter", sorted(pipeline.chapters()))
def test_chapter_executes(chapter, tmp_path):
    out = pipeline.run_chapter(chapter, SMALLEST.get(chapter, {}), out_root=tmp_path, progress=False)
    nb = json.loads((out / f"{chapter}.ipynb").read_text())
    errors = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors


def test_smallest_parameters_are_valid():
    for chapter, params in SMALLEST.items():
        path = pipeline.chapter_path(chapter)
        pipeline.validate_parameters(chapter, pipeline.read_parameters(pipeline._read_md(path.read_text())), params)


def test_every_chapter_is_in_the_toc():
    import yaml

    toc = yaml.safe_load((pipeline.REPO_DIR / "_toc.yml").read_text())
    files = {toc["root"]} | {entry["file"] for entry in toc.get("chapters", [])}
    assert set(pipeline.chapters()) <= files
