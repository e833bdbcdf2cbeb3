"""Strip notebooks for git: no outputs, execution counts or widget state.

Usage: `python -m d2lhelpers.tools.strip notebooks/` (what `make strip` runs).
`is_stripped` is what the repository's test uses to refuse unstripped notebooks.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["strip_notebook", "is_stripped", "main"]

_VOLATILE_METADATA = ("widgets", "execution")


def is_stripped(nb: dict) -> list[str]:
    """Problems that keep a notebook (parsed JSON) from being stripped; [] when clean."""
    problems = []
    if "widgets" in nb.get("metadata", {}):
        problems.append("notebook metadata holds widget state")
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {i} has stored outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {i} has an execution count")
        if any(k in cell.get("metadata", {}) for k in _VOLATILE_METADATA):
            problems.append(f"cell {i} has execution or widget metadata")
    return problems


def strip_notebook(nb: dict) -> dict:
    """Return `nb` without outputs, execution counts and widget/execution metadata."""
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        for key in _VOLATILE_METADATA:
            cell.get("metadata", {}).pop(key, None)
    return nb


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])] or [Path("notebooks")]
    for root in paths:
        files = sorted(root.rglob("*.ipynb")) if root.is_dir() else [root]
        for path in files:
            if ".ipynb_checkpoints" in path.parts:
                continue
            nb = json.loads(path.read_text(encoding="utf-8"))
            if is_stripped(nb):
                path.write_text(
                    json.dumps(strip_notebook(nb), indent=1, ensure_ascii=False) + "\n",
                    encoding="utf-8",
                )
                print(f"stripped {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
