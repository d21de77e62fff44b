"""Reading a run's files: JSON objects, metrics records, and the manifest that proves a finished run's files
unchanged since it finished (``replication.store.runs``). Every failure is one line that names the file.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

from replication.errors import ReplicationError

#: Adds a manifest to the summaries of runs recorded before manifests existed.
MIGRATION = "tools/add_manifests.py"
#: The files a manifest covers.
MANIFEST_FILES = ("config.json", "metrics.jsonl")


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ReplicationError(f"{path} is not UTF-8 text") from None
    except OSError as err:
        raise ReplicationError(f"{path} cannot be read: {err.strerror or err}") from None


def read_json(path: Path, what: str = "a JSON object") -> dict:
    """A JSON object from ``path`` (NaN and Infinity refused: they are not JSON)."""
    try:
        obj = json.loads(_read_text(path), parse_constant=_no_constant)
    except ValueError as err:
        raise ReplicationError(f"{path} is not valid JSON ({err})") from None
    if not isinstance(obj, dict):
        raise ReplicationError(f"{path} holds a JSON {type(obj).__name__}, not {what}")
    return obj


def _metrics_record(line: str) -> dict:
    """One metrics.jsonl line as a record, or ValueError saying what is wrong with it."""
    rec = json.loads(line, parse_constant=_no_constant)
    if not isinstance(rec, dict):
        raise ValueError(f"a JSON {type(rec).__name__}, not a record")
    if rec.get("kind") not in ("train", "val"):
        raise ValueError(f"kind={rec.get('kind')!r}, not 'train' or 'val'")
    step, loss = rec.get("step"), rec.get("loss")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step={step!r}, not a step number")
    if isinstance(loss, bool) or not isinstance(loss, (int, float)) or not math.isfinite(loss):
        raise ValueError(f"loss={loss!r}, not a finite number")
    return rec


def read_metrics(path: Path, partial_last_line: bool = False) -> list[dict]:
    """The records of a metrics.jsonl (none if the file does not exist), each checked to be a JSON
    object with a kind, a step and a finite loss.

    Records are appended one line at a time, so a kill can cut only the last line short (it then has no
    newline). ``partial_last_line`` drops such a line (what a resumed run does, which logs that step
    again); otherwise it is refused, as is any malformed line.
    """
    path = Path(path)
    if not path.is_file():
        return []
    lines = _read_text(path).split("\n")
    tail = lines.pop()  # "" when the file ends with a newline
    if tail and not partial_last_line:
        raise ReplicationError(f"{path}, line {len(lines) + 1}: cut short (no newline at the end)")
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(_metrics_record(line))
        except ValueError as err:
            raise ReplicationError(f"{path}, line {number}: not a metrics record ({err})") from None
    return records


# --------------------------------------------------------------------------------------------------
# manifests


def _digest(path: Path) -> dict:
    data = path.read_bytes() if path.is_file() else b""
    return {"lines": data.count(b"\n"), "sha256": hashlib.sha256(data).hexdigest()}


def _summary_hash(summary: dict) -> str:
    fields = {k: v for k, v in summary.items() if k != "manifest"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def manifest(run_dir: Path, summary: dict) -> dict:
    """What a finished run's summary.json records of the run: line count and SHA-256 of each of
    :data:`MANIFEST_FILES` as they are on disk, and the SHA-256 of the summary's other fields."""
    out = {name: _digest(Path(run_dir) / name) for name in MANIFEST_FILES}
    out["summary.json"] = {"sha256": _summary_hash(summary)}
    return out


#: The summary fields that repeat what metrics.jsonl's last validation record says.
CROSS_CHECKED = {"final_val_loss": "loss", "steps": "step", "latent_tokens": "latent_tokens",
                 "C_self": "C_self", "C_cross": "C_cross"}


def _last_records(metrics_path: Path) -> dict:
    """The last train and val records of a metrics.jsonl, read from its end (a run logs both at its
    last step, so a few lines suffice)."""
    last = {}
    for line in reversed(_read_text(metrics_path).splitlines()):
        try:
            rec = _metrics_record(line)
        except ValueError as err:
            raise ReplicationError(f"{metrics_path}: not a metrics record ({err})") from None
        last.setdefault(rec["kind"], rec)
        if len(last) == 2:
            break
    return last


def _cross_check(rid: str, path: Path, summary: dict, metrics_path: Path) -> None:
    """Refuse a summary whose numbers are not those of its metrics.jsonl: the manifest proves that the
    files are as the run finished only if nobody rewrote the summary and its manifest together."""
    last = _last_records(metrics_path)
    val, train = last.get("val"), last.get("train")
    if val is None:
        raise ReplicationError(f"run {rid}: {metrics_path} holds no validation record; its summary.json says "
                               f"final_val_loss={summary.get('final_val_loss')!r}")
    for field, key in CROSS_CHECKED.items():
        if field in summary and summary[field] != val.get(key):
            raise ReplicationError(f"run {rid}: {path} says {field}={summary[field]!r}, its metrics.jsonl's last "
                                   f"validation record {key}={val.get(key)!r}: the summary was edited")
        if field not in summary:
            raise ReplicationError(f"run {rid}: {path} has no {field}")
    if train is None or train["step"] != summary["steps"]:
        raise ReplicationError(f"run {rid}: {path} says steps={summary['steps']!r}, its metrics.jsonl's last "
                               f"train record step={None if train is None else train['step']!r}: the summary "
                               "was edited")
    if "C" in summary and summary["C"] != summary["C_self"] + summary["C_cross"]:
        raise ReplicationError(f"run {rid}: {path} says C={summary['C']!r}, not C_self + C_cross = "
                               f"{summary['C_self'] + summary['C_cross']!r}: the summary was edited")


def check_manifest(rid: str, run_dir: Path, summary: dict) -> None:
    """Refuse (one line naming the run and the file) a finished run's ``summary`` whose manifest is missing or
    malformed, whose fields or files (:data:`MANIFEST_FILES` in ``run_dir``) changed since the run finished,
    or whose numbers are not those of its metrics.jsonl."""
    path = Path(run_dir) / "summary.json"
    recorded = summary.get("manifest")
    if recorded is None:
        raise ReplicationError(f"run {rid}: {path} was recorded before manifests; run {MIGRATION} to add one")
    if not isinstance(recorded, dict) or set(recorded) != {*MANIFEST_FILES, "summary.json"}:
        raise ReplicationError(f"run {rid}: {path} has a malformed manifest")
    if recorded["summary.json"] != {"sha256": _summary_hash(summary)}:
        raise ReplicationError(f"run {rid}: {path} was changed after the run finished (its fields no "
                               "longer match its manifest)")
    for name in MANIFEST_FILES:
        file = Path(run_dir) / name
        if not file.is_file():
            raise ReplicationError(f"run {rid}: {file} is missing (its summary.json records it)")
        found = _digest(file)
        if found != recorded[name]:
            want = recorded[name]
            raise ReplicationError(
                f"run {rid}: {file} does not match the manifest in summary.json "
                f"({want.get('lines')} lines, sha256 {str(want.get('sha256'))[:12]} recorded; "
                f"{found['lines']} lines, sha256 {found['sha256'][:12]} found): changed or cut short "
                "after the run finished")
    if summary.get("run_id") != rid:
        raise ReplicationError(f"run {rid}: {path} is the summary of run {summary.get('run_id')!r}")
    _cross_check(rid, path, summary, Path(run_dir) / "metrics.jsonl")
