"""The browser checks catch what learners report: fed deliberately broken pages, they fail.

Figures are real matplotlib SVG drawn as `d2l.Animator` draws them (the same axes
settings), so reading curves back is tested on what the page really shows.
"""

from __future__ import annotations

import io
import urllib.parse

import pytest
from matplotlib.figure import Figure

from d2lhelpers.plotting import DEFAULT_FMTS, set_axes

from .checks import (
    Cell,
    Output,
    cell_problems,
    is_training_cell,
    is_widget_cell,
    read_axes,
    svg_text,
    training_problems,
    widget_problems,
)

LEGEND = ["train loss", "train acc", "test acc"]


def epoch_figure(epochs_done: float, num_epochs: int = 2, lines: int = 3) -> str:
    """The trainers' live plot after `epochs_done` epochs, as JupyterLab's <img src>."""
    fig = Figure(figsize=(3.5, 2.5))
    ax = fig.subplots()
    xs = [x / 5 for x in range(1, int(epochs_done * 5) + 1)]  # train_ch6: five points per epoch
    for i in range(lines):
        ax.plot(xs, [0.5 + 0.1 * i - 0.01 * x for x in xs], DEFAULT_FMTS[i])
    set_axes(ax, "epoch", None, [1, num_epochs], None, "linear", "linear", LEGEND[:lines])
    out = io.StringIO()
    fig.savefig(out, format="svg")
    return "data:image/svg+xml," + urllib.parse.quote(out.getvalue())


def training_cell(
    *images: str, text: str = "loss 0.5, train acc 0.8, test acc 0.8 (quick mode: 2 of 10 epochs)"
) -> Cell:
    outputs = [Output(mime="image/svg+xml", images=[src]) for src in images]
    outputs.append(Output(mime="application/vnd.jupyter.stdout", text=text))
    return Cell(
        index=7,
        source="d2l.train_ch6(net, train_iter, test_iter, num_epochs, lr)",
        execution_count=3,
        outputs=outputs,
    )


def test_read_axes_gives_where_each_curve_ends_in_epochs():
    (axes,) = read_axes(svg_text(epoch_figure(1.4)))
    assert len(axes.lines) == 3
    assert axes.line_ends() == pytest.approx([1.4] * 3, abs=0.01)
    assert axes.x_max() == pytest.approx(2, abs=0.01)


def test_a_figure_that_grows_to_every_epoch_passes():
    frames = [[epoch_figure(1)], [epoch_figure(1.6)], [epoch_figure(2)]]
    assert training_problems(training_cell(epoch_figure(2)), frames) == []


def test_a_figure_that_never_changed_fails():
    final = epoch_figure(2)
    (problem,) = training_problems(training_cell(final), [[final]])
    assert "never changed while training ran" in problem


def test_a_stack_of_figures_fails():
    first, final = epoch_figure(1), epoch_figure(2)
    (problem,) = training_problems(training_cell(first, final), [[first], [first, final]])
    assert "shows 2 figures after training, expected exactly one" in problem


def test_a_stack_shown_only_while_training_fails():
    first, final = epoch_figure(1), epoch_figure(2)
    problems = training_problems(training_cell(final), [[first], [first, final], [final]])
    assert problems == [
        f"{training_cell().label()} showed 2 figures at once while training (a stack, not one figure that updates)"
    ]


def test_a_figure_missing_the_last_epoch_fails():
    frames = [[epoch_figure(0.6)], [epoch_figure(1.2)]]
    (problem,) = training_problems(training_cell(epoch_figure(1.2)), frames)
    assert "does not show every epoch" in problem and "expected 2" in problem


def test_the_quick_mode_epochs_printed_by_the_trainer_are_what_the_figure_must_reach():
    frames = [[epoch_figure(1, num_epochs=3)], [epoch_figure(2, num_epochs=3)]]
    cell = training_cell(epoch_figure(2, num_epochs=3), text="(quick mode: 3 of 10 epochs)")
    (problem,) = training_problems(cell, frames)
    assert "curves end at 2, 2, 2, expected 3" in problem


