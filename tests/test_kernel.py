"""The site build's one kernel (replication.book.kernel): each chapter finds it as a kernel of its own would
be, and it is started once."""
import json

import pytest

from replication.book.execution import execute
from replication.book.kernel import SharedKernel, _sync
from replication.repository import BOOK_DIR

HEAD = """---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  name: python3
  display_name: Python 3
  language: python
---
# {title}

```{{code-cell}} ipython3
:tags: [parameters]
n = 1
```

```{{code-cell}} ipython3
BOOK = {book!r}
```
"""

#: a chapter that changes everything a chapter can change in its kernel
MESSY = HEAD.format(title="Messy", book=str(BOOK_DIR)) + """
```{code-cell} ipython3
import os, sys, warnings
import matplotlib as mpl, matplotlib.pyplot as plt, numpy as np, pandas as pd
leftover = 42
mpl.rcParams["lines.linewidth"] = 7.5
pd.set_option("display.precision", 1)
np.set_printoptions(precision=2)
warnings.simplefilter("error")
sys.path.insert(0, "/nowhere")
sys.path.insert(0, BOOK)
os.chdir("/")
plt.figure()
import _lib.tables
_lib.tables.MARK = "edited"
print(os.getpid())
```
"""

#: a chapter that reports what it finds
LOOK = HEAD.format(title="Look", book=str(BOOK_DIR)) + """
```{code-cell} ipython3
import json, os, sys, warnings
import matplotlib as mpl, matplotlib.pyplot as plt, numpy as np, pandas as pd
found = {"leftover": "leftover" in globals(), "linewidth": mpl.rcParams["lines.linewidth"],
         "precision": pd.get_option("display.precision"), "np": np.get_printoptions()["precision"],
         "error_filter": any(f[0] == "error" for f in warnings.filters), "nowhere": "/nowhere" in sys.path,
         "cwd": os.getcwd(), "figures": len(plt.get_fignums()), "pid": os.getpid()}
sys.path.insert(0, BOOK)
import _lib.tables
print(json.dumps({**found, "mark": hasattr(_lib.tables, "MARK")}))
```
"""


def _printed(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


@pytest.mark.slow
def test_each_chapter_finds_the_shared_kernel_as_a_fresh_one(tmp_path):
    paths = {name: tmp_path / f"{name}.md" for name in ("messy", "look")}
    paths["messy"].write_text(MESSY)
    paths["look"].write_text(LOOK)
    fresh = json.loads(_printed(execute(paths["look"], {}, None)))
    kernel = SharedKernel(tmp_path)
    try:
        messy_pid = int(_printed(execute(paths["messy"], {}, None, kernel=kernel)))
        shared = execute(paths["look"], {}, None, kernel=kernel)
    finally:
        kernel.close()
    found = json.loads(_printed(shared))
    assert found.pop("pid") == messy_pid != fresh.pop("pid")  # the same kernel, not a new one
    assert found == fresh and fresh["leftover"] is False and fresh["cwd"] == str(tmp_path)
    # numbered from 1, as in a kernel of the chapter's own
    assert [c.execution_count for c in shared.cells if c.cell_type == "code"] == [1, 2, 3]
    assert kernel.km is None  # closed: the kernel is gone


def test_a_kernel_that_died_is_started_again(tmp_path):
    kernel = SharedKernel(tmp_path)
    try:
        first = kernel.ready()
        assert kernel.alive()
        _sync(first.shutdown_kernel)(now=True)
        assert not kernel.alive()
        assert kernel.ready() is not first and kernel.alive()
    finally:
        kernel.close()


@pytest.mark.timeout(180)
def test_a_chapter_that_kills_the_kernel_fails_and_the_next_one_runs(tmp_path):
    """A kernel that dies mid-chapter ends the chapter in an error (not a wait for output that never comes);
    the next chapter gets a kernel started again. Each chapter's kernel clients are stopped after it."""
    (tmp_path / "dies.md").write_text(HEAD.format(title="Dies", book=str(BOOK_DIR)) + """
```{code-cell} ipython3
import os
os._exit(1)
```
""")
    (tmp_path / "look.md").write_text(LOOK)
    kernel = SharedKernel(tmp_path)
    try:
        with pytest.raises(Exception, match="(?i)dead|died|kernel"):
            execute(tmp_path / "dies.md", {}, None, kernel=kernel)
        found = json.loads(_printed(execute(tmp_path / "look.md", {}, None, kernel=kernel)))
        assert found["leftover"] is False and kernel.km.opened == []
    finally:
        kernel.close()
