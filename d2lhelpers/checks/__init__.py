"""Checkable exercises: `check`, `exercises`, `progress` (used as `d2l.check` etc.).

Each notebook's 练习 section has, per exercise, an answer cell (a scaffold left at `None`
in the committed notebook) and a check cell `d2l.check("08.3", answer)`. Worked
solutions are in `solutions/`; instructors grade folders of notebooks with
`make grade SUBMISSIONS=folder` (`python -m d2lhelpers.checks.grade`).
"""

from __future__ import annotations

import html

from .core import (
    CheckResult,
    Exercise,
    ExerciseList,
    Verdict,
    check,
    exercise,
    exercises,
    notebook_number,
    registered,
)
from .progress import passed_ids, progress_file

__all__ = [
    "CheckResult",
    "Exercise",
    "ExerciseList",
    "ProgressTable",
    "Verdict",
    "check",
    "exercise",
    "exercises",
    "progress",
]

NOTEBOOKS = {
    1: "01_tensors 张量",
    2: "02_pandas 数据预处理",
    3: "03_linear_algebra 线性代数",
    4: "04_autograd 自动微分",
    5: "05_linear_networks 线性神经网络",
    6: "06_mlp 多层感知机",
    7: "07_deep_learning_computation 深度学习计算",
    8: "08_cnn 卷积神经网络",
    9: "09_modern_cnn 现代卷积神经网络",
    10: "10_rnn 循环神经网络",
    11: "11_modern_rnn 现代循环神经网络",
    12: "12_attention 注意力机制",
    13: "13_computer_vision 计算机视觉",
    14: "14_optimization 优化算法",
    15: "15_keys 要点速查",
}


class ProgressTable(list):
    """Rows (notebook, passed, total) of `progress()`; a text table or an HTML one."""

    def __repr__(self) -> str:
        lines = [f"练习进度 Exercise progress ({progress_file()})"]
        lines += [f"{name:<44} {passed}/{total}" for name, passed, total in self]
        done, total = sum(r[1] for r in self), sum(r[2] for r in self)
        lines.append(f"{'合计 total':<44} {done}/{total}")
        return "\n".join(lines)

    def _repr_pretty_(self, p: object, cycle: bool) -> None:
        p.text(repr(self))  # type: ignore[attr-defined]

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{passed}/{total}</td>"
            f"<td><progress value='{passed}' max='{total}'></progress></td></tr>"
            for name, passed, total in self
        )
        done, total = sum(r[1] for r in self), sum(r[2] for r in self)
        return (
            "<table><tr><th>notebook</th><th>passed</th><th></th></tr>"
            f"{rows}<tr><th>合计 total</th><th>{done}/{total}</th><th></th></tr></table>"
        )


def progress(notebook: int | str | None = None) -> ProgressTable | None:
    """How many exercises this learner has passed, from the local progress file.

    `progress()` returns a table of all notebooks (shown when it ends a cell);
    `progress(8)` prints one line for notebook 08 and returns None (every notebook's
    first cell calls it).
    """
    passed = passed_ids()
    if notebook is not None:
        number = notebook_number(notebook)
        ids = [e.id for e in registered(number)]
        done = sum(i in passed for i in ids)
        print(
            f"练习进度：本章 {done}/{len(ids)} 道练习已通过"
            f"（d2l.progress() 查看全部；Exercises passed in this notebook: {done}/{len(ids)}）"
        )
        return None
    table = ProgressTable()
    for number, name in NOTEBOOKS.items():
        ids = [e.id for e in registered(number)]
        table.append((name, sum(i in passed for i in ids), len(ids)))
    return table