def test_a_figure_drawn_only_once_complete_is_not_live():
    complete, redrawn = epoch_figure(2), epoch_figure(2, lines=2)
    (problem,) = training_problems(training_cell(redrawn), [[complete], [redrawn]])
    assert "already had every epoch" in problem


def test_a_png_figure_is_checked_for_change_only():
    a, b = "data:image/png;base64,AAAA", "data:image/png;base64,BBBB"
    assert training_problems(training_cell(b), [[a], [b]]) == []


def cell(*outputs: Output, **kw) -> Cell:
    return Cell(
        index=4,
        source="x = 1",
        execution_count=kw.pop("execution_count", 2),
        outputs=list(outputs),
        **kw,
    )


def test_a_clean_cell_has_no_problem():
    assert (
        cell_problems(
            cell(
                Output(mime="text/plain", text="tensor([1., 2.])"),
                Output(images=["data:image/png;base64,AA"]),
            )
        )
        == []
    )


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (Output(mime="text/plain", text="<Figure size 350x250 with 1 Axes>"), "shows a figure as text"),
        (Output(mime="text/plain", text="<matplotlib.figure.Figure size 640x480 with 2 Axes>"), "shows a figure as text"),
        (Output(text="Error displaying widget: model not found", widgets=0), "'Error displaying widget' instead of the widget"),
        (Output(text="Loading widget...", widgets=0), "'Loading widget...' instead of the widget"),
        (
            Output(mime="text/plain", text="interactive(children=(IntSlider(value=8, description='n (input)', max=32, min=1), Output()), _dom_classes=('widget-interact',))"),
            "shows a widget as text",
        ),
        (Output(mime="text/plain", text="IntSlider(value=3, description='k')"), "shows a widget as text"),
        (Output(mime="application/vnd.jupyter.stderr", text="Traceback (most recent call last):\n  ...\nValueError: x"), "shows a traceback"),
        (Output(images=["data:image/svg+xml,%3Csvg"], broken_images=1), "could not display"),
    ],
)  # fmt: skip
def test_a_broken_output_is_reported(output, expected):
    (problem,) = cell_problems(cell(output))
    assert problem.startswith("cell 4 ('x = 1')") and expected in problem


def test_an_error_output_and_a_cell_that_never_ran_are_reported():
    (error,) = cell_problems(cell(errors=["NameError: name 'net' is not defined"]))
    assert "ended with an error output: NameError" in error
    (never,) = cell_problems(cell(execution_count=None))
    assert "did not run" in never


def test_a_widget_cell_without_a_rendered_widget_fails():
    assert widget_problems(cell(Output(widgets=6))) == []
    (problem,) = widget_problems(cell(Output(mime="text/plain", text="IntSlider(value=3)")))
    assert "shows no rendered widget" in problem


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("lr, num_epochs = 0.9, 10\nd2l.train_ch6(net, train_iter, test_iter, num_epochs, lr)", True),
        ("history = d2l.train_ch8(net, train_iter, vocab, lr, num_epochs, device)", True),
        ("animator = Animator(xlabel='step', xlim=[0, 20])\nfor t in steps:\n    animator.add(t, t)", True),
        # two live plots in one cell: two figures are right there
        ("ours = train_ch3(net_a, it, it, loss, 2, u)\nhistory = d2l.train_ch3(net_b, it, it, loss, 2, u)", False),
        # a definition, or one epoch without a plot
        ("def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):\n    animator = Animator()", False),
        ("library = d2l.train_epoch_ch3(net_b, batches, loss, updater)", False),
        ("print(inspect.getsource(d2l.train_ch3))", False),
    ],
)  # fmt: skip
def test_training_cells_are_the_ones_running_one_live_plot(source, expected):
    assert is_training_cell(source) is expected


def test_widget_cells_build_widgets_at_the_top_level():
    assert is_widget_cell("@interact(T=FloatLogSlider(value=1.0))\ndef f(T=1.0):\n    pass")
    assert is_widget_cell("shape_calculator = interact(\n    conv_shape_calculator,\n)")
    assert not is_widget_cell("from ipywidgets import IntSlider, interact\nimport torch")
