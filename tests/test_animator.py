"""Animator outside IPython and inside a real headless kernel (nbclient)."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

import d2lhelpers as d2l


def test_outside_ipython_it_records_points_and_draws_nothing():
    animator = d2l.Animator(xlabel="epoch", legend=["loss", "acc"])
    for epoch in range(1, 6):
        animator.add(epoch, (1.0 / epoch, None if epoch == 2 else epoch / 10))
    assert animator.fig is None  # no figure was created
    assert animator.X[0] == [1, 2, 3, 4, 5] and animator.Y[0][-1] == pytest.approx(0.2)
    assert animator.X[1] == [1, 3, 4, 5]  # None leaves a gap


def test_add_checks_lengths():
    animator = d2l.Animator()
    animator.add(1, (1, 2))
    with pytest.raises(ValueError, match="earlier calls had 2"):
        animator.add(2, (1, 2, 3))
    with pytest.raises(ValueError, match="x values"):
        animator.add([1, 2, 3], (1, 2))


def test_headless_kernel_keeps_one_figure_and_all_points():
    n = 7
    nb = nbformat.v4.new_notebook()
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import d2lhelpers as d2l\n"
            "animator = d2l.Animator(xlabel='epoch', legend=['a', 'b'])\n"
            f"for i in range({n}):\n"
            "    animator.add(i, (i, i * i))\n"
            "print([len(y) for y in animator.Y])"
        )
    )
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    figures = [o for o in outputs if o.output_type in ("display_data", "execute_result")]
    assert len(figures) == 1, [o.output_type for o in outputs]
    assert "image/png" in figures[0].data
    text = "".join(o.text for o in outputs if o.output_type == "stream")
    assert text.strip() == f"[{n}, {n}]"
