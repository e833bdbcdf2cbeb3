import matplotlib
import numpy as np
import pytest
import torch

import d2lhelpers as d2l


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    d2l.plt.close("all")


def test_plt_is_pyplot():
    import matplotlib.pyplot

    assert d2l.plt is matplotlib.pyplot


def test_plot_draws_one_line_per_series_and_accepts_tensors():
    x = torch.arange(0, 3, 0.1)
    assert d2l.plot(x, [torch.sin(x), torch.cos(x)], "x", "f(x)", legend=["sin", "cos"]) is None
    ax = d2l.plt.gca()
    lines = ax.get_lines()
    assert len(lines) == 2
    assert np.allclose(lines[0].get_ydata(), np.sin(x.numpy()))
    assert np.allclose(lines[1].get_xdata(), x.numpy())
    assert lines[1].get_linestyle() == "--"  # second default format 'm--'
    assert ax.get_xlabel() == "x" and [t.get_text() for t in ax.get_legend().get_texts()] == [
        "sin",
        "cos",
    ]


def test_plot_with_only_y_uses_the_index():
    d2l.plot([3.0, 1.0, 2.0])
    line = d2l.plt.gca().get_lines()[0]
    assert list(line.get_xdata()) == [0, 1, 2] and list(line.get_ydata()) == [3.0, 1.0, 2.0]


def test_plot_log_scale_and_limits():
    _, ax = d2l.plt.subplots()
    d2l.plot(np.arange(1, 10), np.arange(1, 10) ** 2, yscale="log", xlim=(1, 9), axes=ax)
    assert ax.get_yscale() == "log" and ax.get_xlim() == (1.0, 9.0)


def test_set_figsize_changes_the_default():
    old = matplotlib.rcParams["figure.figsize"]
    try:
        d2l.set_figsize((5, 4))
        assert list(matplotlib.rcParams["figure.figsize"]) == [5, 4]
    finally:
        matplotlib.rcParams["figure.figsize"] = old


def test_show_images_lays_out_a_grid_with_titles():
    imgs = torch.rand(5, 28, 28)
    axes = d2l.show_images(imgs, 2, 3, titles=list("abcde"), scale=1)
    assert len(axes) == 6
    assert [ax.get_title() for ax in axes[:5]] == list("abcde")
    assert np.allclose(axes[0].get_images()[0].get_array(), imgs[0].numpy())
    with pytest.raises(ValueError, match="larger grid"):
        d2l.show_images(imgs, 1, 2)


def test_show_heatmaps_shape_check():
    axes = d2l.show_heatmaps(torch.rand(2, 3, 4, 5), "keys", "queries", titles=["a", "b", "c"])
    assert axes.shape == (2, 3)
    with pytest.raises(ValueError, match="4-D"):
        d2l.show_heatmaps(torch.rand(4, 5), "k", "q")


def test_use_svg_display_outside_ipython_changes_nothing():
    """matplotlib-inline's set_matplotlib_formats creates an IPython shell for the whole
    process when there is none; after that every helper would think it runs in Jupyter."""
    import subprocess
    import sys

    code = (
        "import sys, matplotlib\n"
        "from IPython import get_ipython\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "import d2lhelpers as d2l\n"
        "hook, rc = sys.displayhook, dict(matplotlib.rcParams)\n"
        "d2l.use_svg_display()\n"
        "assert get_ipython() is None and not InteractiveShell.initialized()\n"
        "assert sys.displayhook is hook and dict(matplotlib.rcParams) == rc\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
