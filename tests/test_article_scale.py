"""Krasser's experiments at the article's scale (replication.studies.article_scale): the records read, the
GPU-hours of every model, and the verdicts."""
import json

import pytest

from replication.errors import ReplicationError
from replication.studies import article_scale
from replication.verdict import HOLDS, INCONCLUSIVE, box_markdown, words


def test_hours_use_the_assumed_mfu_without_a_record():
    t = article_scale.hours_table(None, "corrected", 0.35, 989e12)
    assert set(t["experiment"]) == {"1", "2a", "2b"} and (t["MFU from"] == "assumed").all()
    row = t.iloc[0]
    assert row["GPU-hours"] == pytest.approx(row["executed FLOPs"] / (0.35 * 989e12) / 3600)
    with pytest.raises(ReplicationError, match="assumed_mfu"):
        article_scale.hours_table(None, "corrected", 0.0, 989e12)


def test_cpu_checks_are_records_only_when_asked_for(tmp_path):
    (tmp_path / "check.json").write_text(json.dumps({"created": "2025-01-01", "tiny": True, "device": "cpu"}))
    assert article_scale.records(tmp_path) == []
    found = article_scale.records(tmp_path, cpu_checks=True)
    assert len(found) == 1 and found[0]["path"].endswith("check.json")
    assert article_scale.gpu_status(found[0]).startswith("not measured (the record shown is a CPU check")


def test_verdicts_say_the_losses_are_untested_and_the_trainer_paths_hold_on_a_cpu():
    hours = article_scale.hours_table(None, "corrected", 0.35, 989e12)
    losses, trainer = article_scale.verdicts(None, hours)
    assert losses.outcome == INCONCLUSIVE and losses.label == "inconclusive (0 runs at that scale)"
    assert f"{hours['GPU-hours'].sum():,.1f} GPU-hours" in losses.found()
    assert trainer.outcome == HOLDS and "not measured" in trainer.found()
    assert "a NVIDIA H100" in article_scale.verdicts({"device_name": "NVIDIA H100"}, hours)[1].found()
    assert words(box_markdown([losses, trainer])) <= 60
