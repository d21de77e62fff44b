"""Compare the text outputs of two sets of executed chapters (e.g. before and after a refactor).

    python tools/compare_executed.py BEFORE_DIR AFTER_DIR [--context 2]

Each folder holds executed notebooks named ``<chapter>-<key>.ipynb`` (as in ``_build/executed/``) or
``<chapter>.ipynb``. For every chapter in both, the text outputs (streams, ``text/plain``, ``text/html``,
``text/markdown``, ``text/latex`` and errors) are compared in order, after removing what is expected to
differ between runs (object addresses, timings printed as ``... s``). Figures are compared by count only.
Exit status 0 when every chapter's text outputs are identical, 1 otherwise.
"""
from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import re
import sys
from pathlib import Path

TEXT_TYPES = ("text/plain", "text/html", "text/markdown", "text/latex")
VOLATILE = [
    (re.compile(r"0x[0-9a-f]{6,}"), "0x…"),
    (re.compile(r"\bid=\"[^\"]*\""), 'id="…"'),
    (re.compile(r"T_[0-9a-f]{5}"), "T_…"),  # pandas Styler table ids
]
#: embedded files (data: links) are compared by a short hash, not printed
DATA_URI = re.compile(r"base64,([A-Za-z0-9+/=]{64,})")


def _join(text) -> str:
    return "".join(text) if isinstance(text, list) else str(text)


def text_outputs(path: Path) -> tuple[list[str], int]:
    nb = json.loads(path.read_text())
    lines, figures = [], 0
    for i, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream":
                chunks = [_join(out.get("text", ""))]
            elif kind == "error":
                chunks = [f"{out.get('ename')}: {out.get('evalue')}"]
            else:
                data = out.get("data", {})
                figures += "image/png" in data or "image/svg+xml" in data
                chunks = [_join(data[t]) for t in TEXT_TYPES if t in data]
            for chunk in chunks:
                for pattern, repl in VOLATILE:
                    chunk = pattern.sub(repl, chunk)
                chunk = DATA_URI.sub(lambda m: f"base64,<sha256 {hashlib.sha256(m[1].encode()).hexdigest()[:12]}>", chunk)
                lines += [f"[cell {i}] {line}" for line in chunk.splitlines()]
    return lines, figures


def by_chapter(folder: Path) -> dict[str, Path]:
    """Each chapter's most recently executed notebook in ``folder``."""
    found = {}
    for path in sorted(folder.glob("*.ipynb"), key=lambda p: p.stat().st_mtime):
        found[re.sub(r"-[0-9a-f]{16}$", "", path.stem)] = path
    return found


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--context", type=int, default=2, help="lines of context in each diff (default 2)")
    args = ap.parse_args(argv)
    before, after = by_chapter(args.before), by_chapter(args.after)
    changed = 0
    for name in sorted(set(before) | set(after)):
        if name not in before or name not in after:
            print(f"{name}: only in {'after' if name in after else 'before'}")
            changed += 1
            continue
        (old, old_figs), (new, new_figs) = text_outputs(before[name]), text_outputs(after[name])
        diff = list(difflib.unified_diff(old, new, f"before/{name}", f"after/{name}", n=args.context, lineterm=""))
        status = "identical" if not diff else f"{sum(1 for d in diff if d[:1] in '+-') - 2} lines differ"
        print(f"{name}: {status} ({len(old)} text lines; figures {old_figs} -> {new_figs})")
        if diff or old_figs != new_figs:
            changed += 1
            print("\n".join(diff))
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
